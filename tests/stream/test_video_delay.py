"""crn_live.stream.video_delay: the frame shown for a play time is the one captured then, within
one frame, however the play times fall between the capture times."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from crn_live.stream.video_delay import DelayedFrames

FPS = 25.0


def camera_times(n: int, start: float = 1000.0, jitter: float = 0.004,
                 seed: int = 0) -> np.ndarray:
    """Capture times of ``n`` frames at :data:`FPS` with a little jitter, rising."""
    rng = np.random.default_rng(seed)
    return start + np.arange(n) / FPS + rng.uniform(-jitter, jitter, n)


def test_the_frame_shown_was_captured_within_one_frame_before_the_play_time():
    times = camera_times(200)
    frames = DelayedFrames(horizon_s=1.0)
    delay = 0.19
    rng = np.random.default_rng(1)
    pushed = 0
    now = times[0]
    shown = []
    while now < times[-1]:
        while pushed < len(times) and times[pushed] <= now:  # frames arrive as captured
            frames.push(times[pushed], pushed)
            pushed += 1
        play = now - delay
        index = frames.at(play)
        if play >= times[0] + 1.0 / FPS:
            assert times[index] <= play < times[index + 1], (play, index)
            assert play - times[index] < 1.0 / FPS + 0.008  # one frame (and its jitter)
            shown.append(index)
        now += rng.uniform(0.005, 0.04)  # a GUI timer, irregular
    assert shown == sorted(shown) and len(set(shown)) > 150  # in order, none skipped for long
    assert len(frames) <= 2 + int(delay * FPS)  # what is already shown is forgotten


def test_before_the_delay_has_passed_the_oldest_frame_is_shown():
    frames = DelayedFrames()
    assert frames.at(5.0) is None and frames.newest_time is None
    frames.push(10.0, "a")
    frames.push(10.04, "b")
    assert frames.at(9.8) == "a"
    assert frames.at(10.039) == "a" and frames.at(10.04) == "b" and frames.at(99.0) == "b"
    assert frames.newest_time == 10.04


def test_the_horizon_bounds_what_is_held_when_nobody_reads():
    frames = DelayedFrames(horizon_s=0.5, max_frames=1000)
    for i, t in enumerate(camera_times(100, jitter=0.0)):
        frames.push(t, i)
    first = int(np.floor(99 - 0.5 * FPS))  # the last frame captured 0.5 s before the newest
    assert len(frames) == 100 - first and frames.at(0.0) == first
    small = DelayedFrames(horizon_s=10.0, max_frames=4)
    for i in range(10):
        small.push(float(i), i)
    assert len(small) == 4 and small.at(0.0) == 6


def test_a_clock_that_goes_back_starts_afresh():
    frames = DelayedFrames()
    frames.push(5.0, "old")
    frames.push(1.0, "new")
    assert len(frames) == 1 and frames.at(0.5) == "new"
    frames.clear()
    assert len(frames) == 0 and frames.at(1.0) is None


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        DelayedFrames(horizon_s=0.0)
    with pytest.raises(ValueError):
        DelayedFrames(max_frames=0)


def test_pushing_and_reading_from_two_threads():
    frames = DelayedFrames(horizon_s=0.2, max_frames=16)
    seen = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            frame = frames.at(1e9)
            if frame is not None:
                seen.append(frame)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(20000):
        frames.push(i / 1000.0, i)
    done.set()
    thread.join()
    assert seen == sorted(seen) and frames.at(1e9) == 19999
