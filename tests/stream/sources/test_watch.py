"""DeviceWatch: the finished callback, the callback watchdog (and its guard against a checker
that was itself held up) and the PulseAudio device poll. The devices' own tests
(test_mic.py, test_output.py) pull real PulseAudio devices away."""

from __future__ import annotations

import time

import pytest

from crn_live.stream.sources.watch import DeviceWatch
from tests.stream.sources.media import wait_until
from tests.stream.sources.unplug import loseable  # noqa: F401 - a fixture


def _watch(kind: str = "input", name: str = "hw:7,0") -> DeviceWatch:
    """A watch on a device that is not PulseAudio's (no poll), with a 0.1 s watchdog."""
    watch = DeviceWatch(kind, name)
    watch.stall_s, watch.first_call_s = 0.1, 0.3
    return watch


def test_a_device_that_keeps_calling_back_is_not_lost() -> None:
    watch = _watch()
    assert watch.pulse_name is None and watch.lost is None
    watch.begin()
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        watch.last_call = time.monotonic()
        assert watch.lost is None
        time.sleep(0.01)
    assert watch.end() is False  # called back just now: stop, not abort
    time.sleep(0.2)
    assert watch.lost is None  # not running: nothing is judged


def test_callbacks_that_stop_are_a_lost_device() -> None:
    watch = _watch("output")
    watch.begin()
    watch.last_call = time.monotonic()
    assert wait_until(lambda: watch.lost is not None, 1.0)
    assert watch.lost.startswith("no audio taken by it for 0.1 s")
    assert watch.end() is True  # lost: abort the stream
    assert watch.lost is not None  # stays set


def test_the_first_callback_gets_longer() -> None:
    watch = _watch()
    watch.begin()
    time.sleep(0.15)
    assert watch.lost is None  # within first_call_s
    assert wait_until(lambda: watch.lost is not None, 1.0)
    assert "no audio from it" in watch.lost


def test_a_checker_that_was_held_up_does_not_judge() -> None:
    watch = _watch()
    watch.begin()
    watch.last_call = time.monotonic()
    time.sleep(0.6)  # longer than check_gap_s without a check: the callbacks may have waited
    assert watch.lost is None
    watch.last_call = time.monotonic()  # they come again
    assert watch.lost is None


def test_finished_while_running_is_lost_and_after_end_is_not() -> None:
    watch = _watch()
    watch.begin()
    watch.last_call = time.monotonic()
    watch.end()
    watch.finished()  # the stream stopped because we stopped it
    assert watch.lost is None
    watch.begin()
    watch.finished()  # the stream stopped by itself
    assert watch.lost == "its stream stopped: the device failed or was removed"


@pytest.mark.slow
def test_a_removed_pulseaudio_device_is_lost(loseable) -> None:  # noqa: F811
    for kind, node in (("input", loseable.monitor), ("output", loseable.name)):
        assert DeviceWatch(kind, "default").pulse_name == node
        assert DeviceWatch(kind, "hw:0,0").pulse_name is None
    watch = DeviceWatch("input", "pulse")
    watch.stall_s = watch.first_call_s = 60.0  # only the poll
    watch.begin()
    time.sleep(2 * watch.poll_s)
    assert watch.lost is None
    gone = loseable.unplug()
    assert wait_until(lambda: watch.lost is not None, 3 * watch.poll_s)
    print(f"noticed {time.monotonic() - gone:.2f} s after the unplug")
    assert watch.lost == f"PulseAudio source '{loseable.monitor}' was removed"
    watch.end()
