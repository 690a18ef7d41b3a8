"""Live inputs and outputs: microphone, audio file, speaker, camera / video file.

Every audio block and video frame carries its capture time on :func:`time.monotonic`'s clock,
so audio and video can be lined up by whoever consumes them.

* Audio sources (:class:`MicSource`, :class:`FileAudioSource`) share one read interface:
  :meth:`~MicSource.read_into` fills a caller's ``(frames, channels)`` float32 array from an
  :class:`~crn_live.dsp.ringbuffer.AudioRingBuffer`; :attr:`~MicSource.position` is the stream
  index of the next sample it returns and :meth:`~MicSource.time_of` the capture time of any
  sample index.
* :class:`OutputSink` plays what a producer hands to :meth:`~OutputSink.write`.
* :class:`CameraSource` keeps only the latest frame of a camera or a video file.

Device callbacks (PortAudio's thread) copy into preallocated arrays only: no lock, no numpy
allocation (Python still creates a few small objects: the block views and floats).
Everything can be started and stopped (twice too) and is a context manager (enter = start,
exit = close).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from crn_live.data.audio_io import read_audio
from crn_live.dsp.resample import resample
from crn_live.dsp.ringbuffer import AudioRingBuffer
from crn_live.errors import UserError
from crn_live.stream.devices import (
    one_line,
    quiet_stderr,
    resolve_audio_device,
    sounddevice_module,
)

#: Largest block a callback mixes / duplicates in one step (longer ones go in pieces).
SCRATCH_FRAMES = 8192
#: Frames per block a :class:`FileAudioSource` releases.
FILE_BLOCK_FRAMES = 256

FrameCallback = Callable[[np.ndarray, float, int], None]


class AudioBlockClock:
    """Capture time of each block of an audio stream, on :func:`time.monotonic`'s clock.

    A block's raw time is the device's ADC time of its first frame (already mapped onto the
    monotonic clock) when the device reports a plausible one, else its arrival time minus its
    duration (never later than that). The clock predicts each block from the previous one
    (``previous + frames / rate``) and moves towards the raw time by ``gain`` of the error, at
    most ``slew`` of the previous block's duration: times advance with the sample count,
    callback jitter barely reaches them and they always increase. A discontinuity (frames lost) re-synchronises
    at once. Allocation-free apart from Python floats; used from the device callback.

    Parameters
    ----------
    rate
        Sample rate.
    max_delay
        An ADC time more than this before the block's arrival is not plausible (PortAudio's
        ALSA backend reports ADC times up to 0.6 s early while a PulseAudio stream settles);
        the arrival time is used instead.
    gain, slew
        Loop gain per block and the largest correction per block (fraction of its duration).
    """

    def __init__(self, rate: float, max_delay: float = 0.1, gain: float = 0.05,
                 slew: float = 0.1) -> None:
        self.rate = float(rate)
        self.max_delay = max_delay
        self.gain = gain
        self.slew = slew
        self.reset()

    def reset(self) -> None:
        """Forget the history (the next block re-synchronises)."""
        self._next = math.nan
        self._duration = 0.0

    def update(self, frames: int, adc_time: float, arrival: float,
               discontinuity: bool = False) -> float:
        """The capture time of the first frame of a ``frames``-long block.

        Parameters
        ----------
        frames
            Block length (> 0).
        adc_time
            The device's capture time of the first frame on the monotonic clock; ``0.0`` when
            unknown.
        arrival
            :func:`time.monotonic` when the block reached the callback.
        discontinuity
            Frames were lost before this block: re-synchronise.
        """
        duration = frames / self.rate
        latest = arrival - duration
        raw = latest
        if arrival - self.max_delay - duration <= adc_time < latest:
            raw = adc_time
        predicted = self._next
        if discontinuity or predicted != predicted:  # NaN: first block
            t = raw
        else:
            step = self.slew * self._duration  # of the previous block: keeps times rising
            t = predicted + min(max(self.gain * (raw - predicted), -step), step)
        self._next = t + duration
        self._duration = duration
        return t


class BlockTimes:
    """Preallocated ring of ``(stream position, capture time)`` pairs, one per block.

    :meth:`record` is called by the producer (a device callback), :meth:`time_of` and
    :meth:`snapshot` by the consumer; the count is published after both values are stored.
    """

    def __init__(self, rate: float, size: int = 4096) -> None:
        self.rate = float(rate)
        self.size = size
        self._positions = np.zeros(size, np.int64)
        self._times = np.zeros(size, np.float64)
        self._count = 0

    def record(self, position: int, t: float) -> None:
        """Producer: the block starting at stream sample ``position`` was captured at ``t``."""
        slot = self._count % self.size
        self._positions[slot] = position
        self._times[slot] = t
        self._count += 1

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Consumer: copies of the recorded positions and times, oldest first (the oldest
        slots, which the producer may be overwriting, are left out)."""
        count = self._count
        n = min(count, self.size - 64)
        slots = np.arange(count - n, count) % self.size
        return self._positions[slots], self._times[slots]

    def time_of(self, index):
        """Consumer: capture time of stream sample ``index`` (int or array): the time of the
        block holding it plus its offset in the block; extrapolated at the rate outside the
        recorded blocks; NaN before any block."""
        positions, times = self.snapshot()
        index_array = np.asarray(index, dtype=np.int64)
        if len(positions) == 0:
            result = np.full(index_array.shape, np.nan)
        else:
            block = np.clip(np.searchsorted(positions, index_array, side="right") - 1,
                            0, len(positions) - 1)
            result = times[block] + (index_array - positions[block]) / self.rate
        return float(result) if result.ndim == 0 else result


def _as_frames(array: np.ndarray, channels: int, name: str) -> np.ndarray:
    """``array`` as ``(frames, channels)`` (a view of a 1-D array when ``channels`` is 1)."""
    if array.ndim == 1 and channels == 1:
        return array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[1] != channels:
        raise ValueError(f"{name} must be (frames, {channels}) float32, got {array.shape}")
    return array


class _RingAudioSource:
    """The read side shared by :class:`MicSource` and :class:`FileAudioSource`."""

    channels: int
    _ring: AudioRingBuffer
    _times: BlockTimes
    _rate: int

    def _init_read_side(self, rate: int, channels: int, ring_seconds: float) -> None:
        self._rate = int(rate)
        self.channels = channels
        self._ring = AudioRingBuffer(max(int(ring_seconds * rate), 1), channels)
        self._times = BlockTimes(rate)
        self._written = 0
        self._read = 0

    @property
    def rate(self) -> int:
        """Sample rate (Hz) of what :meth:`read_into` returns."""
        return self._rate

    @property
    def available(self) -> int:
        """Frames captured and not yet read."""
        return self._ring.available

    @property
    def position(self) -> int:
        """Stream index of the next sample :meth:`read_into` returns."""
        return self._read

    @property
    def dropped_frames(self) -> int:
        """Frames lost because the consumer did not read in time (the ring was full)."""
        return self._ring.overrun_frames

    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` ``(frames, channels)`` float32 (or ``(frames,)`` when mono) with the
        oldest unread samples; returns how many were there (the rest is zero-filled)."""
        n = self._ring.read_into(_as_frames(out, self.channels, "out"))
        self._read += n
        return n

    def time_of(self, index):
        """Capture time (:func:`time.monotonic` clock) of stream sample ``index``, an int or
        an array of them; NaN before the first block."""
        return self._times.time_of(index)

    def block_times(self) -> tuple[np.ndarray, np.ndarray]:
        """Stream positions and capture times of the recent blocks, oldest first."""
        return self._times.snapshot()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class MicSource(_RingAudioSource):
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
        self._init_read_side(rate, channels, ring_seconds)
        self._overflows = 0
        self._callbacks = 0
        self._lost_last = False
        self._clock = AudioBlockClock(rate)
        self._clock_offset = 0.0
        self._stream = None
        self._closed = False
        attempts = [channels]
        if channels == 1 and int(info["max_input_channels"]) >= 2:
            attempts.append(2)
        error = None
        for device_channels in attempts:
            self._mix = device_channels != channels
            self._scratch = np.zeros((max(blocksize, SCRATCH_FRAMES), channels), np.float32)
            try:
                self._stream = sd.InputStream(
                    device=index, samplerate=rate, channels=device_channels, dtype="float32",
                    latency=latency, blocksize=blocksize, callback=self._callback)
                break
            except (sd.PortAudioError, ValueError) as exc:
                error = exc
        if self._stream is None:
            raise UserError(f"cannot open microphone '{device}' ({info['name']}) at {rate} Hz "
                            f"with {channels} channel(s): {one_line(error)}")
        self.device_name = str(info["name"])

    @property
    def latency(self) -> float:
        """Input latency (seconds) the stream reports."""
        return float(self._stream.latency)

    @property
    def xruns(self) -> int:
        """Input overflows the device reported plus blocks the full ring had to drop."""
        return self._overflows + self._ring.overruns

    def _callback(self, indata, frames, time_info, status) -> None:
        """PortAudio thread: stamp the block, then copy it (mixed down if needed) into the
        ring. No lock, no numpy allocation."""
        arrival = time.monotonic()
        if frames == 0:
            return
        overflow = status.input_overflow
        if overflow:
            self._overflows += 1
        adc = time_info.inputBufferAdcTime
        t = self._clock.update(frames, adc + self._clock_offset if adc > 0.0 else 0.0, arrival,
                               overflow or self._lost_last)
        self._times.record(self._written, t)
        written = 0
        if self._mix:
            done = 0
            while done < frames:
                n = min(frames - done, len(self._scratch))
                block = self._scratch[:n]
                np.mean(indata[done:done + n], axis=1, keepdims=True, out=block)
                written += self._ring.write(block)
                done += n
        else:
            written = self._ring.write(indata)
        self._lost_last = written < frames
        self._written += written
        self._callbacks += 1

    def start(self) -> None:
        """Start capturing (no-op when running)."""
        if self._closed:
            raise RuntimeError("MicSource is closed")
        if self._stream.active:
            return
        before = time.monotonic()
        stream_time = self._stream.time
        self._clock_offset = (before + time.monotonic()) / 2 - stream_time
        self._clock.reset()
        self._clock.max_delay = 2 * self.latency + 0.05
        self._stream.start()

    def wait_ready(self, timeout: float = 3.0) -> bool:
        """Wait until the first block has arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._callbacks == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def stop(self) -> None:
        """Stop capturing; unread samples stay readable."""
        if self._stream is not None and not self._closed and not self._stream.stopped:
            self._stream.stop()

    def close(self) -> None:
        """Stop and release the device."""
        if not self._closed:
            self.stop()
            self._stream.close()
            self._closed = True


class FileAudioSource(_RingAudioSource):
    """An audio file played into a ring as if it were a microphone.

    A thread writes it in blocks of :data:`FILE_BLOCK_FRAMES`: at real-time pace when
    ``paced`` (each block when its last sample is due; a consumer that falls behind loses
    frames like with a microphone), or as fast as the consumer drains the ring when not (then
    nothing is lost). The capture time of sample ``i`` is ``t0 + i / rate`` (plus the time
    spent stopped), ``t0`` being when :meth:`start` ran or its ``at``.

    Parameters
    ----------
    path
        WAV, FLAC, OGG...; several channels are mixed to mono.
    rate
        None keeps the file's rate; another rate resamples the whole file once.
    paced
        Real-time pace, or as fast as it is read.
    loop
        Start again at the end (forever) instead of finishing.

    Raises
    ------
    UserError
        One line, when the file is missing, unreadable, not audio or empty.
    """

    def __init__(self, path: str | Path, rate: int | None = None, paced: bool = True,
                 loop: bool = False, ring_seconds: float = 4.0) -> None:
        path = Path(path)
        try:
            samples, file_rate = read_audio(path)
        except UserError as exc:
            raise UserError(one_line(exc)) from None
        if samples.ndim == 2:
            samples = samples.mean(axis=1)
        if len(samples) == 0:
            raise UserError(f"audio file {path} has no samples")
        if rate is not None and int(rate) != file_rate:
            samples = resample(samples, file_rate, int(rate))
            file_rate = int(rate)
        self.path = path
        self.samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1, 1)
        self.paced = paced
        self.loop = loop
        self._init_read_side(file_rate, 1, ring_seconds)
        self._media = 0
        self._t0 = 0.0
        self._finished = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._drained = threading.Event()

    @property
    def latency(self) -> float:
        """Seconds between a sample's time and its release: one block when paced."""
        return FILE_BLOCK_FRAMES / self._rate if self.paced else 0.0

    @property
    def xruns(self) -> int:
        """Blocks the full ring dropped (paced mode, consumer too slow)."""
        return self._ring.overruns

    @property
    def finished(self) -> bool:
        """The whole file has been written into the ring (never with ``loop``); what is
        still :attr:`available` remains to be read."""
        return self._finished

    @property
    def duration(self) -> float:
        """Length of the file in seconds."""
        return len(self.samples) / self._rate

    def read_into(self, out: np.ndarray) -> int:
        n = super().read_into(out)
        self._drained.set()
        return n

    read_into.__doc__ = _RingAudioSource.read_into.__doc__

    def start(self, at: float | None = None) -> None:
        """Start (or resume) writing; ``at`` is the :func:`time.monotonic` time of the next
        sample when paced (default: now). No-op while running."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        now = time.monotonic() if at is None else at
        self._t0 = now - self._media / self._rate
        self._thread = threading.Thread(target=self._run, name="crn-file-audio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        total = len(self.samples)
        while not self._stop.is_set():
            offset = self._media % total if self.loop else self._media
            if offset >= total:
                self._finished = True
                return
            block = self.samples[offset:offset + FILE_BLOCK_FRAMES]
            n = len(block)
            if self.paced:
                due = self._t0 + (self._media + n) / self._rate
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            else:
                while True:
                    self._drained.clear()
                    if self._ring.space >= n:
                        break
                    self._drained.wait(0.05)
                    if self._stop.is_set():
                        return
            self._times.record(self._written, self._t0 + self._media / self._rate)
            self._written += self._ring.write(block)
            self._media += n

    def stop(self) -> None:
        """Stop writing (resume with :meth:`start`); unread samples stay readable."""
        self._stop.set()
        self._drained.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def close(self) -> None:
        """Same as :meth:`stop`."""
        self.stop()


class OutputSink:
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
        self._closed = False
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
        return self._rate

    @property
    def latency(self) -> float:
        """Output latency (seconds) the stream reports."""
        return float(self._stream.latency)

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
        block = _as_frames(np.asarray(block, dtype=np.float32), self.source_channels, "block")
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

    def start(self) -> None:
        """Start playing (silence until something is written); no-op when running."""
        if self._closed:
            raise RuntimeError("OutputSink is closed")
        if not self._stream.active:
            self._stream.start()

    def stop(self) -> None:
        """Stop playing; what is queued stays queued."""
        if not self._closed and not self._stream.stopped:
            self._stream.stop()

    def close(self) -> None:
        """Stop and release the device."""
        if not self._closed:
            self.stop()
            self._stream.close()
            self._closed = True

    def __enter__(self) -> "OutputSink":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _camera_index(spec: int | str) -> int | None:
    if isinstance(spec, int):
        return spec
    text = str(spec).strip()
    return int(text) if text.isdigit() else None


class CameraSource:
    """The latest frame of a camera or a video file, read by a thread.

    The reader keeps one slot ``(frame, t, index)``: RGB uint8 ``(height, width, 3)``, capture
    time on :func:`time.monotonic`'s clock, frame index from 0. The lock guarding the slot is
    held only to swap the reference. A camera frame's time is when the driver handed it over;
    a file frame ``i`` is due at ``t0 + i / fps`` and, when ``paced``, published then (the
    reader sleeps until it is due); unpaced files are decoded as fast as possible.

    Parameters
    ----------
    spec
        A camera index (int or digits) or a video file path.
    paced
        Files only: play at the file's own frame rate.
    width, height
        Wanted frame size: asked of a camera, and frames are resized to it when they differ
        (one of them alone keeps the aspect ratio).
    on_frame
        Called from the reader thread with ``(frame, t, index)`` for every frame read.
    loop
        Files only: start again at the end instead of finishing.

    Raises
    ------
    UserError
        One line: ``no camera 0: ...`` or ``cannot read video X: ...``.
    """

    def __init__(self, spec: int | str, paced: bool = True, width: int | None = None,
                 height: int | None = None, on_frame: FrameCallback | None = None,
                 loop: bool = False) -> None:
        self.spec = spec
        self.paced = paced
        self.on_frame = on_frame
        self.loop = loop
        self._want = (width, height)
        index = _camera_index(spec)
        self.is_file = index is None
        if self.is_file:
            path = Path(spec)
            if not path.is_file():
                raise UserError(f"cannot read video {path}: no such file")
            with quiet_stderr():
                capture = cv2.VideoCapture(str(path))
                ok, first = capture.read() if capture.isOpened() else (False, None)
            if not ok or first is None:
                capture.release()
                raise UserError(f"cannot read video {path}: not a video file or no decodable "
                                "frame")
            fps = capture.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and fps > 0 else 25.0
        else:
            with quiet_stderr():
                capture = cv2.VideoCapture(index)
                if capture.isOpened():
                    if width:
                        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                    if height:
                        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                ok, first = capture.read() if capture.isOpened() else (False, None)
            if not ok or first is None:
                capture.release()
                raise UserError(f"no camera {index}: it does not open or delivers no frame "
                                "(list cameras with crn-live --list-devices)")
            fps = capture.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and fps > 0 else 30.0
        self._capture = capture
        self._pending: np.ndarray | None = first
        self._pending_time = time.monotonic()
        self.size = self._target_size(first.shape[1], first.shape[0])
        self._slot: tuple[np.ndarray, float, int] | None = None
        self._lock = threading.Lock()
        self._next_index = 0
        self._t0 = 0.0
        self._finished = False
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False

    def _target_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) delivered for frames of ``width`` x ``height``."""
        want_w, want_h = self._want
        if want_w and want_h:
            return int(want_w), int(want_h)
        if want_w:
            return int(want_w), max(1, round(height * want_w / width))
        if want_h:
            return max(1, round(width * want_h / height)), int(want_h)
        return width, height

    @property
    def finished(self) -> bool:
        """A file reached its end (or a camera stopped delivering: see :attr:`error`)."""
        return self._finished

    @property
    def frames_read(self) -> int:
        """Frames published so far."""
        return self._next_index

    def latest(self) -> tuple[np.ndarray, float, int] | None:
        """The newest ``(frame RGB uint8, capture time, index)``, or None before the first."""
        with self._lock:
            return self._slot

    def _convert(self, bgr: np.ndarray) -> np.ndarray:
        if (bgr.shape[1], bgr.shape[0]) != self.size:
            bgr = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def start(self, at: float | None = None) -> None:
        """Start (or resume) reading; for a file ``at`` is the :func:`time.monotonic` time of
        the next frame (default: now). No-op while running."""
        if self._closed:
            raise RuntimeError("CameraSource is closed")
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        now = time.monotonic() if at is None else at
        self._t0 = now - self._next_index / self.fps
        self._thread = threading.Thread(target=self._run, name="crn-camera", daemon=True)
        self._thread.start()

    def _read(self) -> tuple[np.ndarray | None, float]:
        if self._pending is not None:
            frame, t, self._pending = self._pending, self._pending_time, None
            return frame, t
        ok, frame = self._capture.read()
        t = time.monotonic()
        if (not ok or frame is None) and self.is_file and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        return (frame if ok else None), t

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            bgr, t = self._read()
            if bgr is None:
                if self.is_file:
                    self._finished = True
                    return
                failures += 1
                if failures > 50:
                    self.error = f"camera {self.spec} stopped delivering frames"
                    self._finished = True
                    return
                time.sleep(0.01)
                continue
            failures = 0
            index = self._next_index
            if self.is_file:
                t = self._t0 + index / self.fps
                delay = t - time.monotonic()
                if self.paced and delay > 0 and self._stop.wait(delay):
                    self._pending, self._pending_time = bgr, t
                    return
            frame = self._convert(bgr)
            item = (frame, t, index)
            with self._lock:
                self._slot = item
            self._next_index = index + 1
            if self.on_frame is not None:
                self.on_frame(frame, t, index)

    def stop(self) -> None:
        """Stop reading (resume with :meth:`start`); the latest frame stays available."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def close(self) -> None:
        """Stop and release the camera or file."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        if self._thread is None or not self._thread.is_alive():
            self._capture.release()

    def __enter__(self) -> "CameraSource":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
