"""What every source shares, checked on the real ones: the Source protocol, the start / stop /
close bookkeeping and the context manager, the counters, and the audio read side."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from crn_live.stream.sources.base import (RingAudioSource, Source, as_frames,
                                          raise_thread_priority)
from crn_live.stream.sources.camera import CameraSource
from crn_live.stream.sources.file import FileAudioSource
from crn_live.stream.sources.mic import MicSource
from crn_live.stream.sources.output import OutputSink
from tests.stream.sources.media import write_noise_wav


def _check_bookkeeping(source: Source) -> None:
    """A fresh source: counters at rest, context manager, start / stop / close twice, no start
    after close."""
    assert isinstance(source, Source)
    assert not source.running and not source.closed
    assert source.xruns == 0 and source.dropped_frames == 0 and not source.finished
    with source as entered:
        assert entered is source and (source.running or source.finished)
        source.start()  # no-op while running
        source.stop()
        source.stop()
        assert not source.running
        source.start()
    assert source.closed and not source.running
    source.close()
    source.stop()
    with pytest.raises(RuntimeError, match=f"{type(source).__name__} is closed"):
        source.start()


def test_file_and_camera_sources_share_the_bookkeeping(tmp_path, video_file) -> None:
    path = tmp_path / "noise.wav"
    write_noise_wav(path, 1.0, 16000)
    _check_bookkeeping(FileAudioSource(path))
    _check_bookkeeping(CameraSource(video_file))


def test_device_sources_share_the_bookkeeping(pulse) -> None:
    _check_bookkeeping(MicSource(rate=48000))
    _check_bookkeeping(OutputSink(rate=48000))


def test_the_audio_read_side(tmp_path) -> None:
    rate = 16000
    path = tmp_path / "noise.wav"
    samples = write_noise_wav(path, 0.5, rate)
    source = FileAudioSource(path, paced=False)
    assert isinstance(source, RingAudioSource)
    assert source.rate == rate and source.channels == 1
    assert source.available == 0 and source.position == 0 and np.isnan(source.time_of(0))
    source.start(at=50.0)
    deadline = time.monotonic() + 3.0
    while source.available < 1000 and time.monotonic() < deadline:
        time.sleep(0.005)
    first = np.full(1000, 9.0, np.float32)  # (frames,) when mono
    assert source.read_into(first) == 1000 and source.position == 1000
    assert np.array_equal(first, samples[:1000])
    assert source.time_of(np.array([0, rate])) == pytest.approx([50.0, 51.0])
    with pytest.raises(ValueError, match=r"\(frames, 1\)"):
        source.read_into(np.zeros((8, 2), np.float32))
    deadline = time.monotonic() + 3.0
    while not source.finished and time.monotonic() < deadline:
        time.sleep(0.005)
    rest = np.full((len(samples), 1), 9.0, np.float32)  # more than is left
    n = source.read_into(rest)
    assert n == len(samples) - 1000 and np.array_equal(rest[:n, 0], samples[1000:])
    assert not rest[n:].any()  # the rest zero-filled
    positions, _ = source.block_times()
    assert positions[0] == 0 and positions[-1] < len(samples)
    source.close()


def test_as_frames() -> None:
    mono = np.arange(6, dtype=np.float32)
    view = as_frames(mono, 1, "block")
    assert view.shape == (6, 1) and np.shares_memory(view, mono)
    stereo = np.zeros((3, 2), np.float32)
    assert as_frames(stereo, 2, "block") is stereo
    with pytest.raises(ValueError, match=r"block must be \(frames, 2\) float32, got \(6,\)"):
        as_frames(mono, 2, "block")
    with pytest.raises(ValueError, match=r"out must be \(frames, 1\)"):
        as_frames(stereo, 1, "out")


def test_raise_thread_priority_raises_the_calling_thread_only() -> None:
    """On a thread of its own: real-time scheduling where allowed (root here), else a nicer
    nice value, else nothing; the thread that called it is the one raised, not the process."""
    seen = {}

    def run() -> None:
        seen["got"] = raise_thread_priority()
        seen["policy"] = os.sched_getscheduler(0)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen["got"] in ("realtime", "nice", "normal")
    if seen["got"] == "realtime":
        assert seen["policy"] == os.SCHED_FIFO
    elif seen["got"] == "nice":
        assert seen["nice"] < 0
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # this thread is as it was
