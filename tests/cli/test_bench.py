"""crn-bench: each benchmark writes its JSON (run here at the smallest sizes, the tiny models
where a benchmark takes one), backends that cannot run here are reported with their reason, and
bad lists are argparse errors. (``checkpoint``: the tiny separator of tests/conftest.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crn_live.cli.bench import main as bench_main
from crn_live.errors import UserError
from crn_live.models import save_checkpoint
from tests.helpers import TINY_DETECTOR, tiny_detector


def _run(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "bench.json"
    assert bench_main([*args, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_separator_step_per_backend_and_object_count(checkpoint: Path, tmp_path: Path) -> None:
    result = _run(tmp_path, "step", "--model", str(checkpoint), "--backends",
                  "torch,torch-cuda", "--objects", "2,1", "--hops", "3", "--threads", "1")
    assert result["benchmark"] == "separator_step" and result["model"] == str(checkpoint)
    assert result["context_frames"] == 16 and result["hops"] == 3
    torch_runs = [r for r in result["runs"] if r["backend"] == "torch"]
    assert [r["objects"] for r in torch_runs] == [1, 2]
    for run in torch_runs:
        assert 0 < run["hop_ms_median"] <= run["hop_ms_p99"] and run["steps_per_s"] > 0
        assert run["share_of_hop"] == pytest.approx(run["hop_ms_median"] / result["hop_ms"],
                                                    abs=1e-3)
    measured = {r["backend"] for r in result["runs"]}
    assert measured | set(result["unavailable"]) == {"torch", "torch-cuda"}


def test_the_live_engine_is_the_default_benchmark(tmp_path: Path) -> None:
    result = _run(tmp_path, "--backends", "torch", "--instruments", "1", "--seconds", "1",
                  "--live-seconds", "0", "--threads", "1")
    assert result["benchmark"] == "live_engine" and result["sample_rate"] == 44100
    assert [(r["backend"], r["instruments"]) for r in result["runs"]] == [("torch", 1)]
    assert result["runs"][0]["rtf"] > 0 and "live_run" not in result


def test_detector_frames_per_second(tmp_path: Path) -> None:
    model = tmp_path / "det.pt"
    save_checkpoint(model, tiny_detector(), TINY_DETECTOR)
    result = _run(tmp_path, "detector", "--model", str(model), "--frames", "3", "--threads", "1")
    assert result["input_size"] == [96, 64] and result["frame_size"] == [640, 480]
    assert set(result["backends"]) == {"onnxruntime", "torch"} and result["frames"] == 3
    for backend in result["backends"].values():
        assert backend["fps"] > 0 and backend["network_ms"]["median"] > 0


@pytest.mark.parametrize("args, message", [
    (["step", "--backends", "torch,kazoo"], "--backends takes a comma-separated list"),
    (["step", "--objects", "0,1"], "--objects takes comma-separated counts in 1..16"),
    (["--instruments", "17"], "--instruments takes comma-separated counts in 1..16"),
    (["--instruments", "one"], "--instruments takes comma-separated counts in 1..16"),
    (["synth", "--clips", "0"], "must be a positive integer"),
])
def test_bad_lists_are_argparse_errors(tmp_path: Path, capsys, args: list[str],
                                       message: str) -> None:
    with pytest.raises(SystemExit) as info:
        bench_main([*args, "--json", str(tmp_path / "out.json")])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_a_missing_video_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--video .*absent.mp4 not found"):
        bench_main(["detector", "--video", str(tmp_path / "absent.mp4"), "--json",
                    str(tmp_path / "out.json")])


def test_corpus_generation_speed(tmp_path: Path) -> None:
    result = _run(tmp_path, "synth", "--clips", "1", "--seconds", "1", "--workers", "1")
    assert result["benchmark"] == "synth" and result["clips"] == 1 and result["sources"] == 2
    assert result["clips_per_minute"] > 0 and result["mb_per_clip"] > 0
    assert result["minutes_per_audio_hour"] == pytest.approx(
        3600.0 / result["clips_per_minute"], rel=0.01)


@pytest.fixture(scope="module")
def bus() -> None:
    """The PulseAudio measuring bus (crn_probe, crn_room, crn_speaker, crn_room_mic)."""
    import shutil

    from crn_live.stream.devices import ensure_pulse_probe

    if shutil.which("pulseaudio") is None:
        pytest.skip("pulseaudio is not installed (scripts/install.sh installs it)")
    if not ensure_pulse_probe():
        pytest.fail("ensure_pulse_probe() could not set up the measuring bus")


@pytest.mark.slow
def test_mic_to_speaker_latency_through_the_devices(bus, tmp_path: Path) -> None:
    """Three clicks through the live session (no camera): each found in what the loudspeaker
    played, later than the algorithmic latency and no later than the nominal sum (algorithmic
    latency, prefill, the devices' reported latencies) plus a few callback blocks."""
    result = _run(tmp_path, "latency", "--clicks", "3", "--threads", "1")
    measured = result["mic_to_speaker_ms"]
    assert result["benchmark"] == "mic_to_speaker_latency" and not result["scene"]
    assert measured["clicks"] == measured["found"] == 3
    assert result["algorithmic_latency_ms"] < measured["min_ms"]
    assert measured["max_ms"] < result["nominal_ms"] + 50.0
    assert result["nominal_ms"] == pytest.approx(
        result["algorithmic_latency_ms"] + result["output_prefill_ms"]
        + result["input_device_latency_ms"] + result["output_device_latency_ms"], abs=0.05)


@pytest.mark.slow
def test_the_soak_writes_its_figures(bus, tmp_path: Path) -> None:
    """A 6-second soak with the demo scene: every field of its JSON is there, with the
    scene's instruments, RSS figures and a timeline."""
    from crn_live.cli.bench_devices import SOAK_KEYS

    result = _run(tmp_path, "soak", "--minutes", "0.1", "--threads", "1")
    assert set(SOAK_KEYS) <= set(result) and result["benchmark"] == "soak"
    assert result["scene"] and result["minutes"] == 0.1 and result["seconds"] >= 6.0
    assert set(result["xruns"]) == {"input", "output"} and result["startup_xruns"] >= 0
    assert result["instruments"] == 3 and result["output_prefill_ms"] > 0
    assert 0 < result["rss_mb_start"] and 0 < result["rss_mb_end"]
    assert result["rss_growth_percent"] == pytest.approx(
        100 * (result["rss_mb_end"] - result["rss_mb_start"]) / result["rss_mb_start"], abs=0.01)
    assert len(result["timeline"]) >= 2 and result["timeline"][-1]["seconds"] >= 6.0
    assert result["hop_ms_p99"] >= result["hop_ms_median"] > 0


@pytest.mark.slow
def test_cold_start_runs_report_their_full_quality_share(tmp_path: Path) -> None:
    out = tmp_path / "cold.json"
    assert bench_main(["coldstart", "--runs", "1", "--seconds", "3", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (run,) = result["runs"]
    assert sum(run["chunks_per_level"].values()) == run["chunks"] >= 60  # 3 s of 46 ms chunks
    assert run["full_quality_share"] == pytest.approx(run["chunks_per_level"]["full"]
                                                      / run["chunks"], abs=1e-4)
    assert result["full_quality_share_min"] == run["full_quality_share"]
    assert run["warmup_ms"] > 0  # every graph ran before the clock started
