"""The live engine, chunk by chunk, on real backends: it equals the streaming separation at the
model rate, keeps the full band at 44.1 kHz with the same quality, sums back to the mixture,
changes its instruments without a glitch, skips silence, and degrades (and recovers) when late."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crn_live.runtime.graphs import step_graph, step_levels
from crn_live.runtime.select import CACHE_ENV, open_runtime
from crn_live.separation import BUNDLED_MODEL, Separator
from crn_live.stream.engine import LEVELS, EngineSettings, SeparationEngine, SourceObject


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import os

    os.environ[CACHE_ENV] = str(tmp_path_factory.getbasetemp() / "runtime-cache")
    separator = Separator.load()
    runtime = open_runtime("onnxruntime", separator, BUNDLED_MODEL)
    steps = {k: runtime[step_graph(k, separator.config)] for k in step_levels(separator.config)}
    return separator, steps


def _run(engine: SeparationEngine, signal: np.ndarray) -> list:
    n = engine.chunk_samples
    tail = engine.stft_config.latency_samples + n
    padded = np.concatenate([signal, np.zeros(tail + (-len(signal) - tail) % n, np.float32)])
    return [engine.process(padded[i:i + n]) for i in range(0, len(padded), n)]


def _objects(embeddings: np.ndarray) -> list[SourceObject]:
    return [SourceObject(k + 1, f"obj{k}", e) for k, e in enumerate(embeddings)]


@pytest.mark.slow
def test_at_the_model_rate_it_is_the_streaming_separation(model) -> None:
    separator, steps = model
    rng = np.random.default_rng(0)
    mix = (rng.standard_normal(11025 * 3) * 0.1).astype(np.float32)
    embeddings = rng.standard_normal((2, separator.config.embed_dim)).astype(np.float32)
    engine = SeparationEngine(separator.config, steps, EngineSettings(11025, adaptive=False))
    engine.set_objects(_objects(embeddings))
    outs = _run(engine, mix)
    delay = engine.stft_config.latency_samples
    sources = np.concatenate([o.sources for o in outs], axis=1)[:2, delay:delay + len(mix)]
    want = separator.separate(mix, 11025, embeddings, mode="streaming").sources
    body = len(mix) - separator.config.audio.stft.n_fft  # the offline flush differs at the end
    assert np.abs(sources[:, :body] - want[:, :body]).max() <= 1e-4
    assert engine.algorithmic_latency_ms == pytest.approx(separator.config.algorithmic_latency_ms)


@pytest.mark.slow
def test_full_band_at_44k_matches_the_model_rate_quality(model, clip_sets) -> None:
    """A real clip at 44.1 kHz: the model input is read off the full-band frames (no
    resampler), the masks applied to the full band; SDR within 0.3 dB of the reference
    streaming path that resamples to 11025 Hz, and the stems + residual sum to the mixture."""
    from crn_live.data.clips import open_clip
    from crn_live.separation import clip_embeddings
    from crn_live.training.metrics import audible, bss_eval

    separator, steps = model
    clip = open_clip(sorted(p for p in clip_sets[3].iterdir() if p.is_dir())[0])
    mix, stems = clip.mix(44100), clip.stems(44100)
    embeddings = clip_embeddings(separator, clip)
    engine = SeparationEngine(separator.config, steps, EngineSettings(44100, adaptive=False))
    engine.set_objects(_objects(embeddings))
    outs = _run(engine, mix)
    delay = engine.stft_config.latency_samples
    sources = np.concatenate([o.sources for o in outs], axis=1)[:3, delay:delay + len(mix)]
    keep = audible(stems)
    live = bss_eval(stems[keep], sources[keep])["sdr"].mean()
    ref = separator.separate(mix, 44100, embeddings, mode="streaming").sources
    reference = bss_eval(stems[keep], ref[keep])["sdr"].mean()
    assert abs(live - reference) <= 0.3
    for o in outs:
        assert np.abs(o.sources.sum(axis=0) + o.residual - o.mix).max() <= 1e-6
        assert np.abs(o.played - o.mix).max() <= 1e-6  # unity gains: what is played is the mix
    top = np.abs(np.fft.rfft(np.concatenate([o.sources.sum(0) for o in outs])))
    freqs = np.fft.rfftfreq(sum(o.sources.shape[1] for o in outs), 1 / 44100)
    assert top[freqs > 7000].sum() > 0  # the highs above the model's 5.5 kHz are kept


@pytest.mark.slow
def test_objects_come_and_go_without_a_glitch(model) -> None:
    separator, steps = model
    rng = np.random.default_rng(3)
    tone = np.sin(2 * np.pi * 440 * np.arange(44100 * 2) / 44100).astype(np.float32) * 0.3
    embeddings = rng.standard_normal((3, separator.config.embed_dim)).astype(np.float32)
    engine = SeparationEngine(separator.config, steps, EngineSettings(44100, adaptive=False))
    n = engine.chunk_samples
    played, slots = [], []
    for k, start in enumerate(range(0, len(tone) - n + 1, n)):
        live = _objects(embeddings)[: 1 + (k // 10) % 3]  # 1, 2, 3, 1, 2, ... objects
        if k % 7 == 6:
            live = live[1:]  # the first one leaves for a chunk now and then
        engine.set_objects(live)
        out = engine.process(tone[start:start + n])
        played.append(out.played)
        slots.append(out.slots)
        assert np.abs(out.sources.sum(axis=0) + out.residual - out.mix).max() <= 1e-6
    signal = np.concatenate(played)
    delay = engine.stft_config.latency_samples
    assert np.abs(signal[delay:] - tone[:len(signal) - delay]).max() <= 1e-5
    # a track keeps its slot while it lives
    for a, b in zip(slots, slots[1:]):
        for slot, track in enumerate(a):
            if track and track in b:
                assert b[slot] == track


class _Counting:
    """A real backend, counting its calls (and optionally slowed down, as on a slower CPU)."""

    def __init__(self, backend, delay_s: float = 0.0) -> None:
        self.backend, self.delay_s, self.calls = backend, delay_s, 0

    def run(self, feeds):
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.backend.run(feeds)


def test_silence_and_no_objects_skip_the_network(model) -> None:
    separator, steps = model
    full = separator.config.refine_iterations
    counting = _Counting(steps[full])
    engine = SeparationEngine(separator.config, {**steps, full: counting},
                              EngineSettings(44100, adaptive=False))
    n = engine.chunk_samples
    quiet = np.full(n, 1e-5, np.float32)
    loud = np.random.default_rng(0).standard_normal(n).astype(np.float32) * 0.1
    assert engine.process(loud).skipped and counting.calls == 0  # no objects
    engine.set_objects(_objects(np.ones((1, separator.config.embed_dim), np.float32)))
    out = engine.process(quiet)
    assert out.skipped and counting.calls == 0 and not out.sources.any()
    assert not engine.process(loud).skipped and counting.calls == 1


def test_late_chunks_degrade_then_recover(model) -> None:
    separator, steps = model
    full = separator.config.refine_iterations
    # the full graph takes 0.2 s (a CPU far too slow for it), the cheaper ones are real-speed;
    # a deadline of twice the chunk keeps this independent of the test machine's speed
    slow = {k: _Counting(b, 0.2 if k == full else 0.0) for k, b in steps.items()}
    settings = EngineSettings(44100, recover_chunks=5, deadline=2.0)
    engine = SeparationEngine(separator.config, slow, settings)
    engine.set_objects(_objects(np.ones((2, separator.config.embed_dim), np.float32)))
    rng = np.random.default_rng(1)
    levels = []
    for _ in range(12):
        out = engine.process(rng.standard_normal(engine.chunk_samples).astype(np.float32) * 0.1)
        levels.append(out.level)
    assert levels[0] == "full" and "fewer_cycles" in levels
    assert engine.degradations >= 1 and slow[min(1, full)].calls > 0
    assert engine.recoveries >= 1  # the cheaper graph is fast: it climbs back up, and so on
    engine.backlog = 100  # far behind: straight down to dry pass-through
    for _ in range(len(LEVELS)):
        out = engine.process(np.zeros(engine.chunk_samples, np.float32) + 0.01)
    assert out.level == "dry" and out.skipped
    assert np.abs(out.played - out.mix).max() <= 1e-7
    assert engine.stats()["degradations"] == engine.degradations


def test_a_kept_chunk_output_is_not_overwritten_by_the_next(model) -> None:
    """The engine works in scratch arrays allocated once; what it returns stays the caller's:
    two consecutive outputs kept side by side, the first unchanged by the second call."""
    separator, steps = model
    engine = SeparationEngine(separator.config, steps, EngineSettings(44100, adaptive=False))
    rng = np.random.default_rng(4)
    engine.set_objects(_objects(rng.standard_normal((2, separator.config.embed_dim))
                                .astype(np.float32)))
    n = engine.chunk_samples
    fields = ("sources", "residual", "mix", "played", "spectra")
    for _ in range(3):  # past the synthesis' start-up: the outputs carry signal
        engine.process(rng.standard_normal(n).astype(np.float32) * 0.1)
    first = engine.process(rng.standard_normal(n).astype(np.float32) * 0.1)
    kept = {name: getattr(first, name).copy() for name in fields}
    second = engine.process(rng.standard_normal(n).astype(np.float32) * 0.3)
    for name in fields:
        a, b = getattr(first, name), getattr(second, name)
        assert np.array_equal(a, kept[name]), f"{name} was overwritten by the next chunk"
        assert not np.shares_memory(a, b) and not np.array_equal(a, b), name
    assert first.index + 1 == second.index and not first.skipped and not second.skipped


class _Clock:
    """A clock the timed backends move on: each graph call takes a set time, whatever the
    machine (the network itself still runs for real)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Timed:
    """A real backend whose calls take ``cost_s`` on ``clock``, plus ``extra()`` seconds."""

    def __init__(self, backend, clock: _Clock, cost_s: float, extra=lambda: 0.0) -> None:
        self.backend, self.clock, self.cost_s, self.extra = backend, clock, cost_s, extra

    def run(self, feeds):
        self.clock.now += self.cost_s + self.extra()
        return self.backend.run(feeds)


#: Step times per refinement cycles on the machine the live demo was measured on (ms, 3 objects).
COSTS_MS = {3: 25.0, 1: 12.0, 0: 6.0}


def _timed_engine(model, costs_ms: dict, extra_s=None, **settings) -> SeparationEngine:
    """An engine whose graph calls take ``costs_ms`` plus ``extra_s(chunk index)`` seconds."""
    separator, steps = model
    clock = _Clock()
    engine = None

    def extra() -> float:
        return extra_s(engine.chunks) if extra_s is not None else 0.0

    timed = {k: _Timed(b, clock, costs_ms[k] / 1000.0, extra) for k, b in steps.items()}
    engine = SeparationEngine(separator.config, timed, EngineSettings(44100, **settings), clock)
    engine.set_objects(_objects(np.ones((1, separator.config.embed_dim), np.float32)))
    return engine


def _levels(engine: SeparationEngine, chunks: int, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    n = engine.chunk_samples
    return [engine.process(rng.standard_normal(n).astype(np.float32) * 0.1).level
            for _ in range(chunks)]


@pytest.mark.slow
def test_a_one_second_stall_degrades_then_recovers_within_a_few_seconds(model) -> None:
    """Every graph call takes 60 ms longer for one second of chunks (the machine busy
    elsewhere): the engine steps down a level every chunk or two, to dry pass-through (at
    chunk 47), then climbs back a level per window of ``recover_chunks`` chunks that fit:
    full quality again 4 windows later, 65 chunks (3.0 s) after the stall, and it stays there."""
    stall = range(40, 62)  # chunk indices: 22 chunks of 46.4 ms, 1.02 s
    engine = _timed_engine(model, COSTS_MS, lambda k: 0.060 if k in stall else 0.0)
    levels = _levels(engine, 160)
    assert set(levels[:stall.start + 1]) == {"full"} and levels[stall.start + 1] != "full"
    assert levels.index("dry") == 47 and engine.degradations == 4
    back = levels.index("full", stall.start + 1)
    assert back == 47 + 4 * engine.settings.recover_chunks
    assert back - stall.stop == 65 and (back - stall.stop) * engine.chunk_ms / 1000.0 <= 3.1
    assert set(levels[back:]) == {"full"} and engine.recoveries == engine.degradations


@pytest.mark.slow
def test_a_periodic_slow_chunk_neither_degrades_nor_holds_recovery_back(model) -> None:
    """Every 4th graph call takes 20 ms more (work after a detection round, say): at full
    quality that is absorbed (no degradation); after one 60 ms stall has stepped down, the
    engine is back at full after one window, although a quarter of the chunks there, projected
    to full quality with the warm-up's costs, are over the budget."""
    def extra(k: int) -> float:
        return 0.060 if k == 21 else 0.020 if k % 4 == 1 else 0.0

    engine = _timed_engine(model, COSTS_MS, extra)
    costs = engine.warm_up(repeats=1)
    assert all(ms == pytest.approx([COSTS_MS[k]] * len(ms)) for k, ms in costs.items())
    levels = _levels(engine, 80)
    assert set(levels[:22]) == {"full"} and levels[22] == "fewer_cycles"
    back = levels.index("full", 22)
    assert back - 22 == engine.settings.recover_chunks
    assert set(levels[back:]) == {"full"} and engine.degradations == 1


@pytest.mark.slow
def test_a_level_that_does_not_fit_is_tried_ever_more_rarely(model) -> None:
    """Full quality takes 45 ms of a 46.4 ms chunk (over the budget each time) on this
    'machine', one cycle fits: the engine settles at fewer cycles and retries full after a
    doubling window, instead of every ``recover_chunks``."""
    engine = _timed_engine(model, {3: 45.0, 1: 12.0, 0: 6.0}, recover_chunks=5)
    levels = _levels(engine, 120)
    assert set(levels) == {"full", "fewer_cycles"}
    r = engine.settings.recover_chunks
    # 6 chunks at full run up the debt; retries after 1, 2, 4 and 8 windows (then every 8)
    assert engine.recoveries == 4 and levels.count("full") == 6 + 6 * 4
    assert [k for k in range(1, len(levels)) if levels[k] == "full" != levels[k - 1]] \
        == [11, 27, 53, 99]
    assert levels[-(8 * r):].count("full") <= 6


def test_the_warm_up_runs_every_step_graph_and_keeps_their_costs(model) -> None:
    """Each step graph runs at every batch size before real time; the costs it keeps are what
    recovery projects with, and the engine's audio state is untouched."""
    separator, steps = model
    counting = {k: _Counting(b) for k, b in steps.items()}
    engine = SeparationEngine(separator.config, counting, EngineSettings(44100))
    costs = engine.warm_up(repeats=2)
    assert set(costs) == set(steps) and engine.step_costs == costs
    assert all(len(ms) == engine.max_objects and min(ms) > 0 for ms in costs.values())
    assert all(c.calls == engine.max_objects * 2 for c in counting.values())
    assert engine.chunks == 0 and set(engine.stats()["step_costs_ms"]) == set(costs)
    # the real graphs: more cycles cost more, at the full batch
    assert costs[separator.config.refine_iterations][-1] > costs[0][-1]
