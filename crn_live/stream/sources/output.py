"""A loudspeaker (any PortAudio output device) fed from a ring buffer.

The device callback (PortAudio's thread) copies from the ring into the device buffer through a
preallocated scratch array: no lock, no numpy allocation.

Start-up: a started sink plays silence without touching its ring until the first frames are
written; from then on (*armed*) the ring drains at the device's pace. A producer that writes a
prefill of silence right before its first real block therefore gets exactly that prefill as its
jitter buffer, however long the device and the producer took to start (the session writes it
when it reads its first chunk: see :class:`~crn_live.stream.session.LiveSession`).

Glitches (:attr:`OutputSink.xruns`) are the underflows the device reports and the *gaps* (the
ring ran dry after playing and more audio came later); those within ``startup_s`` of arming are
counted apart (:attr:`OutputSink.startup_xruns`).

Each glitch delays all that follows by the silence it inserted. :meth:`OutputSink.hold_delay`
takes that back: when the ring stays fuller than the jitter buffer needs, the excess is spliced
out of the next blocks the producer writes (:func:`splice_out`), so the delay returns to its
design value instead of growing with every glitch.
"""

from __future__ import annotations

import math
import time

import numpy as np

from crn_live.dsp.ringbuffer import AudioRingBuffer
from crn_live.errors import UserError
from crn_live.stream.devices import one_line, resolve_audio_device, sounddevice_module
from crn_live.stream.sources.base import SCRATCH_FRAMES, PortAudioStream, as_frames
from crn_live.stream.sources.watch import DeviceWatch

#: What the callback left for :meth:`OutputSink.write` to count (the ring ran dry, and a gap is
#: only a gap once more audio comes).
_NO_GAP, _GAP, _STARTUP_GAP = 0, 1, 2
#: Crossfade (frames) where :func:`splice_out` joins a block across the frames it removes.
SPLICE_FADE_FRAMES = 128


def splice_out(block: np.ndarray, frames: int, fade: int = SPLICE_FADE_FRAMES) -> np.ndarray:
    """``block (n, channels)`` less ``frames`` frames from its middle: ``(n - frames,
    channels)``, the two sides joined by a linear crossfade of up to ``fade`` frames (no step
    in the signal). ``frames`` at most ``n // 2``."""
    n = len(block)
    if not 0 <= frames <= n // 2:
        raise ValueError(f"can splice out 0..{n // 2} frames of {n}, not {frames}")
    if frames == 0:
        return block
    cut = (n - frames) // 2  # keep block[:cut] and block[cut + frames:]
    m = min(fade, cut)
    out = np.concatenate([block[:cut], block[cut + frames:]])
    if m:
        ramp = np.linspace(0.0, 1.0, m + 2, dtype=np.float32)[1:-1, None]
        leaving, joining = block[cut - m:cut], block[cut + frames - m:cut + frames]
        out[cut - m:cut] = (1.0 - ramp) * leaving + ramp * joining
    return out


class OutputSink(PortAudioStream):
    """A loudspeaker (any PortAudio output device) fed from a ring buffer.

    The producer calls :meth:`write`; the device callback copies from the ring into the
    device buffer (a mono ring is duplicated to every output channel without allocation) and
    plays silence when the ring runs dry.

    Parameters
    ----------
    device
        None / ``"default"``, an index, or part of a name.
    rate
        Sample rate; None takes the device's default.
    channels
        Output channels (1 or 2).
    blocksize
        Frames per callback; 0 lets PortAudio choose (lowest latency).
    ring_seconds
        Capacity of the ring.
    source_channels
        Channels :meth:`write` takes: 1 (mono, played on every channel) or ``channels``.
    latency
        PortAudio's suggested latency: ``"low"`` (the default), ``"high"`` or seconds.
    startup_s
        Glitches within this many seconds of device time after arming (the first frames
        written after :meth:`start`) count as :attr:`startup_xruns`, not :attr:`xruns`.

    Raises
    ------
    UserError
        One line when the device is missing or does not open.
    """

    def __init__(self, device: str | int | None = None, rate: int | None = None,
                 channels: int = 1, blocksize: int = 0, ring_seconds: float = 2.0,
                 source_channels: int = 1, latency: str | float = "low",
                 startup_s: float = 0.0) -> None:
        super().__init__()
        sd = sounddevice_module()
        if source_channels not in (1, channels):
            raise ValueError(f"source_channels must be 1 or {channels}, got {source_channels}")
        index = resolve_audio_device(device, "output")
        info = sd.query_devices(index, "output")
        rate = int(round(info["default_samplerate"])) if rate is None else int(rate)
        self._rate = rate
        self.channels = channels
        self.source_channels = source_channels
        self._ring = AudioRingBuffer(max(int(ring_seconds * rate), 1), source_channels)
        self._scratch = np.zeros((max(blocksize, SCRATCH_FRAMES), source_channels), np.float32)
        self._played = 0
        self._underflows = 0
        self._gaps = 0
        self._startup_xruns = 0
        self._gap_pending = _NO_GAP
        self._armed = False
        self._startup_frames = round(startup_s * rate)
        self._since_armed = 0  # frames handed to the device since arming, silence included
        self._low_water = -1  # least the ring held when a callback came, after start-up
        self._hold = (0, 0, 1)  # hold_delay's (frames, tolerance, window)
        self._hold_low = math.inf  # least excess over the held delay in this window
        self._hold_count = 0
        self._to_trim = 0
        self._trimmed = 0
        self._watch = DeviceWatch("output", str(info["name"]))
        try:
            self._stream = sd.OutputStream(
                device=index, samplerate=rate, channels=channels, dtype="float32",
                latency=latency, blocksize=blocksize, callback=self._callback,
                finished_callback=self._watch.finished)
        except (sd.PortAudioError, ValueError) as exc:
            raise UserError(f"cannot open audio output '{device}' ({info['name']}) at {rate} "
                            f"Hz with {channels} channel(s): {one_line(exc)}") from None
        self.device_name = str(info["name"])

    @property
    def rate(self) -> int:
        """Sample rate (Hz)."""
        return self._rate

    @property
    def xruns(self) -> int:
        """Output underflows the device reported plus gaps: the ring ran dry after playing
        and more audio came later (running dry at the end of the stream is no gap); after
        the start-up (``startup_s``)."""
        return self._underflows + self._gaps

    @property
    def device_underflows(self) -> int:
        """Of :attr:`xruns`, the underflows the device reported (its buffer ran dry)."""
        return self._underflows

    @property
    def gaps(self) -> int:
        """Of :attr:`xruns`, the gaps: the ring ran dry (the producer was late)."""
        return self._gaps

    @property
    def startup_xruns(self) -> int:
        """Underflows and gaps within ``startup_s`` of arming (each start)."""
        return self._startup_xruns

    @property
    def armed(self) -> bool:
        """True once frames were written since :meth:`start`: the ring is being played."""
        return self._armed

    @property
    def buffer_low_frames(self) -> int | None:
        """The fewest frames the ring held when a callback came for more, after the
        start-up: the jitter buffer's margin (0: it ran dry); None before."""
        return None if self._low_water < 0 else self._low_water

    @property
    def played_frames(self) -> int:
        """Frames of written audio handed to the device so far."""
        return self._played

    @property
    def buffered(self) -> int:
        """Frames written and not yet handed to the device."""
        return self._ring.available

    @property
    def dropped_frames(self) -> int:
        """Frames written and never played: dropped because the ring was full, or spliced out
        to take the delay back (:attr:`trimmed_frames`)."""
        return self._ring.overrun_frames + self._trimmed

    @property
    def trimmed_frames(self) -> int:
        """Of :attr:`dropped_frames`, those :meth:`hold_delay` spliced out."""
        return self._trimmed

    def hold_delay(self, frames: int, tolerance: int, window: int) -> None:
        """Producer: keep the delay near a jitter buffer of ``frames``. When the ring held
        more than ``frames + tolerance`` before every one of ``window`` writes in a row (a gap
        or a stalled device added its silence to the delay), the excess less half the
        tolerance is spliced out of the next blocks, half a block at most each
        (:func:`splice_out`). ``frames`` 0: stop holding."""
        if frames < 0 or tolerance < 0 or window < 1:
            raise ValueError(f"hold_delay needs frames, tolerance >= 0 and window >= 1, got "
                             f"{frames}, {tolerance}, {window}")
        self._hold = (frames, tolerance, window)
        self._hold_low, self._hold_count, self._to_trim = math.inf, 0, 0

    def _held(self, block: np.ndarray) -> np.ndarray:
        """``block``, less what :meth:`hold_delay` has to take back now."""
        frames, tolerance, window = self._hold
        if not frames or not self._armed:
            return block
        self._hold_low = min(self._hold_low, self._ring.available - frames)
        self._hold_count += 1
        if self._hold_count >= window:
            if self._hold_low > tolerance:
                self._to_trim = int(self._hold_low) - tolerance // 2
            self._hold_low, self._hold_count = math.inf, 0
        if self._to_trim <= 0:
            return block
        n = min(self._to_trim, len(block) // 2)
        self._to_trim -= n
        self._trimmed += n
        return splice_out(block, n)

    def _callback(self, outdata, frames, time_info, status) -> None:
        """PortAudio thread: ring -> device buffer, silence when short or not yet armed. No
        lock, no numpy allocation."""
        self._watch.last_call = time.monotonic()
        if self.callback_priority is None:
            self._first_call()
        level = self._ring.available
        if not self._armed:
            if level == 0:  # nothing written since start: silence, nothing counted
                outdata.fill(0)
                return
            self._armed = True
        settled = self._since_armed >= self._startup_frames
        if status.output_underflow:
            if settled:
                self._underflows += 1
            else:
                self._startup_xruns += 1
        if settled and (level < self._low_water or self._low_water < 0):
            self._low_water = level
        got = 0
        done = 0
        while done < frames:
            n = min(frames - done, len(self._scratch))
            chunk = self._scratch[:n]
            got += self._ring.read_into(chunk)
            np.copyto(outdata[done:done + n], chunk)
            done += n
        if got < frames and self._played > 0:
            self._gap_pending = _GAP if settled else _STARTUP_GAP
        self._played += got
        self._since_armed += frames

    def _begin(self) -> None:
        """Disarm (silence until frames are written; a new start-up), then start the stream."""
        self._armed = False
        self._since_armed = 0
        super()._begin()

    def write(self, block: np.ndarray, wait: bool = False, timeout: float | None = None) -> int:
        """Producer: queue ``block`` ``(frames, source_channels)`` float32 (``(frames,)`` when
        mono); returns frames queued (less any :meth:`hold_delay` spliced out).

        Without ``wait`` what does not fit is dropped (:attr:`dropped_frames`); with it, waits
        for room (up to ``timeout`` seconds, forever when None).
        """
        block = self._held(as_frames(np.asarray(block, dtype=np.float32), self.source_channels,
                                     "block"))
        pending = self._gap_pending
        if pending != _NO_GAP:
            self._gap_pending = _NO_GAP
            if pending == _GAP:
                self._gaps += 1
            else:
                self._startup_xruns += 1
        if not wait:
            return self._ring.write(block)
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        done = 0
        while done < len(block):
            room = min(self._ring.space, len(block) - done)
            if room:
                done += self._ring.write(block[done:done + room])
            elif time.monotonic() > deadline or not self._stream.active or self.lost:
                break
            else:
                time.sleep(0.002)
        return done

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything written has been handed to the device; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._ring.available:
            if time.monotonic() > deadline or not self._stream.active or self.lost:
                return False
            time.sleep(0.002)
        return True
