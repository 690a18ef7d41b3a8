"""CameraSource on a real video file (the machine has no camera: a missing one must fail in
one line)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from crn_live.errors import UserError
from crn_live.stream.sources.camera import CameraSource
from tests.stream.sources.media import FPS, N_FRAMES, SIZE, decode, one_line_error, wait_until



def test_camera_source_on_a_video_file_paced(video_file) -> None:
    seen = []
    source = CameraSource(str(video_file),
                          on_frame=lambda f, t, i: seen.append((i, t, time.monotonic(),
                                                                decode(f))))
    assert source.fps == pytest.approx(FPS) and source.size == SIZE
    assert source.latest() is None
    began = time.monotonic()
    source.start()
    deadline = began + 5.0
    while not source.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    elapsed = time.monotonic() - began
    assert source.finished
    indices = [s[0] for s in seen]
    assert indices == list(range(N_FRAMES))
    assert [s[3] for s in seen] == indices  # content: frame i shows colour i
    times = np.array([s[1] for s in seen])
    assert np.allclose(np.diff(times), 1 / FPS, atol=1e-6)  # nominal times on the file's clock
    arrivals = np.array([s[2] for s in seen])
    assert np.all(arrivals >= times - 1e-3)  # never published early
    assert np.median(arrivals - times) < 0.02
    assert (N_FRAMES - 1) / FPS * 0.9 < elapsed < (N_FRAMES - 1) / FPS + 1.0
    frame, t, index = source.latest()
    assert index == N_FRAMES - 1 and frame.shape == (SIZE[1], SIZE[0], 3)
    assert frame.dtype == np.uint8 and t == times[-1]
    source.stop()
    source.close()
    source.close()


def test_camera_source_unpaced_and_resized(video_file) -> None:
    seen = []
    with CameraSource(video_file, paced=False, width=32,
                      on_frame=lambda f, t, i: seen.append((i, f.shape, decode(f)))) as source:
        deadline = time.monotonic() + 3.0
        while not source.finished and time.monotonic() < deadline:
            time.sleep(0.005)
        assert source.finished
    assert [s[0] for s in seen] == list(range(N_FRAMES))
    assert all(s[1] == (24, 32, 3) for s in seen)
    assert [s[2] for s in seen] == list(range(N_FRAMES))


def test_camera_source_errors(tmp_path) -> None:
    with pytest.raises(UserError) as excinfo:
        CameraSource(9)
    assert one_line_error(excinfo).startswith("no camera 9")
    fake = tmp_path / "clip.mp4"
    fake.write_text("this is not a video\n")
    with pytest.raises(UserError) as excinfo:
        CameraSource(str(fake))
    assert one_line_error(excinfo).startswith(f"cannot read video {fake}")
    with pytest.raises(UserError) as excinfo:
        CameraSource(tmp_path / "missing.mp4")
    assert one_line_error(excinfo).startswith("cannot read video")


def test_frames_nobody_fetched_count_as_dropped(video_file) -> None:
    with CameraSource(video_file, paced=False, height=24) as source:
        assert wait_until(lambda: source.finished, 3.0)
        assert source.frames_read == N_FRAMES and source.size == (32, 24)
        assert source.dropped_frames == N_FRAMES - 1  # latest() was never called
        assert source.xruns == 0 and source.error is None
        frame, _, index = source.latest()
        assert index == N_FRAMES - 1 and decode(frame) == index
        assert source.dropped_frames == N_FRAMES - 1  # the last one was fetched


@pytest.mark.slow
def test_stop_halts_the_frames_and_a_resume_continues(video_file) -> None:
    source = CameraSource(video_file)
    began = time.monotonic()
    source.start(at=began)
    assert wait_until(lambda: source.frames_read >= 5, 3.0)
    source.stop()
    assert not source.running and not source.finished
    stopped = source.frames_read
    time.sleep(0.2)
    assert source.frames_read == stopped  # stopped: no frame more
    _, t, index = source.latest()
    assert index == stopped - 1 and t == pytest.approx(began + index / FPS, abs=1e-6)
    resumed = time.monotonic()
    source.start(at=resumed)
    assert wait_until(lambda: source.finished, 3.0)
    frame, t, index = source.latest()
    assert index == N_FRAMES - 1 and decode(frame) == index  # nothing skipped or repeated
    assert t == pytest.approx(resumed + (N_FRAMES - 1 - stopped) / FPS, abs=1e-6)
    source.close()
    assert source.closed
    with pytest.raises(RuntimeError, match="CameraSource is closed"):
        source.start()


def test_a_looped_file_does_not_finish(video_file) -> None:
    seen = []
    with CameraSource(video_file, paced=False, loop=True,
                      on_frame=lambda f, t, i: seen.append(decode(f))) as source:
        assert wait_until(lambda: source.frames_read > 2 * N_FRAMES, 5.0)
        assert not source.finished
    count = len(seen)
    assert seen == [i % N_FRAMES for i in range(count)]
