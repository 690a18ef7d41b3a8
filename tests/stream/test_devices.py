"""Device listing and resolution on a real PulseAudio server with its null sink, and the
helpers for one-line errors and OpenCV's noise."""

from __future__ import annotations

import os
import subprocess

import pytest

from crn_live.errors import UserError
from crn_live.stream.devices import (
    NULL_SINK,
    NULL_SOURCE,
    PROBE_SINK,
    ROOM_SINK,
    ROOM_SOURCE,
    SPEAKER_SINK,
    ensure_pulse_null_sink,
    ensure_pulse_probe,
    format_device_list,
    list_audio_devices,
    list_cameras,
    one_line,
    pulse_info,
    pulse_route,
    quiet_stderr,
    resolve_audio_device,
)


def _one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def test_device_listing_and_resolution(pulse) -> None:
    devices = list_audio_devices()
    assert any(d["is_default_input"] and d["inputs"] > 0 for d in devices)
    assert any(d["is_default_output"] and d["outputs"] > 0 for d in devices)
    pulse_device = next(d for d in devices if d["name"] == "pulse")
    text = format_device_list()
    assert "pulse" in text and NULL_SINK in text and NULL_SOURCE in text
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True,
                           text=True).stdout
    assert NULL_SINK in sinks

    assert resolve_audio_device("default") is None
    assert resolve_audio_device(None, "output") is None
    assert resolve_audio_device("PULSE") == pulse_device["index"]
    assert resolve_audio_device(str(pulse_device["index"]), "output") == pulse_device["index"]
    with pytest.raises(UserError) as excinfo:
        resolve_audio_device("no such mic")
    assert _one_line_error(excinfo) == ("no microphone 'no such mic': list devices with "
                                        "crn-live --list-devices")
    with pytest.raises(UserError) as excinfo:
        resolve_audio_device(999, "output")
    assert _one_line_error(excinfo).startswith("no audio output '999'")
    with pytest.raises(ValueError):
        resolve_audio_device("default", "sideways")


def test_an_exact_name_wins_over_a_partial_one(pulse) -> None:
    devices = [d for d in list_audio_devices() if d["inputs"] > 0]
    assert len(devices) >= 2
    for device in devices:
        if device["name"].lower() == "default":
            continue  # names PortAudio's default device: None
        assert resolve_audio_device(device["name"]) == next(
            d["index"] for d in devices if d["name"].lower() == device["name"].lower())
    assert resolve_audio_device("  default  ", "output") is None


def test_the_null_sink_is_set_up_idempotently(pulse) -> None:
    assert ensure_pulse_null_sink()  # a second time changes nothing and still works
    assert os.environ["PULSE_SINK"] == NULL_SINK and os.environ["PULSE_SOURCE"] == NULL_SOURCE
    info = pulse_info()
    assert info is not None
    assert NULL_SINK in [s["name"] for s in info["sinks"]]
    assert NULL_SOURCE in [s["name"] for s in info["sources"]]


def test_the_measuring_bus_is_set_up_idempotently_and_streams_are_routed(pulse) -> None:
    assert ensure_pulse_probe() and ensure_pulse_probe()  # twice: nothing more loaded
    info = pulse_info()
    sinks = [s["name"] for s in info["sinks"]]
    assert all(sinks.count(name) == 1 for name in (PROBE_SINK, ROOM_SINK, SPEAKER_SINK))
    assert [s["name"] for s in info["sources"]].count(ROOM_SOURCE) == 1
    with pulse_route(sink=SPEAKER_SINK, source=ROOM_SOURCE):
        assert os.environ["PULSE_SINK"] == SPEAKER_SINK
        assert os.environ["PULSE_SOURCE"] == ROOM_SOURCE
        with pulse_route(sink=ROOM_SINK):
            assert os.environ["PULSE_SINK"] == ROOM_SINK
            assert os.environ["PULSE_SOURCE"] == ROOM_SOURCE
        assert os.environ["PULSE_SINK"] == SPEAKER_SINK
    assert os.environ["PULSE_SINK"] == NULL_SINK and os.environ["PULSE_SOURCE"] == NULL_SOURCE


def test_cameras_that_do_not_open_are_left_out_quietly(capfd) -> None:
    cameras = list_cameras(2)
    assert all(set(c) == {"index", "width", "height", "fps"} for c in cameras)
    assert "can't open camera" not in capfd.readouterr().err


def test_one_line_and_quiet_stderr(capfd) -> None:
    assert one_line("cannot open\n  device\t'x'  ") == "cannot open device 'x'"
    with quiet_stderr():
        os.write(2, b"native noise\n")
    os.write(2, b"heard\n")
    assert capfd.readouterr().err == "heard\n"
