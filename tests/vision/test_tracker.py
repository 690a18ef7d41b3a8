"""Instrument tracker: birth and death, occlusion, crossings, smoothing, max tracks, manual
regions, prediction between rounds, embedding refresh and config checks, on synthetic paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crn_live.vision.decode import box_iou
from crn_live.vision.tracker import (MISS_DAMPING, Track, Tracker, TrackerConfig,
                                     match_detections)

DT = 0.1  # seconds between detection rounds


def box(cx: float, cy: float = 300.0, w: float = 100.0, h: float = 160.0) -> np.ndarray:
    """``(4,)`` box of centre ``(cx, cy)`` and size ``w x h``."""
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def detect(tracker: Tracker, time_s: float, boxes: list[np.ndarray], names: list[str],
           scores: list[float] | None = None) -> list[Track]:
    """One detection round of ``len(boxes)`` detections."""
    scores = [0.9] * len(boxes) if scores is None else scores
    return tracker.update(time_s, np.array(boxes).reshape(-1, 4), names, np.array(scores))


def empty_round(tracker: Tracker, time_s: float) -> list[Track]:
    return tracker.update(time_s, np.zeros((0, 4)), [], np.zeros(0))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(box_iou(a, b)[0, 0])


def by_id(tracker: Tracker, track_id: int) -> Track:
    return next(t for t in tracker.tracks if t.track_id == track_id)


# --- birth and death -------------------------------------------------------------------------


def test_birth_after_birth_hits_rounds() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=3))
    for k in range(2):
        assert detect(tracker, k * DT, [box(100 + 5 * k)], ["violin"]) == []
        assert len(tracker.tracks) == 1 and not tracker.tracks[0].confirmed
    visible = detect(tracker, 2 * DT, [box(110)], ["violin"])
    assert [t.track_id for t in visible] == [1]
    assert visible[0].confirmed and visible[0].hits == 3 and not visible[0].manual


def test_birth_hits_one_is_visible_at_once() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=1))
    assert [t.track_id for t in detect(tracker, 0.0, [box(100)], ["violin"])] == [1]


def test_tentative_track_dropped_at_first_miss() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=3))
    detect(tracker, 0.0, [box(100)], ["violin"])
    detect(tracker, DT, [box(100)], ["violin"])
    assert len(tracker.tracks) == 1
    assert empty_round(tracker, 2 * DT) == [] and tracker.tracks == []


def test_detection_beyond_gate_or_other_class_starts_new_track() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=1))
    detect(tracker, 0.0, [box(100)], ["violin"])
    detect(tracker, DT, [box(100)], ["cello"])  # same place, other class: no match
    assert [(t.track_id, t.class_name) for t in tracker.tracks] == [(1, "violin"), (2, "cello")]
    detect(tracker, 2 * DT, [box(100), box(400)], ["violin", "cello"])  # cello jumped 300 px
    assert [t.track_id for t in tracker.tracks] == [1, 2, 3]
    assert [t.misses for t in tracker.tracks] == [0, 1, 0]
    np.testing.assert_array_equal(by_id(tracker, 3).box, box(400))


def test_death_after_death_misses_and_ids_never_reused() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=2, death_misses=4))
    for k in range(3):
        detect(tracker, k * DT, [box(200)], ["piano"])
    for k in range(3, 6):  # 3 misses: still there and visible
        assert [t.track_id for t in empty_round(tracker, k * DT)] == [1]
    assert tracker.tracks[0].misses == 3
    assert empty_round(tracker, 6 * DT) == [] and tracker.tracks == []  # 4th miss
    detect(tracker, 7 * DT, [box(200)], ["piano"])
    assert [t.track_id for t in tracker.tracks] == [2]


# --- occlusion and crossings -----------------------------------------------------------------


def test_short_occlusion_keeps_id_and_coasts_near_true_path() -> None:
    tracker = Tracker(TrackerConfig(death_misses=5))
    speed = 200.0  # px / s to the right
    hidden = range(12, 16)  # 4 rounds without detection (< death_misses)
    previous_x0 = -np.inf
    for k in range(25):
        t = k * DT
        truth = box(100 + speed * t)
        if k in hidden:
            visible = empty_round(tracker, t)
            assert [v.track_id for v in visible] == [1], "an occluded player stays visible"
            assert iou(visible[0].box, truth) > 0.5, f"coasted box drifted at round {k}"
            assert visible[0].box[0] > previous_x0, "the coasted box keeps moving"
        else:
            detect(tracker, t, [truth], ["guitar"])
        previous_x0 = by_id(tracker, 1).box[0]
    assert [t.track_id for t in tracker.tracks] == [1]
    assert iou(tracker.tracks[0].box, box(100 + speed * 24 * DT)) > 0.9


def test_velocity_damped_while_missed() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=1))
    for k in range(10):
        detect(tracker, k * DT, [box(100 + 30 * k)], ["flute"])
    before = tracker.tracks[0].velocity.copy()
    empty_round(tracker, 10 * DT)
    np.testing.assert_allclose(tracker.tracks[0].velocity, before * MISS_DAMPING)


def crossing(speed: float, rounds: int = 30) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Two players at the same height crossing through each other: left-to-right ``a`` and
    right-to-left ``b`` true boxes per round."""
    a = [box(100 + speed * k * DT) for k in range(rounds)]
    b = [box(100 + speed * (rounds - 1) * DT - speed * k * DT) for k in range(rounds)]
    return a, b


def follow(tracker: Tracker, a: list[np.ndarray], b: list[np.ndarray], names: tuple[str, str],
           times: list[float]) -> list[dict[int, Track]]:
    """Visible tracks by id (copies) after each round detecting ``a[k]`` and ``b[k]``."""
    rounds = []
    for t, box_a, box_b in zip(times, a, b):
        visible = detect(tracker, t, [box_a, box_b], list(names), [0.9, 0.8])
        rounds.append({v.track_id: dataclasses.replace(v, box=v.box.copy()) for v in visible})
    return rounds


def centre_x(b: np.ndarray) -> float:
    return float(b[0] + b[2]) / 2


def on_paths(rounds: list[dict[int, Track]], a: list[np.ndarray], b: list[np.ndarray],
             tolerance: float) -> list[bool]:
    """Per round: tracks 1 and 2 are visible, 1 within ``tolerance`` px of ``a``, 2 of ``b``."""
    return [set(tracks) == {1, 2}
            and abs(centre_x(tracks[1].box) - centre_x(box_a)) < tolerance
            and abs(centre_x(tracks[2].box) - centre_x(box_b)) < tolerance
            for tracks, box_a, box_b in zip(rounds, a, b)]


def test_crossing_of_different_classes_keeps_ids_with_classes() -> None:
    a, b = crossing(speed=400.0, rounds=31)
    assert max(iou(x, y) for x, y in zip(a, b)) > 0.99, "the boxes overlap fully mid-crossing"
    times = list(np.cumsum(np.random.default_rng(1).uniform(0.05, 0.15, len(a))))  # irregular
    rounds = follow(Tracker(), a, b, ("violin", "cello"), times)
    for k, tracks in enumerate(rounds[2:], 2):
        assert {i: t.class_name for i, t in tracks.items()} == {1: "violin", 2: "cello"}, k
        assert iou(tracks[1].box, a[k]) > 0.5 and iou(tracks[2].box, b[k]) > 0.5, k


def test_crossing_of_same_class_follows_paths_by_velocity() -> None:
    speed = 300.0
    a, b = crossing(speed)  # the centres pass 30 px apart: boxes overlap, IoU 0.54
    near = 15.0  # half that: a track within it is nearer its own path than the other one
    times = [k * DT for k in range(len(a))]
    classes = ["violin", "violin"]
    # Matching last positions to new detections (no prediction) swaps the pair mid-crossing:
    swaps = [k for k in range(1, len(a))
             if match_detections(np.stack([a[k - 1], b[k - 1]]), classes, np.stack([a[k], b[k]]),
                                 classes, 0.1) == [(0, 1), (1, 0)]]
    assert swaps, "the scenario must fool an IoU-only matcher"
    # ... and so does a tracker without velocity, whose ids jump to the other path.
    no_velocity = Tracker(TrackerConfig(box_smoothing=1.0, velocity_smoothing=0.0))
    assert not all(on_paths(follow(no_velocity, a, b, ("violin", "violin"), times)[2:], a[2:],
                            b[2:], near))
    tracker = Tracker()
    rounds = follow(tracker, a, b, ("violin", "violin"), times)
    assert all(on_paths(rounds[2:], a[2:], b[2:], near))
    assert [t.track_id for t in tracker.tracks] == [1, 2]
    np.testing.assert_allclose(by_id(tracker, 1).velocity, [speed, 0, speed, 0], atol=5.0)
    np.testing.assert_allclose(by_id(tracker, 2).velocity, [-speed, 0, -speed, 0], atol=5.0)


def test_velocity_converges_with_irregular_steps() -> None:
    tracker = Tracker()
    velocity = np.array([120.0, -40.0, 140.0, -20.0])  # moving and growing
    start = box(300, 300)
    t = 0.0
    for dt in np.random.default_rng(2).uniform(0.03, 0.2, 60):
        t += dt
        detect(tracker, t, [start + velocity * t], ["drums"])
    np.testing.assert_allclose(tracker.tracks[0].velocity, velocity, atol=1.0)
    np.testing.assert_allclose(tracker.tracks[0].box, start + velocity * t, atol=0.5)


# --- smoothing -------------------------------------------------------------------------------


def jitter_stds(config: TrackerConfig) -> tuple[float, float]:
    """Mean std over coordinates of noisy detections of a fixed box and of the track's box."""
    rng = np.random.default_rng(0)
    tracker = Tracker(config)
    found, tracked = [], []
    for k in range(300):
        noisy = box(400) + rng.normal(0, 4.0, 4)
        detect(tracker, k * DT, [noisy], ["cello"])
        assert [t.track_id for t in tracker.tracks] == [1]
        if k >= 20:
            found.append(noisy)
            tracked.append(tracker.tracks[0].box)
    return float(np.std(found, axis=0).mean()), float(np.std(tracked, axis=0).mean())


def test_box_smoothing_reduces_jitter() -> None:
    found, tracked = jitter_stds(TrackerConfig())
    assert tracked < 0.85 * found
    found, tracked = jitter_stds(TrackerConfig(box_smoothing=1.0, velocity_smoothing=0.0))
    assert tracked == pytest.approx(found)  # no smoothing: the track is the detection


def test_score_is_smoothed() -> None:
    tracker = Tracker(TrackerConfig(score_smoothing=0.3))
    detect(tracker, 0.0, [box(100)], ["violin"], [0.5])
    detect(tracker, DT, [box(100)], ["violin"], [1.0])
    assert tracker.tracks[0].score == pytest.approx(0.5 + 0.3 * 0.5)


# --- visibility and manual regions -----------------------------------------------------------


def test_max_tracks_shows_most_confident_and_manual_first() -> None:
    tracker = Tracker(TrackerConfig(max_tracks=4, birth_hits=2))
    boxes = [box(100 + 200 * i) for i in range(6)]
    scores = [0.5, 0.9, 0.4, 0.8, 0.7, 0.6]
    for k in range(3):
        visible = detect(tracker, k * DT, boxes, ["violin"] * 6, scores)
    assert len(tracker.tracks) == 6
    assert [t.track_id for t in visible] == [2, 4, 5, 6]  # scores 0.9, 0.8, 0.7, 0.6
    manual = tracker.add_manual(box(100, 700), "voice", 3 * DT)
    visible = detect(tracker, 3 * DT, boxes, ["violin"] * 6, scores)
    assert [t.track_id for t in visible] == [2, 4, 5, manual.track_id]


def test_manual_region_lifecycle() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=1, death_misses=2))
    region = box(300)
    manual = tracker.add_manual(region, "piano", 0.0)
    assert manual.manual and manual.confirmed and manual.score == 1.0
    assert tracker.visible() == [manual]
    for k in range(1, 10):  # no detections, predictions: it stays, unmoved
        assert empty_round(tracker, k * DT) == [manual]
        tracker.predict(k * DT + DT / 2)
    np.testing.assert_array_equal(manual.box, region)
    for k in range(10, 15):  # a same-class detection on it is absorbed, not duplicated
        assert detect(tracker, k * DT, [region + [5, -5, 5, 5]], ["piano"]) == [manual]
    assert tracker.tracks == [manual]
    detect(tracker, 15 * DT, [region], ["violin"])  # another class on it is a new instrument
    assert [t.class_name for t in tracker.tracks] == ["piano", "violin"]
    assert tracker.remove(manual.track_id) and not tracker.remove(manual.track_id)
    assert [t.class_name for t in tracker.tracks] == ["violin"]
    detect(tracker, 16 * DT, [region], ["piano"])  # region gone: piano detections are tracked
    assert [t.class_name for t in tracker.tracks] == ["violin", "piano"]


def test_add_manual_rejects_bad_box() -> None:
    with pytest.raises(ValueError, match="manual box"):
        Tracker().add_manual(np.array([10.0, 10.0, 5.0, 20.0]), "piano", 0.0)


# --- prediction between rounds ---------------------------------------------------------------


def moving_tracker() -> Tracker:
    tracker = Tracker(TrackerConfig(birth_hits=1))
    for k in range(15):
        detect(tracker, k * DT, [box(100 + 20 * k, 300 + 5 * k)], ["sax"])
    return tracker


def test_predict_moves_boxes_by_velocity() -> None:
    tracker = moving_tracker()
    manual = tracker.add_manual(box(900), "piano", 14 * DT)
    track = tracker.tracks[0]
    box0, velocity, hits = track.box.copy(), track.velocity.copy(), track.hits
    assert np.abs(velocity).max() > 100
    visible = tracker.predict(14 * DT + 0.04)
    assert track in visible and manual in visible
    np.testing.assert_allclose(track.box, box0 + velocity * 0.04)
    np.testing.assert_allclose(tracker.predict(14 * DT + 0.07)[0].box, box0 + velocity * 0.07)
    assert (track.hits, track.misses) == (hits, 0)
    np.testing.assert_array_equal(manual.box, box(900))
    tracker.predict(14 * DT)  # time going back: nothing moves
    np.testing.assert_allclose(track.box, box0 + velocity * 0.07)


def test_predict_between_rounds_does_not_change_the_filter() -> None:
    plain, predicted = Tracker(), Tracker()
    for k in range(12):
        truth = box(100 + 20 * k + 3 * (-1) ** k, 300 + 5 * k)
        for step in (-0.066, -0.033):  # frames between the previous round and this one
            predicted.predict(k * DT + step)
        detect(plain, k * DT, [truth], ["sax"])
        detect(predicted, k * DT, [truth], ["sax"])
    np.testing.assert_allclose(predicted.tracks[0].box, plain.tracks[0].box)
    np.testing.assert_allclose(predicted.tracks[0].velocity, plain.tracks[0].velocity)


def test_predicted_boxes_stay_valid() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=1))
    for k in range(10):  # shrinking by 16 px per round
        detect(tracker, k * DT, [box(300, w=200 - 16 * k, h=200 - 16 * k)], ["harp"])
    assert tracker.tracks[0].velocity[2] < 0
    for t in (2.0, 10.0, 100.0):
        x0, y0, x1, y1 = tracker.predict(t)[0].box
        assert x1 > x0 and y1 > y0


# --- embeddings ------------------------------------------------------------------------------


def test_embedding_refresh_interval() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=2, embedding_interval=2.0))
    detect(tracker, 0.0, [box(100)], ["violin"])
    assert tracker.needs_embedding(0.0) == []  # tentative tracks are not shown
    detect(tracker, DT, [box(100)], ["violin"])
    (track,) = tracker.needs_embedding(DT)
    tracker.set_embedding(track.track_id, np.ones(8, np.float32), 0.1)
    assert track.embedding is not None and track.embedding_time == 0.1
    assert tracker.needs_embedding(1.0) == [] and tracker.needs_embedding(2.05) == []
    assert tracker.needs_embedding(2.1) == [track]
    tracker.set_embedding(track.track_id, np.zeros(8, np.float32), 2.1)
    assert tracker.needs_embedding(2.2) == []
    np.testing.assert_array_equal(track.embedding, np.zeros(8))
    tracker.set_embedding(99, np.ones(8), 2.2)  # a track that died meanwhile: ignored
    assert [t.track_id for t in tracker.tracks] == [track.track_id]


# --- checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("birth_hits", 0), ("birth_hits", 2.5), ("death_misses", 0), ("max_tracks", 0),
    ("iou_min", -0.1), ("iou_min", 1.5), ("box_smoothing", 0.0), ("box_smoothing", 1.1),
    ("velocity_smoothing", -0.1), ("velocity_smoothing", 1.5), ("score_smoothing", 0.0),
    ("embedding_interval", -1.0), ("embedding_interval", float("inf")), ("manual_iou", 0.0),
    ("manual_iou", float("nan")),
])
def test_config_validation(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        TrackerConfig(**{field: value})


def test_update_rejects_mismatched_detections() -> None:
    tracker = Tracker()
    with pytest.raises(ValueError, match="boxes"):
        tracker.update(0.0, np.zeros((2, 3)), ["a", "b"], np.ones(2))
    with pytest.raises(ValueError, match="match"):
        tracker.update(0.0, np.zeros((2, 4)), ["a"], np.ones(2))
    with pytest.raises(ValueError, match="match"):
        tracker.update(0.0, np.zeros((2, 4)), ["a", "b"], np.ones(3))
    with pytest.raises(ValueError, match="time"):
        tracker.update(float("nan"), np.zeros((0, 4)), [], np.zeros(0))


def test_part_of_a_tracked_instrument_starts_no_track() -> None:
    tracker = Tracker(TrackerConfig(birth_hits=1))
    whole = np.array([[100.0, 50.0, 200.0, 150.0]])
    tracker.update(0.0, whole, ["Trombone"], np.array([0.9]))
    # the same trombone plus its bell alone (IoU 0.16, but inside the whole one)
    both = np.array([[100.0, 50.0, 200.0, 150.0], [150.0, 80.0, 190.0, 120.0]])
    for k in range(1, 5):
        shown = tracker.update(0.2 * k, both, ["Trombone", "Trombone"], np.array([0.9, 0.5]))
        assert [t.track_id for t in shown] == [1]
    # another class there is another instrument
    shown = tracker.update(1.2, both, ["Trombone", "Trumpet"], np.array([0.9, 0.5]))
    assert [t.class_name for t in shown] == ["Trombone", "Trumpet"]
