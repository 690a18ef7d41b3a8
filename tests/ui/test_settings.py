"""ui.settings: what the window keeps (devices, gains by instrument name, the record folder,
geometry and splitter) survives a round trip through a real QSettings INI file, under the keys
earlier versions wrote."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QSplitter, QWidget

from crn_live.stream.session import SessionOptions
from crn_live.ui.settings import (DEFAULT_DEVICES, DEFAULT_SPLITTER_SIZES, DEFAULT_WINDOW_SIZE,
                                  AppSettings, gain_name, is_device_choice)


def ini(path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def window_with_splitter(qtbot) -> tuple[QWidget, QSplitter]:
    window = QWidget()
    splitter = QSplitter(window)
    splitter.addWidget(QLabel("video"))
    splitter.addWidget(QLabel("strips"))
    splitter.resize(700, 300)
    qtbot.addWidget(window)
    return window, splitter


def test_a_round_trip_through_an_ini_file(qtbot, tmp_path):
    path = tmp_path / "crn-live.ini"
    first = AppSettings(ini(path))
    first.save_devices(SessionOptions(camera=2, mic="USB mic", output=None))
    first.save_gain(4, "Violin #4", 0.4)
    first.save_gain("residual", "Residual", 1.7)
    first.save_record_folder(tmp_path / "takes")
    window, splitter = window_with_splitter(qtbot)
    window.resize(640, 480)
    splitter.setSizes([250, 450])
    sizes = splitter.sizes()
    first.save_window(window, splitter)
    first.sync()

    again = AppSettings(ini(path))
    assert again.devices() == {"camera": 2, "mic": "USB mic", "output": None}
    assert again.gain(7, "Violin #7") == 0.4 and again.gain(3, "Violin") == 0.4
    assert again.gain("residual", "Residual (everything else)") == 1.7
    assert again.gain(5, "Cello") == 1.0
    assert again.record_folder() == str(tmp_path / "takes")
    window2, splitter2 = window_with_splitter(qtbot)
    again.restore_window(window2, splitter2)
    assert (window2.width(), window2.height()) == (640, 480)
    assert splitter2.sizes() == sizes


def test_the_file_keeps_the_keys_and_json_values(tmp_path):
    path = tmp_path / "crn-live.ini"
    settings = AppSettings(ini(path))
    settings.save_devices(SessionOptions(camera=0, mic="default", output="crn_null"))
    settings.save_gain(1, "Flute/Piccolo #1", 0.5)
    settings.sync()
    store = ini(path)  # read back without AppSettings
    assert store.allKeys() == ["devices/camera", "devices/mic", "devices/output",
                               "gains/Flute_Piccolo"]
    assert [store.value(k) for k in store.allKeys()] == ["0", '"default"', '"crn_null"', "0.5"]


def test_nothing_saved_gives_the_defaults(qtbot, tmp_path):
    settings = AppSettings(ini(tmp_path / "empty.ini"))
    assert settings.devices() == DEFAULT_DEVICES == {"camera": 0, "mic": "default",
                                                     "output": "default"}
    assert settings.gain(1, "Violin") == 1.0
    window, splitter = window_with_splitter(qtbot)
    settings.restore_window(window, splitter)
    assert (window.width(), window.height()) == DEFAULT_WINDOW_SIZE
    assert sum(splitter.sizes()) > 0


def test_files_standing_in_for_devices_are_not_saved(tmp_path):
    video, audio = tmp_path / "video.mp4", tmp_path / "mix.wav"
    video.write_bytes(b"")
    audio.write_bytes(b"")
    settings = AppSettings(ini(tmp_path / "crn-live.ini"))
    settings.save_devices(SessionOptions(camera=1, mic="default", output="default"))
    settings.save_devices(SessionOptions(camera=str(video), mic=str(audio), output=None))
    assert settings.devices() == {"camera": 1, "mic": "default", "output": None}
    assert not is_device_choice(str(video)) and is_device_choice("hw:1") and is_device_choice(3)


def test_values_that_are_not_json_or_not_numbers_give_the_defaults(tmp_path):
    store = ini(tmp_path / "crn-live.ini")
    store.setValue("devices/camera", "{not json")
    store.setValue("gains/Violin", '"loud"')
    settings = AppSettings(store)
    assert settings.devices()["camera"] == 0
    assert settings.gain(1, "Violin") == 1.0


def test_a_broken_splitter_state_gives_the_default_sizes(qtbot, tmp_path):
    store = ini(tmp_path / "crn-live.ini")
    store.setValue("window/splitter", b"garbage")
    window, splitter = window_with_splitter(qtbot)
    splitter.setSizes([10, 690])
    AppSettings(store).restore_window(window, splitter)
    default = DEFAULT_SPLITTER_SIZES
    assert splitter.sizes()[0] / sum(splitter.sizes()) == pytest.approx(
        default[0] / sum(default), abs=0.02)


@pytest.mark.parametrize("key, label, name", [("residual", "Residual", "residual"),
                                              (3, "Violin", "Violin"),
                                              (4, "Violin #4", "Violin")])
def test_gain_names(key, label, name):
    assert gain_name(key, label) == name
