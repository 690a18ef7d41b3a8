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
from crn_live.training.losses import LossTerms, LossWeights, crn_loss
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
    #: Share of objects trained on their class alone (appearance dropped), so that the class
    #: alone separates at full quality and a picture only adds what it can.
    appearance_dropout: float = 0.5
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
    keep: torch.Tensor  # (objects,) 1.0: the appearance is used, 0.0: the class alone


def window_samples(config: ModelConfig) -> int:
    """Samples of one training window: exactly ``context_frames`` causal STFT frames."""
    return config.context_frames * config.audio.stft.hop


def mixture_spec(model: ModelConfig, train: TrainConfig) -> MixtureSpec:
    return MixtureSpec(sample_rate=model.audio.sample_rate, window_samples=window_samples(model),
                       crop_size=model.crop_size, sources=train.sources,
                       ensemble_probability=train.ensemble_probability)


def collate(examples: list[Example], rng: np.random.Generator | None = None,
            gain_db: tuple[float, float] = (0.0, 0.0),
            appearance_dropout: float = 0.0) -> Batch:
    """Stack examples; with ``rng``: a random gain per mixture, random crop mirroring and the
    objects whose appearance is dropped (``appearance_dropout`` of them; drawn from ``rng``,
    so a resumed run drops the very same ones)."""
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
        keep=torch.from_numpy((rng.random(len(ids)) >= appearance_dropout
                               if rng is not None else np.ones(len(ids), bool))
                              .astype(np.float32)),
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
                class_ids: torch.Tensor, mixture_ids: torch.Tensor, keep: torch.Tensor) -> Any:
        with torch.no_grad():
            mix_mag = self.front(mix)[mixture_ids][:, None]
            stem_mag = self.front(stems)[:, None]
        appearance = self.system.visual(crops)
        conditions = self.system.condition(class_ids, appearance, keep)
        masks = self.system.crn(log_magnitude(mix_mag), mix_mag, conditions, mixture_ids)
        visual_logits = self.system.condition.head(appearance) if self.weights.visual else None
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
    to the window's STFT with the mixture phase (the fully covered samples): ``val_sdr`` and
    ``val_sdri`` conditioned on the class alone, ``val_sdri_picture`` with the pictures."""
    examples = list(examples)
    alone = _validate(system, examples, device, picture=False)
    picture = _validate(system, examples, device, picture=True)
    return {**alone, "val_sdri_picture": picture["val_sdri"]}


def _validate(system: CRNSystem, examples: list[Example], device: torch.device,
              picture: bool) -> dict:
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
        keep = torch.full((len(batch.class_ids),), float(picture), device=device)
        masks = system(batch.crops.to(device), batch.class_ids.to(device), keep,
                       log_magnitude(mix_mag), mix_mag, batch.mixture_ids.to(device))[-1][:, 0]
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
    session = _open_session(run, resume)
    try:
        while session.state.step < run.train.steps and (
                stop_after is None or session.done_here < stop_after):
            terms = _train_step(session)
            _log_losses(session, terms)
            info: dict[str, Any] = {"loss": terms.total.item()}
            info.update(_validate_and_checkpoint(session))
            if progress is not None and session.rank == 0:
                progress(session.state.step, info)
    finally:
        _save_on_exit(session)
    return _summary(session, replica_dir)


@dataclasses.dataclass
class _Session:
    """One call of :func:`train`: what it trains, with what, and how far it got."""

    run: Run
    rank: int
    world: int
    device: torch.device
    system: CRNSystem
    step_module: nn.Module  # the TrainingStep, wrapped in DDP when world > 1
    optimizer: torch.optim.Optimizer
    state: RunState
    sampler: MixtureSampler
    val_set: ValidationSet | None  # rank 0 with validation clips only
    started: float  # time.perf_counter() when the first step of this call began
    done_here: int = 0  # steps done by this call
    sums: dict[str, float] = dataclasses.field(default_factory=dict)  # losses since last log
    summed: int = 0

    @property
    def last(self) -> Path:
        return self.run.out / "last.pt"

    @property
    def log_path(self) -> Path:
        return self.run.out / "log.jsonl"


def _build_system(run: Run, device: torch.device) -> tuple[CRNSystem, TrainingStep]:
    """The seeded system (weights of ``run.init`` if given) and its training step on ``device``.
    Parameters no loss term reaches would stall DDP's gradient reduction: they are frozen."""
    torch.manual_seed(run.train.seed)
    system = CRNSystem(run.model)
    if run.init is not None:
        system.load_state_dict(load_checkpoint(run.init, expected=run.model).model.state_dict())
    step_module = TrainingStep(system, run.train).to(device)
    system.extractor.requires_grad_(bool(run.train.feature_weight))
    system.classifier.requires_grad_(bool(run.train.classifier_weight or run.train.feature_weight))
    system.condition.head.requires_grad_(bool(run.train.visual_weight))
    return system, step_module


def _resume_state(run: Run, resume: bool, rank: int, system: CRNSystem,
                  optimizer: torch.optim.Optimizer) -> RunState:
    """The state of ``last.pt`` (weights and optimiser loaded) when resuming from one, else a
    fresh state (rank 0 creates the run folder)."""
    last = run.out / "last.pt"
    if resume and last.is_file():
        return load_run_state(last, STATE_FORMAT, run.model, "crn-train", system, optimizer,
                              WEIGHTS_KEY)
    if rank == 0:
        run.out.mkdir(parents=True, exist_ok=True)
    return RunState()


def _open_session(run: Run, resume: bool) -> _Session:
    """Set up one call of :func:`train`: model, optimiser, resumed state, DDP, data."""
    rank, world = _rank()
    device = torch.device(run.device)
    system, step_module = _build_system(run, device)
    trainable = [p for p in system.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=run.train.lr, betas=run.train.betas,
                                 weight_decay=run.train.weight_decay)
    state = _resume_state(run, resume, rank, system, optimizer)
    if world > 1:
        step_module = nn.parallel.DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None)
    sampler = MixtureSampler(run.clips, mixture_spec(run.model, run.train),
                             cache_clips=len(run.clips))
    val_set = ValidationSet.draw(run.val_clips, run.model, run.train) if (
        rank == 0 and run.val_clips) else None
    system.train()
    return _Session(run, rank, world, device, system, step_module, optimizer, state, sampler,
                    val_set, started=time.perf_counter())


def _train_step(s: _Session) -> LossTerms:
    """One optimiser step on a batch drawn from ``(seed, rank, step)``; its loss terms."""
    train = s.run.train
    rng = np.random.default_rng([train.seed, s.rank, s.state.step])
    batch = collate([s.sampler.example(rng) for _ in range(train.batch)], rng, train.gain_db,
                    train.appearance_dropout)
    for group in s.optimizer.param_groups:
        group["lr"] = train.lr_at(s.state.step)
    terms = s.step_module(*(t.to(s.device) for t in dataclasses.astuple(batch)))
    s.optimizer.zero_grad(set_to_none=True)
    terms.total.backward()
    s.optimizer.step()
    s.state.step += 1
    s.done_here += 1
    return terms


def _log_losses(s: _Session, terms: LossTerms) -> None:
    """Add the step's losses to the running sums; every ``log_every`` steps rank 0 writes their
    means to the log and starts new sums."""
    for key, value in terms.as_floats().items():
        s.sums[key] = s.sums.get(key, 0.0) + value
    s.summed += 1
    if s.rank == 0 and s.state.step % s.run.train.log_every == 0:
        record = {"step": s.state.step, "lr": s.run.train.lr_at(s.state.step - 1),
                  "seconds": round(time.perf_counter() - s.started + s.state.seconds, 1),
                  **{k: v / s.summed for k, v in s.sums.items()}}
        append_log(s.log_path, record)
        s.sums, s.summed = {}, 0


def _validate_and_checkpoint(s: _Session) -> dict:
    """Every ``val_every`` steps and at the last (rank 0, with validation clips): validate, log
    the scores, keep the best model as ``model.pt`` and save ``last.pt``. The scores, or ``{}``
    when none are due."""
    step, train = s.state.step, s.run.train
    due = step % train.val_every == 0 or step == train.steps
    if s.rank != 0 or s.val_set is None or not due:
        return {}
    scores = validate(s.system, s.val_set.examples, s.device)
    append_log(s.log_path, {"step": step, **scores})
    s.state.history.append({"step": step, **scores})
    if not scores["val_sdri"] <= s.state.best:  # first score, or better (NaN-safe)
        s.state.best = scores["val_sdri"]
        _save_model(s.run, s.system, s.state, "model.pt")
    _save_state(s.last, s.system, s.optimizer, s.state, s.run, s.started)
    return scores


def _save_on_exit(s: _Session) -> None:
    """Rank 0 saves ``last.pt`` (after the last step or an interruption), and ``model.pt`` when
    no validation chose one."""
    if s.rank == 0:
        if s.val_set is None and s.state.step > 0:
            _save_model(s.run, s.system, s.state, "model.pt")
        _save_state(s.last, s.system, s.optimizer, s.state, s.run, s.started)


def _summary(s: _Session, replica_dir: Path | None) -> dict:
    """Steps, best validation SDRi, world size (and, on several processes, how far the replicas
    differ); every rank's weights written to ``replica_dir`` if given."""
    summary = {"step": s.state.step, "best_val_sdri": s.state.best, "world_size": s.world}
    if s.world > 1:
        summary["replica_max_abs_diff"] = _sync_replicas(s.system, s.world)
    if replica_dir is not None:
        replica_dir.mkdir(parents=True, exist_ok=True)
        torch.save(s.system.state_dict(), replica_dir / f"rank{s.rank}.pt")
    return summary


def _sync_replicas(system: CRNSystem, world: int) -> float:
    """Give every rank rank 0's buffers; the largest difference of :func:`replica_checksum`
    between ranks.

    DDP broadcasts buffers from rank 0 at the start of each forward, so after the last step
    each rank still holds BatchNorm statistics of its own last batch.
    """
    for buffer in system.buffers():
        dist.broadcast(buffer, src=0)
    sums_all = [torch.zeros_like(replica_checksum(system)) for _ in range(world)]
    dist.all_gather(sums_all, replica_checksum(system))
    return float(max((s - sums_all[0]).abs().max() for s in sums_all))


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
