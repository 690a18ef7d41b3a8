"""OutputSink on a real PortAudio output: a PulseAudio null sink (what it plays is checked on
the sink's monitor in test_mic.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crn_live.errors import UserError
from crn_live.stream.sources.output import OutputSink, splice_out
from tests.stream.sources.media import one_line_error, wait_until
from tests.stream.sources.unplug import loseable  # noqa: F401 - a fixture

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


#: What an output's ``lost`` says, by the way its device went away.
OUTPUT_LOST = {"unplug": "PulseAudio sink '{sink}' was removed",
               "suspend": "no audio taken by it for 1.",
               "kill": "its stream stopped: the device failed or was removed"}


@pytest.mark.slow
@pytest.mark.parametrize("how", list(OUTPUT_LOST))
def test_an_output_that_goes_away_is_lost_and_stops_waiting(loseable, how) -> None:  # noqa: F811
    """As for the microphone (test_mic.py); ``drain`` and a waiting ``write`` give up at once
    instead of waiting for a device that takes nothing."""
    sink = OutputSink(None, rate=RATE, latency=0.03, ring_seconds=1.0)
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(3 * RATE) / RATE)).astype(np.float32)
    try:
        assert sink._watch.pulse_name == loseable.name
        sink.write(tone[:RATE // 2])
        sink.start()
        assert wait_until(lambda: sink.played_frames > RATE // 10, 5.0), "nothing played"
        assert sink.lost is None
        gone = {"unplug": loseable.unplug, "suspend": loseable.suspend,
                "kill": lambda: loseable.kill_stream("output")}[how]()
        assert sink.write(tone, wait=True, timeout=10.0) < len(tone)  # gives up
        assert wait_until(lambda: sink.lost is not None, 3.0), f"{how}: not noticed in 3 s"
        print(f"{how}: noticed after {time.monotonic() - gone:.3f} s: {sink.lost}")
        assert time.monotonic() - gone < 3.0
        assert OUTPUT_LOST[how].format(sink=loseable.name) in sink.lost
        assert "\n" not in sink.lost
        waited = time.monotonic()
        assert not sink.drain(10.0) and time.monotonic() - waited < 0.5
    finally:
        closing = time.monotonic()
        sink.close()
        closing = time.monotonic() - closing
        if how == "suspend":
            loseable.suspend(False)
    assert sink.closed and closing < 1.0, f"closing took {closing:.1f} s"


@pytest.mark.slow
def test_output_sink_plays_silence_until_written_and_counts_the_start_up_apart(pulse) -> None:
    """Started empty, the sink waits (its ring untouched, nothing counted) for the first
    frames; glitches within ``startup_s`` of them are start-up ones, later ones xruns; each
    start has its own start-up."""
    block = np.full(RATE // 20, 0.05, np.float32)  # 50 ms
    with OutputSink(rate=RATE, startup_s=0.5) as sink:
        time.sleep(0.2)
        assert not sink.armed and sink.played_frames == 0 and sink.buffered == 0
        assert sink.xruns == sink.startup_xruns == 0 and sink.buffer_low_frames is None
        assert sink.write(block) == len(block)  # arms it: the next callback plays it
        assert wait_until(lambda: sink.armed and sink.buffered == 0)
        time.sleep(0.1)  # the ring ran dry after playing, within the start-up...
        sink.write(block)  # ...and more came: a start-up gap, not an xrun
        assert sink.startup_xruns >= 1 and sink.xruns == sink.gaps == 0
        assert sink.buffer_low_frames is None  # no callback after the start-up yet
        time.sleep(0.6)  # past the start-up: dry again...
        sink.write(block)  # ...and more came: a gap
        assert sink.gaps >= 1 and sink.xruns == sink.gaps + sink.device_underflows
        assert sink.buffer_low_frames == 0  # a callback found the ring empty
        assert sink.drain(3.0)
        sink.stop()
        sink.start()
        time.sleep(0.2)
        assert not sink.armed  # nothing written since this start


@pytest.mark.slow
def test_output_sink_buffer_low_water(pulse) -> None:
    """The least the ring held when a callback came (past the start-up): topped up to stay
    0.3 to 0.5 s ahead, it never came near empty."""
    with OutputSink(rate=RATE, latency=0.03) as sink:
        ahead = np.zeros(RATE // 2, np.float32)
        sink.write(ahead)
        for _ in range(8):
            time.sleep(0.1)
            sink.write(ahead[:RATE // 10])
        low = sink.buffer_low_frames
        assert low is not None and 0.2 * RATE < low <= RATE // 2
        assert sink.xruns == sink.startup_xruns == 0


def test_splice_out_removes_frames_from_the_middle_without_a_step() -> None:
    ramp = np.arange(1000, dtype=np.float32).reshape(-1, 1)
    spliced = splice_out(ramp, 200, fade=128)
    assert spliced.shape == (800, 1)
    assert np.array_equal(spliced[:272], ramp[:272]) and np.array_equal(spliced[400:],
                                                                         ramp[600:])
    assert np.abs(np.diff(spliced[:, 0])).max() < 2.6  # 200 frames crossed in 128: no jump
    assert splice_out(ramp, 0) is ramp
    with pytest.raises(ValueError, match="0..500 frames of 1000"):
        splice_out(ramp, 501)


@pytest.mark.slow
def test_hold_delay_takes_back_what_the_ring_holds_too_long(pulse) -> None:
    """Half a second queued ahead of a producer that then writes at the device's pace: after
    a window, the excess over the held 0.1 s (less half the tolerance) is spliced out of the
    next blocks, and the ring comes back near 0.1 s."""
    block = np.full(RATE // 20, 0.05, np.float32)  # 50 ms
    with OutputSink(rate=RATE, latency=0.03) as sink:
        sink.hold_delay(RATE // 10, RATE // 50, window=5)
        sink.write(np.zeros(RATE // 2, np.float32))
        assert wait_until(lambda: sink.armed)
        started = time.monotonic()
        for k in range(40):  # 2 s at the device's pace
            time.sleep(max(started + k * 0.05 - time.monotonic(), 0.0))
            sink.write(block)
        held = sink.buffered
    trimmed = sink.trimmed_frames
    assert 0.3 * RATE < trimmed < 0.42 * RATE and sink.dropped_frames == trimmed
    assert 0.08 * RATE < held < 0.2 * RATE, held / RATE
