"""The live vision side on real parts: the tiny separator's visual encoder on torch, the
bundled detector, the demo video and a video whose frames encode their index."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crn_live.instruments import CLASSES
from crn_live.runtime.graphs import VISUAL
from crn_live.runtime.select import open_runtime
from crn_live.stream.session import DEMO_DIR
from crn_live.stream.sources.camera import CameraSource
from crn_live.stream.vision import VideoFileFrames, Vision, VisionThread
from crn_live.vision.detector import OwnDetector
from crn_live.vision.tracker import TrackerConfig
from tests.stream.sources.media import FPS, N_FRAMES, decode, write_colour_video

BOX = (40.0, 30.0, 160.0, 150.0)


@pytest.fixture(scope="module")
def visual(separator, checkpoint):
    """The ``visual`` graph of the tiny separator on torch."""
    return open_runtime("torch", separator, checkpoint, graphs=[VISUAL])[VISUAL]


@pytest.fixture(scope="module")
def demo_frames() -> list[np.ndarray]:
    """The demo video's first two seconds, RGB, 25 a second."""
    video = VideoFileFrames(DEMO_DIR / "video.mp4")
    try:
        return [video.frame_at(i / 25)[0].copy() for i in range(50)]
    finally:
        video.close()


def _vision(separator, visual, detector=None, **changes) -> Vision:
    tracker = TrackerConfig(embedding_interval=0.5)
    # the untrained tiny model recognises nothing: unguarded, so that pictures count
    conditioner = changes.pop("conditioner", separator.conditioner.without_guard())
    return Vision(detector, visual, separator.config.crop_size, conditioner,
                  tracker=tracker, **changes)


def test_manual_regions_get_embeddings_smoothed_over_time(separator, visual,
                                                          demo_frames) -> None:
    # two violins: their pictures are needed to tell them apart, so they count
    other = (200.0, 40.0, 300.0, 140.0)
    vision = _vision(separator, visual, smoothing=0.3)
    assert vision.classes == () and vision.snapshot.tracks == ()
    vision.add_region(BOX, "Violin")
    vision.add_region(other, "Violin")
    first = vision.update(demo_frames[0], 0.0, 0)
    track = first.tracks[0]
    assert track.class_name == "Violin" and track.manual and track.box == BOX
    obj = first.objects[0]
    assert obj.track_id == track.track_id and obj.label == "Violin"
    assert obj.embedding.shape == (separator.config.embed_dim,)
    assert obj.embedding.dtype == np.float32 and np.isfinite(obj.embedding).all()
    assert all(c.used_appearance for c in vision.conditions.values())
    assert not np.allclose(first.objects[0].embedding, first.objects[1].embedding)
    assert first.image is demo_frames[0] and first.frame_index == 0 and vision.rounds == 0
    same = vision.update(demo_frames[5], 0.2, 5)  # not due yet: the embedding is kept
    assert np.array_equal(same.objects[0].embedding, obj.embedding)

    alone = _vision(separator, visual)  # what the later frame alone gives
    alone.add_region(BOX, "Violin")
    alone.add_region(other, "Violin")
    fresh = alone.update(demo_frames[40], 1.6, 40).objects[0].embedding
    smoothed = vision.update(demo_frames[40], 1.6, 40).objects[0].embedding
    assert not np.allclose(fresh, obj.embedding)
    # the condition is linear in the appearance: smoothing one smooths the other
    assert np.allclose(smoothed, 0.7 * obj.embedding + 0.3 * fresh, atol=1e-5)


def test_a_picture_counts_only_where_another_instrument_shares_the_class(
        separator, visual, demo_frames) -> None:
    vision = _vision(separator, visual)
    vision.add_region(BOX, "Violin")
    vision.add_region((200.0, 40.0, 300.0, 140.0), "Cello")
    both = vision.update(demo_frames[0], 0.0, 0)
    assert [c.used_appearance for c in vision.conditions.values()] == [False, False]
    assert all("no other instrument of its class" in c.reason
               for c in vision.conditions.values())
    np.testing.assert_array_equal(both.objects[0].embedding, separator.embed("Violin"))
    vision.add_named("violin")  # a second violin, by name: now the region's picture counts
    vision.update(demo_frames[1], 0.04, 1)
    used = [c.used_appearance for c in vision.conditions.values()]
    assert used == [True, False, False]  # region violin, cello, the named violin


def test_tracks_are_removed_and_frames_may_be_missing(separator, visual, demo_frames) -> None:
    vision = _vision(separator, visual)
    vision.add_region(BOX, "Violin")
    vision.add_region((200.0, 40.0, 300.0, 140.0), "Cello")
    assert len(vision.update(None, 0.0).tracks) == 2  # no frame: tracks, but no embeddings
    assert vision.snapshot.objects == () and vision.snapshot.image is None
    both = vision.update(demo_frames[0], 0.04, 0)
    assert [o.label for o in both.objects] == ["Violin", "Cello"]
    vision.remove_track(both.tracks[0].track_id)
    after = vision.update(demo_frames[1], 0.08, 1)
    assert [t.class_name for t in after.tracks] == ["Cello"]
    assert [o.label for o in after.objects] == ["Cello"]


def test_the_detector_runs_when_due_and_less_often_when_asked(separator, visual,
                                                               demo_frames) -> None:
    detector = OwnDetector.load()
    vision = _vision(separator, visual, detector, detect_every=0.2)
    assert "Trumpet" in vision.classes
    for i in range(25):  # one second
        snapshot = vision.update(demo_frames[i], i / 25, i)
    assert vision.rounds == 5  # at 0, 0.2, 0.4, 0.6, 0.8 s
    assert snapshot.tracks, "no instrument confirmed on the demo scene in a second"
    assert {t.class_name for t in snapshot.tracks} <= {"Drum", "Trombone", "Trumpet"}
    assert {o.track_id for o in snapshot.objects} == {t.track_id for t in snapshot.tracks}
    assert all(not t.manual and 0 < t.score <= 1 for t in snapshot.tracks)
    vision.slowdown = 3.0  # the engine fell behind: rounds every 0.6 s
    for i in range(25, 50):
        vision.update(demo_frames[i], i / 25, i)
    assert vision.rounds == 5 + 2  # at 1.0 and 1.6 s


def test_video_file_frames_by_time(tmp_path) -> None:
    video = VideoFileFrames(write_colour_video(tmp_path / "frames.mp4"))
    assert video.fps == pytest.approx(FPS)
    frame, index = video.frame_at(0.0)
    assert index == 0 and decode(frame) == 0 and frame.shape[2] == 3
    frame, index = video.frame_at(0.1)  # 2.5 frames in: frame 2 shows
    assert index == 2 and decode(frame) == 2
    frame, index = video.frame_at(0.0)  # read forward only: still frame 2
    assert index == 2
    frame, index = video.frame_at(60.0)  # after the end: the last frame
    assert index == N_FRAMES - 1 and decode(frame) == N_FRAMES - 1
    video.close()


def test_vision_thread_follows_a_camera(separator, visual, tmp_path) -> None:
    camera = CameraSource(write_colour_video(tmp_path / "frames.mp4"))
    vision = _vision(separator, visual)
    vision.add_region((8.0, 8.0, 56.0, 40.0), "Violin")
    thread = VisionThread(vision, camera)
    camera.start()
    thread.start()
    deadline = time.monotonic() + 5.0
    while vision.snapshot.frame_index < N_FRAMES - 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    thread.stop()
    camera.close()
    snapshot = vision.snapshot
    assert thread.error is None
    assert snapshot.frame_index == N_FRAMES - 1 and decode(snapshot.image) == N_FRAMES - 1
    assert 0.0 < snapshot.time_s < (N_FRAMES - 1) / FPS + 0.5  # seconds since the thread began
    assert [o.label for o in snapshot.objects] == ["Violin"]


def test_named_instruments_need_no_box_and_are_conditioned_on_their_class(separator, visual,
                                                                          demo_frames) -> None:
    vision = _vision(separator, visual, max_objects=2)
    cello = vision.add_named("violoncello")
    vision.add_region(BOX, "Violin")
    snapshot = vision.update(None, 0.0)  # no picture at all (a microphone only)
    (obj,) = snapshot.objects
    assert obj.track_id == cello and obj.label == "Cello"  # the region waits for a picture
    assert [t.class_name for t in snapshot.tracks] == ["Violin"]
    expected = separator.conditioner.condition(CLASSES.index("Cello"))
    np.testing.assert_array_equal(obj.embedding, expected.embedding)
    snapshot = vision.update(demo_frames[0], 0.04, 0)  # the region gets a picture
    assert [o.label for o in snapshot.objects] == ["Violin", "Cello"]
    with pytest.raises(ValueError, match="already named"):
        vision.add_named("flute")
        vision.add_named("oboe")
    with pytest.raises(ValueError, match="did you mean"):
        vision.add_named("violn")
    vision.remove_track(cello)
    assert [o.label for o in vision.update(demo_frames[1], 0.08, 1).objects] == ["Violin", "Flute"]


def test_the_guard_leaves_out_a_picture_the_model_does_not_recognise(separator, visual,
                                                                     demo_frames) -> None:
    guarded = _vision(separator, visual, conditioner=separator.conditioner)
    guarded.add_region(BOX, "Violin")
    guarded.add_region((200.0, 40.0, 300.0, 140.0), "Violin")  # needed: two violins
    objects = guarded.update(demo_frames[0], 0.0, 0).objects
    for obj, condition in zip(objects, guarded.conditions.values()):
        assert not condition.used_appearance  # the untrained tiny model recognises nothing
        assert "look like" in condition.reason or "unsure" in condition.reason
        np.testing.assert_array_equal(obj.embedding, separator.embed("Violin"))
