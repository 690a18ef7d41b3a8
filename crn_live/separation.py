"""Separating a mixture with a trained model: offline or hop by hop, at any sample rate.

The model sees the mixture at its own rate (11025 Hz): the warped magnitude of the causal STFT.
It returns one mask per object on the log bins. :meth:`Separator.apply` then unwarps the masks
onto the linear bins of the STFT of the *input* at its own rate (same frame durations, see
:meth:`~crn_live.config.StftConfig.scaled_to`) and inverts it with the mixture's phase. The
output therefore keeps the band above the model's 5.5 kHz Nyquist (masked with the top log
bin's value) and needs no resampling back. The residual is the mixture minus every source.

Two ways to compute the masks of a whole recording:

* ``offline`` (the reference): windows of ``context_frames`` frames every half window, masks
  averaged where windows overlap; every frame sees past and future context;
* ``streaming``: :meth:`~crn_live.models.ChunkedCausalCRN.run_offline`, the very windows a live
  engine builds chunk by chunk from silence; no frame sees the future.

Each instrument is named by its class and, where a picture exists, described by its appearance
(:mod:`crn_live.models.condition`): :meth:`Separator.describe` fuses the two, and leaves a
picture out when the model's class head does not recognise the named class in it (a real photo
to a model trained on drawings), so a picture can only help.

No files, Qt or devices here: callers bring arrays. :func:`separate` is the whole API in one
call (a mixture and each instrument's class, with or without pictures, in; stems out);
:class:`Separator` keeps a loaded model for many calls.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from crn_live.config import ModelConfig, StftConfig
from crn_live.data.video import spaced_frames
from crn_live.dsp.masking import log_magnitude_bins, padded_stft
from crn_live.dsp.stft import istft_np, stft_np
from crn_live.dsp.warp import unwarp_matrix
from crn_live.models import ChunkedCausalCRN, load_checkpoint, log_magnitude
from crn_live.instruments import class_id
from crn_live.models.condition import Condition, Conditioner, Conditioning
from crn_live.models.crn import CRN
from crn_live.models.visual import VisualEncoder

#: The small model trained by the project (``crn-train``), shipped inside the package.
BUNDLED_MODEL = Path(__file__).parent / "weights" / "crn_small.pt"
MODES = ("offline", "streaming")
#: Windows run through the network at once by :meth:`Separator.masks` (bounds memory).
WINDOWS_PER_BATCH = 16


@dataclasses.dataclass(frozen=True)
class Separation:
    """``sources (objects, samples)`` and ``residual (samples,)`` at ``sample_rate``."""

    sources: np.ndarray
    residual: np.ndarray
    sample_rate: int


class Separator:
    """A trained visual encoder + conditioning + CRN, ready to separate arrays."""

    def __init__(self, visual: VisualEncoder, condition: Conditioning, crn: CRN,
                 config: ModelConfig, device: str = "cpu", meta: dict | None = None) -> None:
        self.config = config
        self.device = torch.device(device)
        self.visual = visual.to(self.device).eval()
        self.condition = condition.eval()
        self.conditioner = Conditioner.from_module(condition)
        self.crn = crn.to(self.device).eval()
        self.causal = ChunkedCausalCRN.from_crn(self.crn)
        self.meta = dict(meta or {})

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "cpu") -> "Separator":
        """From a ``separator`` or ``crn_system`` checkpoint (default: the bundled model)."""
        from crn_live.models.checkpoint import CheckpointError

        path = BUNDLED_MODEL if path is None else Path(path)
        checkpoint = load_checkpoint(path)
        model = checkpoint.model
        if not all(hasattr(model, part) for part in ("visual", "condition", "crn")):
            raise CheckpointError(f"{path} holds a {checkpoint.kind}, not a separator: use a "
                                  f"checkpoint written by crn-train (model.pt)")
        return cls(model.visual, model.condition, model.crn, checkpoint.config, device,
                   checkpoint.meta)

    def with_chunk(self, chunk_frames: int) -> "Separator":
        """The same networks emitting ``chunk_frames`` frames per step (1: a step every hop, a
        hop less latency, twice the steps); the config, hence its hash, says so."""
        import dataclasses

        config = dataclasses.replace(self.config, chunk_frames=chunk_frames)
        other = Separator(self.visual, self.condition, self.crn, config, str(self.device),
                          self.meta)
        other.causal = ChunkedCausalCRN(config, self.crn)
        return other

    @property
    def rate(self) -> int:
        """The model's sample rate."""
        return self.config.audio.sample_rate

    # ------------------------------------------------------------------ inputs

    @torch.no_grad()
    def appearance(self, crops: np.ndarray) -> np.ndarray:
        """One player's appearance embedding ``(embed_dim,)``: the mean over its crops
        ``(n, S, S, 3)`` uint8 RGB (several moments of a clip are steadier than one frame)."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (self.config.crop_size,) * 2 + (3,):
            raise ValueError(f"crops must be (n, {self.config.crop_size}, "
                             f"{self.config.crop_size}, 3), got {crops.shape}")
        images = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device)
        images = images.permute(0, 3, 1, 2).float() / 255.0
        return self.visual(images).mean(dim=0).cpu().numpy()

    def describe(self, instrument: str, crops: np.ndarray | None = None,
                 guard: bool = True) -> Condition:
        """The condition of one instrument: its class (a name of the vocabulary or a synonym;
        ``ValueError`` for an unknown one) and, when ``crops`` are given and the guard trusts
        them (``guard=False`` forces them in), its appearance."""
        cls = class_id(instrument)
        appearance = None if crops is None else self.appearance(crops)
        return self.conditioner.condition(cls, appearance, guard)

    def embed(self, instrument: str, crops: np.ndarray | None = None) -> np.ndarray:
        """``(embed_dim,)``: :meth:`describe`'s embedding."""
        return self.describe(instrument, crops).embedding

    def describe_all(self, instruments: Sequence[tuple[str, np.ndarray | None]],
                     guard: bool = True, only_when_needed: bool = True) -> list[Condition]:
        """The conditions of the instruments of one mixture, ``(name, crops or None)`` each:
        pictures are used only to tell players of one class apart (``only_when_needed``) and
        only where the guard trusts them (:meth:`Conditioner.conditions`)."""
        classes = [class_id(name) for name, _ in instruments]
        looks = [None if crops is None else self.appearance(crops) for _, crops in instruments]
        return self.conditioner.conditions(classes, looks, guard, only_when_needed)

    def embed_all(self, instruments: Sequence[tuple[str, np.ndarray | None]]) -> np.ndarray:
        """``(instruments, embed_dim)``: :meth:`describe_all`'s embeddings."""
        return np.stack([c.embedding for c in self.describe_all(instruments)])

    def spectrogram(self, mix: np.ndarray) -> np.ndarray:
        """Warped magnitude ``(log_bins, frames)`` float32 of ``mix (samples,)`` at the model rate,
        right-padded by the STFT latency so that :meth:`apply` can rebuild every sample."""
        audio = self.config.audio
        return log_magnitude_bins(padded_stft(np.asarray(mix, np.float32), audio),
                                  audio).astype(np.float32)

    # ------------------------------------------------------------------ masks

    @torch.no_grad()
    def masks(self, mix_mag: np.ndarray, embeddings: np.ndarray, mode: str = "offline",
              iterations: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Masks ``(objects, log_bins, frames)`` in ``[0, 1]`` for one mixture.

        ``mix_mag`` from :meth:`spectrogram`; ``embeddings (objects, embed_dim)``;
        ``progress(done, total)`` after each network call.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        objects = len(embeddings)
        if objects == 0:
            return np.zeros((0,) + mix_mag.shape, np.float32)
        emb = torch.as_tensor(np.asarray(embeddings, np.float32), device=self.device)
        if mode == "streaming":
            mag = torch.as_tensor(mix_mag, device=self.device)[None, None].expand(
                objects, -1, -1, -1)
            ids = torch.zeros(objects, dtype=torch.long, device=self.device)
            out = self.causal.run_offline(log_magnitude(mag), mag, emb, ids, iterations, progress)
            return out[:, 0].cpu().numpy()
        return self._windowed(mix_mag, emb, iterations, progress)

    def _windowed(self, mix_mag: np.ndarray, emb: torch.Tensor, iterations: int | None,
                  progress: Callable[[int, int], None] | None) -> np.ndarray:
        """Half-overlapping windows, masks averaged where they overlap (the reference)."""
        window = self.config.context_frames
        step = max(window // 2, 1)
        frames = mix_mag.shape[-1]
        starts = list(range(0, max(frames - window, 0) + step, step))
        padded = np.zeros((mix_mag.shape[0], starts[-1] + window), np.float32)
        padded[:, :frames] = mix_mag
        objects = emb.shape[0]
        total = np.zeros((objects,) + padded.shape, np.float32)
        count = np.zeros(padded.shape[-1], np.float32)
        for first in range(0, len(starts), WINDOWS_PER_BATCH):
            group = starts[first:first + WINDOWS_PER_BATCH]
            mags = np.stack([padded[:, s:s + window] for s in group])  # (w, L, T)
            mag = torch.as_tensor(mags, device=self.device).repeat_interleave(objects, 0)[:, None]
            ids = torch.arange(len(group), device=self.device).repeat_interleave(objects)
            out = self.crn(log_magnitude(mag), mag, emb.repeat(len(group), 1), ids, iterations)
            out = out[-1][:, 0].reshape(len(group), objects, *mags.shape[1:]).cpu().numpy()
            for k, s in enumerate(group):
                total[..., s:s + window] += out[k]
                count[s:s + window] += 1
            if progress is not None:
                progress(first + len(group), len(starts))
        return total[..., :frames] / count[:frames]

    # ------------------------------------------------------------------ signals

    def apply(self, mix: np.ndarray, rate: int, masks: np.ndarray) -> Separation:
        """Sources and residual of ``mix (samples,)`` at ``rate`` (any rate, full band).

        ``masks (objects, log_bins, model_frames)`` are the masks of the mixture resampled to
        the model rate (:meth:`spectrogram` frames); they are unwarped onto this rate's bins and
        interpolated onto its frame times.
        """
        mix = np.asarray(mix, np.float32)
        stft = self.config.audio.stft.scaled_to(rate)
        spec = stft_np(np.pad(mix, (0, stft.latency_samples)), stft)
        freqs = np.fft.rfftfreq(stft.n_fft, 1.0 / rate)
        unwarp = unwarp_matrix(self.config.audio.stft, self.config.audio.warp, freqs)
        timed = _resample_frames(masks, self.config.audio.stft, stft, spec.shape[-1])
        full = np.einsum("bl,klt->kbt", unwarp.astype(np.float32), timed)
        sources = istft_np(full * spec[None], stft, length=len(mix)).astype(np.float32)
        return Separation(sources, mix - sources.sum(axis=0), rate)

    def separate(self, mix: np.ndarray, rate: int, embeddings: np.ndarray,
                 mode: str = "offline", model_mix: np.ndarray | None = None,
                 iterations: int | None = None) -> Separation:
        """Everything at once: ``mix`` at ``rate`` -> :class:`Separation` at ``rate``.

        ``model_mix``: the same mixture already at the model rate (else it is resampled).
        """
        if model_mix is None:
            from crn_live.dsp.resample import resample

            model_mix = mix if rate == self.rate else resample(mix, rate, self.rate)
        masks = self.masks(self.spectrogram(model_mix), embeddings, mode, iterations)
        return self.apply(mix, rate, masks)


def separate(mix: np.ndarray, rate: int,
             instruments: Sequence[str | tuple[str, np.ndarray | None]],
             model: str | Path | None = None, mode: str = "offline",
             device: str = "cpu") -> Separation:
    """Separate ``mix (samples,)`` at ``rate`` into one stem per instrument plus the residual.

    Args:
        mix: mono float mixture at any sample rate (the output keeps the full band).
        rate: its sample rate in Hz.
        instruments: per instrument, its class name (``"violin"``; synonyms accepted), or a
            ``(name, crops)`` pair with crops of its player ``(n, S, S, 3)`` uint8 RGB, ``S``
            the model's ``config.crop_size`` (their appearance is averaged over ``n`` and used
            where the model recognises the class in it).
        model: a separator checkpoint from ``crn-train`` (default: the bundled small model).
        mode: ``offline`` (windows that see past and future) or ``streaming`` (causal, as live).
        device: torch device.

    Returns:
        :class:`Separation` with ``sources (len(instruments), samples)`` and ``residual``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not len(instruments):
        raise ValueError("no instrument to separate: name at least one")
    separator = Separator.load(model, device)
    embeddings = separator.embed_all([(item, None) if isinstance(item, str) else item
                                      for item in instruments])
    return separator.separate(np.asarray(mix, np.float32), rate, embeddings, mode)


def clip_embeddings(separator: Separator, clip, picture: bool = True,
                    only_when_needed: bool = True) -> np.ndarray:
    """``(slots, embed_dim)``: each slot of a :class:`~crn_live.data.clips.Clip` conditioned on
    its class and (``picture``) its mean appearance over crops two per second, where needed
    (``only_when_needed``; else wherever the guard trusts it)."""
    if not picture:
        return np.stack([separator.embed(slot.class_name) for slot in clip.slots])
    crops = clip.crops(spaced_frames(int(clip.meta["n_frames"]), clip.fps),
                       separator.config.crop_size)
    conditions = separator.describe_all([(slot.class_name, crops[:, k])
                                         for k, slot in enumerate(clip.slots)],
                                        only_when_needed=only_when_needed)
    return np.stack([c.embedding for c in conditions])


def frame_centres(stft: StftConfig, frames: int) -> np.ndarray:
    """Centre time (s) of each causal frame: frame ``t`` spans ``[(t+1)*hop - n_fft, (t+1)*hop)``."""
    return ((np.arange(frames) + 1) * stft.hop - stft.n_fft / 2) / stft.sample_rate


def _resample_frames(masks: np.ndarray, source: StftConfig, target: StftConfig,
                     frames: int) -> np.ndarray:
    """Masks ``(objects, L, source frames)`` -> ``(objects, L, frames)`` on ``target``'s frame
    times (linear interpolation; the identity when the frame times coincide)."""
    src = frame_centres(source, masks.shape[-1])
    dst = frame_centres(target, frames)
    if len(src) == frames and np.allclose(src, dst, atol=1e-9):
        return masks.astype(np.float32)
    position = np.interp(dst, src, np.arange(len(src), dtype=np.float64))
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(src) - 1)
    frac = (position - low).astype(np.float32)
    return (masks[..., low] * (1 - frac) + masks[..., high] * frac).astype(np.float32)
