"""Multi-object tracking of instruments in a live video: detection boxes -> tracks with stable ids.

Each instrument keeps its track id (and with it its strip, mask and solo in the app) while the
players move. Rules:

* boxes are ``[x0, y0, x1, y1]`` float64 in frame pixels, times are seconds; time steps may be
  irregular, and a step ``dt <= 0`` moves nothing;
* automatic tracks move at constant velocity between detection rounds (:meth:`Tracker.predict`)
  and are corrected by an alpha-beta filter when a detection round matches them;
* matching is one-to-one (Hungarian, :func:`match_detections`) on ``1 - IoU`` between a track's
  *predicted* box and a detection, only within a class and only at ``IoU >= iou_min``;
* a track is born tentative, is confirmed after ``birth_hits`` matched rounds and is dropped after
  ``death_misses`` missed rounds in a row; a tentative track is dropped at its first miss;
* an unmatched detection lying mostly inside a track of its class (``duplicate_cover``) is a
  part of that instrument seen twice, and starts no track;
* manual tracks (regions the user drew) never move, live until removed, and absorb the
  detections of their class that overlap them, so they are never duplicated;
* ids start at 1 and are never reused; at most ``max_tracks`` tracks are visible, manual first;
* the :class:`Track` objects returned are the tracker's own, live ones: read them, do not edit.

Numpy + scipy only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from crn_live.vision.decode import box_iou

#: Factor on a track's velocity at each detection round that misses it (coasting slows down).
MISS_DAMPING = 0.8
#: Smallest width and height (px) a predicted box keeps.
MIN_SIZE = 1.0
#: Assignment cost of a forbidden pair (an allowed pair costs at most 1).
FORBIDDEN = 1e6


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require(ok: bool, name: str, rule: str, value: object) -> None:
    if not ok:
        raise ValueError(f"TrackerConfig.{name} must be {rule}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class TrackerConfig:
    """How tracks are born, matched, smoothed, shown and die."""

    birth_hits: int = 3  # a track is confirmed after this many matched detection rounds
    death_misses: int = 5  # dropped after this many missed detection rounds in a row
    max_tracks: int = 4  # at most this many tracks are visible (manual first, then by score)
    iou_min: float = 0.1  # no match below this IoU (predicted box vs detection)
    box_smoothing: float = 0.6  # weight of the detection in the corrected box (1 = none)
    velocity_smoothing: float = 0.3  # weight of the residual / dt in the corrected velocity
    score_smoothing: float = 0.3  # EMA weight of a new score in the track's confidence
    embedding_interval: float = 2.0  # seconds between refreshes of a track's visual embedding
    manual_iou: float = 0.5  # a same-class detection overlapping a manual region this much is
    # absorbed by it
    duplicate_cover: float = 0.7  # an unmatched detection this much inside a same-class track
    # (intersection / its own area) is a part of that instrument, not a new one

    def __post_init__(self) -> None:
        for name in ("birth_hits", "death_misses", "max_tracks"):
            value = getattr(self, name)
            _require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                     name, "an integer >= 1", value)
        fractions = {"iou_min": (0.0, False), "box_smoothing": (0.0, True),
                     "velocity_smoothing": (0.0, False), "score_smoothing": (0.0, True),
                     "manual_iou": (0.0, True), "duplicate_cover": (0.0, True)}
        for name, (low, open_low) in fractions.items():
            value = getattr(self, name)
            ok = _is_number(value) and (value > low if open_low else value >= low) and value <= 1
            _require(ok, name, f"in {'(' if open_low else '['}{low:g}, 1]", value)
        value = self.embedding_interval
        _require(_is_number(value) and 0 <= value < math.inf, "embedding_interval",
                 "a finite number >= 0", value)


@dataclasses.dataclass
class Track:
    """One tracked instrument; ``box (4,)`` and ``velocity (4,)`` (px / s) are float64."""

    track_id: int  # 1, 2, 3, ... never reused
    class_name: str
    box: np.ndarray  # (4,) smoothed [x0, y0, x1, y1], frame pixels
    velocity: np.ndarray  # (4,) px / s of the box coordinates
    score: float  # smoothed detection confidence; 1.0 for manual tracks
    hits: int
    misses: int
    manual: bool
    confirmed: bool
    last_time: float  # time (s) of the last update / prediction
    embedding: np.ndarray | None = None
    embedding_time: float = -math.inf
    detection_time: float = -math.inf  # time (s) of the last matched detection


def valid_box(box: np.ndarray) -> np.ndarray:
    """``box (4,)`` with width and height at least :data:`MIN_SIZE`, about the same centre."""
    size = box[2:] - box[:2]
    if np.all(size >= MIN_SIZE):
        return box
    centre = (box[:2] + box[2:]) / 2
    half = np.maximum(size, MIN_SIZE) / 2
    return np.concatenate([centre - half, centre + half])


def match_detections(track_boxes: np.ndarray, track_classes: Sequence[str], boxes: np.ndarray,
                     classes: Sequence[str], iou_min: float) -> list[tuple[int, int]]:
    """Hungarian matching of ``track_boxes (t, 4)`` to detections ``boxes (n, 4)``.

    The cost of a pair is ``1 - IoU``; a pair of different classes or with ``IoU < iou_min`` is
    forbidden and dropped after the assignment.

    Returns:
        ``(track index, detection index)`` pairs.
    """
    if len(track_boxes) == 0 or len(boxes) == 0:
        return []
    iou = box_iou(track_boxes, boxes)
    same = np.asarray(track_classes, object)[:, None] == np.asarray(classes, object)[None, :]
    allowed = same & (iou >= iou_min)
    rows, cols = linear_sum_assignment(np.where(allowed, 1.0 - iou, FORBIDDEN))
    return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]


def _detections(boxes: np.ndarray, class_names: Sequence[str],
                scores: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Checked detections: ``boxes (n, 4)`` float64, ``n`` class names, ``scores (n,)``."""
    boxes = np.asarray(boxes, np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (n, 4), got shape {boxes.shape}")
    names = [str(name) for name in class_names]
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(names) != len(boxes) or scores.shape != (len(boxes),):
        raise ValueError(f"{len(boxes)} boxes, {len(names)} class names and {scores.size} scores "
                         f"do not match")
    return boxes, names, scores


def _check_time(time_s: float) -> float:
    if not math.isfinite(time_s):
        raise ValueError(f"time must be finite, got {time_s!r}")
    return float(time_s)


class Tracker:
    """Detection rounds (:meth:`update`) and in-between frames (:meth:`predict`) -> tracks."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self._tracks: list[Track] = []
        self._next_id = 1

    @property
    def tracks(self) -> list[Track]:
        """All tracks, tentative ones included, oldest first."""
        return list(self._tracks)

    def update(self, time_s: float, boxes: np.ndarray, class_names: Sequence[str],
               scores: np.ndarray) -> list[Track]:
        """One detection round at ``time_s``: ``boxes (n, 4)`` frame px, ``n`` class names,
        ``scores (n,)``. Returns :meth:`visible`."""
        time_s = _check_time(time_s)
        boxes, names, scores = _detections(boxes, class_names, scores)
        self._advance(time_s)
        free = self._unabsorbed(boxes, names)
        auto = [track for track in self._tracks if not track.manual]
        pairs = match_detections(np.array([t.box for t in auto]).reshape(-1, 4),
                                 [t.class_name for t in auto], boxes[free],
                                 [names[i] for i in free], self.config.iou_min)
        for t, d in pairs:
            self._correct(auto[t], time_s, boxes[free[d]], scores[free[d]])
        matched = {t for t, _ in pairs}
        for t, track in enumerate(auto):
            if t not in matched:
                self._miss(track)
        self._tracks = [track for track in self._tracks if not self._dead(track)]
        taken = {d for _, d in pairs}
        for d, i in enumerate(free):
            if d not in taken and not self._inside_a_track(boxes[i], names[i]):
                self._start(time_s, boxes[i], names[i], scores[i])
        return self.visible()

    def predict(self, time_s: float) -> list[Track]:
        """Move automatic tracks to ``time_s`` at their velocity (a frame between detection
        rounds); hits and misses are unchanged. Returns :meth:`visible`."""
        self._advance(_check_time(time_s))
        return self.visible()

    def visible(self) -> list[Track]:
        """Manual and confirmed tracks, at most ``max_tracks`` (manual first, then by score),
        sorted by id."""
        manual = sorted((t for t in self._tracks if t.manual), key=lambda t: t.track_id)
        auto = sorted((t for t in self._tracks if t.confirmed and not t.manual),
                      key=lambda t: (-t.score, t.track_id))
        return sorted((manual + auto)[:self.config.max_tracks], key=lambda t: t.track_id)

    def add_manual(self, box: np.ndarray, class_name: str, time_s: float) -> Track:
        """A region the user drew, ``box (4,)`` frame px: visible at once, never moves, kept until
        :meth:`remove`."""
        box = np.asarray(box, np.float64).reshape(-1)
        if box.shape != (4,) or not np.all(np.isfinite(box)) or np.any(box[2:] <= box[:2]):
            raise ValueError(f"a manual box is a finite [x0, y0, x1, y1] with x1 > x0 and "
                             f"y1 > y0, got {box}")
        time_s = _check_time(time_s)
        track = Track(self._new_id(), str(class_name), box.copy(), np.zeros(4), 1.0, hits=0,
                      misses=0, manual=True, confirmed=True, last_time=time_s,
                      detection_time=time_s)
        self._tracks.append(track)
        return track

    def remove(self, track_id: int) -> bool:
        """Drop track ``track_id``; False if there is none."""
        kept = [track for track in self._tracks if track.track_id != track_id]
        removed = len(kept) < len(self._tracks)
        self._tracks = kept
        return removed

    def needs_embedding(self, time_s: float) -> list[Track]:
        """Visible tracks without an embedding or with one ``embedding_interval`` s old."""
        interval = self.config.embedding_interval
        return [t for t in self.visible()
                if t.embedding is None or time_s - t.embedding_time >= interval]

    def set_embedding(self, track_id: int, embedding: np.ndarray, time_s: float) -> None:
        """Store track ``track_id``'s visual embedding computed at ``time_s``; ignored if the
        track died meanwhile."""
        for track in self._tracks:
            if track.track_id == track_id:
                track.embedding = np.array(embedding, copy=True)
                track.embedding_time = float(time_s)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _advance(self, time_s: float) -> None:
        """Constant-velocity prediction of automatic tracks to ``time_s``."""
        for track in self._tracks:
            dt = time_s - track.last_time
            if dt <= 0:
                continue
            if not track.manual:
                track.box = valid_box(track.box + track.velocity * dt)
            track.last_time = time_s

    def _unabsorbed(self, boxes: np.ndarray, names: list[str]) -> np.ndarray:
        """Indices of the detections ``boxes (n, 4)`` that no manual region absorbs."""
        manual = [track for track in self._tracks if track.manual]
        if not manual or len(boxes) == 0:
            return np.arange(len(boxes))
        iou = box_iou(boxes, np.stack([track.box for track in manual]))
        same = (np.asarray(names, object)[:, None]
                == np.asarray([track.class_name for track in manual], object)[None, :])
        absorbed = ((iou >= self.config.manual_iou) & same).any(axis=1)
        return np.nonzero(~absorbed)[0]

    def _inside_a_track(self, box: np.ndarray, class_name: str) -> bool:
        """Whether ``box (4,)`` lies mostly inside a track of class ``class_name``."""
        others = [t.box for t in self._tracks if t.class_name == class_name]
        if not others:
            return False
        x0 = np.maximum(box[0], np.array([b[0] for b in others]))
        y0 = np.maximum(box[1], np.array([b[1] for b in others]))
        x1 = np.minimum(box[2], np.array([b[2] for b in others]))
        y1 = np.minimum(box[3], np.array([b[3] for b in others]))
        inter = (x1 - x0).clip(0) * (y1 - y0).clip(0)
        area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-9)
        return bool(np.any(inter / area >= self.config.duplicate_cover))

    def _correct(self, track: Track, time_s: float, box: np.ndarray, score: float) -> None:
        """Alpha-beta update of a predicted track with its matched detection ``box (4,)``."""
        config = self.config
        residual = box - track.box
        track.box = valid_box(track.box + config.box_smoothing * residual)
        dt = time_s - track.detection_time
        if dt > 0:
            track.velocity = track.velocity + config.velocity_smoothing * residual / dt
        track.detection_time = max(track.detection_time, time_s)
        track.score += config.score_smoothing * (float(score) - track.score)
        track.hits += 1
        track.misses = 0
        track.confirmed = track.confirmed or track.hits >= config.birth_hits

    def _miss(self, track: Track) -> None:
        track.misses += 1
        track.velocity = track.velocity * MISS_DAMPING

    def _dead(self, track: Track) -> bool:
        if track.manual or track.misses == 0:
            return False
        return not track.confirmed or track.misses >= self.config.death_misses

    def _start(self, time_s: float, box: np.ndarray, class_name: str, score: float) -> None:
        self._tracks.append(Track(
            self._new_id(), class_name, box.copy(), np.zeros(4), float(score), hits=1, misses=0,
            manual=False, confirmed=self.config.birth_hits <= 1, last_time=time_s,
            detection_time=time_s))
