"""A loudspeaker (any PortAudio output device) fed from a ring buffer.

The device callback (PortAudio's thread) copies from the ring into the device buffer through a
preallocated scratch array: no lock, no numpy allocation.
"""

from __future__ import annotations

import math
import time

import numpy as np

from crn_live.dsp.ringbuffer import AudioRingBuffer
from crn_live.errors import UserError
from crn_live.stream.devices import one_line, resolve_audio_device, sounddevice_module
from crn_live.stream.sources.base import SCRATCH_FRAMES, PortAudioStream, as_frames


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

    Raises
    ------
    UserError
        One line when the device is missing or does not open.
    """

    def __init__(self, device: str | int | None = None, rate: int | None = None,
                 channels: int = 1, blocksize: int = 0, ring_seconds: float = 2.0,
                 source_channels: int = 1, latency: str | float = "low") -> None:
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
        self._gap_pending = False
        try:
            self._stream = sd.OutputStream(
                device=index, samplerate=rate, channels=channels, dtype="float32",
                latency=latency, blocksize=blocksize, callback=self._callback)
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
        and more audio came later (running dry at the end of the stream is no gap)."""
        return self._underflows + self._gaps

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
        """Frames :meth:`write` dropped because the ring was full."""
        return self._ring.overrun_frames

    def _callback(self, outdata, frames, time_info, status) -> None:
        """PortAudio thread: ring -> device buffer, silence when short. No lock, no numpy
        allocation."""
        if status.output_underflow:
            self._underflows += 1
        got = 0
        done = 0
        while done < frames:
            n = min(frames - done, len(self._scratch))
            chunk = self._scratch[:n]
            got += self._ring.read_into(chunk)
            np.copyto(outdata[done:done + n], chunk)
            done += n
        if got < frames and self._played > 0:
            self._gap_pending = True
        self._played += got

    def write(self, block: np.ndarray, wait: bool = False, timeout: float | None = None) -> int:
        """Producer: queue ``block`` ``(frames, source_channels)`` float32 (``(frames,)`` when
        mono); returns frames queued.

        Without ``wait`` what does not fit is dropped (:attr:`dropped_frames`); with it, waits
        for room (up to ``timeout`` seconds, forever when None).
        """
        block = as_frames(np.asarray(block, dtype=np.float32), self.source_channels, "block")
        if self._gap_pending:
            self._gap_pending = False
            self._gaps += 1
        if not wait:
            return self._ring.write(block)
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        done = 0
        while done < len(block):
            room = min(self._ring.space, len(block) - done)
            if room:
                done += self._ring.write(block[done:done + room])
            elif time.monotonic() > deadline or self._stream.stopped:
                break
            else:
                time.sleep(0.002)
        return done

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything written has been handed to the device; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._ring.available:
            if time.monotonic() > deadline or self._stream.stopped:
                return False
            time.sleep(0.002)
        return True
