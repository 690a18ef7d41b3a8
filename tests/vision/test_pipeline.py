"""The bundled detector end to end on generated frames (torch and its ONNX graph), tracking
through a whole clip video, the detector a user names, and detection wired into crn-separate and
crn-eval."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from crn_live.cli.eval import main as eval_main
from crn_live.cli.separate import main as separate_main
from crn_live.data.clips import find_clips
from crn_live.data.video import read_frames
from crn_live.errors import UserError
from crn_live.training.evaluate import match_tracks
from crn_live.vision.decode import box_iou
from crn_live.vision.detector import BUNDLED_DETECTOR, OwnDetector, open_detector
from crn_live.vision.external import ExternalDetector
from crn_live.vision.video import track_video
from crn_live.runtime.onnx_export import export_detector

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


@pytest.fixture(scope="module")
def bundled() -> OwnDetector:
    return OwnDetector.load()


def _recall(detector, clips, frame_indices=(5, 40, 70)) -> tuple[int, int]:
    """(instruments found with their class at IoU >= 0.5, instruments) over the frames."""
    found = total = 0
    for clip in clips:
        frames = read_frames(clip.folder / "video.mp4", list(frame_indices))
        for index in frame_indices:
            detections = detector.detect(frames[index])
            for slot in clip.slots:
                total += 1
                same = [k for k, label in enumerate(detections.labels)
                        if detector.classes[label] == slot.class_name]
                if same and box_iou(slot.boxes[index], detections.boxes[same]).max() >= 0.5:
                    found += 1
    return found, total


def test_bundled_detector_finds_the_instruments_of_generated_frames(clip_sets, bundled) -> None:
    clips = find_clips(clip_sets[2]) + find_clips(clip_sets[3])
    found, total = _recall(bundled, clips)
    assert total == 42 and found >= 0.9 * total


def test_exported_graph_detects_the_same(clip_sets, bundled, tmp_path) -> None:
    from crn_live.models import load_checkpoint

    graph = export_detector(load_checkpoint(BUNDLED_DETECTOR).model, tmp_path / "det.onnx")
    on_onnx = open_detector(graph)
    assert isinstance(on_onnx, OwnDetector)
    clip = find_clips(clip_sets[3])[0]
    frame = read_frames(clip.folder / "video.mp4", [20])[20]
    a, b = bundled.detect(frame), on_onnx.detect(frame)
    assert len(a) >= 3 and a.labels.tolist() == b.labels.tolist()
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-2)


def test_tracking_through_a_clip_keeps_one_id_per_instrument(clip_sets, bundled) -> None:
    clip = find_clips(clip_sets[3])[1]
    scan = track_video(clip.folder / "video.mp4", bundled, crop_size=64, every=5)
    assert scan.n_frames == 75 and (scan.width, scan.height) == (320, 240)
    assert sorted(t.class_name for t in scan.tracks) == sorted(s.class_name for s in clip.slots)
    pairs, quality = match_tracks(clip, scan.tracks)
    assert None not in pairs and min(quality) >= 0.5
    for track in scan.tracks:  # born after 3 detection rounds (frame 10), then kept throughout
        assert len(track.boxes) >= 60 and track.crops.shape[1:] == (64, 64, 3)


def _foreign_yolo(path: Path) -> Path:
    """A YOLOv8-layout ONNX graph (no crn-live metadata) with one Violin-ish box."""
    rows = np.zeros((6, 3), np.float32)  # 4 + 2 classes, 3 candidates
    rows[:, 0] = [320, 320, 100, 80, 0.9, 0.0]
    const = helper.make_tensor("c", TensorProto.FLOAT, [1, 6, 3], rows.ravel().tolist())
    nodes = [helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"]),
             helper.make_node("Add", ["c", "z"], ["output0"])]
    graph = helper.make_graph(
        nodes, "yolo", [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                                      [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 3])],
        [const, helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_open_detector_picks_the_right_kind(tmp_path) -> None:
    assert isinstance(open_detector(None), OwnDetector)
    foreign = _foreign_yolo(tmp_path / "yolo.onnx")
    labels = tmp_path / "labels.txt"
    labels.write_text("Violin\nPerson\n")
    external = open_detector(foreign, labels)
    assert isinstance(external, ExternalDetector)
    found = external.detect(np.zeros((480, 640, 3), np.uint8))
    assert [external.classes[k] for k in found.labels] == ["Violin"]
    with pytest.raises(UserError, match="--detector-labels"):
        open_detector(foreign)
    with pytest.raises(UserError, match="external ONNX detector"):
        open_detector(BUNDLED_DETECTOR, labels)


def _with_audio(clip: Path, out: Path) -> Path:
    video = out / f"{clip.name}.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip / "video.mp4"),
                    "-i", str(clip / "mix.wav"), "-c:v", "copy", "-c:a", "aac",
                    "-shortest", str(video)], check=True)
    return video


@needs_ffmpeg
def test_crn_separate_detects_the_instruments_of_a_plain_video(clip_sets, tmp_path) -> None:
    clip = sorted(p for p in clip_sets[3].iterdir() if p.is_dir())[0]
    meta = json.loads((clip / "meta.json").read_text())
    out = tmp_path / "out"
    assert separate_main([str(_with_audio(clip, tmp_path)), "--out", str(out)]) == 0
    report = json.loads((out / "objects.json").read_text())
    assert sorted(o["class"] for o in report["objects"]) == sorted(
        s["class"] for s in meta["slots"])
    assert all(o["source"] == "detected" and o["frames_seen"] >= 40 for o in report["objects"])
    assert len(list(out.glob("*.wav"))) == len(report["objects"]) + 1
    # a user's region beside the detected ones: kept for the whole video, marked manual
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"class": "Harp", "box": [0, 0, 60, 60]}]))
    assert separate_main([str(_with_audio(clip, tmp_path)), "--objects", str(objects),
                          "--detect", "--out", str(tmp_path / "both")]) == 0
    sources = [o["source"] for o in json.loads((tmp_path / "both" / "objects.json")
                                               .read_text())["objects"]]
    assert sources.count("manual") == 1 and sources.count("detected") == len(meta["slots"])


@needs_ffmpeg
def test_no_instrument_found_is_one_clear_line(clip_sets, tmp_path) -> None:
    clip = sorted(p for p in clip_sets[2].iterdir() if p.is_dir())[0]
    blank = tmp_path / "blank.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:s=320x240:d=2:r=25", "-i", str(clip / "mix.wav"), "-c:a",
                    "aac", "-shortest", str(blank)], check=True)
    with pytest.raises(UserError, match="no instrument found") as info:
        separate_main([str(blank), "--out", str(tmp_path / "out")])
    assert "\n" not in str(info.value)


def test_crn_eval_detect_reports_detected_beside_true_boxes(clip_sets, tmp_path) -> None:
    out = tmp_path / "eval.json"
    assert eval_main(["--data", str(clip_sets[3]), "--detect", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"offline", "offline_detected"} <= set(report["methods"])
    assert report["detection"]["sources"] == 6 and report["detection"]["matched_sources"] >= 5
    assert report["detected_minus_true_boxes_sdr"] == pytest.approx(
        report["methods"]["offline_detected"]["sdr"] - report["methods"]["offline"]["sdr"],
        abs=1e-3)
    assert report["methods"]["offline_detected"]["sdri"] > 1.0
