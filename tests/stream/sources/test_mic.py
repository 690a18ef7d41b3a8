"""MicSource on a real PortAudio input: the monitor of a PulseAudio null sink (no fakes)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crn_live.errors import UserError
from crn_live.stream.sources.mic import MicSource
from crn_live.stream.sources.output import OutputSink
from tests.stream.sources.media import wait_until
from tests.stream.sources.unplug import LoseableDevice, loseable  # noqa: F401 - a fixture

RATE = 48000


def _test_signal(rate: int) -> tuple[np.ndarray, int]:
    """A 60 ms noise burst (an unambiguous cross-correlation peak), 40 ms of silence, then
    1.2 s of 440 Hz + 1 kHz with 20 ms fades; returns the signal and where the tones start."""
    rng = np.random.default_rng(3)
    burst = np.clip(0.15 * rng.standard_normal(int(0.06 * rate)), -0.9, 0.9)
    gap = np.zeros(int(0.04 * rate))
    t = np.arange(int(1.2 * rate)) / rate
    tones = 0.25 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 1000 * t)
    fade = int(0.02 * rate)
    ramp = np.linspace(0, 1, fade)
    tones[:fade] *= ramp
    tones[-fade:] *= ramp[::-1]
    signal = np.concatenate([burst, gap, tones]).astype(np.float32)
    return signal, len(burst) + len(gap)


def _loop_back(signal: np.ndarray, latency: str | float) -> dict:
    """Play ``signal`` into the null sink while recording its monitor; what came back, from
    the capture index at which it was written, plus the devices' figures."""
    with MicSource("default", rate=RATE, latency=latency, ring_seconds=8.0) as mic, \
            OutputSink(None, rate=RATE, channels=2, latency=latency) as sink:
        assert mic.wait_ready(3.0), "the microphone delivered no block in 3 s"
        time.sleep(0.1)
        start = mic.position + mic.available  # stream index of the next sample captured
        sent_at = time.monotonic()
        assert sink.write(signal) == len(signal)
        assert sink.drain(6.0), "the output did not play 1.3 s of audio in 6 s"
        time.sleep(0.4 + 4 * (sink.latency + mic.latency))  # through the buffers and back
        skip = np.zeros((start - mic.position, 1), np.float32)
        assert mic.read_into(skip) == len(skip)
        recorded = np.zeros((mic.available, 1), np.float32)
        recorded = recorded[:mic.read_into(recorded), 0]
        assert sink.played_frames >= len(signal)
        print(f"mic latency {mic.latency * 1e3:.1f} ms, sink latency {sink.latency * 1e3:.1f} "
              f"ms, mic xruns {mic.xruns}, sink xruns {sink.xruns}")
        return {"mic": mic, "recorded": recorded, "start": start, "sent_at": sent_at,
                "xruns": mic.xruns + sink.xruns}


@pytest.mark.slow
def test_output_sink_into_null_sink_comes_back_on_the_monitor(private_sink) -> None:
    signal, tones_at = _test_signal(RATE)
    # A busy CPU (2 cores, other jobs) makes gaps at 9 ms latency that neither PortAudio nor
    # PulseAudio always reports: up to three takes, the later ones with 100 / 200 ms buffers;
    # the first faithful one is checked.
    for take, latency in enumerate(("low", 0.1, 0.2)):
        run = _loop_back(signal, latency)
        recorded, start = run["recorded"], run["start"]
        assert len(recorded) > len(signal)
        # Delay by cross-correlation (FFT), in samples after `start`.
        n = 1 << int(np.ceil(np.log2(len(recorded) + len(signal))))
        corr = np.fft.irfft(np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(signal, n)), n)
        lag = int(np.argmax(corr[:len(recorded)]))
        back = recorded[lag:lag + len(signal)]
        # A glitch can misplace the correlation peak too late: a failed take like the others.
        similarity = np.corrcoef(back, signal)[0, 1] if len(back) == len(signal) else -1.0
        print(f"take {take} (latency {latency}): correlation with what was played "
              f"{similarity:.3f}, xruns {run['xruns']}")
        if similarity > 0.9:  # 0.999+ without glitches (a 16-bit sink)
            break
    assert similarity > 0.9, "three takes with audible glitches: is the machine overloaded?"

    mic = run["mic"]
    onset_time = mic.time_of(start + lag)
    print(f"round trip: lag {lag / RATE * 1e3:.1f} ms after the write, "
          f"capture time - write time {(onset_time - run['sent_at']) * 1e3:.1f} ms")
    assert 0 <= lag < 0.5 * RATE
    assert -0.01 < onset_time - run["sent_at"] < 0.5

    tones = back[tones_at + RATE // 10: tones_at + RATE]
    spectrum = np.abs(np.fft.rfft(tones * np.hanning(len(tones))))
    freqs = np.fft.rfftfreq(len(tones), 1 / RATE)
    peaks = freqs[np.argsort(spectrum)[-2:]]
    assert sorted(np.round(peaks / 10) * 10) == [440, 1000]
    elsewhere = (np.abs(freqs - 440) > 30) & (np.abs(freqs - 1000) > 30)
    for f in (440, 1000):
        ratio = spectrum[np.abs(freqs - f) < 5].max() / spectrum[elsewhere].max()
        print(f"{f} Hz peak / largest other bin: {ratio:.0f}")
        assert ratio > 30

    positions, times = mic.block_times()
    assert len(positions) > 50
    assert np.all(np.diff(positions) >= 0) and np.all(np.diff(times) > 0)
    span_samples = positions[-1] - positions[0]
    span_time = times[-1] - times[0]
    assert span_time == pytest.approx(span_samples / RATE, rel=0.02, abs=0.005)
    assert mic.time_of(start + RATE) - mic.time_of(start) == pytest.approx(1.0, abs=0.01)
    fresh = MicSource(rate=RATE)
    assert np.isnan(fresh.time_of(0)) and fresh.available == 0  # nothing captured yet
    fresh.close()


def _captured(mic: MicSource) -> int:
    """Frames captured so far (read or not)."""
    return mic.position + mic.available


def _wait_for_frames(mic: MicSource, frames: int, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while _captured(mic) < frames:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_mic_start_stop_twice_blocks_flow_and_stop_halts_them(pulse) -> None:
    mic = MicSource(rate=RATE)
    assert not mic.running and mic.available == 0 and mic.position == 0
    mic.start()
    mic.start()
    assert mic.running
    assert mic.wait_ready(3.0)
    assert _wait_for_frames(mic, RATE // 5), "less than 200 ms captured in 3 s"
    positions, times = mic.block_times()
    assert len(positions) >= 2 and positions[0] == 0 and np.all(np.diff(times) > 0)
    mic.stop()
    mic.stop()
    assert not mic.running
    frozen = _captured(mic)
    time.sleep(0.2)
    assert _captured(mic) == frozen  # stopped: nothing more arrives
    out = np.zeros(frozen, np.float32)
    assert mic.read_into(out) == frozen and mic.position == frozen  # unread stays readable
    mic.start()
    assert _wait_for_frames(mic, frozen + RATE // 10), "nothing captured after a restart"
    assert mic.dropped_frames == 0 and mic.xruns >= 0  # the ring never filled
    mic.close()
    mic.close()
    assert mic.closed and not mic.running
    with pytest.raises(RuntimeError, match="MicSource is closed"):
        mic.start()


def test_mic_counts_what_a_full_ring_drops(pulse) -> None:
    with MicSource(rate=RATE, ring_seconds=0.05) as mic:  # a 2400-frame ring, never read
        assert mic.wait_ready(3.0)
        deadline = time.monotonic() + 3.0
        while mic.dropped_frames == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert mic.available == int(0.05 * RATE)  # full
        assert mic.dropped_frames > 0 and mic.xruns >= 1
        out = np.zeros((mic.available, 1), np.float32)
        assert mic.read_into(out) == len(out)


def test_stereo_capture_reads_frames_by_channels(pulse) -> None:
    with MicSource(rate=RATE, channels=2) as mic:
        assert mic.channels == 2 and mic.rate == RATE
        assert _wait_for_frames(mic, 1024)
        out = np.ones((1024, 2), np.float32)
        assert mic.read_into(out) == 1024
        with pytest.raises(ValueError, match=r"\(frames, 2\)"):
            mic.read_into(np.zeros(16, np.float32))


def test_missing_microphone_is_one_line(pulse) -> None:
    with pytest.raises(UserError) as excinfo:
        MicSource("no such mic")
    assert str(excinfo.value) == ("no microphone 'no such mic': list devices with crn-live "
                                  "--list-devices")


#: What a microphone's ``lost`` says, by the way its device went away.
MIC_LOST = {"unplug": "PulseAudio source '{monitor}' was removed",
            "suspend": "no audio from it for 1.",
            "kill": "its stream stopped: the device failed or was removed"}


@pytest.mark.slow
@pytest.mark.parametrize("how", list(MIC_LOST))
def test_a_microphone_that_goes_away_is_lost_and_keeps_what_it_captured(
        loseable, how) -> None:  # noqa: F811
    """Unplugged: PulseAudio moves the stream, PortAudio sees nothing, the poll notices;
    suspended: the callbacks stop, the watchdog notices; killed: PortAudio ends the stream and
    calls the finished callback. Closing never waits on the dead device."""
    mic = MicSource("default", rate=RATE, latency=0.03)
    try:
        assert mic._watch.pulse_name == loseable.monitor
        mic.start()
        assert mic.wait_ready(5.0), "the microphone delivered no block in 5 s"
        assert not wait_until(lambda: mic.lost is not None, 0.5)  # a working device
        before = _captured(mic)
        gone = {"unplug": loseable.unplug, "suspend": loseable.suspend,
                "kill": lambda: loseable.kill_stream("input")}[how]()
        assert wait_until(lambda: mic.lost is not None, 3.0), f"{how}: not noticed in 3 s"
        print(f"{how}: noticed after {time.monotonic() - gone:.3f} s: {mic.lost}")
        assert MIC_LOST[how].format(monitor=loseable.monitor) in mic.lost
        assert "\n" not in mic.lost
        assert _captured(mic) >= before
        out = np.zeros(mic.available, np.float32)
        assert mic.read_into(out) == len(out)  # what was captured stays readable
    finally:
        closing = time.monotonic()
        mic.close()
        closing = time.monotonic() - closing
        if how == "suspend":
            loseable.suspend(False)
    assert mic.closed and closing < 1.0, f"closing took {closing:.1f} s"
    assert mic.lost is not None  # stays set


@pytest.mark.slow
def test_a_suspended_source_is_a_stall_and_closing_does_not_wait(pulse, monkeypatch) -> None:
    """``pactl suspend-source`` on a microphone that is no monitor: the same as a suspended
    sink's monitor (the callbacks stop), and stop() would block ~18 s: close() aborts."""
    device = LoseableDevice(monkeypatch, ("input",), node="source")
    try:
        with MicSource("default", rate=RATE, latency=0.03) as mic:
            assert mic._watch.pulse_name == device.name
            assert mic.wait_ready(5.0), "the null source delivered no block in 5 s"
            assert not wait_until(lambda: mic.lost is not None, 0.3)
            gone = device.suspend()
            assert wait_until(lambda: mic.lost is not None, 3.0), "not noticed in 3 s"
            print(f"suspend-source: noticed after {time.monotonic() - gone:.3f} s: {mic.lost}")
            assert mic.lost.startswith("no audio from it for 1.")
            closing = time.monotonic()
        assert time.monotonic() - closing < 1.0
    finally:
        device.suspend(False)
        device.close()
