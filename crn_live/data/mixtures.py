"""Mix-and-separate training examples, as in the reference design.

An example is a mixture and what it is made of: 2–3 stems drawn from *different* clips and summed
(the artificial mixtures of the paper), or now and then all the stems of one clip with its true
ensemble mix. Each object comes with crops of its instrument cut from its own clip's video at the
time of the audio window, so appearance and timing stay tied to the sound.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

import numpy as np

from crn_live.data.clips import Clip
from crn_live.data.video import spaced_frames


@dataclasses.dataclass(frozen=True)
class MixtureSpec:
    """How examples are drawn: sources per artificial mixture, window length, crops."""

    sample_rate: int
    window_samples: int
    crop_size: int
    sources: tuple[int, ...] = (2, 3)
    ensemble_probability: float = 0.25
    crops_per_second: float = 2.0
    min_active_rms: float = 1e-3


@dataclasses.dataclass(frozen=True)
class Example:
    """One mixture: ``mix (samples,)``, ``stems (objects, samples)``, ``crops (objects, S, S, 3)``
    uint8 RGB, ``class_ids (objects,)``, and where each object came from."""

    mix: np.ndarray
    stems: np.ndarray
    crops: np.ndarray
    class_ids: np.ndarray
    sources: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class _Cached:
    stems: np.ndarray  # (slots, samples) at the model rate
    mix: np.ndarray  # (samples,)
    crop_times: np.ndarray  # (n,) seconds
    crops: np.ndarray  # (n, slots, S, S, 3)


class MixtureSampler:
    """Draws :class:`Example` from clips; audio and crops of recently used clips are cached."""

    def __init__(self, clips: list[Clip], spec: MixtureSpec, cache_clips: int = 256):
        if not clips:
            raise ValueError("no clips to draw mixtures from")
        self.clips = clips
        self.spec = spec
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_clips = cache_clips
        # solo recordings (MUSIC layout) have no ensemble mix to draw
        self._ensembles = [c for c in clips if len(c.slots) >= 2]

    def example(self, rng: np.random.Generator) -> Example:
        """A random example: an ensemble clip or an artificial mixture of other clips' stems."""
        if self._ensembles and rng.random() < self.spec.ensemble_probability:
            return self._ensemble(rng)
        return self._artificial(rng)

    def _artificial(self, rng: np.random.Generator) -> Example:
        n = int(rng.choice(self.spec.sources))
        picks = rng.choice(len(self.clips), size=min(n, len(self.clips)), replace=False)
        parts = []
        for index in picks:
            clip = self.clips[int(index)]
            data = self._load(clip)
            slot = int(rng.integers(len(clip.slots)))
            start = self._active_start(rng, data.stems[slot])
            parts.append((clip, slot, start, data))
        stems = np.stack([d.stems[s, a:a + self.spec.window_samples] for _, s, a, d in parts])
        crops = np.stack([self._crop(d, s, a) for _, s, a, d in parts])
        ids = np.array([c.slots[s].class_id for c, s, _, _ in parts], np.int64)
        names = tuple(f"{c.name}/{c.slots[s].name}" for c, s, _, _ in parts)
        # the microphone noise of the first clip's recording, at that stem's window: in the
        # mixture, in no stem (silence for clips recorded without one)
        _, _, start, data = parts[0]
        return Example(stems.sum(axis=0) + self._noise(data, start), stems, crops, ids, names)

    def _ensemble(self, rng: np.random.Generator) -> Example:
        clip = self._ensembles[int(rng.integers(len(self._ensembles)))]
        data = self._load(clip)
        start = self._active_start(rng, data.mix)
        window = slice(start, start + self.spec.window_samples)
        crops = np.stack([self._crop(data, k, start) for k in range(len(clip.slots))])
        return Example(data.mix[window], data.stems[:, window], crops,
                       np.array([s.class_id for s in clip.slots], np.int64),
                       tuple(f"{clip.name}/{s.name}" for s in clip.slots))

    def _active_start(self, rng: np.random.Generator, audio: np.ndarray) -> int:
        """A window start where ``audio`` is not silent (best of a few random tries)."""
        span = max(len(audio) - self.spec.window_samples, 0)
        best, best_rms = 0, -1.0
        for _ in range(4):
            start = int(rng.integers(span + 1))
            rms = float(np.sqrt(np.mean(audio[start:start + self.spec.window_samples] ** 2)))
            if rms > best_rms:
                best, best_rms = start, rms
            if rms >= self.spec.min_active_rms:
                break
        return best

    def _noise(self, data: _Cached, start: int) -> np.ndarray:
        """A recording's noise floor in the window at ``start``: its mix beyond its stems."""
        window = slice(start, start + self.spec.window_samples)
        return data.mix[window] - data.stems[:, window].sum(axis=0)

    def _crop(self, data: _Cached, slot: int, start: int) -> np.ndarray:
        """The slot's crop nearest the middle of the audio window."""
        middle = (start + self.spec.window_samples / 2) / self.spec.sample_rate
        return data.crops[int(np.argmin(np.abs(data.crop_times - middle))), slot]

    def _load(self, clip: Clip) -> _Cached:
        key = str(clip.folder)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        rate = self.spec.sample_rate
        stems = clip.stems(rate)
        stems = _pad_to(stems, self.spec.window_samples)
        mix = _pad_to(clip.mix(rate)[None], self.spec.window_samples)[0]
        n_frames = int(clip.meta["n_frames"])
        frames = spaced_frames(n_frames, clip.fps, self.spec.crops_per_second)
        cached = _Cached(stems, mix, frames / clip.fps, clip.crops(frames, self.spec.crop_size))
        self._cache[key] = cached
        if len(self._cache) > self._cache_clips:
            self._cache.popitem(last=False)
        return cached


def _pad_to(audio: np.ndarray, samples: int) -> np.ndarray:
    """Right-pad ``(channels, n)`` with zeros to at least ``samples``."""
    if audio.shape[-1] >= samples:
        return audio
    return np.pad(audio, ((0, 0), (0, samples - audio.shape[-1])))
