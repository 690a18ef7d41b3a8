"""ui.strip: the scrolling spectrogram, the meter, the strip's controls and the panel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from crn_live.ui.strip import (METER_RANGE, SPECTRUM_LEVELS, LevelMeter, Spectrogram, StripPanel,
                      StripWidget)


def columns(values, bins=8):
    """A ``(bins, len(values))`` spectrum whose column ``i`` is ``values[i]`` everywhere."""
    return np.tile(np.asarray(values, np.float32), (bins, 1))


def test_spectrogram_scrolls_newest_on_the_right(qtbot):
    view = Spectrogram(history=5)
    qtbot.addWidget(view)
    view.push(columns([-70, -60]))
    view.push(columns([-50, -40, -30]))
    assert view.visible()[:, 0].tolist() == [-70, -60, -50, -40, -30]
    view.push(columns([-20, -10]))  # two more: the two oldest scroll out on the left
    assert view.visible()[:, 0].tolist() == [-50, -40, -30, -20, -10]
    assert view.columns_pushed == 7
    view.push(columns(np.arange(-19, 0)))  # more than the history at once: the last 5 stay
    assert view.visible()[:, 0].tolist() == [-5, -4, -3, -2, -1]


def test_spectrogram_history_starts_silent_and_rows_are_bins(qtbot):
    view = Spectrogram(history=4)
    qtbot.addWidget(view)
    spectrum = np.linspace(-80, 0, 6, dtype=np.float32)[:, None]  # one column, rising
    view.push(spectrum)
    visible = view.visible()
    assert visible.shape == (4, 6)
    assert np.all(visible[:3] == SPECTRUM_LEVELS[0])
    np.testing.assert_array_equal(visible[3], spectrum[:, 0])
    view.push(np.zeros((9, 1), np.float32))  # another bin count restarts the history
    assert view.visible().shape == (4, 9)


def test_spectrogram_maps_explicit_db_levels_and_redraws_only_news(qtbot):
    view = Spectrogram(history=16)
    qtbot.addWidget(view)
    assert not view.redraw()  # nothing pushed yet
    low, high = SPECTRUM_LEVELS
    view.push(columns([low - 100, high + 30, (low + high) / 2, low]))
    assert view.redraw()
    # out-of-range values do not stretch the levels: they clip to the colour map's ends
    assert view.visible_indices()[-4:, 0].tolist() == [0, 255, 127, 0]
    assert tuple(view.image.getLevels()) == (0, 255)  # the item only looks colours up
    assert view.image.image.shape == (16, 8) and view.image.image.dtype == np.uint8
    assert view.image.getColorMap() is not None
    assert not view.redraw() and view.redraws == 1
    for _ in range(3):
        view.push(columns([high]))
    assert view.redraw() and view.redraws == 2  # three pushes, one redraw
    view.set_levels(low - 20, high - 20)  # new levels recolour the history too
    assert view.visible_indices()[-1, 0] == 255 and view.visible_indices()[-5, 0] == 191
    with pytest.raises(ValueError):
        view.set_levels(0, 0)


def test_spectrogram_groups_many_bins_keeping_peaks(qtbot):
    view = Spectrogram(history=4, max_rows=4)
    qtbot.addWidget(view)
    spectrum = np.full((10, 1), SPECTRUM_LEVELS[0], np.float32)
    spectrum[7, 0] = SPECTRUM_LEVELS[1]  # one loud bin
    view.push(spectrum)
    assert view.group == 3 and view.rows == 4
    assert view.visible_indices()[-1].tolist() == [0, 0, 255, 0]
    assert view.visible().shape == (4, 10)  # the dB history keeps every bin


def test_meter_clips_to_its_range_and_holds_the_peak(qtbot):
    meter = LevelMeter(fall_db=10.0)
    qtbot.addWidget(meter)
    meter.set_level(12.0)
    assert meter.level_db == METER_RANGE[1] and meter.fraction(meter.level_db) == 1.0
    meter.set_level(float("nan"))
    assert meter.level_db == METER_RANGE[0]
    assert meter.peak_db == METER_RANGE[1] - 10.0
    meter.grab()  # paints


def test_strip_controls_emit_key_and_value(qtbot):
    strip = StripWidget(3, "Flute")
    qtbot.addWidget(strip)
    with qtbot.waitSignal(strip.soloToggled) as solo:
        qtbot.mouseClick(strip.solo, Qt.MouseButton.LeftButton)
    assert solo.args == [3, True] and strip.is_solo()
    with qtbot.waitSignal(strip.muteToggled) as mute:
        strip.set_mute(True)
    assert mute.args == [3, True]
    with qtbot.waitSignal(strip.gainChanged) as gain:
        strip.set_gain(1.5)
    assert gain.args == [3, 1.5] and strip.gain_label.text() == "1.50x"
    strip.set_gain(7.0)
    assert strip.gain_value() == 2.0
    strip.set_gain(-1.0)
    assert strip.gain_value() == 0.0
    with qtbot.waitSignal(strip.gainChanged) as reset:
        qtbot.mouseDClick(strip.gain_label, Qt.MouseButton.LeftButton)
    assert reset.args == [3, 1.0]


def test_mixture_strip_has_no_mixer_controls(qtbot):
    mix = StripWidget("mix")
    qtbot.addWidget(mix)
    mix.show()
    assert mix.label == "Mixture" and not mix.has_controls
    assert not mix.solo.isVisible() and not mix.gain.isVisible()
    residual = StripWidget("residual")
    qtbot.addWidget(residual)
    assert residual.label.startswith("Residual") and residual.has_controls


def test_panel_orders_and_numbers_strips(qtbot):
    panel = StripPanel(history=8)
    qtbot.addWidget(panel)
    added = []
    panel.stripAdded.connect(lambda strip: added.append(strip.key))
    assert panel.sync([("residual", "Residual"), (2, "Cello"), ("mix", "Mixture"),
                       (1, "Violin")])
    assert panel.keys() == ["mix", 2, 1, "residual"]
    assert panel.strip("residual").label == "Residual (everything else)"
    assert sorted(added, key=str) == sorted([2, 1, "mix", "residual"], key=str)
    assert [s.key for s in panel.numbered()] == [2, 1, "residual"]
    assert panel.strip_number(2).key == 1 and panel.strip_number(4) is None
    assert panel.strip(2).name.text().startswith("1 ")
    assert not panel.sync([("mix", ""), (2, "Cello"), (1, "Violin"), ("residual", "")])
    assert panel.sync([("mix", ""), (1, "Violin (manual)"), ("residual", "")])
    assert panel.keys() == ["mix", 1, "residual"] and panel.strip(2) is None
    assert panel.strip(1).label == "Violin (manual)"
    assert panel.strip_number(1).key == 1
    panel.clear()
    assert panel.keys() == []


def test_panel_reemits_strip_controls(qtbot):
    panel = StripPanel()
    qtbot.addWidget(panel)
    panel.sync([("mix", ""), (4, "Drum"), ("residual", "")])
    seen = []
    panel.soloToggled.connect(lambda k, on: seen.append(("solo", k, on)))
    panel.muteToggled.connect(lambda k, on: seen.append(("mute", k, on)))
    panel.gainChanged.connect(lambda k, g: seen.append(("gain", k, g)))
    panel.strip(4).set_solo(True)
    panel.strip("residual").set_mute(True)
    panel.strip(4).set_gain(0.5)
    assert seen == [("solo", 4, True), ("mute", "residual", True), ("gain", 4, 0.5)]
