"""Mic-to-speaker latency measurement: the delay search on known signals, and through the real
devices (the PulseAudio measuring bus) a known delay found to the sample, and a loopback's added
delay found again."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from crn_live.stream.devices import (PROBE_SINK, ROOM_SOURCE, SPEAKER_SINK, ensure_pulse_probe,
                                     pulse_route)
from crn_live.stream.probe import PROBE_RATE, RoomProbe, click, click_delays, find_delay
from crn_live.stream.sources.mic import MicSource
from crn_live.stream.sources.output import OutputSink

RATE = PROBE_RATE


@pytest.fixture
def bus(pulse) -> str:
    """The measuring bus (crn_probe, crn_room, crn_speaker, crn_room_mic)."""
    if not ensure_pulse_probe():
        pytest.fail("ensure_pulse_probe() could not set up the measuring bus (module-remap-sink "
                    "and module-remap-source are part of PulseAudio)")
    return PROBE_SINK


def test_find_delay_finds_a_known_lag_and_how_well_it_matches() -> None:
    rng = np.random.default_rng(0)
    reference = rng.standard_normal(2000)
    recorded = 0.01 * rng.standard_normal(12000)
    recorded[1234:3234] += 0.5 * reference
    lag, match = find_delay(reference, recorded)
    assert lag == 1234 and match > 0.99
    assert find_delay(reference, recorded, max_lag=1000)[1] < 0.2  # not within reach
    with pytest.raises(ValueError, match="at least as long"):
        find_delay(reference, recorded[:100])


def test_click_delays_on_a_recording_with_known_delays() -> None:
    """Clicks 1 s apart in the room, each 100 ms + k ms later on the loudspeaker (scaled, in
    noise): every onset and delay found to the sample."""
    rng = np.random.default_rng(1)
    recording = 0.002 * rng.standard_normal((5 * RATE, 2)).astype(np.float32)
    burst = click(RATE)
    expected = []
    for k in range(4):
        onset = RATE // 2 + k * RATE
        delay = RATE // 10 + k * RATE // 1000
        recording[onset:onset + len(burst), 0] += burst
        recording[onset + delay:onset + delay + len(burst), 1] += 0.7 * burst
        expected.append(1000.0 * delay / RATE)
    found = click_delays(recording, RATE, 4, max_delay_s=0.5)
    assert list(found.onsets) == [RATE // 2 + k * RATE for k in range(4)]
    assert np.allclose(found.delays_ms, expected) and np.all(found.matches > 0.9)
    summary = found.summary()
    assert summary["found"] == 4 and summary["min_ms"] == 100.0 and summary["max_ms"] == 103.0


def test_a_click_that_never_reaches_the_loudspeaker_is_not_found() -> None:
    recording = np.zeros((3 * RATE, 2), np.float32)
    recording[RATE:RATE + len(click(RATE)), 0] = click(RATE)
    recording[:, 1] = 0.01 * np.random.default_rng(2).standard_normal(3 * RATE)
    found = click_delays(recording, RATE, 1)
    assert np.isnan(found.delays_ms[0]) and found.summary()["found"] == 0


@pytest.mark.slow
def test_the_bus_records_both_ends_aligned_to_the_sample(bus) -> None:
    """A click on the bus's left channel and the same 1234 samples later on its right (one
    stereo stream into crn_probe): the recording of crn_probe.monitor shows exactly that."""
    signal = np.zeros((RATE, 2), np.float32)
    burst = click(RATE)
    signal[2000:2000 + len(burst), 0] = burst
    signal[3234:3234 + len(burst), 1] = burst
    with RoomProbe(seconds=5.0) as probe:
        with pulse_route(sink=PROBE_SINK):
            sink = OutputSink(None, rate=RATE, channels=2, source_channels=2, latency=0.03)
        with sink:
            time.sleep(0.2)
            probe.skip()
            sink.write(signal)
            assert sink.drain(5.0)
            time.sleep(0.3)
        recording = probe.recording()
    found = click_delays(recording, RATE, 1)
    assert found.delays_ms[0] == pytest.approx(1000.0 * 1234 / RATE, abs=1e-9)
    assert found.matches[0] > 0.99


def _loopback_delays_ms(added_s: float, clicks: int = 3) -> tuple[dict, dict, int]:
    """A plain loopback (crn_room_mic -> crn_speaker, blocks of 256 frames, 100 ms queued
    ahead) with clicks played into the room, then ``added_s`` of silence added to what it
    queued ahead and the clicks again: the two summaries of the click delays, and the glitches
    the loopback's output counted."""
    with pulse_route(sink=SPEAKER_SINK, source=ROOM_SOURCE):
        mic = MicSource("default", rate=RATE, latency=0.03)
        out = OutputSink(None, rate=RATE, latency=0.03)
    stop, add = threading.Event(), threading.Event()

    def relay() -> None:
        block = np.zeros(256, np.float32)
        mic.read_into(np.zeros(mic.available, np.float32))  # from now on
        out.write(np.zeros(int(0.1 * RATE), np.float32))
        while not stop.is_set():
            if add.is_set():
                add.clear()
                out.write(np.zeros(int(added_s * RATE), np.float32))
            if mic.available >= len(block):
                mic.read_into(block)
                out.write(block)
            else:
                time.sleep(0.001)

    summaries = []
    with mic, out, RoomProbe(seconds=2 * clicks + 5.0) as probe:
        assert mic.wait_ready(5.0)
        thread = threading.Thread(target=relay, daemon=True)
        thread.start()
        time.sleep(0.3)
        for _ in range(2):
            probe.skip()
            probe.play_clicks(clicks, spacing_s=0.6)
            summaries.append(click_delays(probe.recording(), RATE, clicks, 0.6).summary())
            add.set()
            time.sleep(0.1)
        stop.set()
        thread.join(2.0)
        glitches = out.xruns + mic.xruns
    return summaries[0], summaries[1], glitches


@pytest.mark.slow
def test_a_loopback_with_a_known_added_delay_is_measured_with_it(bus) -> None:
    """The loopback's clicks, then 100 ms more queued in it and the clicks again: the
    measured delay grows by the 100 ms, to the sample (nothing else changed in between),
    and is the loopback's 100 ms plus the devices' buffers."""
    before, after, glitches = _loopback_delays_ms(0.1)
    print(f"loopback: {before}; 100 ms added: {after}; glitches {glitches}")
    assert before["found"] == after["found"] == 3
    if glitches == 0:  # a gap would have added its silence too
        assert before["spread_ms"] <= 0.05 and after["spread_ms"] <= 0.05
        assert after["median_ms"] - before["median_ms"] == pytest.approx(100.0, abs=0.05)
    assert after["median_ms"] - before["median_ms"] >= 100.0 - 0.05
    assert 100.0 < before["median_ms"] < 200.0
