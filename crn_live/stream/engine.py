"""The live separation engine, once per chunk of hops (no threads, no devices: callers bring
blocks of samples at the device rate).

Per hop of the *device* rate's framing (:meth:`~crn_live.config.StftConfig.scaled_to`: the same
23.2 ms hop and 92.7 ms window as the model's 11025 Hz framing, e.g. 1024 / 4088 samples at
44.1 kHz), the streaming STFT gives one full-band frame. The model's input frame is read straight
off it: the log-frequency warp samples the same frequencies the model's 1022-point STFT would
(its bins lie at the same Hz, below 5.5 kHz), scaled by ``n_fft_model / n_fft_device``. So no
resampler sits in the live path (soxr's streaming hold-back alone would add about 84 ms), model
frame ``t`` *is* device frame ``t``, and the masks apply to the very frame they were computed
from. Once a chunk of ``chunk_frames`` frames is in:

context window ``[log_bins x context_frames]`` -> separator step with its refinement cycles for
all objects at once (through any :class:`~crn_live.runtime.base.Backend`) -> masks of the chunk
-> unwarped onto the full-band bins -> times the mixture's frames -> weighted overlap-add, one
channel per object slot plus the mixture itself -> sources, residual (mixture minus sources),
mixer.

Algorithmic latency: ``n_fft + (chunk_frames - 1) * hop`` device samples (115.9 ms for the small
model's 2-frame chunks, 92.7 ms with 1-frame chunks).

Overload (:meth:`SeparationEngine._adapt`): the chunks' own processing times are compared with
the chunk's duration; when they run late on the whole (or the caller reports a backlog), the
engine steps down a level - fewer refinement cycles, then (a request to the vision side)
detection less often, then dry pass-through of the mixture - and counts it; once the chunks of
a short window would fit at the level above, it steps back up (about a second per level).
:meth:`SeparationEngine.warm_up` runs every step graph before real time starts, so that
start-up is never a late chunk.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Callable, Mapping, Sequence

import numpy as np

from crn_live.config import ModelConfig
from crn_live.dsp.levels import rms_db
from crn_live.dsp.streaming import StreamingIstft, StreamingStft
from crn_live.dsp.warp import interpolation_taps, log_bin_frequencies, log_bin_index
from crn_live.runtime.base import Backend
from crn_live.runtime.step import step_feeds
from crn_live.stream.mixer import Mixer

#: Degradation levels, best first.
LEVELS = ("full", "fewer_cycles", "no_cycles", "detect_less", "dry")
#: Lowest device rate the model's bands fit in.
MIN_RATE = 11025
#: At most this many times ``recover_chunks`` before stepping up again after a step up that did
#: not hold (the recovery window doubles each time one fails within ``2 * recover_chunks``).
MAX_PATIENCE = 8


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    """How the engine runs at a device ``rate``."""

    rate: int
    max_objects: int = 4
    silence_dbfs: float = -70.0  # chunks quieter than this (RMS) skip the network
    deadline: float = 0.8  # share of a chunk's duration its processing may take (on average)
    late_slack: float = 1.0  # chunks of time over the deadline, summed, before degrading
    recover_chunks: int = 20  # chunks at a level (a window) before undoing a degradation...
    recover_load: float = 0.95  # ...if, at the level above, they would average this of the budget
    backlog_chunks: int = 3  # input waiting beyond this many chunks (twice in a row): degrade
    adaptive: bool = True  # False: always full quality, whatever the time (crn-separate)
    ramp_ms: float = 20.0

    def __post_init__(self) -> None:
        if self.rate < MIN_RATE:
            raise ValueError(f"the audio rate must be at least {MIN_RATE} Hz, got {self.rate}")
        if not 1 <= self.max_objects <= 16:
            raise ValueError(f"max_objects must be in 1..16, got {self.max_objects}")
        if self.recover_chunks < 1 or not 0.0 < self.recover_load <= 1.0:
            raise ValueError(f"recover_chunks must be >= 1 and recover_load in (0, 1], got "
                             f"{self.recover_chunks} and {self.recover_load}")


@dataclasses.dataclass(frozen=True)
class SourceObject:
    """An instrument to separate: its track id (> 0), label and embedding."""

    track_id: int
    label: str
    embedding: np.ndarray


@dataclasses.dataclass
class ChunkOutput:
    """One chunk's signals (``samples = chunk_frames * hop``), aligned with each other.

    ``sources (max_objects, samples)`` per slot (zero for an empty slot), ``residual``, ``mix``
    (the mixture, delayed like the sources), ``played`` (after the mixer); ``slots``: the track
    id in each slot (0: empty); ``spectra (max_objects + 2, log_bins, chunk_frames)``: magnitude
    of each slot's source, then the mixture and the residual, on the model's log bins (for
    display); ``level``: the degradation level used; ``step_ms`` the network time;
    ``process_ms`` the whole chunk's; ``skipped``: the network did not run (silence, no objects
    or dry); ``index``: chunks processed before this one.

    Every array is this chunk's own (the four signals are rows of one new array, the spectra
    another): a later :meth:`SeparationEngine.process` never writes into them, so a caller may
    keep them.
    """

    index: int
    sources: np.ndarray
    residual: np.ndarray
    mix: np.ndarray
    played: np.ndarray
    slots: tuple[int, ...]
    labels: tuple[str, ...]
    spectra: np.ndarray
    level: str
    step_ms: float
    process_ms: float
    skipped: bool


class SeparationEngine:
    """Chunk-by-chunk separation at a device rate, through step backends.

    ``steps``: ``{refinement cycles: backend}`` of the step graphs (at least the model's full
    count; cheaper ones are the fallbacks, :func:`~crn_live.runtime.graphs.step_levels`).
    ``clock``: seconds, for the chunks' times (tests inject delays through it).
    """

    def __init__(self, config: ModelConfig, steps: Mapping[int, Backend],
                 settings: EngineSettings,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if config.refine_iterations not in steps:
            raise ValueError(f"steps must include the full {config.refine_iterations} cycles")
        self.config, self.settings, self.clock = config, settings, clock
        self.steps = dict(steps)
        model = config.audio.stft
        self.stft_config = model.scaled_to(settings.rate)
        d = self.stft_config
        self.hop, self.chunk = d.hop, config.chunk_frames
        self.chunk_samples = self.hop * self.chunk
        # model log bins read off the device grid, scaled to the model STFT's magnitude; masks
        # back onto the device bins: both linear interpolations, applied as two-tap gathers
        positions = log_bin_frequencies(model, config.audio.warp) / (d.sample_rate / d.n_fft)
        lower, upper, w_lower, w_upper = interpolation_taps(positions, d.n_bins)
        scale = model.n_fft / d.n_fft
        self._warp_taps = (lower, upper, (w_lower * scale).astype(np.float32),
                           (w_upper * scale).astype(np.float32))
        freqs = np.arange(d.n_bins) * (d.sample_rate / d.n_fft)
        lower, upper, w_lower, w_upper = interpolation_taps(
            log_bin_index(model, config.audio.warp, freqs), config.log_bins)
        self._unwarp_taps = (lower, upper, w_lower.astype(np.float32),
                             w_upper.astype(np.float32))
        self.max_objects = settings.max_objects
        self._analysis = StreamingStft(d, 1)
        self._synthesis = StreamingIstft(d, self.max_objects + 1)
        context = config.context_frames
        self._window = np.zeros((config.log_bins, 2 * context), np.float32)  # double buffer
        self._filled = 0
        self._frames = np.zeros((self.chunk, d.n_bins), np.complex64)
        self._allocate_scratch()
        self._slots: list[SourceObject | None] = [None] * self.max_objects
        self._freed_at = [-1] * self.max_objects
        self.mixer = Mixer(settings.rate, settings.ramp_ms)
        self.chunks = 0
        self.level = 0
        self.degradations = 0
        self.recoveries = 0
        self.level_chunks = [0] * len(LEVELS)
        self.backlog = 0
        #: ``{refinement cycles: ms per batch size}`` of each step graph, from :meth:`warm_up`
        self.step_costs: dict[int, tuple[float, ...]] = {}
        self._debt, self._behind = 0.0, 0  # ms over the budget, summed; chunks behind in a row
        self._patience = 1  # the recovery window, in multiples of recover_chunks
        self._changed_at, self._last_was_recovery = 0, False
        self._recent: collections.deque = collections.deque(maxlen=settings.recover_chunks)

    def _allocate_scratch(self) -> None:
        """The per-chunk working arrays, allocated once: :meth:`process` writes into them."""
        bins, log_bins, slots = self.stft_config.n_bins, self.config.log_bins, self.max_objects
        self._frame_mag = np.zeros(bins, np.float32)  # |frame| of one hop
        self._column = np.zeros(log_bins, np.float32)  # that frame on the log bins
        self._column_tap = np.zeros(log_bins, np.float32)
        self._mags = np.zeros((log_bins, self.chunk), np.float32)  # the chunk's columns
        self._embeddings = np.zeros((slots, self.config.embed_dim), np.float32)
        self._masks = np.zeros((slots, log_bins, self.chunk), np.float32)
        self._full_masks = np.zeros((self.chunk, slots, bins), np.float32)  # on device bins
        self._full_tap = np.zeros((self.chunk, slots, bins), np.float32)
        self._spectrum = np.zeros((slots + 1, bins), np.complex64)  # masked frames + mixture
        self._claimed = np.zeros((log_bins, self.chunk), np.float32)

    # ------------------------------------------------------------------ facts
    @property
    def algorithmic_latency_samples(self) -> int:
        return self.stft_config.n_fft + (self.chunk - 1 + self.config.lookahead_frames) * self.hop

    @property
    def algorithmic_latency_ms(self) -> float:
        return 1000.0 * self.algorithmic_latency_samples / self.settings.rate

    @property
    def chunk_ms(self) -> float:
        return 1000.0 * self.chunk_samples / self.settings.rate

    @property
    def slots(self) -> tuple[int, ...]:
        return tuple(o.track_id if o else 0 for o in self._slots)

    # ------------------------------------------------------------------ objects
    def set_objects(self, objects: Sequence[SourceObject]) -> None:
        """The instruments to separate from now on (at most ``max_objects``): a track keeps its
        slot while it lives; a new one takes the slot freed longest ago."""
        objects = list(objects)[:self.max_objects]
        wanted = {o.track_id: o for o in objects}
        for k, held in enumerate(self._slots):
            if held is not None:
                if held.track_id in wanted:
                    self._slots[k] = wanted.pop(held.track_id)
                else:
                    self._slots[k] = None
                    self._freed_at[k] = self.chunks
                    self.mixer.forget(held.track_id)
        for obj in objects:
            if obj.track_id in wanted:
                free = [k for k, held in enumerate(self._slots) if held is None]
                k = min(free, key=lambda s: self._freed_at[s])
                self._slots[k] = obj

    # ------------------------------------------------------------------ processing
    def process(self, block: np.ndarray) -> ChunkOutput:
        """One chunk: ``block (chunk_samples,)`` float32 mono at the device rate.

        Works in scratch arrays allocated once; the arrays of the returned
        :class:`ChunkOutput` are the chunk's own (a later call never writes into them).
        """
        started = self.clock()
        block = np.asarray(block, np.float32)
        if block.shape != (self.chunk_samples,):
            raise ValueError(f"block must have {self.chunk_samples} samples, got {block.shape}")
        window = self._analyse(block)
        level = LEVELS[self.level] if self.settings.adaptive else LEVELS[0]
        active = [k for k, held in enumerate(self._slots) if held is not None]
        skipped = not active or level == "dry" \
            or rms_db(block) < self.settings.silence_dbfs
        step_ms = 0.0 if skipped else self._run_network(window, active, level)
        if skipped:
            self._masks.fill(0.0)
        slots = self.slots
        sources, mix, residual, played = self._synthesise(slots, level)
        spectra = self._spectra()
        process_ms = 1000.0 * (self.clock() - started)
        output = ChunkOutput(self.chunks, sources, residual, mix, played, slots,
                             tuple(o.label if o else "" for o in self._slots), spectra, level,
                             step_ms, process_ms, skipped)
        self.level_chunks[LEVELS.index(level)] += 1
        self.chunks += 1
        if self.settings.adaptive:
            self._adapt(process_ms, step_ms, 0 if skipped else len(active))
        return output

    def _analyse(self, block: np.ndarray) -> np.ndarray:
        """The chunk's hops through the streaming STFT: frames into ``_frames (chunk, n_bins)``,
        their magnitudes on the model's log bins into ``_mags (log_bins, chunk)`` and the
        context window; returns the window ``(log_bins, context_frames)`` (a view), oldest
        frame first."""
        context = self.config.context_frames
        for f in range(self.chunk):
            frame = self._analysis.push(block[None, f * self.hop:(f + 1) * self.hop])[0]
            self._frames[f] = frame
            column = _apply_taps_into(self._warp_taps, np.abs(frame, out=self._frame_mag),
                                      self._column, self._column_tap)
            self._mags[:, f] = column
            position = self._filled % context
            self._window[:, position] = column
            self._window[:, position + context] = column
            self._filled += 1
        start = self._filled % context
        return self._window[:, start:start + context]

    def _run_network(self, window: np.ndarray, active: list[int], level: str) -> float:
        """The step graph of ``level`` for the ``active`` slots on ``window (log_bins,
        context_frames)``: masks into ``_masks (max_objects, log_bins, chunk)`` (zero for the
        other slots); returns the network's time in ms."""
        embeddings = self._embeddings[:len(active)]
        for row, k in enumerate(active):
            embeddings[row] = self._slots[k].embedding
        feeds = step_feeds(np.broadcast_to(window, (len(active), 1) + window.shape), embeddings)
        t0 = self.clock()
        out = self.steps[self._cycles(level)].run(feeds)["masks"]
        step_ms = 1000.0 * (self.clock() - t0)
        self._masks.fill(0.0)
        self._masks[active] = out[:, 0]
        return step_ms

    def _synthesise(self, slots: tuple[int, ...],
                    level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``_masks`` unwarped onto the device bins, times the chunk's frames, through the
        weighted overlap-add; then the residual and the mixer. Returns ``sources (max_objects,
        chunk_samples)``, ``mix``, ``residual`` and ``played`` ``(chunk_samples,)``: rows of one
        new array."""
        k, hop = self.max_objects, self.hop
        signals = np.empty((k + 3, self.chunk_samples), np.float32)
        full = _apply_taps_into(self._unwarp_taps, self._masks.transpose(2, 0, 1),
                                self._full_masks, self._full_tap)  # (chunk, slots, bins)
        for f in range(self.chunk):
            np.multiply(full[f], self._frames[f], out=self._spectrum[:-1])
            self._spectrum[-1] = self._frames[f]
            self._synthesis.push(self._spectrum, out=signals[:k + 1, f * hop:(f + 1) * hop])
        sources, mix, residual, played = signals[:k], signals[k], signals[k + 1], signals[k + 2]
        # an empty slot still rings out the tail of the track that left it: that tail goes
        # to the residual, so sources + residual stay the mixture exactly
        for slot, track in enumerate(slots):
            if not track:
                sources[slot] = 0.0
        np.subtract(mix, np.sum(sources, axis=0, out=residual), out=residual)
        if level == "dry":
            played[:] = mix
        else:
            self.mixer.mix(sources, residual, slots, out=played)
        return sources, mix, residual, played

    def _spectra(self) -> np.ndarray:
        """A new ``(max_objects + 2, log_bins, chunk)`` array for display: each slot's masked
        mixture magnitude, the mixture's, and the part no mask claimed (the residual's)."""
        k = self.max_objects
        spectra = np.empty((k + 2,) + self._mags.shape, np.float32)
        np.multiply(self._masks, self._mags, out=spectra[:k])
        spectra[k] = self._mags
        unclaimed = np.subtract(1.0, np.sum(self._masks, axis=0, out=self._claimed),
                                out=self._claimed)
        np.clip(unclaimed, 0.0, 1.0, out=unclaimed)
        np.multiply(unclaimed, self._mags, out=spectra[k + 1])
        return spectra

    def _cycles(self, level: str) -> int:
        full = self.config.refine_iterations
        wanted = {"full": full, "fewer_cycles": min(1, full)}.get(level, 0)
        # the cheapest graph at hand that is at least as cheap as wanted
        usable = [c for c in self.steps if c <= wanted]
        return max(usable) if usable else min(self.steps)

    def _adapt(self, process_ms: float, step_ms: float, batch: int) -> None:
        """The overload policy, after each chunk (``budget = deadline * chunk_ms``).

        * **Lateness** is judged on the chunks' own times (``process_ms``: the caller's inline
          work, e.g. a detection round, is not in it) summed against the budget: each chunk
          adds its time over the budget to a debt and pays it back with its time under it
          (never below zero). One slow chunk, or a periodic one, is absorbed (the output's
          jitter buffer covers it); chunks slower than the budget on average run the debt up.
        * **Degrade** one level when the debt exceeds ``late_slack`` chunks (chunks 25 % over
          the budget: after 5 of them; a stall: after 1 or 2), when the caller's ``backlog``
          (input waiting, in chunks: where its own work shows) exceeds ``backlog_chunks`` two
          chunks in a row, or at once while it exceeds twice that (really overloaded: down a
          level per chunk). The new level starts without debt.
        * Each chunk's time is **projected** to the level above: plus what the network of the
          level above costs more (:meth:`_step_up_ms`, for the chunk's ``batch`` of objects).
        * **Recover** one level once a window of ``recover_chunks`` chunks at this level,
          projected, averages at most ``recover_load`` of the budget (the level above would pay
          its debt back), with no debt now and no backlog over one chunk in the window. An
          average, not a run of good chunks: a periodic slow chunk (e.g. after a detection
          round) counts for its share of the time and never resets the count.
        * A recovery undone within ``2 * recover_chunks`` chunks doubles the next window (up to
          ``MAX_PATIENCE`` times): a machine that cannot hold the level above tries it ever
          more rarely instead of flapping; any other degradation resets the window.
        """
        s = self.settings
        budget = s.deadline * self.chunk_ms
        self._debt = max(0.0, self._debt + process_ms - budget)
        projected = process_ms + self._step_up_ms(step_ms, batch)
        self._recent.append(projected if self.backlog <= 1 else float("inf"))
        self._behind = self._behind + 1 if self.backlog > s.backlog_chunks else 0
        if self.level < len(LEVELS) - 1 and (self._debt > s.late_slack * self.chunk_ms
                                             or self._behind >= 2
                                             or self.backlog > 2 * s.backlog_chunks):
            self._change_level(+1)
        elif self.level > 0 and self._debt == 0.0 and len(self._recent) == self._recent.maxlen \
                and sum(self._recent) <= s.recover_load * budget * self._recent.maxlen:
            self._change_level(-1)

    def _change_level(self, step: int) -> None:
        """One level down (``step`` +1, a degradation) or up (-1, a recovery); a new window."""
        s = self.settings
        if step > 0:
            failed = self._last_was_recovery and \
                self.chunks - self._changed_at <= 2 * s.recover_chunks
            self._patience = min(2 * self._patience, MAX_PATIENCE) if failed else 1
            self.degradations += 1
        else:
            self.recoveries += 1
        self.level += step
        self._last_was_recovery, self._changed_at = step < 0, self.chunks
        self._debt, self._behind = 0.0, 0
        self._recent = collections.deque(maxlen=s.recover_chunks * self._patience)

    def _step_up_ms(self, step_ms: float, batch: int) -> float:
        """How much longer the network of the level above would have taken than this chunk's
        (``step_ms`` for ``batch`` objects; 0: it did not run): the difference of the two
        graphs' :meth:`warm_up` costs at that batch when measured, else ``step_ms`` scaled as
        if a refinement cycle cost about as much as the separator itself."""
        if self.level == 0 or batch == 0:
            return 0.0
        here, up = self._cycles(LEVELS[self.level]), self._cycles(LEVELS[self.level - 1])
        if here in self.step_costs and up in self.step_costs:
            return max(0.0, self.step_costs[up][batch - 1] - self.step_costs[here][batch - 1])
        return step_ms * (up - here) / (1.0 + here)

    def warm_up(self, repeats: int = 3) -> dict[int, tuple[float, ...]]:
        """Run every step graph before real time starts (first calls are slow: allocation,
        kernel choice, a plan per input shape): ``repeats`` times at each batch size up to
        ``max_objects``, on silence. Keeps and returns ``{cycles: (median ms per batch size,
        1 first)}`` (what :meth:`_step_up_ms` projects with). Changes no audio state."""
        c, repeats = self.config, max(1, repeats)
        window = np.zeros((c.log_bins, c.context_frames), np.float32)
        embeddings = np.zeros((self.max_objects, c.embed_dim), np.float32)
        costs = {}
        for cycles, backend in sorted(self.steps.items(), reverse=True):
            medians = []
            for batch in range(1, self.max_objects + 1):
                feeds = step_feeds(np.broadcast_to(window, (batch, 1) + window.shape),
                                   embeddings[:batch])
                times = []
                for _ in range(repeats):
                    t0 = self.clock()
                    backend.run(feeds)
                    times.append(1000.0 * (self.clock() - t0))
                medians.append(float(np.median(times)))
            costs[cycles] = tuple(medians)
        self.step_costs = costs
        return dict(costs)

    def stats(self) -> dict:
        return {"chunks": self.chunks, "level": LEVELS[self.level],
                "degradations": self.degradations, "recoveries": self.recoveries,
                "chunks_per_level": dict(zip(LEVELS, self.level_chunks)),
                "step_costs_ms": {k: [round(v, 2) for v in ms]
                                  for k, ms in self.step_costs.items()},
                "algorithmic_latency_ms": round(self.algorithmic_latency_ms, 2)}


def _apply_taps_into(taps: tuple[np.ndarray, ...], x: np.ndarray, out: np.ndarray,
                     scratch: np.ndarray) -> np.ndarray:
    """``x[..., low] * w_low + x[..., high] * w_high``: interpolation along ``x``'s last axis
    with :func:`~crn_live.dsp.warp.interpolation_taps` taps, written into ``out`` (shape
    ``x.shape[:-1] + (len(low),)``) with ``scratch`` (same shape) for the second tap; returns
    ``out``. Allocates nothing."""
    low, high, w_low, w_high = taps
    np.take(x, low, axis=-1, out=out, mode="clip")
    out *= w_low
    np.take(x, high, axis=-1, out=scratch, mode="clip")
    scratch *= w_high
    out += scratch
    return out
