"""Separator training on real clip folders with a tiny model: run folder, exact resume, MUSIC
layout, two-process DDP (torchrun, gloo) with identical replicas, the learning-rate schedule and
the training curves. (crn-train's one-line refusals: tests/cli/test_train.py.)"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from crn_live.cli.train import model_config
from crn_live.cli.train import main as train_main
from crn_live.config import ModelConfig
from crn_live.data.clips import find_clips
from crn_live.models import CRNSystem, load_checkpoint
from crn_live.training.train import Run, TrainConfig, train
from tests.helpers import train_args, write_music_video


@pytest.mark.slow
def test_a_run_writes_model_state_and_curves(clip_sets, tiny_config_file, tmp_path):
    out = tmp_path / "run"
    bundle = tmp_path / "bundle.pt"
    args = train_args(clip_sets, tiny_config_file, out, 4) + ["--bundle", str(bundle)]
    assert train_main(args) == 0
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    validations = [r for r in records if "val_sdr" in r]
    assert [r["step"] for r in validations] == [2, 4]
    assert all(r["val_objects"] > 0 and abs(r["val_sdr"]) < 100 for r in validations)
    model = load_checkpoint(out / "model.pt")
    assert model.kind == "crn_system" and model.config == model_config("small", tiny_config_file)
    assert model.meta["best_val_sdri"] == max(r["val_sdri"] for r in validations)
    shipped = load_checkpoint(bundle)
    assert shipped.kind == "separator"
    for name, value in shipped.model.state_dict().items():
        trained = model.model.state_dict()[name]
        assert torch.equal(value, trained.half().to(trained.dtype) if trained.is_floating_point()
                           else trained), name


@pytest.mark.slow
def test_resume_continues_exactly_where_the_run_stopped(clip_sets, tiny_config_file, tmp_path):
    config = model_config("small", tiny_config_file)
    clips = find_clips(clip_sets[2]) + find_clips(clip_sets[3])

    def run(out: Path) -> Run:
        return Run(out=out, model=config, train=TrainConfig(steps=4, batch=2, warmup=2),
                   clips=clips, val_clips=[])

    train(run(tmp_path / "straight"))
    train(run(tmp_path / "stopped"), stop_after=2)
    stopped = torch.load(tmp_path / "stopped" / "last.pt", weights_only=True)
    assert stopped["step"] == 2
    train(run(tmp_path / "stopped"), resume=True)
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "stopped" / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for name, value in a["system"].items():
        assert torch.equal(value, b["system"][name]), name


@pytest.mark.slow
def test_trains_on_a_music_layout_folder(tmp_path, tiny_config_file):
    root = tmp_path / "MUSIC"
    root.mkdir()
    lines = [write_music_video(root, "violin", "v1", freq=440.0),
             write_music_video(root, "flute", "f1", freq=880.0),
             write_music_video(root, "acoustic_guitar", "g1", freq=196.0, detections=False)]
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    (root / "val.csv").write_text(lines[0] + "\n" + lines[1] + "\n")
    out = tmp_path / "run"
    assert train_main(["--music", str(root), "--config", str(tiny_config_file), "--steps", "2",
                       "--batch", "2", "--val-every", "2", "--out", str(out)]) == 0
    assert load_checkpoint(out / "model.pt").meta["clips"] == 3
    assert "val_sdr" in (out / "log.jsonl").read_text()


@pytest.mark.slow
def test_two_process_ddp_keeps_replicas_identical(clip_sets, tiny_config_file, tmp_path):
    out, replicas = tmp_path / "ddp", tmp_path / "replicas"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "crn_live.cli", "train", *train_args(clip_sets, tiny_config_file, out, 3),
         "--check-replicas", str(replicas)],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rank0 = torch.load(replicas / "rank0.pt", weights_only=True)
    rank1 = torch.load(replicas / "rank1.pt", weights_only=True)
    torch.manual_seed(0)
    fresh = CRNSystem(model_config("small", tiny_config_file)).state_dict()
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    trained = [n for n in rank0 if rank0[n].is_floating_point() and
               not torch.equal(rank0[n], fresh[n])]
    assert len(trained) > len(rank0) // 2  # the replicas did train, together
    assert "2 processes" in done.stderr


def test_train_config_schedule():
    config = TrainConfig(steps=100, warmup=10, lr=1e-3, min_lr=1e-5)
    assert config.lr_at(0) == pytest.approx(1e-4)
    assert config.lr_at(9) == pytest.approx(1e-3)
    assert config.lr_at(100) == pytest.approx(1e-5)
    assert dataclasses.replace(config, steps=10).lr_at(50) == pytest.approx(1e-5)
    assert ModelConfig.small().context_frames == 64


def test_training_curves_svg(tmp_path):
    log = tmp_path / "run" / "log.jsonl"
    log.parent.mkdir()
    log.write_text("\n".join(json.dumps(r) for r in (
        {"step": 50, "total": 0.8}, {"step": 100, "total": 0.6},
        {"step": 100, "val_sdr": 1.0, "val_sdri": 2.5})) + "\n")
    out = tmp_path / "curves.svg"
    assert _plot_training(str(log), "--out", str(out)).returncode == 0
    svg = out.read_text()
    assert svg.count("<polyline") == 2 and "validation SDRi" in svg and ">run<" in svg
    assert _plot_training(str(tmp_path / "missing.jsonl"), "--out", str(out)).returncode == 2


def _plot_training(*args: str) -> subprocess.CompletedProcess:
    """``python benchmarks/plot_training.py ARGS``: the script as a user runs it."""
    script = Path(__file__).parents[2] / "benchmarks" / "plot_training.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=60)
