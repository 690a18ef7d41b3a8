"""Scoring a separator and a detector: tracks paired with clip instruments, per-clip scores of
each method, their means, and mAP of a detector on labelled frames. (crn-eval end to end on the
clip sets: tests/cli/test_eval.py; ``separator``: the tiny one of tests/conftest.py.)"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from crn_live.data.audio_io import write_wav
from crn_live.data.clips import Clip, ClipError, SlotInfo, find_clips, open_clip
from crn_live.data.stems import open_stems
from crn_live.training.evaluate import (
    MIN_MATCH_IOU,
    ClipScores,
    evaluate,
    evaluate_clip,
    evaluate_detection,
    evaluate_stems,
    match_tracks,
    readme_reference_sdri,
    stems_methods,
    summarise,
)
from crn_live.vision.average_precision import GroundTruth
from crn_live.vision.decode import Detections
from crn_live.vision.frames import FrameSet
from crn_live.vision.video import VideoTrack

BOX = np.array([100, 50, 160, 150], np.float32)


def _clip(*slots: tuple[str, np.ndarray]) -> Clip:
    """A clip of slots ``(class, box)`` with that box in each of 10 frames (no files)."""
    return Clip(Path("clip"), {}, tuple(
        SlotInfo(f"s{k}", name, 0, Path("stem.wav"), np.repeat(box[None], 10, 0))
        for k, (name, box) in enumerate(slots)))


def _track(name: str, box: np.ndarray, frames: range = range(10)) -> VideoTrack:
    return VideoTrack(0, name, 0.9, {f: box.copy() for f in frames},
                      np.zeros((0, 8, 8, 3), np.uint8))


def test_tracks_pair_with_the_instrument_of_their_class_they_overlap_most() -> None:
    shifted = BOX + [300, 0, 300, 0]
    clip = _clip(("Violin", BOX), ("Violin", shifted), ("Flute", BOX))
    tracks = [_track("Violin", shifted + 2), _track("Flute", BOX + [100, 0, 100, 0]),
              _track("Violin", BOX), _track("Cello", BOX)]
    pairs, quality = match_tracks(clip, tracks)
    assert pairs == [2, 0, None]  # the flute track lies beside the flute: no pairing
    assert quality[0] == 1.0 and MIN_MATCH_IOU < quality[1] < 1.0 and quality[2] == 0.0
    assert match_tracks(clip, []) == ([None] * 3, [0.0] * 3)


def test_only_the_frames_a_track_was_seen_count() -> None:
    clip = _clip(("Violin", BOX))
    late = _track("Violin", BOX, frames=range(8, 14))  # frames past the clip's boxes ignored
    assert match_tracks(clip, [late]) == ([0], [1.0])


def _scores(sources: int, values: dict[str, list[float]]) -> ClipScores:
    per_source = {"mixture": {k: [0.0] * len(v) for k, v in values.items()},
                  "offline": values}
    return ClipScores(f"clip{sources}", sources, len(values["sdr"]), ("Violin",) * sources,
                      per_source)


def test_summary_means_every_audible_source() -> None:
    metrics = ("sdr", "sir", "sar", "sdri")
    two = _scores(2, {k: [1.0, 3.0] for k in metrics})
    three = _scores(3, {k: [6.0, 8.0] for k in metrics})  # one of three silent
    report = summarise([two, three], ("mixture", "offline"))
    assert report["methods"]["offline"]["sdr"] == 4.5 and report["methods"]["mixture"]["sdr"] == 0
    assert report["by_sources"]["2"] == {"clips": 1, "methods": {
        "mixture": {k: 0.0 for k in metrics}, "offline": {k: 2.0 for k in metrics}}}
    assert report["by_sources"]["3"]["methods"]["offline"]["sdri"] == 7.0
    assert report["sources_scored"] == 4 and report["silent_sources_skipped"] == 1
    row = two.as_dict()
    assert row["audible_sources"] == 2 and row["methods"]["offline"]["sar"] == 2.0
    assert "detection" not in row
    silent = _scores(2, {k: [] for k in metrics}).as_dict()
    assert math.isnan(silent["methods"]["offline"]["sdr"])


@pytest.mark.slow
def test_a_clip_is_scored_against_the_mixture_and_the_oracle(clip_sets, separator) -> None:
    clip = find_clips(clip_sets[2])[0]
    scores = evaluate_clip(separator, clip, ("mixture", "oracle_irm"))
    assert scores.sources == 2 and scores.classes == tuple(s.class_name for s in clip.slots)
    assert scores.per_source["mixture"]["sdri"] == [0.0] * scores.audible
    assert min(scores.per_source["oracle_irm"]["sdri"]) > 3.0
    seen: list[str] = []
    report = evaluate(separator, [clip], progress=lambda scored: seen.append(scored.clip))
    assert report["clips"][0]["clip"] == clip.name and seen == [clip.name]
    assert set(report["methods"]) == {"mixture", "oracle_irm", "offline", "offline_class",
                                      "offline_appearance"}
    assert report["model"]["refine_iterations"] == separator.config.refine_iterations
    assert "streaming_minus_offline_sdr" not in report and "detection" not in report


def _copy(clip: Clip, folder: Path) -> Path:
    shutil.copytree(clip.folder, folder)
    return folder


def test_silent_and_broken_clips(clip_sets, separator, tmp_path) -> None:
    clip = find_clips(clip_sets[2])[0]
    silent = open_clip(_copy(clip, tmp_path / "silent"))
    for slot in silent.slots:
        write_wav(slot.stem, np.zeros(44100, np.float32), 44100)
    scores = evaluate_clip(separator, silent, ("mixture", "offline"))
    assert scores.audible == 0 and scores.per_source["offline"]["sdr"] == []
    broken = open_clip(_copy(clip, tmp_path / "broken"))
    write_wav(broken.folder / "mix.wav", np.full(44100, np.nan, np.float32), 44100)
    with pytest.raises(ClipError, match="non-finite samples") as info:
        evaluate_clip(separator, broken, ("mixture",))
    assert "\n" not in str(info.value)


class _Oracle:
    """A detector that finds exactly the labelled objects of each frame (by its mean level)."""

    classes = ("Violin", "Flute")

    def __init__(self, truths: list[GroundTruth], batch: bool) -> None:
        self.truths = truths
        if batch:
            self.detect_batch = lambda images: [self.detect(image) for image in images]

    def detect(self, image: np.ndarray) -> Detections:
        truth = self.truths[int(image[0, 0, 0])]
        return Detections(truth.boxes, np.ones(len(truth.boxes), np.float32), truth.labels)


@pytest.mark.parametrize("batch", [False, True])
def test_detection_of_the_right_objects_scores_map_one(batch: bool) -> None:
    truths = [GroundTruth(np.array([[10, 10, 50, 60]], np.float32), np.array([k % 2]),
                          np.array([k == 3])) for k in range(5)]
    images = np.stack([np.full((80, 80, 3), k, np.uint8) for k in range(5)])
    calls: list[tuple[int, int]] = []
    report = evaluate_detection(_Oracle(truths, batch), FrameSet(images, tuple(truths)),
                                batch=2, progress=lambda done, total: calls.append((done, total)))
    assert report["map50"] == pytest.approx(1.0) and report["map50_95"] == pytest.approx(1.0)
    assert (report["frames"], report["objects"], report["ignored_objects"]) == (5, 4, 1)
    assert calls == [(2, 5), (4, 5), (5, 5)] and report["frames_per_second"] > 0


@pytest.mark.slow
def test_a_stems_folder_is_scored_class_only(separator, tmp_path) -> None:
    from tests.data.test_stems import write_stems_folder

    folder = open_stems(write_stems_folder(tmp_path / "duo", ("violin", "Flute"), seconds=0.6))
    methods = stems_methods(streaming=True)
    assert methods == ("mixture", "oracle_irm", "offline_class", "streaming_class")
    scores = evaluate_stems(separator, folder, methods)
    assert scores.clip == "duo" and scores.classes == ("Violin", "Flute") and scores.audible == 2
    assert scores.per_source["mixture"]["sdri"] == [0.0, 0.0]
    assert min(scores.per_source["oracle_irm"]["sdri"]) > 3.0
    report = evaluate(separator, [folder])  # no clip: only the methods a stems folder has
    assert list(report["methods"]) == ["mixture", "oracle_irm", "offline_class"]
    assert "streaming_minus_offline_sdr" not in report


def test_summary_leaves_out_clips_not_scored_with_a_method() -> None:
    metrics = ("sdr", "sir", "sar", "sdri")
    clip = _scores(2, {k: [2.0, 4.0] for k in metrics})
    stems = ClipScores("stems", 1, 1, ("Violin",), {"mixture": {k: [0.0] for k in metrics}})
    report = summarise([clip, stems], ("mixture", "offline"))
    assert report["methods"]["offline"]["sdr"] == 3.0 and report["sources_scored"] == 3
    assert report["by_sources"]["1"]["methods"]["offline"]["sdr"] != \
        report["by_sources"]["1"]["methods"]["offline"]["sdr"]  # NaN: nothing scored


def test_the_readme_sdri_of_the_reference_is_read_when_stated(tmp_path) -> None:
    folder = tmp_path / "realdata" / "samples"
    folder.mkdir(parents=True)
    assert readme_reference_sdri(folder) == {}
    (folder.parent / "README.md").write_text("over instruments): mix2-1 24.9 dB SDRi, mix2-2\n"
                                             "  21.2, mix3-1 -1.5. `mix3-2` also has frames")
    assert readme_reference_sdri(folder) == {"mix2-1": 24.9, "mix2-2": 21.2, "mix3-1": -1.5}


def test_drawn_crops_show_the_named_classes_deterministically() -> None:
    from crn_live.training.evaluate import DRAWN_FRAMES, drawn_crops

    crops = drawn_crops(["Erhu", "Double bass"], 48)
    assert crops.shape == (len(DRAWN_FRAMES), 2, 48, 48, 3) and crops.dtype == np.uint8
    assert np.array_equal(crops, drawn_crops(["Erhu", "Double bass"], 48))
    assert crops.std() > 10  # pictures, not a flat colour
    assert np.abs(crops[:, 0].astype(int) - crops[:, 1]).mean() > 5  # two different players
