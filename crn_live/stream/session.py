"""A live session: sources, the engine on its worker thread, vision, mixer, recording, status.

``crn-live --no-gui``, ``crn-separate`` (file sources, unpaced) and the desktop app all drive
this one class. Threads:

* the audio input callback (sounddevice) or a file player copies blocks into a ring;
* the **worker** reads one chunk at a time, runs the vision inline when the camera is a video
  file (the frame at the audio's time: deterministic), hands the current instruments to the
  engine, processes the chunk, writes the output ring (played by the output callback), the
  recording and the display queue;
* a live camera gets its own vision thread (:class:`~crn_live.stream.vision.VisionThread`);
* the GUI only reads :meth:`LiveSession.poll_frames`, :meth:`~LiveSession.latest_video` and
  :meth:`~LiveSession.status`, and sets the mixer.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from crn_live.dsp.levels import rms_db
from crn_live.errors import UserError
from crn_live.stream.engine import LEVELS, EngineSettings, SeparationEngine
from crn_live.stream.mixer import RESIDUAL, Mixer
from crn_live.stream.sources.base import RingAudioSource
from crn_live.stream.video_delay import DelayedFrames
from crn_live.stream.vision import TrackInfo, Vision, VisionSnapshot

#: The bundled demo scene: a short crn-synth clip (video + mixture) shipped in the package.
DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
#: GIL switch interval while a session runs (Python's default 5 ms starves audio callbacks).
SWITCH_INTERVAL_S = 0.001
#: Output glitches this soon (seconds) after the output starts playing count as start-up ones.
OUTPUT_STARTUP_S = 1.0
#: The output's delay is held at its prefill (OutputSink.hold_delay): what a glitch added is
#: taken back once the ring held more than this (seconds) beyond it for a window of this long.
OUTPUT_HOLD_TOLERANCE_S, OUTPUT_HOLD_WINDOW_S = 0.02, 10.0
#: Share of each new measurement of the playback delay taken into the shown one (per chunk).
DELAY_SMOOTHING = 0.2
#: Seconds of video frames kept at least (more when the playback delay is longer).
VIDEO_HORIZON_S = 1.0
__all__ = ["LiveSession", "SessionOptions", "Status", "StripFrame", "TrackInfo", "UiFrame",
           "VideoFrame"]


@dataclasses.dataclass(frozen=True)
class SessionOptions:
    """What to open and how to run (the flags of ``crn-live``)."""

    camera: int | str | None = None  # camera index, video file, or None
    mic: int | str | None = "default"  # "default", device index/name, or an audio file
    output: int | str | None = "default"  # output device, or None for no playback
    backend: str = "auto"
    model: Path | None = None
    detector: Path | None = None
    detector_labels: Path | None = None
    max_objects: int = 4
    detect_fps: float = 5.0
    paced: bool = True  # files at real-time pace (live); False: as fast as possible
    duration: float | None = None
    record: Path | None = None
    objects: tuple = ()  # manual regions: (class_name, (x0, y0, x1, y1)) in frame pixels
    instruments: tuple[str, ...] = ()  # named by class alone: no box, no picture needed
    solo: tuple[str, ...] = ()  # class names (or "residual") soloed when they appear
    mute: tuple[str, ...] = ()
    threads: int | None = None
    adaptive: bool = True
    loop: bool = False
    engines: Path = Path("engines")
    queue_frames: int = 256
    trim_delay: bool = False  # recordings start at the input's first sample (crn-separate)
    #: Silence queued before the first output chunk: the jitter buffer that absorbs the
    #: variation of a chunk's processing time (the engine outputs a whole chunk at once).
    #: None: sized from the chunk, the engine's overload policy and the devices
    #: (LiveSession._auto_prefill_ms: 143.5 ms for the small model at 30 ms device latency);
    #: the session's options then hold the value used.
    output_prefill_ms: float | None = None
    #: PortAudio latency asked of the microphone and output ("low", "high" or seconds). 30 ms:
    #: on PulseAudio's ALSA plugin "low" (8.6 ms) underruns while Python holds the GIL.
    device_latency: str | float = 0.03
    chunk_frames: int | None = None  # frames per step (None: the model's; 1: lowest latency)

    @classmethod
    def demo(cls, **changes) -> "SessionOptions":
        """The bundled demo scene through the very same live path (files, paced, looped)."""
        if not (DEMO_DIR / "video.mp4").is_file():
            raise UserError(f"the bundled demo scene is missing from {DEMO_DIR} (a partial "
                            f"install?): reinstall crn-live")
        return cls(**{"camera": str(DEMO_DIR / "video.mp4"), "mic": str(DEMO_DIR / "mix.wav"),
                      "loop": True, **changes})


@dataclasses.dataclass(frozen=True)
class StripFrame:
    """One strip's newest columns: ``spectrum (log_bins, frames)`` in dB, level in dBFS."""

    key: int | str
    label: str
    spectrum: np.ndarray
    level_db: float
    gain: float


@dataclasses.dataclass(frozen=True)
class UiFrame:
    index: int
    time_s: float
    strips: tuple[StripFrame, ...]


@dataclasses.dataclass(frozen=True)
class VideoFrame:
    image: np.ndarray
    time_s: float
    tracks: list[TrackInfo]


@dataclasses.dataclass(frozen=True)
class Status:
    backend: str
    backend_reason: str
    algorithmic_latency_ms: float
    hop_ms_median: float
    hop_ms_p99: float
    rtf: float
    degradations: int
    level: str
    xruns: int
    chunks: int
    seconds: float
    recording: Path | None
    camera: str
    mic: str
    output: str
    #: How long the picture is held back to match the sound (:meth:`LiveSession.latest_video`).
    playback_delay_ms: float = 0.0


class _Remembering:
    """Stands for a :class:`Vision` on the camera's vision thread: every snapshot it publishes
    also goes to ``remember`` (the session's queue of delayed frames)."""

    def __init__(self, vision: Vision, remember) -> None:
        self.vision, self.remember = vision, remember

    def update(self, image_rgb: np.ndarray | None, time_s: float,
               frame_index: int = -1) -> VisionSnapshot:
        snapshot = self.vision.update(image_rgb, time_s, frame_index)
        self.remember(snapshot)
        return snapshot


def _is_file_spec(spec) -> bool:
    return isinstance(spec, (str, Path)) and not str(spec).isdigit() and str(spec) != "default" \
        and (Path(spec).suffix.lower() != "" or Path(spec).exists())


class LiveSession:
    """Opens models, backends and devices (one-line :class:`UserError` when one is missing),
    then :meth:`start` / :meth:`stop`. What the app uses of it is
    :class:`~crn_live.stream.protocol.SessionProtocol`."""

    options: SessionOptions
    mixer: Mixer
    error: BaseException | None

    def __init__(self, options: SessionOptions) -> None:
        from crn_live.runtime.graphs import DETECTOR, VISUAL, step_graph, step_levels
        from crn_live.runtime.select import open_runtime
        from crn_live.separation import BUNDLED_MODEL, Separator

        self.options = o = options
        self._closers: list = []
        try:
            self.audio = self._open_audio(o)
            self._closers.append(self.audio)
            rate = self.audio.rate
            self.output = None
            self.notes: list[str] = []
            if o.output is not None:
                from crn_live.stream.sources.output import OutputSink

                try:
                    self.output = OutputSink(None if o.output == "default" else o.output, rate,
                                             ring_seconds=2.0, latency=o.device_latency,
                                             startup_s=OUTPUT_STARTUP_S)
                    self._closers.append(self.output)
                except UserError as error:
                    if o.output != "default":
                        raise  # a device the user named must exist
                    self.notes.append(f"not playing: {error}")
            self.separator = Separator.load(o.model, "cpu")
            if o.chunk_frames is not None and o.chunk_frames != self.separator.config.chunk_frames:
                self.separator = self.separator.with_chunk(o.chunk_frames)
            detector_model, detector_path = self._detector_model(o)
            graphs = [VISUAL] + [step_graph(k, self.separator.config)
                                 for k in step_levels(self.separator.config)]
            if detector_model is not None:
                graphs.append(DETECTOR)
            self.runtime = open_runtime(o.backend, self.separator, o.model or BUNDLED_MODEL,
                                        detector_model, detector_path, graphs, o.engines,
                                        o.threads, o.max_objects)
            detector = self._detector(o, detector_model)
            config = self.separator.config
            steps = {k: self.runtime[step_graph(k, config)] for k in step_levels(config)}
            # unpaced (crn-separate) is not real time: always full quality
            self.engine = SeparationEngine(config, steps, EngineSettings(
                rate, o.max_objects, adaptive=o.adaptive and o.paced))
            if o.output_prefill_ms is None:
                self.options = o = dataclasses.replace(o, output_prefill_ms=(
                    self._auto_prefill_ms() if self.output is not None else 0.0))
            self.vision = Vision(detector, self.runtime[VISUAL], config.crop_size,
                                 self.separator.conditioner, o.max_objects, 1.0 / o.detect_fps)
            self._open_camera(o)
            # real time: every graph runs before the clock starts (unpaced has no clock)
            self.warmup_ms = self._warm_up() if o.paced else 0.0
        except BaseException:
            self.close()
            raise
        self.mixer = self.engine.mixer
        for class_name, box in o.objects:
            self.vision.add_region(box, class_name)
        for class_name in o.instruments:
            self.vision.add_named(class_name)
        self._frames: collections.deque = collections.deque(maxlen=o.queue_frames)
        self._video: DelayedFrames[VideoFrame] = DelayedFrames(VIDEO_HORIZON_S, max_frames=128)
        self._prefilled = 0  # silence frames written ahead of the output, all starts
        self._output_waits = False  # started, and the first chunk's prefill not yet queued
        self._delay_measured = False
        self._playback_delay_s = self._nominal_delay_s()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()
        self.error: BaseException | None = None
        self._process_ms: collections.deque = collections.deque(maxlen=2000)
        self._recorder = None
        self._record_lock = threading.Lock()
        self._applied_rules: set = set()
        self.started_at = 0.0
        if o.record is not None:
            self.start_recording(o.record)

    # ------------------------------------------------------------------ opening
    @staticmethod
    def _open_audio(o: SessionOptions) -> RingAudioSource:
        from crn_live.stream.sources.file import FileAudioSource
        from crn_live.stream.sources.mic import MicSource

        if o.mic is None:
            raise UserError("no audio input: give --mic default|DEVICE|FILE")
        if _is_file_spec(o.mic):
            path = Path(o.mic)
            if not path.is_file():
                raise UserError(f"audio file {path} not found: give an existing WAV/FLAC file "
                                f"or a microphone (--mic default)")
            return FileAudioSource(path, paced=o.paced, loop=o.loop,
                                   ring_seconds=4.0 if o.paced else 8.0)
        return MicSource(o.mic, channels=1, latency=o.device_latency)

    @staticmethod
    def _detector_model(o: SessionOptions):
        """Our own detector (a checkpoint) runs through the runtime; None otherwise."""
        from crn_live.vision.detector import BUNDLED_DETECTOR, detector_checkpoint

        if o.detector is not None and Path(o.detector).suffix.lower() == ".onnx":
            return None, None
        return detector_checkpoint(o.detector).model, Path(o.detector or BUNDLED_DETECTOR)

    def _detector(self, o: SessionOptions, model):
        from crn_live.runtime.graphs import DETECTOR
        from crn_live.vision.detector import OwnDetector, open_detector

        if model is None:
            return open_detector(o.detector, o.detector_labels)
        backend = self.runtime[DETECTOR]

        def run(images: np.ndarray):
            out = backend.run({"image": np.ascontiguousarray(images, np.float32)})
            return out["scores"], out["boxes"]

        return OwnDetector(model.config, run, name=f"detector on {backend.name}")

    def _open_camera(self, o: SessionOptions) -> None:
        from crn_live.stream.vision import VideoFileFrames, VisionThread

        self.video_file = self.camera = self.vision_thread = None
        if o.camera is None:
            return
        if _is_file_spec(o.camera):
            if not Path(o.camera).is_file():
                raise UserError(f"video file {o.camera} not found: give an existing video or "
                                f"a camera index (--camera 0)")
            self.video_file = VideoFileFrames(o.camera)
            self._closers.append(self.video_file)
            return
        from crn_live.stream.sources.camera import CameraSource

        self.camera = CameraSource(int(o.camera))
        self._closers.append(self.camera)
        self.vision_thread = VisionThread(_Remembering(self.vision, self._remember_camera_frame),
                                          self.camera)

    def _warm_up(self) -> float:
        """Run every graph the session may run (detector, visual encoder, each step level) a
        few times, so that no first call lands in real time; returns the ms it took."""
        started = time.perf_counter()
        info = self.video_file.info if self.video_file is not None else None
        self.vision.warm_up((info.height, info.width) if info is not None else (480, 640))
        self.engine.warm_up()
        return 1000.0 * (time.perf_counter() - started)

    # ------------------------------------------------------------------ facts
    @property
    def rate(self) -> int:
        return self.engine.settings.rate

    @property
    def classes(self) -> tuple[str, ...]:
        return self.vision.classes or tuple(self.separator.meta.get("classes", ()))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    # ------------------------------------------------------------------ control
    def add_region(self, box: Sequence[float], class_name: str) -> int:
        """A manual region (frame pixels); returns the id its track will get."""
        self.vision.add_region(box, class_name)
        return self.vision.tracker._next_id + len(self.vision._pending) - 1

    def add_instrument(self, class_name: str) -> int:
        """An instrument named by its class alone (no box, no picture; synonyms accepted): the
        id of its strip. ``ValueError`` (one line, close matches) for an unknown name or when
        ``max_objects`` are named already; :meth:`remove_track` removes it."""
        return self.vision.add_named(class_name)

    def remove_track(self, track_id: int) -> bool:
        vision = self.vision
        known = any(t.track_id == track_id for t in vision.snapshot.tracks) \
            or track_id in vision._named \
            or any(a == "name" and args[0] == track_id for a, args in list(vision._pending))
        vision.remove_track(track_id)
        return known

    def start_recording(self, folder: Path) -> None:
        from crn_live.stream.record import Recorder

        with self._record_lock:
            if self._recorder is not None:
                self._recorder.close()
            skip, limit = 0, None
            if self.options.trim_delay:  # aligned with the input file, and as long
                skip = self.engine.stft_config.latency_samples
                limit = self.audio.total_frames
            self._recorder = Recorder(Path(folder), self.rate, skip, limit)
            self._recorder.write_stats(self.stats())

    def stop_recording(self) -> Path | None:
        with self._record_lock:
            recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        recorder.write_stats(self.stats())
        recorder.close()
        return recorder.folder

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._finished.clear()
        # the audio callbacks are Python: let them take the GIL within 1 ms, not 5
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        if self.output is not None:
            self._output_waits = True  # silent until the first chunk is read (_prefill_output)
            self.output.start()
        self.audio.start()
        if self.camera is not None:
            self.camera.start()
            self.vision_thread.start()
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="crn-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if self.vision_thread is not None:
            self.vision_thread.stop()
        for part in (self.camera, self.audio, self.output):
            if part is not None:
                part.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the file sources end (or the worker fails); False on timeout."""
        return self._finished.wait(timeout)

    def close(self) -> None:
        """Stop, finish the recording (valid files), release every device."""
        if getattr(self, "_thread", None) is not None:
            self.stop()
        if getattr(self, "_recorder", None) is not None:
            self.stop_recording()
        for part in reversed(getattr(self, "_closers", [])):
            try:
                part.close()
            except Exception:  # noqa: BLE001 - closing the rest matters more
                pass

    def __enter__(self) -> "LiveSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        engine = self.engine
        block = np.zeros(engine.chunk_samples, np.float32)
        tail = engine.stft_config.latency_samples + engine.chunk_samples
        flushed = 0
        try:
            while not self._stop.is_set():
                if self._device_lost():
                    break
                if self.audio.available >= len(block):
                    self.audio.read_into(block)
                elif self.audio.finished and not self.audio.available and flushed < tail:
                    block[:] = 0.0  # flush the synthesis with silence after the file ends
                    flushed += len(block)
                elif self.audio.finished and flushed >= tail:
                    break
                else:
                    got = self.audio.available
                    if got and self.audio.finished:
                        block[:] = 0.0
                        self.audio.read_into(block[:got])
                    else:
                        time.sleep(0.002)
                        continue
                self._process(block)
                if self.options.duration is not None and \
                        engine.chunks * engine.chunk_samples >= self.options.duration * self.rate:
                    break
        except BaseException as error:  # noqa: BLE001 - reported by status and the CLI
            self.error = error
        finally:
            self._finished.set()

    def _auto_prefill_ms(self) -> float:
        """The output's jitter buffer when none is given: the engine's processing budget per
        chunk (deadline x chunk), the lateness it lets pass before it degrades (``late_slack``
        chunks over the budget), and the devices' reported latencies (the input delivers in
        blocks of up to its latency; the output's callback may come as late)."""
        engine = self.engine
        slack = (engine.settings.deadline + engine.settings.late_slack) * engine.chunk_ms
        return round(slack + 1000.0 * (self.audio.latency + self.output.latency), 1)

    def _prefill_output(self) -> None:
        """The worker, with the first chunk of each start read: queue the prefill's silence.
        The output plays from now on (it was silent, its ring untouched), so the prefill is the
        time this and every later chunk has to reach it (the jitter buffer), whatever the
        devices and the first chunk took to start."""
        if self.output is None or not self._output_waits:
            return
        self._output_waits = False
        prefill = int(self.rate * self.options.output_prefill_ms / 1000.0)
        self.output.write(np.zeros(prefill, np.float32))
        self._prefilled += prefill
        self.output.hold_delay(prefill, round(OUTPUT_HOLD_TOLERANCE_S * self.rate),
                               max(round(OUTPUT_HOLD_WINDOW_S * 1000 / self.engine.chunk_ms), 1))

    def _device_lost(self) -> bool:
        """True when the microphone or the output went away (``part.lost``): the recording is
        finished and :attr:`error` is one line saying which device, when, and where the
        recording is."""
        for what, part in (("microphone", self.audio), ("audio output", self.output)):
            reason = part.lost if part is not None else None
            if reason is not None:
                break
        else:
            return False
        at_s = self.engine.chunks * self.engine.chunk_samples / self.rate
        folder = self.stop_recording()
        kept = f"; recording kept in {folder}" if folder is not None else ""
        name = getattr(part, "device_name", "")
        self.error = UserError(f"the {what} '{name}' went away at {at_s:.1f} s ({reason})"
                               f"{kept}")
        return True

    def _process(self, block: np.ndarray) -> None:
        self._prefill_output()
        engine = self.engine
        time_s = engine.chunks * engine.chunk_samples / self.rate  # audio time of this chunk
        if self.video_file is not None:
            image, index = self.video_file.frame_at(time_s)
            snapshot = self.vision.update(image, time_s, index)
            self._remember_video(snapshot, self.audio.time_of(engine.chunks
                                                              * engine.chunk_samples))
        elif self.camera is None:
            snapshot = self.vision.update(None, time_s)
        else:
            snapshot = self.vision.snapshot
            if self.vision_thread.error is not None:
                raise self.vision_thread.error
        self._apply_rules(snapshot)
        engine.backlog = self.audio.available // engine.chunk_samples \
            if self.options.paced else 0
        engine.set_objects(snapshot.objects)
        out = engine.process(block)
        self.vision.slowdown = 3.0 if LEVELS.index(out.level) >= 3 else 1.0
        self._process_ms.append(out.process_ms)
        if self.output is not None:
            self.output.write(out.played)
            self._measure_playback_delay()
        with self._record_lock:
            if self._recorder is not None:
                self._recorder.write(out)
                self._recorder.note_tracks(time_s, snapshot.tracks, self.vision.rounds)
                if out.index % 50 == 0:
                    self._recorder.write_stats(self.stats())
        self._frames.append((time.monotonic() + self._strip_delay_s(), self._ui_frame(out, time_s)))

    def _strip_delay_s(self) -> float:
        """How long a strip frame waits before the window may show it: its audio is heard
        :attr:`playback_delay_s` after capture, and it is ready the algorithmic latency after
        capture, so that the spectrograms scroll in step with the sound (and with the picture,
        which is delayed by the playback delay). 0 when nothing is played."""
        if self.output is None:
            return 0.0
        return max(0.0, self._playback_delay_s - self.engine.algorithmic_latency_ms / 1000.0)

    def _apply_rules(self, snapshot: VisionSnapshot) -> None:
        """--solo / --mute by class name, applied once to each instrument as it appears (a
        tracked one or one named without a box)."""
        strips = [(o.label, o.track_id) for o in snapshot.objects] \
            + [(t.class_name, t.track_id) for t in snapshot.tracks] + [(RESIDUAL, RESIDUAL)]
        for kind, names, setter in (("solo", self.options.solo, self.mixer.set_solo),
                                    ("mute", self.options.mute, self.mixer.set_mute)):
            for name, key in strips:
                if name in names and (kind, key) not in self._applied_rules:
                    setter(key, True)
                    self._applied_rules.add((kind, key))

    def _ui_frame(self, out, time_s: float) -> UiFrame:
        gains = self.mixer.gains()
        db = 20.0 * np.log10(np.maximum(out.spectra, 1e-5)).astype(np.float32)
        strips = [StripFrame("mix", "Mixture", db[-2], rms_db(out.mix), 1.0)]
        for slot, (track_id, label) in enumerate(zip(out.slots, out.labels)):
            if track_id:
                strips.append(StripFrame(track_id, label, db[slot], rms_db(out.sources[slot]),
                                         gains.get(track_id, 1.0)))
        strips.append(StripFrame(RESIDUAL, "Residual", db[-1], rms_db(out.residual),
                                 gains.get(RESIDUAL, 1.0)))
        return UiFrame(out.index, time_s, tuple(strips))

    # ------------------------------------------------------------------ reading (any thread)
    def poll_frames(self) -> list[UiFrame]:
        """The strip frames due now (each is held until its audio is heard: see
        :meth:`_strip_delay_s`), oldest first."""
        frames, now = [], time.monotonic()
        while self._frames:
            try:
                due, frame = self._frames[0]
            except IndexError:
                break
            if due > now:
                break
            try:
                self._frames.popleft()
            except IndexError:
                break
            frames.append(frame)
        return frames

    @property
    def playback_delay_s(self) -> float:
        """How long ago the audio now leaving the loudspeaker was captured, smoothed over a few
        chunks (what the status reports): measured once the separated audio is heard, the
        algorithmic latency plus the output's prefill and latency before that; the algorithmic
        latency when nothing is played."""
        return self._playback_delay_s

    def latest_video(self) -> VideoFrame | None:
        """The camera frame, with its tracks, captured when the audio now leaving the
        loudspeaker was (by the output's count of played samples; :attr:`playback_delay_s`
        ago before that, or without an output); None before the first frame."""
        heard = self._heard_capture_time()
        return self._video.at(time.monotonic() - self._playback_delay_s if heard is None
                              else heard)

    def _remember_video(self, snapshot: VisionSnapshot, capture_s: float) -> None:
        """Queue a published snapshot's frame under its capture time (monotonic clock)."""
        if snapshot.image is not None and np.isfinite(capture_s):
            self._video.push(float(capture_s), VideoFrame(snapshot.image, snapshot.time_s,
                                                          list(snapshot.tracks)))

    def _remember_camera_frame(self, snapshot: VisionSnapshot) -> None:
        """The vision thread's snapshot: its time counts from the thread's start."""
        self._remember_video(snapshot, snapshot.time_s + self.vision_thread.origin)

    def _nominal_delay_s(self) -> float:
        """Algorithmic latency, plus the output's prefill and reported latency when playing."""
        delay = self.engine.algorithmic_latency_ms / 1000.0
        if self.output is not None:
            delay += self.options.output_prefill_ms / 1000.0 + self.output.latency
        return delay

    def _heard_capture_time(self) -> float | None:
        """Capture time (monotonic clock) of the input sample leaving the loudspeaker now: the
        one handed to the device its latency ago, less the prefill's silence and the synthesis
        delay. None without an output, or while the prefill's silence is heard."""
        output = self.output
        if output is None:
            return None
        heard = (output.played_frames + output.dropped_frames - self._prefilled
                 - self.engine.stft_config.latency_samples - round(output.latency * self.rate))
        if heard < 0:
            return None
        captured = float(self.audio.time_of(heard))
        return captured if np.isfinite(captured) else None

    def _measure_playback_delay(self) -> None:
        """The worker, after each output write: smooth the delay into :attr:`playback_delay_s`
        and keep frames that far back (and half a second more)."""
        heard = self._heard_capture_time()
        if heard is None:
            return
        delay = time.monotonic() - heard
        if not self._delay_measured:
            self._delay_measured = True
            self._playback_delay_s = delay
        else:
            self._playback_delay_s += DELAY_SMOOTHING * (delay - self._playback_delay_s)
        self._video.horizon_s = max(VIDEO_HORIZON_S, self._playback_delay_s + 0.5)

    def xruns(self) -> dict:
        out = {"input": int(self.audio.xruns)}
        if self.output is not None:
            out["output"] = int(self.output.xruns)
        return out

    def stats(self) -> dict:
        """What ``stats.json`` and ``--json`` hold."""
        times = np.asarray(self._process_ms, np.float64)
        engine = self.engine
        xruns = self.xruns()
        return {"backend": self.runtime.backend, "backend_reason": self.runtime.reason,
                "sample_rate": self.rate, "chunk_ms": round(engine.chunk_ms, 3),
                "algorithmic_latency_ms": round(engine.algorithmic_latency_ms, 2),
                "output_latency_ms": round(1000 * self.output.latency, 2)
                if self.output is not None else None,
                "output_prefill_ms": self.options.output_prefill_ms
                if self.output is not None else None,
                "playback_delay_ms": round(1000.0 * self._playback_delay_s, 1),
                "hop_ms_median": round(float(np.median(times)), 3) if times.size else None,
                "hop_ms_p99": round(float(np.percentile(times, 99)), 3) if times.size else None,
                "rtf": round(float(times.mean() / engine.chunk_ms), 4) if times.size else None,
                "degradations": engine.degradations, "recoveries": engine.recoveries,
                "level": LEVELS[engine.level],
                "chunks_per_level": dict(zip(LEVELS, engine.level_chunks)),
                "warmup_ms": round(self.warmup_ms, 1),
                "xruns": sum(xruns.values()), "xruns_by_side": xruns,
                **self._output_stats(),
                "dropped_input_frames": int(self.audio.dropped_frames),
                "chunks": engine.chunks,
                "seconds": round(engine.chunks * engine.chunk_samples / self.rate, 3),
                "detection_rounds": self.vision.rounds,
                "tracks": [dataclasses.asdict(t) for t in self.vision.snapshot.tracks]}

    def _output_stats(self) -> dict:
        """The output's start-up glitches (not in ``xruns``: see OUTPUT_STARTUP_S) and the
        least its jitter buffer held (ms; 0: it ran dry), or Nones without an output."""
        output = self.output
        low = None if output is None else output.buffer_low_frames
        low_ms = None if low is None else round(1000.0 * low / self.rate, 1)
        return {"output_startup_xruns": None if output is None else output.startup_xruns,
                "output_buffer_low_ms": low_ms,
                "output_callback_priority": None if output is None else
                output.callback_priority}

    def status(self) -> Status:
        s = self.stats()
        o = self.options
        return Status(s["backend"], s["backend_reason"], s["algorithmic_latency_ms"],
                      s["hop_ms_median"] or 0.0, s["hop_ms_p99"] or 0.0, s["rtf"] or 0.0,
                      s["degradations"], s["level"], s["xruns"], s["chunks"], s["seconds"],
                      self._recorder.folder if self._recorder is not None else None,
                      str(o.camera), str(o.mic), str(o.output), s["playback_delay_ms"])
