"""Mic-to-speaker latency measured through the real devices: clicks played into "the room" and
found, by cross-correlation, in what the loudspeaker played.

The measuring bus of :func:`~crn_live.stream.devices.ensure_pulse_probe` records both ends in
one stereo stream (``crn_probe.monitor``): left is what the microphone hears, right what the
loudspeaker plays, rendered by one sink and so aligned to the sample. Whatever sits between the
microphone (``crn_room_mic``) and the loudspeaker (``crn_speaker``) - the live session, or a
plain loopback in the tests - is measured from the sound reaching the microphone to the sound
leaving the loudspeaker: device buffers, resampling, processing and the jitter buffer included.

* :func:`click`: the probe signal (a short burst of noise: one sharp correlation peak);
* :func:`find_delay`: where a reference best matches a recording;
* :class:`RoomProbe`: plays into the room and records the bus;
* :func:`click_delays`: the delay of each click of a recording.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from crn_live.stream.devices import PROBE_SOURCE, ROOM_SINK, pulse_route
from crn_live.stream.sources.mic import MicSource
from crn_live.stream.sources.output import OutputSink

__all__ = ["PROBE_RATE", "ClickDelays", "RoomProbe", "click", "click_delays", "find_delay"]

#: The bus's own rate: the recording needs no resampling.
PROBE_RATE = 48000
#: Length of a click (seconds).
CLICK_S = 0.005


def click(rate: int = PROBE_RATE, seed: int = 1) -> np.ndarray:
    """A click: :data:`CLICK_S` of Hann-windowed white noise at 0.5 peak, ``(samples,)``
    float32; broadband, so it survives masking and correlates to one sharp peak."""
    n = max(round(CLICK_S * rate), 8)
    noise = np.random.default_rng(seed).standard_normal(n)
    burst = noise * np.hanning(n)
    return (0.5 * burst / np.abs(burst).max()).astype(np.float32)


def _correlate(reference: np.ndarray, recorded: np.ndarray) -> np.ndarray:
    """``c[k] = sum_i reference[i] * recorded[i + k]`` for ``k`` in ``0 .. len(recorded) - 1``
    (FFT, zero-padded: no wrap-around)."""
    size = 1 << (len(reference) + len(recorded) - 1).bit_length()
    spectrum = np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(reference, size))
    return np.fft.irfft(spectrum, size)[:len(recorded)]


def find_delay(reference: np.ndarray, recorded: np.ndarray,
               max_lag: int | None = None) -> tuple[int, float]:
    """The lag (samples) at which ``reference (n,)`` best matches ``recorded (m,)``, searched in
    ``0 .. max_lag`` (default: all of ``recorded``), and how well it matches there: the
    normalised correlation in ``[-1, 1]`` (1: ``recorded`` holds a scaled copy).

    Raises ValueError when ``recorded`` is shorter than ``reference``.
    """
    reference = np.asarray(reference, np.float64)
    recorded = np.asarray(recorded, np.float64)
    n = len(reference)
    if len(recorded) < n or n == 0:
        raise ValueError(f"recorded ({len(recorded)}) must be at least as long as the "
                         f"reference ({n}) and the reference not empty")
    last = len(recorded) - n if max_lag is None else min(max_lag, len(recorded) - n)
    corr = _correlate(reference, recorded)[:last + 1]
    lag = int(np.argmax(corr))
    window = recorded[lag:lag + n]
    norm = float(np.linalg.norm(reference) * np.linalg.norm(window))
    return lag, float(corr[lag] / norm) if norm > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class ClickDelays:
    """What :func:`click_delays` found: per click, where it reached the microphone (sample of
    the recording), its delay to the loudspeaker (ms; NaN when not found) and the match."""

    onsets: np.ndarray
    delays_ms: np.ndarray
    matches: np.ndarray

    @property
    def found(self) -> np.ndarray:
        """Delays of the clicks found again (match >= 0.5), ms."""
        return self.delays_ms[np.isfinite(self.delays_ms)]

    def summary(self) -> dict:
        """Median / min / max / spread (ms) of the delays found, and the counts."""
        found = self.found
        figures = {"clicks": int(len(self.delays_ms)), "found": int(len(found))}
        if len(found):
            figures.update({
                "median_ms": round(float(np.median(found)), 2),
                "min_ms": round(float(found.min()), 2), "max_ms": round(float(found.max()), 2),
                "spread_ms": round(float(found.max() - found.min()), 2),
                "match_median": round(float(np.median(self.matches[np.isfinite(
                    self.delays_ms)])), 3)})
        return figures


def click_delays(recording: np.ndarray, rate: int, clicks: int, max_delay_s: float = 1.0,
                 min_match: float = 0.5) -> ClickDelays:
    """Find ``clicks`` clicks in the room channel of ``recording (frames, 2)`` (left: room,
    right: loudspeaker) and the delay of each to the loudspeaker channel.

    The clicks (played more than ``max_delay_s`` apart) are found as the ``clicks`` strongest
    matches of :func:`click` in the room channel; each one's delay is where the room from the
    click on (the click and 20 ms after it) best matches the loudspeaker within
    ``max_delay_s``. A match under ``min_match`` is not found (NaN).
    """
    room, speaker = recording[:, 0].astype(np.float64), recording[:, 1].astype(np.float64)
    template = click(rate).astype(np.float64)
    score = _correlate(template, room)
    spacing = int(max_delay_s * rate)
    onsets = []
    for _ in range(clicks):
        k = int(np.argmax(score))
        if score[k] <= 0:
            break
        onsets.append(k)
        score[max(k - spacing // 2, 0):k + spacing // 2] = 0.0
    onsets.sort()
    span = len(template) + int(0.02 * rate)
    delays, matches = [], []
    for onset in onsets:
        reference = room[onset:onset + span]
        window = speaker[onset:onset + spacing + span]
        if len(reference) < span or len(window) < span:
            delays.append(np.nan)
            matches.append(0.0)
            continue
        lag, match = find_delay(reference, window, spacing)
        delays.append(1000.0 * lag / rate if match >= min_match else np.nan)
        matches.append(match)
    return ClickDelays(np.asarray(onsets, np.int64), np.asarray(delays, np.float64),
                       np.asarray(matches, np.float64))


class RoomProbe:
    """Plays into the room (``crn_room``) and records the measuring bus (``crn_probe.monitor``:
    room left, loudspeaker right), both at :data:`PROBE_RATE`.

    Needs :func:`~crn_live.stream.devices.ensure_pulse_probe`. Use as a context manager (or
    :meth:`start` / :meth:`close`).
    """

    def __init__(self, seconds: float = 30.0, latency: float = 0.03) -> None:
        with pulse_route(source=PROBE_SOURCE):
            self.recorder = MicSource("default", rate=PROBE_RATE, channels=2,
                                      ring_seconds=seconds, latency=latency)
        try:
            with pulse_route(sink=ROOM_SINK):
                self.player = OutputSink(None, rate=PROBE_RATE, ring_seconds=seconds,
                                         latency=latency)
        except BaseException:
            self.recorder.close()
            raise

    def start(self) -> None:
        """Start recording and playing (silence until :meth:`play`)."""
        self.recorder.start()
        self.player.start()
        if not self.recorder.wait_ready(5.0):
            raise RuntimeError("the measuring bus delivered nothing in 5 s")

    def play(self, signal: np.ndarray) -> None:
        """Queue ``signal (samples,)`` into the room."""
        self.player.write(signal, wait=True, timeout=10.0)

    def play_clicks(self, count: int, spacing_s: float = 1.0) -> None:
        """Play ``count`` clicks ``spacing_s`` apart into the room and wait until they were
        played (and ``spacing_s`` more, for the last one to come out of the loudspeaker)."""
        gap = np.zeros(int(spacing_s * PROBE_RATE) - len(click()), np.float32)
        for _ in range(count):
            self.play(click())
            self.play(gap)
        self.player.drain(count * spacing_s + 5.0)
        time.sleep(spacing_s)

    def skip(self) -> None:
        """Forget what was recorded so far."""
        self.recorder.read_into(np.zeros((self.recorder.available, 2), np.float32))

    def recording(self) -> np.ndarray:
        """What was recorded since the last :meth:`recording` or :meth:`skip`:
        ``(frames, 2)`` float32, room left, loudspeaker right."""
        out = np.zeros((self.recorder.available, 2), np.float32)
        return out[:self.recorder.read_into(out)]

    def close(self) -> None:
        self.player.close()
        self.recorder.close()

    def __enter__(self) -> "RoomProbe":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
