"""The block clock and the block-time ring: plain arithmetic, no devices."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.stream.sources.clocks import AudioBlockClock, BlockTimes

RATE = 48000
BLOCK = 480  # 10 ms


def test_first_block_takes_a_plausible_adc_time_else_the_arrival() -> None:
    clock = AudioBlockClock(RATE, max_delay=0.1)
    assert clock.update(BLOCK, adc_time=99.95, arrival=100.0) == 99.95
    clock.reset()
    duration = BLOCK / RATE
    assert clock.update(BLOCK, adc_time=0.0, arrival=100.0) == 100.0 - duration  # unknown
    clock.reset()
    assert clock.update(BLOCK, adc_time=99.5, arrival=100.0) == 100.0 - duration  # too early
    clock.reset()
    assert clock.update(BLOCK, adc_time=99.999, arrival=100.0) == 100.0 - duration  # too late


def test_times_follow_the_sample_count_through_jitter() -> None:
    clock = AudioBlockClock(RATE, gain=0.05, slew=0.1)
    rng = np.random.default_rng(0)
    duration = BLOCK / RATE
    arrivals = 10.0 + duration * np.arange(1, 501) + rng.uniform(0, 0.004, 500)  # 4 ms jitter
    times = np.array([clock.update(BLOCK, 0.0, a) for a in arrivals])
    steps = np.diff(times)
    assert np.all(steps > 0)  # always increasing
    assert np.all(np.abs(steps - duration) <= 0.1 * duration + 1e-12)  # at most the slew
    assert np.abs(steps - duration).mean() < np.abs(np.diff(arrivals) - duration).mean() / 5


def test_a_discontinuity_resynchronises_at_once() -> None:
    clock = AudioBlockClock(RATE)
    duration = BLOCK / RATE
    for k in range(10):
        clock.update(BLOCK, 0.0, 1.0 + k * duration)
    t = clock.update(BLOCK, 0.0, 5.0, discontinuity=True)
    assert t == 5.0 - duration
    assert clock.update(BLOCK, 0.0, 5.0 + duration) == pytest.approx(5.0, abs=1e-12)


def test_block_times_map_samples_to_capture_times() -> None:
    times = BlockTimes(RATE, size=128)
    assert np.isnan(times.time_of(0))
    assert np.isnan(times.time_of(np.arange(3))).all()
    for k in range(4):
        times.record(k * BLOCK, 2.0 + k * 0.0101)  # a slightly slow clock
    assert times.time_of(0) == 2.0
    assert times.time_of(BLOCK + 48) == pytest.approx(2.0101 + 48 / RATE)
    assert times.time_of(10 * BLOCK) == pytest.approx(2.0303 + 7 * BLOCK / RATE)  # after: rate
    assert times.time_of(-RATE) == pytest.approx(1.0)  # before the first block: rate
    many = times.time_of(np.array([0, BLOCK, 2 * BLOCK]))
    assert many.shape == (3,) and np.allclose(many, [2.0, 2.0101, 2.0202])
    positions, stamps = times.snapshot()
    assert positions.tolist() == [0, BLOCK, 2 * BLOCK, 3 * BLOCK] and len(stamps) == 4


def test_block_times_keep_the_newest_and_leave_out_slots_being_overwritten() -> None:
    times = BlockTimes(RATE, size=128)
    for k in range(1000):
        times.record(k * BLOCK, k * 0.01)
    positions, stamps = times.snapshot()
    assert len(positions) == 128 - 64 and positions[-1] == 999 * BLOCK
    assert np.all(np.diff(positions) == BLOCK) and np.allclose(np.diff(stamps), 0.01)
    assert times.time_of(999 * BLOCK) == pytest.approx(9.99)
