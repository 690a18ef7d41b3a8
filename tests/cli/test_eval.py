"""crn-eval on real clips: every method of a separator, the bundled model by default, detected
boxes beside the true ones, and one-line refusals. (``checkpoint`` and ``separator``: the tiny
separator of tests/conftest.py; the detector task after a short training run:
tests/training/test_train_detector.py.)"""

from __future__ import annotations

import json

import pytest

from crn_live.cli.eval import main as eval_main
from crn_live.errors import UserError
from crn_live.separation import BUNDLED_MODEL


@pytest.mark.slow
def test_crn_eval_reports_every_method_and_the_oracle_beats_the_mixture(
        clip_sets, checkpoint, separator, tmp_path):
    out = tmp_path / "eval.json"
    assert eval_main(["--data", str(clip_sets[2]), "--data", str(clip_sets[3]), "--model",
                      str(checkpoint), "--streaming", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    methods = ("mixture", "oracle_irm", "offline", "streaming")
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
    assert report["checkpoint"] == "bundled" and report["model"]["train_step"] >= 4000
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


def test_one_line_refusals(clip_sets, tmp_path):
    json_out = ["--json", str(tmp_path / "z.json")]
    data = ["--data", str(clip_sets[2])]
    assert "not a detector" in _refusal(["--task", "detector", *data, *json_out, "--model",
                                         str(BUNDLED_MODEL)])
    assert "are for separation" in _refusal(["--task", "detector", *data, *json_out,
                                             "--streaming"])
    assert not (tmp_path / "z.json").exists()
