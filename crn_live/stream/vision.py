"""Detection + tracking + embeddings for the live engine: frames in, instruments to separate
out.

:class:`Vision` runs the detector on a frame when a round is due (``detect_every`` seconds; the
engine may ask for rounds less often when it falls behind), the tracker in between, and the
visual encoder on each visible track's crop when its embedding is due, smoothing appearances over
time. Each instrument is conditioned on its class and its appearance where the model trusts it
(:class:`~crn_live.models.condition.Conditioner`; a picture counts only where two instruments
share a class); instruments added by name alone
(:meth:`Vision.add_named`) have no box and are conditioned on their class. It is driven either inline by the audio worker (video files: the frame at the audio's
time, so the output is deterministic) or by its own thread on a live camera
(:class:`VisionThread`). No Qt, no devices.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Sequence

import cv2
import numpy as np

from crn_live.data.video import crop_box
from crn_live.instruments import class_id, lookup
from crn_live.models.condition import Condition, Conditioner
from crn_live.runtime.base import Backend
from crn_live.stream.engine import SourceObject
from crn_live.vision.tracker import Tracker, TrackerConfig


@dataclasses.dataclass(frozen=True)
class TrackInfo:
    """A visible instrument: id, class, box ``(x0, y0, x1, y1)`` in frame pixels."""

    track_id: int
    class_name: str
    box: tuple[float, float, float, float]
    manual: bool
    score: float


@dataclasses.dataclass(frozen=True)
class VisionSnapshot:
    """What the vision side publishes after each frame (replaced whole: safe to share)."""

    time_s: float
    image: np.ndarray | None  # RGB uint8
    tracks: tuple[TrackInfo, ...]
    objects: tuple[SourceObject, ...]
    frame_index: int = -1


#: Ids of instruments added by name (no box) start here, far above any track id.
NAMED_ID_BASE = 1_000_000


class Vision:
    """Tracks + conditions from frames. ``detector``: has ``detect(bgr)`` and ``classes``
    (:func:`~crn_live.vision.detector.open_detector`), or None (manual regions and named
    instruments only); ``visual``: the ``visual`` graph's backend; ``conditioner``: the
    separator's (class + appearance -> condition)."""

    def __init__(self, detector, visual: Backend, crop_size: int, conditioner: Conditioner,
                 max_objects: int = 4, detect_every: float = 0.2, smoothing: float = 0.3,
                 tracker: TrackerConfig | None = None) -> None:
        self.detector, self.visual, self.crop_size = detector, visual, crop_size
        self.conditioner = conditioner
        self.max_objects = max_objects
        config = tracker or TrackerConfig()
        self.tracker = Tracker(dataclasses.replace(config, max_tracks=max_objects,
                                                   embedding_interval=min(
                                                       config.embedding_interval, 1.0)))
        self.detect_every = detect_every
        self.slowdown = 1.0  # the engine's request: detect this many times less often
        self.smoothing = smoothing
        self._next_detection = 0.0
        self._embeddings: dict[int, np.ndarray] = {}  # smoothed appearance per track
        self._named: dict[int, Condition] = {}  # instruments without a box, by id
        self._named_classes: dict[int, str] = {}
        self._next_named = NAMED_ID_BASE
        self.conditions: dict[int, Condition] = {}  # of the objects last published
        self._pending: list[tuple[str, tuple]] = []  # manual edits from other threads
        self._lock = threading.Lock()  # guards _pending only (never held during inference)
        self.rounds = 0
        self.snapshot = VisionSnapshot(0.0, None, (), ())
        self._next_manual = 0

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.detector.classes) if self.detector is not None else ()

    # --- edits from any thread ----------------------------------------------------------------
    def add_region(self, box: Sequence[float], class_name: str) -> None:
        with self._lock:
            self._pending.append(("add", (np.asarray(box, np.float64), str(class_name))))

    def add_named(self, class_name: str) -> int:
        """An instrument named by its class alone (no box, no picture): its id. ``ValueError``
        (one line, close matches) for an unknown name, or when ``max_objects`` are named."""
        name = lookup(class_name).name
        with self._lock:
            if len(self._named) + sum(a == "name" for a, _ in self._pending) >= self.max_objects:
                raise ValueError(f"{self.max_objects} instruments are already named: remove "
                                 f"one first")
            named_id = self._next_named
            self._next_named += 1
            self._pending.append(("name", (named_id, name)))
        return named_id

    def remove_track(self, track_id: int) -> None:
        with self._lock:
            self._pending.append(("remove", (int(track_id),)))

    # --- the driver's thread ------------------------------------------------------------------
    def warm_up(self, frame_shape: tuple[int, int] = (480, 640), repeats: int = 2) -> None:
        """Run the detector (``repeats`` times, on a black frame of ``frame_shape (height,
        width)``) and the visual encoder (once at each batch size up to ``max_objects``, then
        ``repeats`` times at the full batch) before real time starts: their first calls are
        slow. Changes nothing: no round, no track, no embedding."""
        black = np.zeros(tuple(frame_shape) + (3,), np.uint8)
        if self.detector is not None:
            for _ in range(repeats):
                self.detector.detect(cv2.cvtColor(black, cv2.COLOR_RGB2BGR))
        crops = np.zeros((self.max_objects, 3, self.crop_size, self.crop_size), np.float32)
        for batch in list(range(1, self.max_objects)) + [self.max_objects] * repeats:
            self.visual.run({"crops": crops[:batch]})

    def update(self, image_rgb: np.ndarray | None, time_s: float,
               frame_index: int = -1) -> VisionSnapshot:
        """Process one frame at ``time_s`` (a detection round if due, else a prediction),
        refresh due embeddings, publish and return the snapshot."""
        with self._lock:
            pending, self._pending = self._pending, []
        for action, args in pending:
            if action == "add":
                self.tracker.add_manual(args[0], args[1], time_s)
            elif action == "name":
                self._named[args[0]] = self.conditioner.condition(class_id(args[1]))
                self._named_classes[args[0]] = args[1]
            elif args[0] in self._named:
                self._named.pop(args[0])
                self._named_classes.pop(args[0], None)
            else:
                self.tracker.remove(args[0])
                self._embeddings.pop(args[0], None)
        if image_rgb is not None and self.detector is not None \
                and time_s >= self._next_detection:
            bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
            found = self.detector.detect(bgr)
            names = [self.detector.classes[int(k)] for k in found.labels]
            self.tracker.update(time_s, found.boxes, names, found.scores)
            self._next_detection = time_s + self.detect_every * self.slowdown
            self.rounds += 1
        else:
            self.tracker.predict(time_s)
        visible = self.tracker.visible()
        if image_rgb is not None:
            due = self.tracker.needs_embedding(time_s)
            if due:
                bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
                crops = np.stack([crop_box(bgr, t.box, self.crop_size) for t in due])
                batch = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), np.float32) / 255.0
                fresh = self.visual.run({"crops": batch})["embeddings"]
                for track, embedding in zip(due, fresh):
                    old = self._embeddings.get(track.track_id)
                    new = embedding if old is None else \
                        (1 - self.smoothing) * old + self.smoothing * embedding
                    self._embeddings[track.track_id] = new.astype(np.float32)
                    self.tracker.set_embedding(track.track_id, new, time_s)
        alive = {t.track_id for t in self.tracker.tracks}
        self._embeddings = {k: v for k, v in self._embeddings.items() if k in alive}
        tracks = tuple(TrackInfo(t.track_id, t.class_name, tuple(float(v) for v in t.box),
                                 t.manual, float(t.score)) for t in visible)
        conditions = self._conditions([t for t in visible if t.track_id in self._embeddings])
        self.conditions = conditions
        names = {t.track_id: t.class_name for t in visible} | self._named_classes
        objects = tuple(SourceObject(k, names[k], c.embedding)
                        for k, c in conditions.items())[:self.max_objects]
        self.snapshot = VisionSnapshot(time_s, image_rgb, tracks, objects, frame_index)
        return self.snapshot

    def _conditions(self, tracks: list) -> dict[int, Condition]:
        """The conditions of ``tracks`` (with appearances) and the named instruments, by id: a
        picture counts only where another instrument shares the class (and the guard trusts
        it). A track of a class the separator does not know (an external detector's class
        outside the vocabulary) is left out: it stays unseparated, in the residual."""
        ids, classes, looks = [], [], []
        for track in tracks:
            try:
                classes.append(class_id(track.class_name))
            except ValueError:
                continue
            ids.append(track.track_id)
            looks.append(self._embeddings[track.track_id])
        for named_id, condition in self._named.items():
            ids.append(named_id)
            classes.append(condition.class_id)
            looks.append(None)
        return dict(zip(ids, self.conditioner.conditions(classes, looks)))


class VideoFileFrames:
    """Frames of a video file by index, read forward (for inline, deterministic vision)."""

    def __init__(self, path) -> None:
        from crn_live.data.video import open_video

        self.capture, self.info = open_video(path)
        self.fps = self.info.fps
        self._index = -1
        self._frame: np.ndarray | None = None

    def frame_at(self, time_s: float) -> tuple[np.ndarray | None, int]:
        """The RGB frame showing at ``time_s`` (the last one after the end) and its index."""
        wanted = max(0, int(np.floor(time_s * self.fps + 1e-9)))
        while self._index < wanted:
            ok, bgr = self.capture.read()
            if not ok:
                break
            self._index += 1
            self._frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return self._frame, self._index

    def close(self) -> None:
        self.capture.release()


class VisionThread:
    """Runs :class:`Vision` on a live camera's newest frames on its own thread."""

    def __init__(self, vision: Vision, camera, clock=time.monotonic, fps: float = 25.0) -> None:
        self.vision, self.camera, self.clock, self.period = vision, camera, clock, 1.0 / fps
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crn-vision", daemon=True)
        self.error: BaseException | None = None
        self.origin = clock()

    def start(self) -> None:
        self.origin = self.clock()
        self._thread.start()

    def _run(self) -> None:
        last_index = None
        try:
            while not self._stop.is_set():
                latest = self.camera.latest()
                if latest is not None and latest[2] != last_index:
                    image, t, last_index = latest
                    self.vision.update(image, t - self.origin, last_index)
                else:
                    self._stop.wait(self.period / 4)
        except BaseException as error:  # noqa: BLE001 - reported by the session
            self.error = error

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
