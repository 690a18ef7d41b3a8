"""A microphone (any PortAudio input device) captured into a ring buffer.

The device callback (PortAudio's thread) stamps each block with its capture time and copies it
into preallocated arrays only: no lock, no numpy allocation (Python still creates a few small
objects: the block views and floats).
"""

from __future__ import annotations

import time

import numpy as np

from crn_live.errors import UserError
from crn_live.stream.devices import one_line, resolve_audio_device, sounddevice_module
from crn_live.stream.sources.base import SCRATCH_FRAMES, PortAudioStream, RingAudioSource
from crn_live.stream.sources.clocks import AudioBlockClock
from crn_live.stream.sources.watch import DeviceWatch


class MicSource(PortAudioStream, RingAudioSource):
    """A microphone (any PortAudio input device), captured into a ring buffer.

    Parameters
    ----------
    device
        ``"default"`` / None, a device index, or part of its name
        (:func:`~crn_live.stream.devices.resolve_audio_device`).
    rate
        Sample rate; None takes the device's default.
    channels
        Channels delivered; a mono request on a device that only opens in stereo is mixed down
        in the callback (into a preallocated scratch buffer).
    blocksize
        Frames per callback; 0 lets PortAudio choose (lowest latency, variable blocks).
    ring_seconds
        Capacity of the ring the consumer reads from.
    latency
        PortAudio's suggested latency: ``"low"`` (the default), ``"high"`` or seconds; a
        larger buffer survives a busier CPU.

    Raises
    ------
    UserError
        One line: a missing device (``no microphone 'X': list devices with crn-live
        --list-devices``) or one that does not open at this rate.
    """

    def __init__(self, device: str | int | None = "default", rate: int | None = None,
                 channels: int = 1, blocksize: int = 0, ring_seconds: float = 4.0,
                 latency: str | float = "low") -> None:
        sd = sounddevice_module()
        index = resolve_audio_device(device, "input")
        info = sd.query_devices(index, "input")
        rate = int(round(info["default_samplerate"])) if rate is None else int(rate)
        super().__init__(rate, channels, ring_seconds)
        self._overflows = 0
        self._callbacks = 0
        self._lost_last = False
        self._clock = AudioBlockClock(rate)
        self._clock_offset = 0.0
        self._watch = DeviceWatch("input", str(info["name"]))
        self._open(sd, index, int(info["max_input_channels"]), blocksize, latency)
        if self._stream is None:
            raise UserError(f"cannot open microphone '{device}' ({info['name']}) at {rate} Hz "
                            f"with {channels} channel(s): {one_line(self._open_error)}")
        self.device_name = str(info["name"])

    def _open(self, sd, index: int | None, max_channels: int, blocksize: int,
              latency: str | float) -> None:
        """Open the input stream with the requested channels, else (mono only) in stereo mixed
        down; leaves ``_stream`` None and the last error in ``_open_error`` when neither
        opens."""
        attempts = [self.channels]
        if self.channels == 1 and max_channels >= 2:
            attempts.append(2)
        self._open_error: Exception | None = None
        for device_channels in attempts:
            self._mix = device_channels != self.channels
            self._scratch = np.zeros((max(blocksize, SCRATCH_FRAMES), self.channels),
                                     np.float32)
            try:
                self._stream = sd.InputStream(
                    device=index, samplerate=self._rate, channels=device_channels,
                    dtype="float32", latency=latency, blocksize=blocksize,
                    callback=self._callback, finished_callback=self._watch.finished)
                return
            except (sd.PortAudioError, ValueError) as exc:
                self._open_error = exc

    @property
    def xruns(self) -> int:
        """Input overflows the device reported plus blocks the full ring had to drop."""
        return self._overflows + self._ring.overruns

    def _callback(self, indata, frames, time_info, status) -> None:
        """PortAudio thread: stamp the block, then copy it (mixed down if needed) into the
        ring. No lock, no numpy allocation."""
        arrival = time.monotonic()
        self._watch.last_call = arrival
        if self.callback_priority is None:
            self._first_call()
        if frames == 0:
            return
        overflow = status.input_overflow
        if overflow:
            self._overflows += 1
        adc = time_info.inputBufferAdcTime
        t = self._clock.update(frames, adc + self._clock_offset if adc > 0.0 else 0.0, arrival,
                               overflow or self._lost_last)
        self._times.record(self._written, t)
        written = self._write_block(indata, frames)
        self._lost_last = written < frames
        self._written += written
        self._callbacks += 1

    def _write_block(self, indata: np.ndarray, frames: int) -> int:
        """``indata (frames, device channels)`` into the ring, mixed down through the scratch
        buffer when the device has more channels; returns frames written."""
        if not self._mix:
            return self._ring.write(indata)
        written = 0
        done = 0
        while done < frames:
            n = min(frames - done, len(self._scratch))
            block = self._scratch[:n]
            np.mean(indata[done:done + n], axis=1, keepdims=True, out=block)
            written += self._ring.write(block)
            done += n
        return written

    def _begin(self) -> None:
        """Map the stream's clock onto the monotonic clock, then start capturing."""
        before = time.monotonic()
        stream_time = self._stream.time
        self._clock_offset = (before + time.monotonic()) / 2 - stream_time
        self._clock.reset()
        self._clock.max_delay = 2 * self.latency + 0.05
        super()._begin()

    def wait_ready(self, timeout: float = 3.0) -> bool:
        """Wait until the first block has arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._callbacks == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True
