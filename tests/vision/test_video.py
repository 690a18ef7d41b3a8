"""Detecting and tracking through a whole video file: one track per instrument, kept from its
birth to the end, with its boxes and crops. (``bundled_detector``: tests/vision/conftest.py.)"""

from __future__ import annotations

from crn_live.data.clips import find_clips
from crn_live.training.evaluate import match_tracks
from crn_live.vision.video import track_video


def test_tracking_through_a_clip_keeps_one_id_per_instrument(clip_sets, bundled_detector) -> None:
    clip = find_clips(clip_sets[3])[1]
    scan = track_video(clip.folder / "video.mp4", bundled_detector, crop_size=64, every=5)
    assert scan.n_frames == 75 and (scan.width, scan.height) == (320, 240)
    assert sorted(t.class_name for t in scan.tracks) == sorted(s.class_name for s in clip.slots)
    pairs, quality = match_tracks(clip, scan.tracks)
    assert None not in pairs and min(quality) >= 0.5
    for track in scan.tracks:  # born after 3 detection rounds (frame 10), then kept throughout
        assert len(track.boxes) >= 60 and track.crops.shape[1:] == (64, 64, 3)
