"""OutputSink on a real PortAudio output: a PulseAudio null sink (what it plays is checked on
the sink's monitor in test_mic.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crn_live.errors import UserError
from crn_live.stream.sources.output import OutputSink
from tests.stream.sources.media import one_line_error, wait_until

RATE = 48000



def test_output_sink_start_stop_twice_plays_and_stop_halts(pulse) -> None:
    sink = OutputSink(rate=RATE)
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)
    assert sink.write(tone) == RATE and sink.buffered == RATE and sink.played_frames == 0
    sink.start()
    sink.start()
    assert sink.running
    assert wait_until(lambda: sink.played_frames > RATE // 10), "nothing played in 3 s"
    sink.stop()
    sink.stop()
    assert not sink.running
    played = sink.played_frames
    time.sleep(0.2)
    assert sink.played_frames == played  # stopped: nothing more is handed over
    assert sink.buffered == RATE - played  # what is queued stays queued
    sink.start()
    assert sink.drain(5.0) and sink.played_frames == RATE
    assert sink.dropped_frames == 0
    sink.close()
    sink.close()
    assert sink.closed and not sink.running
    with pytest.raises(RuntimeError, match="OutputSink is closed"):
        sink.start()


def test_output_sink_counts_drops_and_gaps(pulse) -> None:
    sink = OutputSink(rate=RATE, ring_seconds=0.1, channels=2)  # a 4800-frame ring
    block = np.full(3 * 4800, 0.05, np.float32)
    assert sink.write(block) == 4800 and sink.dropped_frames == 2 * 4800
    assert sink.write(block, wait=True, timeout=0.1) == 0  # stopped: no room will come
    sink.start()
    assert sink.drain(3.0)
    time.sleep(0.1)  # the ring runs dry after playing...
    assert sink.write(block[:480]) == 480  # ...and more audio comes: a gap
    assert sink.xruns >= 1
    assert sink.write(block, wait=True, timeout=5.0) == len(block)  # waits for room
    assert sink.drain(5.0)
    sink.close()


def test_output_sink_shapes(pulse) -> None:
    with pytest.raises(ValueError, match="source_channels must be 1 or 2"):
        OutputSink(rate=RATE, channels=2, source_channels=3)
    with OutputSink(rate=RATE, channels=2, source_channels=2) as sink:
        assert sink.rate == RATE and sink.latency > 0
        assert sink.write(np.zeros((256, 2), np.float32)) == 256
        with pytest.raises(ValueError, match=r"\(frames, 2\)"):
            sink.write(np.zeros(256, np.float32))
    with OutputSink(rate=RATE) as mono:
        with pytest.raises(ValueError, match=r"\(frames, 1\)"):
            mono.write(np.zeros((256, 2), np.float32))


def test_missing_output_is_one_line(pulse) -> None:
    with pytest.raises(UserError) as excinfo:
        OutputSink("no such speaker")
    assert one_line_error(excinfo).startswith("no audio output 'no such speaker'")
