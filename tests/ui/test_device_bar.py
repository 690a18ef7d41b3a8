"""ui.device_bar: the camera / microphone / output pickers, their entries, showing a session's
options without a signal, reporting a pick, and the real device listing (PulseAudio's null sink
through PortAudio, where it can be set up)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from crn_live.errors import UserError
from crn_live.stream.session import SessionOptions
from crn_live.ui.device_bar import DeviceBar, describe, find_devices, picker_entries


@pytest.fixture
def bar(qtbot) -> DeviceBar:
    bar = DeviceBar(list_devices=False)
    qtbot.addWidget(bar)
    return bar


def entries(box) -> list[tuple[str, object]]:
    return [(box.itemText(i), box.itemData(i)) for i in range(box.count())]


def test_without_listing_only_the_fixed_entries(bar):
    assert list(bar.boxes()) == ["camera", "mic", "output"]
    assert entries(bar.camera_box) == [("No camera", None)]
    assert entries(bar.mic_box) == [("Default microphone", "default"), ("No microphone", None)]
    assert entries(bar.output_box) == [("Default output", "default"), ("No output", None)]
    assert [box.objectName() for box in bar.boxes().values()] == ["camera", "microphone",
                                                                  "output"]


def test_listed_devices_follow_the_fixed_entries():
    found = picker_entries([{"index": 0, "width": 640, "height": 480}], ["USB mic"],
                           ["HDMI", "Speakers"])
    assert found["camera"] == [("No camera", None), ("Camera 0 (640x480)", 0)]
    assert found["mic"][2:] == [("USB mic", "USB mic")]
    assert found["output"][2:] == [("HDMI", "HDMI"), ("Speakers", "Speakers")]


def test_showing_options_selects_and_adds_entries_without_a_signal(bar, qtbot, tmp_path):
    audio = tmp_path / "mix.wav"
    audio.write_bytes(b"")
    with qtbot.assertNotEmitted(bar.deviceChosen):
        bar.show_options(SessionOptions(camera=3, mic=str(audio), output=None))
    assert bar.camera_box.currentText() == "Camera 3" and bar.value("camera") == 3
    assert bar.mic_box.currentText() == "File: mix.wav" and bar.value("mic") == str(audio)
    assert bar.output_box.currentText() == "No output" and bar.value("output") is None
    bar.show_options(SessionOptions(camera=3, mic="default", output="default"))
    assert bar.camera_box.count() == 2  # shown again: not added twice


def test_a_pick_is_reported_with_its_field_and_value(bar, qtbot):
    with qtbot.waitSignal(bar.deviceChosen) as picked:
        bar.choose("output", "crn_null")
    assert picked.args == ["output", "crn_null"]
    assert bar.output_box.currentText() == "crn_null"
    with qtbot.waitSignal(bar.deviceChosen) as picked:
        bar.choose("camera", None)
    assert picked.args == ["camera", None]


def test_the_user_picking_an_entry_is_reported(bar, qtbot):
    bar.show_options(SessionOptions(camera=None, mic="default", output="default"))
    with qtbot.waitSignal(bar.deviceChosen) as picked:
        qtbot.keyClick(bar.mic_box, Qt.Key.Key_Down)  # "No microphone"
    assert picked.args == ["mic", None]


@pytest.mark.parametrize("value, text", [(2, "Camera 2"), ("hw:1,0", "hw:1,0")])
def test_describe(value, text):
    assert describe(value) == text


def test_the_real_devices_are_listed(qtbot, pulse):
    cameras, inputs, outputs = find_devices()
    assert inputs and outputs  # PulseAudio through PortAudio ("pulse", "default")
    bar = DeviceBar(list_devices=True)
    qtbot.addWidget(bar)
    assert entries(bar.mic_box)[2:] == [(name, name) for name in inputs]
    assert entries(bar.output_box)[2:] == [(name, name) for name in outputs]
    assert bar.camera_box.count() == 1 + len(cameras)


def test_devices_that_cannot_be_listed_are_left_out(monkeypatch, capsys):
    import crn_live.stream.devices as devices

    def no_portaudio():
        raise UserError("PortAudio is not available")

    def no_opencv(max_index: int = 5):
        raise RuntimeError("no capture backend")

    monkeypatch.setattr(devices, "list_audio_devices", no_portaudio)
    monkeypatch.setattr(devices, "list_cameras", no_opencv)
    assert find_devices() == ([], [], [])
    err = capsys.readouterr().err
    assert "could not list cameras: no capture backend" in err
    assert "PortAudio is not available" in err
