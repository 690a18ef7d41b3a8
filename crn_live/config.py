"""Frozen configuration dataclasses.

Every parameter of the signal chain lives here and is passed in explicitly (no module-level
sample-rate constants). The same dataclasses are serialised into checkpoints, engine manifests and
clip metadata, and compared when those are loaded (:func:`config_hash`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, TypeVar

from crn_live.instruments import CLASSES

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class StftConfig:
    """Short-time Fourier transform framing.

    Frames are *causal*: frame ``t`` covers samples ``[t*hop + hop - n_fft, t*hop + hop)``, i.e.
    it ends at the newest sample of hop ``t``. Offline analysis left-pads ``n_fft - hop`` zeros so
    that offline and streaming analysis see exactly the same frames.
    """

    sample_rate: int = 11025
    n_fft: int = 1022
    hop: int = 256
    window: str = "hann"

    def __post_init__(self) -> None:
        if self.n_fft <= 0 or self.hop <= 0 or self.hop > self.n_fft:
            raise ValueError(f"invalid STFT framing: n_fft={self.n_fft}, hop={self.hop}")
        if self.window not in ("hann", "sqrt_hann"):
            raise ValueError(f"unknown window {self.window!r}; use 'hann' or 'sqrt_hann'")

    @property
    def n_bins(self) -> int:
        """Number of one-sided frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def latency_samples(self) -> int:
        """Delay of streaming analysis -> synthesis, in samples: ``n_fft - hop``."""
        return self.n_fft - self.hop

    @property
    def hop_seconds(self) -> float:
        return self.hop / self.sample_rate

    def scaled_to(self, sample_rate: int) -> "StftConfig":
        """The framing with the same durations at another rate (for full-band processing)."""
        ratio = sample_rate / self.sample_rate
        hop = max(1, round(self.hop * ratio))
        n_fft = max(hop, round(self.n_fft * ratio / 2) * 2)
        return dataclasses.replace(self, sample_rate=sample_rate, n_fft=n_fft, hop=hop)


@dataclasses.dataclass(frozen=True)
class WarpConfig:
    """Log-frequency warp of the reference design (Sound-of-Pixels ``warpgrid``).

    Log bin ``i`` of ``log_bins`` samples the linear axis at normalised position
    ``u = (base ** (i / (log_bins - 1)) - (base + 1) / 2) / ((base - 1) / 2)`` in ``[-1, 1]``.
    """

    log_bins: int = 256
    base: float = 21.0

    def __post_init__(self) -> None:
        if self.log_bins < 2 or self.base <= 1.0:
            raise ValueError(f"invalid warp: log_bins={self.log_bins}, base={self.base}")


@dataclasses.dataclass(frozen=True)
class AudioConfig:
    """The model-side audio representation (11025 Hz, 1022/256 STFT, 256 log bins)."""

    stft: StftConfig = StftConfig()
    warp: WarpConfig = WarpConfig()

    @property
    def sample_rate(self) -> int:
        return self.stft.sample_rate


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """Rendering of one synthetic audio-visual clip."""

    sample_rate: int = 44100
    fps: int = 25
    width: int = 320
    height: int = 240
    seconds: float = 10.0
    sources: int = 2
    reverb_probability: float = 0.8
    level_spread_db: float = 10.0
    music: str = "both"  # procedural | scores | both
    #: how much players shape their notes (vibrato, swells, glides, articulation, drift): 0 plays
    #: the notes as written, 1 as :mod:`crn_live.data.expression` draws it
    expression: float = 1.0
    room: str = "ism"  # ism (pyroomacoustics image sources) | simple (the old hand-made room)
    microphone: bool = True  # microphone and preamp colouring (EQ, low-cut, compression)
    noise_floor: bool = True  # the microphone's self-noise (its own file, in no stem)

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.sources < 1 or self.fps <= 0:
            raise ValueError("seconds, sources and fps must be positive")
        if self.music not in ("procedural", "scores", "both"):
            raise ValueError(f"unknown music kind {self.music!r}")
        if self.room not in ("ism", "simple"):
            raise ValueError(f"unknown room model {self.room!r}")
        if not 0.0 <= self.expression <= 1.0:
            raise ValueError("expression must be within [0, 1]")

    @property
    def n_samples(self) -> int:
        return int(round(self.seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        return int(round(self.seconds * self.fps))


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Sizes of the CRN networks (separator, refiner, visual encoder, audio classifier).

    ``base`` is the reference design (ngf 64, 7-layer U-Nets, 512-d embeddings, 224 px crops,
    ResNet-18 width 64, 256-frame windows); ``small`` is sized for real time on two CPU cores.

    Masks are sigmoid outputs in ``(0, 1)``, as in the reference; training supervises them with
    the ratio mask ``|S_k| / |mix|`` clamped to ``[0, mask_clamp]`` (5 in the reference), so
    targets above 1 (destructive interference in the mixture) are approached by saturating to 1.

    The U-Nets halve the frequency axis in every layer; they halve the time axis in the first
    :attr:`time_strides` layers only (stride 1 in time deeper down), so a ``context_frames``
    window ends at a bottleneck of ``log_bins / 2**unet_depth`` x ``context_frames /
    2**time_strides`` (2 x 2 for the base config, as in the reference).

    Algorithmic latency (:attr:`algorithmic_latency_ms`), from a sample entering the analysis
    to the same sample leaving the synthesis, compute time excluded. With causal frames
    (frame ``t`` ends at the last sample of hop ``t``) and weighted overlap-add synthesis:

    1. STFT alone: streaming synthesis (:mod:`crn_live.dsp.streaming`) outputs sample ``n``
       with frame ``t = floor((n + n_fft - hop) / hop)``, computed once the input reaches
       ``(t + 1) * hop``: a delay of ``n_fft - hop + 1`` to ``n_fft`` samples, worst ``n_fft``.
    2. Masks: one step emits the masks of ``chunk_frames`` frames at once, from a window that
       ends ``lookahead_frames`` after the newest of them; the oldest frame of a chunk therefore
       waits ``chunk_frames - 1 + lookahead_frames`` further hops before it can be synthesised.

    Total: ``n_fft + (chunk_frames - 1 + lookahead_frames) * hop`` samples at ``sample_rate``.
    """

    size: str = "small"
    ngf: int = 16
    unet_depth: int = 7
    embed_dim: int = 128
    refine_iterations: int = 3
    crop_size: int = 96
    visual_width: int = 16
    classifier_width: int = 16
    n_classes: int = len(CLASSES)
    context_frames: int = 64
    chunk_frames: int = 2
    lookahead_frames: int = 0
    log_bins: int = 256
    mask_clamp: float = 5.0
    audio: AudioConfig = AudioConfig()

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem:
            raise ValueError(f"invalid ModelConfig: {problem}")

    def _problem(self) -> str:
        """The first inconsistency of the fields, or ``''``."""
        positive = ("ngf", "unet_depth", "embed_dim", "crop_size", "visual_width",
                    "classifier_width", "n_classes", "context_frames", "chunk_frames")
        bad = [name for name in positive if getattr(self, name) < 1]
        if bad:
            return f"{', '.join(bad)} must be >= 1"
        if self.size not in ("small", "base"):
            return f"size {self.size!r} is not 'small' or 'base'"
        if self.unet_depth < 2:
            return f"unet_depth {self.unet_depth} must be >= 2"
        if self.refine_iterations < 0 or self.lookahead_frames < 0 or self.mask_clamp <= 0:
            return "refine_iterations and lookahead_frames must be >= 0, mask_clamp > 0"
        if self.log_bins != self.audio.warp.log_bins:
            return f"log_bins {self.log_bins} != audio.warp.log_bins {self.audio.warp.log_bins}"
        if self.log_bins % 2**self.unet_depth or self.log_bins < 2**self.unet_depth:
            return f"log_bins {self.log_bins} is not a multiple of 2**unet_depth"
        if self.crop_size % 32:
            return f"crop_size {self.crop_size} is not a multiple of 32"
        if self.chunk_frames + self.lookahead_frames > self.context_frames:
            return "chunk_frames + lookahead_frames exceed context_frames"
        return ""

    @property
    def time_strides(self) -> int:
        """How many U-Net layers (the outermost ones) halve the time axis.

        The largest ``k <= unet_depth`` with ``context_frames / 2**k`` a whole number >= 2.
        """
        k = 0
        while k < self.unet_depth:
            halved, remainder = divmod(self.context_frames, 2 ** (k + 1))
            if remainder or halved < 2:
                break
            k += 1
        return k

    @property
    def time_multiple(self) -> int:
        """Frame counts the U-Nets accept are multiples of this, ``2**time_strides``."""
        return 2**self.time_strides

    @property
    def algorithmic_latency_samples(self) -> int:
        """``n_fft + (chunk_frames - 1 + lookahead_frames) * hop`` (see the class docstring)."""
        stft = self.audio.stft
        return stft.n_fft + (self.chunk_frames - 1 + self.lookahead_frames) * stft.hop

    @property
    def algorithmic_latency_ms(self) -> float:
        """:attr:`algorithmic_latency_samples` in milliseconds."""
        return 1000.0 * self.algorithmic_latency_samples / self.audio.sample_rate

    @property
    def chunk_ms(self) -> float:
        """Audio duration covered by one step's masks, ``chunk_frames * hop`` in ms."""
        return 1000.0 * self.chunk_frames * self.audio.stft.hop / self.audio.sample_rate

    @classmethod
    def small(cls, **changes: Any) -> "ModelConfig":
        """Sized for real time on two CPU cores (timings in :mod:`crn_live.models.causal`)."""
        return cls(**{"size": "small", **changes})

    @classmethod
    def base(cls, **changes: Any) -> "ModelConfig":
        """The reference design: ngf 64, 512-d embeddings, 224 px crops, 256-frame windows."""
        sizes = dict(size="base", ngf=64, embed_dim=512, crop_size=224, visual_width=64,
                     classifier_width=64, context_frames=256, chunk_frames=4)
        return cls(**{**sizes, **changes})


@dataclasses.dataclass(frozen=True)
class DetectorConfig:
    """The instrument detector: input size, widths, classes, and decoding thresholds.

    A centre-point (heat-map) detector: the image ``input_height x input_width`` (frames are
    letterboxed to it) goes through a stride-32 trunk with a feature-pyramid neck back up to
    ``output_stride``; per cell the head predicts one score per class and the box around the
    centre. ``widths`` are the channel counts of the stride 2, 4, 8, 16 and 32 stages.
    """

    input_width: int = 320
    input_height: int = 240
    widths: tuple[int, ...] = (24, 48, 64, 128, 192)
    neck_width: int = 96
    output_stride: int = 8
    classes: tuple[str, ...] = ()
    score_threshold: float = 0.3
    nms_iou: float = 0.5
    max_detections: int = 16

    def __post_init__(self) -> None:
        if not self.classes:
            object.__setattr__(self, "classes", CLASSES)
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        problem = self._problem()
        if problem:
            raise ValueError(f"invalid DetectorConfig: {problem}")

    def _problem(self) -> str:
        if len(self.widths) != 5 or min(self.widths) < 1 or self.neck_width < 1:
            return f"widths {self.widths} must be 5 positive channel counts"
        if self.output_stride not in (4, 8, 16):
            return f"output_stride {self.output_stride} must be 4, 8 or 16"
        if self.input_width % self.output_stride or self.input_height % self.output_stride:
            return (f"input {self.input_width}x{self.input_height} is not a multiple of "
                    f"output_stride {self.output_stride}")
        if not (0 < self.score_threshold < 1 and 0 < self.nms_iou <= 1
                and self.max_detections >= 1):
            return "score_threshold and nms_iou must be in (0, 1], max_detections >= 1"
        return ""

    @property
    def output_size(self) -> tuple[int, int]:
        """``(height, width)`` of the score map."""
        return self.input_height // self.output_stride, self.input_width // self.output_stride


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a (nested) config dataclass; unknown keys are an error."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        field_type = fields[name].type
        sub = _DATACLASSES.get(field_type if isinstance(field_type, str) else field_type.__name__)
        kwargs[name] = from_dict(sub, value) if sub is not None and isinstance(value, dict) else value
    return cls(**kwargs)


def config_hash(config: Any) -> str:
    """A short stable hash of a config, stored in checkpoints and manifests."""
    blob = json.dumps(to_dict(config), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


_DATACLASSES: dict[str, type] = {
    c.__name__: c for c in (StftConfig, WarpConfig, AudioConfig, SynthConfig, ModelConfig,
                            DetectorConfig)
}
