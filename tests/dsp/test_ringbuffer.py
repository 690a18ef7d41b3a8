"""SPSC audio ring buffer: wraparound vs a reference deque, xrun counting, no allocation."""

from __future__ import annotations

import collections
import threading
import tracemalloc

import numpy as np
import pytest

from crn_live.dsp.ringbuffer import AudioRingBuffer


def test_random_blocks_match_reference_deque() -> None:
    rng = np.random.default_rng(0)
    capacity, channels = 97, 2  # prime: wraparound at every offset
    ring = AudioRingBuffer(capacity, channels)
    reference: collections.deque[np.ndarray] = collections.deque()
    counter = 0
    for _ in range(2000):
        if rng.random() < 0.5:
            n = int(rng.integers(0, 60))
            block = (counter + np.arange(n * channels)).reshape(n, channels).astype(np.float32)
            counter += n * channels
            written = ring.write(block)
            assert written == min(n, capacity - len(reference))
            reference.extend(block[:written])
        else:
            out = np.full((int(rng.integers(0, 60)), channels), np.nan, dtype=np.float32)
            got = ring.read_into(out)
            assert got == min(len(out), len(reference))
            expected = [reference.popleft() for _ in range(got)]
            np.testing.assert_array_equal(out[:got], np.reshape(expected, (got, channels)))
            assert np.all(out[got:] == 0.0)
        assert ring.available == len(reference)
        assert ring.space == capacity - len(reference)


def test_overrun_and_underrun_counting() -> None:
    ring = AudioRingBuffer(10, 1)
    assert ring.write(np.ones((8, 1), np.float32)) == 8
    assert ring.write(np.full((5, 1), 2.0, np.float32)) == 2  # 3 newest frames dropped
    assert (ring.overruns, ring.overrun_frames) == (1, 3)
    out = np.empty((12, 1), np.float32)
    assert ring.read_into(out) == 10
    np.testing.assert_array_equal(out[:, 0], [1] * 8 + [2, 2, 0, 0])
    assert (ring.underruns, ring.underrun_frames) == (1, 2)
    assert ring.read_into(np.empty((0, 1), np.float32)) == 0  # asking nothing is no underrun
    assert ring.underruns == 1


def test_peek_latest_does_not_consume() -> None:
    ring = AudioRingBuffer(8, 1)
    ring.write(np.arange(6, dtype=np.float32)[:, None])
    ring.read_into(np.empty((3, 1), np.float32))
    ring.write(np.arange(6, 10, dtype=np.float32)[:, None])  # wraps around
    out = np.full((5, 1), np.nan, np.float32)
    assert ring.peek_latest_into(out) == 5
    np.testing.assert_array_equal(out[:, 0], [5, 6, 7, 8, 9])
    assert ring.available == 7
    wide = np.full((9, 1), np.nan, np.float32)
    assert ring.peek_latest_into(wide) == 7  # only unread frames, right-aligned
    np.testing.assert_array_equal(wide[:, 0], [0, 0, 3, 4, 5, 6, 7, 8, 9])


def test_clear_discards_unread_frames() -> None:
    ring = AudioRingBuffer(8, 2)
    ring.write(np.ones((5, 2), np.float32))
    ring.clear()
    assert ring.available == 0 and ring.space == 8


def test_rejects_wrong_channel_count() -> None:
    ring = AudioRingBuffer(8, 2)
    with pytest.raises(ValueError, match="frames, 2"):
        ring.write(np.zeros((4, 1), np.float32))
    with pytest.raises(ValueError, match="frames, 2"):
        ring.read_into(np.zeros(4, np.float32))


def test_hot_path_allocates_nothing() -> None:
    ring = AudioRingBuffer(4096, 2)
    block = np.ones((700, 2), np.float32)  # 5.6 KB: any temporary copy would show in the peak
    out = np.empty((700, 2), np.float32)
    latest = np.empty((512, 2), np.float32)
    for _ in range(10):
        ring.write(block)
        ring.read_into(out)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(2000):  # 700 does not divide 4096: every offset, with wraparound
            ring.write(block)
            ring.peek_latest_into(latest)
            ring.read_into(out)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 512
    assert peak - before < 2048


def test_threads_see_an_unbroken_ramp() -> None:
    ring = AudioRingBuffer(1000, 1)
    total, block = 50_000, 128
    received: list[np.ndarray] = []

    def producer() -> None:
        sent = 0
        while sent < total:
            chunk = np.arange(sent, min(sent + block, total), dtype=np.float32)[:, None]
            sent += ring.write(chunk)

    thread = threading.Thread(target=producer)
    thread.start()
    out = np.empty((96, 1), np.float32)
    count = 0
    while count < total:
        if ring.available >= len(out):
            ring.read_into(out)
            received.append(out[:, 0].copy())
            count += len(out)
        elif not thread.is_alive():
            got = ring.read_into(out)
            received.append(out[:got, 0].copy())
            count += got
    thread.join()
    np.testing.assert_array_equal(np.concatenate(received), np.arange(total, dtype=np.float32))
