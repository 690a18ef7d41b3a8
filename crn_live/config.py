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
    reverb_probability: float = 0.5
    level_spread_db: float = 6.0
    music: str = "both"  # procedural | scores | both

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.sources < 1 or self.fps <= 0:
            raise ValueError("seconds, sources and fps must be positive")
        if self.music not in ("procedural", "scores", "both"):
            raise ValueError(f"unknown music kind {self.music!r}")

    @property
    def n_samples(self) -> int:
        return int(round(self.seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        return int(round(self.seconds * self.fps))


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
    c.__name__: c for c in (StftConfig, WarpConfig, AudioConfig, SynthConfig)
}
