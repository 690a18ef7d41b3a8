"""Training the CRN by mix-and-separate, on one process or many (``torchrun``, DDP).

Each step draws ``batch`` mixtures (:class:`~crn_live.data.mixtures.MixtureSampler`: 2-3 stems of
different clips, or a clip's own ensemble), each one window of ``context_frames`` frames, the
window the chunked causal model sees live. Their warped STFT magnitudes feed the CRN, the crops
feed the visual encoder, and the loss is the reference's (weighted L1 on clamped ratio masks for
the separator and each refinement stage, 0.05 x classifier cross-entropy) plus our causal term on
the frames a streaming step emits (:mod:`crn_live.training.losses`).

Randomness is a function of ``(seed, rank, step)``, so a resumed run draws the very batches the
uninterrupted run would have. A run folder holds::

    model.pt        best checkpoint so far by validation SDRi (kind crn_system)
    last.pt         everything to resume: weights, optimiser, step, best score
    log.jsonl       one JSON line per log interval (losses) and per validation (SDR, SDRi)

Distributed: started by ``torchrun --nproc-per-node N``, every process trains on its own batches
and DDP averages the gradients (gloo on CPU, NCCL on CUDA); BatchNorm statistics are broadcast
from rank 0 each step, so the replicas stay identical. Rank 0 validates and writes the files.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from crn_live.config import ModelConfig, to_dict
from crn_live.data.clips import Clip
from crn_live.data.mixtures import Example, MixtureSampler, MixtureSpec
from crn_live.dsp.stft import stft
from crn_live.dsp.warp import LogFrequencyWarp
from crn_live.models import CRNSystem, load_checkpoint, log_magnitude, save_checkpoint
from crn_live.training.losses import LossWeights, crn_loss
from crn_live.training.metrics import audible, bss_eval
from crn_live.training.run_state import (
    RunState,
    append_log,
    load_run_state,
    save_run_state,
    warmup_cosine,
)

STATE_FORMAT = "crn-live-train-state"
WEIGHTS_KEY = "system"  # where last.pt keeps the weights


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train (the model's own sizes are its :class:`ModelConfig`)."""

    steps: int = 20000
    batch: int = 8
    lr: float = 5e-4
    min_lr: float = 2e-5
    warmup: int = 200
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-4
    causal_weight: float = 1.0
    visual_weight: float = 0.5
    classifier_weight: float = 0.05
    feature_weight: float = 0.0
    gain_db: tuple[float, float] = (-18.0, 6.0)
    sources: tuple[int, ...] = (2, 3)
    ensemble_probability: float = 0.25
    val_every: int = 500
    val_examples: int = 32
    log_every: int = 50
    seed: int = 0

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay from ``lr`` to ``min_lr`` at ``steps``."""
        return warmup_cosine(step, self.lr, self.min_lr, self.warmup, self.steps)


@dataclasses.dataclass
class Batch:
    """Tensors of one step: ``objects`` objects in ``mixtures`` mixtures."""

    mix: torch.Tensor  # (mixtures, samples)
    stems: torch.Tensor  # (objects, samples)
    crops: torch.Tensor  # (objects, 3, S, S) in [0, 1]
    class_ids: torch.Tensor  # (objects,)
    mixture_ids: torch.Tensor  # (objects,)


def window_samples(config: ModelConfig) -> int:
    """Samples of one training window: exactly ``context_frames`` causal STFT frames."""
    return config.context_frames * config.audio.stft.hop


def mixture_spec(model: ModelConfig, train: TrainConfig) -> MixtureSpec:
    return MixtureSpec(sample_rate=model.audio.sample_rate, window_samples=window_samples(model),
                       crop_size=model.crop_size, sources=train.sources,
                       ensemble_probability=train.ensemble_probability)


def collate(examples: list[Example], rng: np.random.Generator | None = None,
            gain_db: tuple[float, float] = (0.0, 0.0)) -> Batch:
    """Stack examples; with ``rng``: a random gain per mixture and random crop mirroring."""
    mixes, stems, crops = [], [], []
    for example in examples:
        gain = 1.0 if rng is None else 10 ** (rng.uniform(*gain_db) / 20)
        mixes.append(example.mix * gain)
        stems.append(example.stems * gain)
        c = example.crops
        if rng is not None:
            flip = rng.random(len(c)) < 0.5
            c = np.where(flip[:, None, None, None], c[:, :, ::-1], c)
        crops.append(c)
    ids = np.concatenate([np.full(len(e.stems), i) for i, e in enumerate(examples)])
    images = torch.from_numpy(np.ascontiguousarray(np.concatenate(crops)))
    return Batch(
        mix=torch.from_numpy(np.stack(mixes).astype(np.float32)),
        stems=torch.from_numpy(np.concatenate(stems).astype(np.float32)),
        crops=images.permute(0, 3, 1, 2).float() / 255.0,
        class_ids=torch.from_numpy(np.concatenate([e.class_ids for e in examples])),
        mixture_ids=torch.from_numpy(ids.astype(np.int64)),
    )


class SpectralFrontEnd(nn.Module):
    """Waveforms at the model rate -> warped STFT magnitudes ``(..., log_bins, frames)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.stft_config = config.audio.stft
        self.warp = LogFrequencyWarp(config.audio.stft, config.audio.warp)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.warp(stft(audio, self.stft_config).abs())


class TrainingStep(nn.Module):
    """The system plus its loss: ``forward(batch) -> LossTerms`` (one module for DDP)."""

    def __init__(self, system: CRNSystem, train: TrainConfig) -> None:
        super().__init__()
        self.system = system
        self.front = SpectralFrontEnd(system.config)
        self.weights = LossWeights(classifier=train.classifier_weight,
                                   feature=train.feature_weight, causal=train.causal_weight,
                                   visual=train.visual_weight)
        end = system.config.context_frames - system.config.lookahead_frames
        self.emitted = slice(end - system.config.chunk_frames, end)

    def forward(self, mix: torch.Tensor, stems: torch.Tensor, crops: torch.Tensor,
                class_ids: torch.Tensor, mixture_ids: torch.Tensor) -> Any:
        with torch.no_grad():
            mix_mag = self.front(mix)[mixture_ids][:, None]
            stem_mag = self.front(stems)[:, None]
        embeddings = self.system.visual(crops)
        masks = self.system.crn(log_magnitude(mix_mag), mix_mag, embeddings, mixture_ids)
        visual_logits = self.system.visual_head(embeddings) if self.weights.visual else None
        logits = features = target = None
        if self.weights.classifier or self.weights.feature:
            logits, maps = self.system.classifier(log_magnitude(masks[-1] * mix_mag))
            if self.weights.feature:
                features = self.system.extractor(maps)
                with torch.no_grad():
                    target = self.system.extractor(self.system.classifier(
                        log_magnitude(stem_mag))[1])
        return crn_loss(masks, stem_mag, mix_mag, self.system.config.mask_clamp, self.weights,
                        class_logits=logits, class_ids=class_ids, features=features,
                        target_features=target, emitted=self.emitted,
                        visual_logits=visual_logits)


# -------------------------------------------------------------------------------------------
# validation


@dataclasses.dataclass(frozen=True)
class ValidationSet:
    """Fixed mixtures drawn once from the validation clips (the same every validation)."""

    examples: tuple[Example, ...]

    @classmethod
    def draw(cls, clips: list[Clip], model: ModelConfig, train: TrainConfig) -> "ValidationSet":
        sampler = MixtureSampler(clips, mixture_spec(model, train))
        return cls(tuple(sampler.example(np.random.default_rng([train.seed, 7, i]))
                         for i in range(train.val_examples)))


@torch.no_grad()
def validate(system: CRNSystem, examples: Iterable[Example], device: torch.device) -> dict:
    """Mean SDR and SDRi (dB) over the audible objects of the examples, offline masks applied
    to the window's STFT with the mixture phase (the fully covered samples)."""
    from crn_live.dsp.stft import istft

    config = system.config
    front = SpectralFrontEnd(config).to(device)
    unwarp = front.warp.unwarp_matrix
    was_training = system.training
    system.eval()
    sdr, sdri = [], []
    for example in examples:
        batch = collate([example])
        mix = batch.mix.to(device)
        spec = stft(mix, config.audio.stft)  # (1, bins, T)
        mix_mag = front.warp(spec.abs())[batch.mixture_ids.to(device)][:, None]
        masks = system(batch.crops.to(device), log_magnitude(mix_mag), mix_mag,
                       batch.mixture_ids.to(device))[-1][:, 0]
        estimates = istft(torch.matmul(unwarp, masks) * spec, config.audio.stft).cpu().numpy()
        n = estimates.shape[-1]
        refs = example.stems[:, :n].astype(np.float64)
        keep = audible(refs)
        if keep.sum() == 0:
            continue
        est = bss_eval(refs[keep], estimates[keep])["sdr"]
        base = bss_eval(refs[keep], np.repeat(example.mix[None, :n], keep.sum(), 0))["sdr"]
        sdr.extend(est.tolist())
        sdri.extend((est - base).tolist())
    system.train(was_training)
    return {"val_sdr": float(np.mean(sdr)) if sdr else float("nan"),
            "val_sdri": float(np.mean(sdri)) if sdri else float("nan"),
            "val_objects": len(sdr)}


# -------------------------------------------------------------------------------------------
# the loop


@dataclasses.dataclass(frozen=True)
class Run:
    """Everything one training run needs."""

    out: Path
    model: ModelConfig
    train: TrainConfig
    clips: list[Clip]
    val_clips: list[Clip]
    device: str = "cpu"
    data_names: tuple[str, ...] = ()
    init: Path | None = None


def _rank() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def setup_distributed(device: str) -> tuple[int, int]:
    """Join the ``torchrun`` process group when its variables are set; ``(rank, world)``."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if device.startswith("cuda"):
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def replica_checksum(module: nn.Module) -> torch.Tensor:
    """Per-tensor float64 sums and absolute sums of parameters and buffers, ``(2 * tensors,)``."""
    values = []
    for tensor in module.state_dict().values():
        t = tensor.detach().double()
        values.extend((t.sum(), t.abs().sum()))
    return torch.stack(values).cpu()


def train(run: Run, progress: Callable[[int, dict], None] | None = None,
          resume: bool = False, stop_after: int | None = None,
          replica_dir: Path | None = None) -> dict:
    """Train (or resume) ``run``; returns the final summary (also stored in the checkpoint).

    ``progress(step, info)`` is called after every step on rank 0. ``stop_after`` ends the
    call after that many steps of this call (tests; the state is saved as on an interruption).
    ``replica_dir``: every rank writes its final state dict there (replica checks).
    """
    rank, world = _rank()
    device = torch.device(run.device)
    torch.manual_seed(run.train.seed)
    system = CRNSystem(run.model)
    if run.init is not None:
        system.load_state_dict(load_checkpoint(run.init, expected=run.model).model.state_dict())
    step_module = TrainingStep(system, run.train).to(device)
    # parameters no loss term reaches would stall DDP's gradient reduction: freeze them
    system.extractor.requires_grad_(bool(run.train.feature_weight))
    system.classifier.requires_grad_(bool(run.train.classifier_weight or run.train.feature_weight))
    system.visual_head.requires_grad_(bool(run.train.visual_weight))
    trainable = [p for p in system.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=run.train.lr, betas=run.train.betas,
                                 weight_decay=run.train.weight_decay)
    state = RunState()
    last = run.out / "last.pt"
    if resume and last.is_file():
        state = load_run_state(last, STATE_FORMAT, run.model, "crn-train", system, optimizer,
                               WEIGHTS_KEY)
    elif rank == 0:
        run.out.mkdir(parents=True, exist_ok=True)
    if world > 1:
        ddp = nn.parallel.DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None)
    else:
        ddp = step_module
    sampler = MixtureSampler(run.clips, mixture_spec(run.model, run.train),
                             cache_clips=len(run.clips))
    val_set = ValidationSet.draw(run.val_clips, run.model, run.train) if (
        rank == 0 and run.val_clips) else None
    log_path = run.out / "log.jsonl"
    system.train()
    sums: dict[str, float] = {}
    summed = 0
    started = time.perf_counter()
    done_here = 0
    try:
        while state.step < run.train.steps and (stop_after is None or done_here < stop_after):
            rng = np.random.default_rng([run.train.seed, rank, state.step])
            batch = collate([sampler.example(rng) for _ in range(run.train.batch)], rng,
                            run.train.gain_db)
            for group in optimizer.param_groups:
                group["lr"] = run.train.lr_at(state.step)
            terms = ddp(*(t.to(device) for t in dataclasses.astuple(batch)))
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            optimizer.step()
            state.step += 1
            done_here += 1
            for key, value in terms.as_floats().items():
                sums[key] = sums.get(key, 0.0) + value
            summed += 1
            info: dict[str, Any] = {"loss": terms.total.item()}
            if rank == 0 and state.step % run.train.log_every == 0:
                record = {"step": state.step, "lr": run.train.lr_at(state.step - 1),
                          "seconds": round(time.perf_counter() - started + state.seconds, 1),
                          **{k: v / summed for k, v in sums.items()}}
                append_log(log_path, record)
                sums, summed = {}, 0
            if rank == 0 and val_set is not None and (
                    state.step % run.train.val_every == 0 or state.step == run.train.steps):
                scores = validate(system, val_set.examples, device)
                append_log(log_path, {"step": state.step, **scores})
                info.update(scores)
                state.history.append({"step": state.step, **scores})
                if not scores["val_sdri"] <= state.best:  # first score, or better (NaN-safe)
                    state.best = scores["val_sdri"]
                    _save_model(run, system, state, "model.pt")
                _save_state(last, system, optimizer, state, run, started)
            if progress is not None and rank == 0:
                progress(state.step, info)
    finally:
        if rank == 0:
            if val_set is None and state.step > 0:
                _save_model(run, system, state, "model.pt")
            _save_state(last, system, optimizer, state, run, started)
    summary = {"step": state.step, "best_val_sdri": state.best, "world_size": world}
    if world > 1:
        # DDP broadcasts buffers from rank 0 at the start of each forward, so after the last
        # step each rank still holds BatchNorm statistics of its own last batch: sync them
        for buffer in system.buffers():
            dist.broadcast(buffer, src=0)
        sums_all = [torch.zeros_like(replica_checksum(system)) for _ in range(world)]
        dist.all_gather(sums_all, replica_checksum(system))
        summary["replica_max_abs_diff"] = float(
            max((s - sums_all[0]).abs().max() for s in sums_all))
    if replica_dir is not None:
        replica_dir.mkdir(parents=True, exist_ok=True)
        torch.save(system.state_dict(), replica_dir / f"rank{rank}.pt")
    return summary


def _meta(run: Run, state: RunState) -> dict:
    return {"step": state.step, "best_val_sdri": state.best if state.history else None,
            "history": state.history[-50:], "train": to_dict(run.train),
            "data": list(run.data_names), "clips": len(run.clips),
            "train_seconds": round(state.seconds, 1), "torch": str(torch.__version__)}


def _save_model(run: Run, system: CRNSystem, state: RunState, name: str) -> None:
    save_checkpoint(run.out / name, system, run.model, _meta(run, state))


def _save_state(path: Path, system: CRNSystem, optimizer: torch.optim.Optimizer,
                state: RunState, run: Run, started: float) -> None:
    save_run_state(path, STATE_FORMAT, run.model, run.train, state, started, system, optimizer,
                   WEIGHTS_KEY)
