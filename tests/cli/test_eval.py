"""crn-eval on real clips: every method of a separator, the bundled model by default, detected
boxes beside the true ones, and one-line refusals. (``checkpoint`` and ``separator``: the tiny
separator of tests/conftest.py; the detector task after a short training run:
tests/training/test_train_detector.py.)"""

from __future__ import annotations

import json
import sys

import pytest

from crn_live.cli import eval as eval_cli
from crn_live.cli.eval import main as eval_main
from crn_live.errors import UserError
from tests.data.test_stems import write_reference_folder, write_stems_folder


@pytest.mark.slow
def test_crn_eval_reports_every_method_and_the_oracle_beats_the_mixture(
        clip_sets, checkpoint, separator, tmp_path):
    out = tmp_path / "eval.json"
    assert eval_main(["--data", str(clip_sets[2]), "--data", str(clip_sets[3]), "--model",
                      str(checkpoint), "--streaming", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    methods = ("mixture", "oracle_irm", "offline", "streaming", "offline_class",
               "streaming_class", "offline_appearance", "streaming_appearance")
    assert set(report["methods"]) == set(methods)
    for scores in report["methods"].values():
        assert set(scores) == {"sdr", "sir", "sar", "sdri"}
    assert report["methods"]["mixture"]["sdri"] == 0.0
    assert report["methods"]["oracle_irm"]["sdri"] > 6.0
    assert set(report["by_sources"]) == {"2", "3"}
    assert [c["sources"] for c in report["clips"]] == [2] * 4 + [3] * 2
    for clip in report["clips"]:
        m = clip["methods"]
        assert m["oracle_irm"]["sdr"] > m["mixture"]["sdr"], clip["clip"]
        assert len(clip["per_source"]["offline"]["sdr"]) == clip["audible_sources"]
    assert report["streaming_minus_offline_sdr"] == pytest.approx(
        report["methods"]["streaming"]["sdr"] - report["methods"]["offline"]["sdr"], abs=1e-3)
    assert report["model"]["algorithmic_latency_ms"] == pytest.approx(
        separator.config.algorithmic_latency_ms, abs=0.1)


@pytest.mark.slow
def test_bundled_model_is_the_default_and_separates(clip_sets, tmp_path):
    out = tmp_path / "bundled.json"
    assert eval_main(["--data", str(clip_sets[2]), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    # the bundled v2 model: step 2000 (best on held-out validation) of its run, which continued
    # the 4000-step 28-class model
    assert report["checkpoint"] == "bundled" and report["model"]["train_step"] >= 2000
    assert report["methods"]["offline"]["sdri"] > 3.0  # an untrained model scores about 0


@pytest.mark.slow
def test_detect_reports_detected_beside_true_boxes(clip_sets, tmp_path):
    out = tmp_path / "eval.json"
    assert eval_main(["--data", str(clip_sets[3]), "--detect", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"offline", "offline_detected"} <= set(report["methods"])
    assert report["detection"]["sources"] == 6 and report["detection"]["matched_sources"] >= 5
    assert report["detected_minus_true_boxes_sdr"] == pytest.approx(
        report["methods"]["offline_detected"]["sdr"] - report["methods"]["offline"]["sdr"],
        abs=1e-3)
    assert report["methods"]["offline_detected"]["sdri"] > 1.0


def _refusal(argv: list[str]) -> str:
    with pytest.raises(UserError) as info:
        eval_main(argv)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_one_line_refusals(clip_sets, checkpoint, tmp_path):
    json_out = ["--json", str(tmp_path / "z.json")]
    data = ["--data", str(clip_sets[2])]
    assert "not a detector" in _refusal(["--task", "detector", *data, *json_out, "--model",
                                         str(checkpoint)])
    assert "are for separation" in _refusal(["--task", "detector", *data, *json_out,
                                             "--streaming"])
    assert not (tmp_path / "z.json").exists()


@pytest.mark.slow
def test_stems_folders_are_scored_class_only(checkpoint, tmp_path) -> None:
    root = tmp_path / "real"
    write_stems_folder(root / "duo", ("violin", "acoustic_guitar"), mix="mean")
    write_stems_folder(root / "trio", ("Flute", "bagpipe", "Tuba"))
    out = tmp_path / "eval.json"
    assert eval_main(["--data", str(root), "--model", str(checkpoint), "--streaming",
                      "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert list(report["methods"]) == ["mixture", "oracle_irm", "offline_class",
                                       "streaming_class"]
    assert report["methods"]["mixture"]["sdri"] == 0.0
    assert report["methods"]["oracle_irm"]["sdri"] > 3.0
    assert [c["clip"] for c in report["clips"]] == ["duo", "trio"]
    assert report["clips"][0]["classes"] == ["Violin", "Guitar"]
    assert report["clips"][1]["classes"] == ["Flute", "Bagpipes", "Tuba"]
    assert set(report["by_sources"]) == {"2", "3"} and report["sources_scored"] == 5
    assert "streaming_minus_offline_sdr" not in report
    with pytest.raises(UserError, match="stems folders have no video"):
        eval_main(["--task", "detector", "--data", str(root), "--json", str(tmp_path / "d.json")])


def test_reference_scores_ours_beside_the_reference_outputs(checkpoint, tmp_path,
                                                            capsys) -> None:
    folder = write_reference_folder(tmp_path / "samples")
    out = tmp_path / "ref" / "reference.json"
    assert eval_main(["--reference", str(folder), "--model", str(checkpoint),
                      "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    methods = ["mixture", "oracle_irm", "reference", "offline_class", "streaming_class",
               "offline_photo", "streaming_photo", "offline_photo_forced",
               "streaming_photo_forced", "offline_drawn", "streaming_drawn"]
    assert list(report["methods"]) == methods
    assert report["skipped"][0]["case"] == "duet-1"
    (case,) = report["cases"]
    assert case["clip"] == "mix2-1" and case["readme_reference_sdri"] == 12.5
    assert case["classes"] == ["Electric bass", "Xylophone"]
    assert case["stem_gain"] == pytest.approx(0.5, abs=1e-3)  # mix.flac is the stems' mean
    for method in methods:
        assert len(case["per_source"][method]["sdr"]) == 2
        assert set(case["methods"][method]) == {"sdr", "sir", "sar", "sdri"}
    assert case["methods"]["reference"]["sdri"] > 10.0  # outputs = stems + a little noise
    assert [p["photo"] for p in case["photos"]] == ["object1.png", "object2.png"]
    assert all(isinstance(p["used_through_guard"], bool) for p in case["photos"])
    assert len(case["drawn_used_through_guard"]) == 2  # a drawn bass and xylophone player
    table = out.with_suffix(".md").read_text()
    assert "| mix2-1 | Electric bass, Xylophone | 12.5 |" in table
    assert "Not scored (no true stems): duet-1" in table
    printed = capsys.readouterr().out
    assert "mix2-1: SDRi reference 12.5 (its README)" in printed and str(out) in printed


def test_an_absent_reference_folder_is_one_line_and_status_2(tmp_path, monkeypatch,
                                                             capsys) -> None:
    json_out = ["--json", str(tmp_path / "r.json")]
    message = _refusal(["--reference", str(tmp_path / "nowhere"), *json_out])
    assert str(tmp_path / "nowhere") in message and "--reference" in message
    looked = tmp_path / "shared" / "realdata" / "crn_paper_samples"
    monkeypatch.setattr(eval_cli, "reference_candidates", lambda: [looked])
    message = _refusal(["--reference", *json_out])
    assert str(looked / "index.json") in message and "--reference DIR" in message
    monkeypatch.setattr(sys, "argv", ["crn-eval", "--reference", *json_out])
    with pytest.raises(SystemExit) as info:
        eval_cli.console()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reference samples not found" in err
    assert "Traceback" not in err and not (tmp_path / "r.json").exists()
    with pytest.raises(UserError, match="leave out --data"):
        eval_main(["--reference", str(tmp_path), "--data", str(tmp_path), *json_out])
