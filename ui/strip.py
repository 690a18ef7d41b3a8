"""Mixer strips: one per instrument, plus the mixture and the residual ("everything else").

A :class:`StripWidget` shows the strip's name beside a swatch of its colour (:mod:`ui.colors`), a
live scrolling spectrogram (:class:`Spectrogram`: log-frequency rows as the session gives them,
low frequencies at the bottom, newest column on the right), a level meter (:class:`LevelMeter`),
Solo and Mute toggles and a gain slider (0 .. 2, 1 = unity), and for an instrument added by name
a remove button (``x``). The widgets only *emit* what the
user asks for; :class:`StripPanel` holds the strips in display order (mixture, tracks, residual)
and the main window connects its signals to the session's mixer. Nothing here touches audio.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider,
                               QVBoxLayout, QWidget)

from .colors import color_for, color_hex

#: dB range the spectrogram's colour map spans (explicit levels: never auto-levelled). The
#: session's spectra are 20 log10 of the model STFT's magnitude (not dBFS: a full-scale sine
#: peaks near +48 dB); music at ordinary levels spans about -60 .. +20 dB there.
SPECTRUM_LEVELS = (-60.0, 20.0)
#: Columns of history a spectrogram shows (at the 23.2 ms hop: about 7.4 s).
HISTORY_COLUMNS = 320
#: Perceptual colour map of the spectrograms (bundled with pyqtgraph, no download).
COLORMAP = "inferno"
#: Range of the level meter in dBFS.
METER_RANGE = (-60.0, 0.0)
#: The gain slider's steps per unit gain, and its maximum gain.
GAIN_STEPS = 100
MAX_GAIN = 2.0
#: Strip keys that are not tracks.
MIX, RESIDUAL = "mix", "residual"


def default_label(key) -> str:
    """The name a strip shows when the session gives none."""
    return {MIX: "Mixture", RESIDUAL: "Residual (everything else)"}.get(key, f"Track {key}")


class LevelMeter(QWidget):
    """A vertical level meter in dBFS (:data:`METER_RANGE`) with a peak-hold line that falls
    back by ``fall_db`` per update."""

    def __init__(self, parent: QWidget | None = None, fall_db: float = 1.5) -> None:
        super().__init__(parent)
        self.level_db = METER_RANGE[0]
        self.peak_db = METER_RANGE[0]
        self.fall_db = fall_db
        self.setFixedWidth(10)
        self.setMinimumHeight(40)
        self.setToolTip("level (dBFS)")

    def set_level(self, level_db: float) -> None:
        """Show ``level_db`` (clipped to the meter's range; NaN shows as silence)."""
        low, high = METER_RANGE
        level = float(level_db) if np.isfinite(level_db) else low
        self.level_db = min(max(level, low), high)
        self.peak_db = max(self.level_db, self.peak_db - self.fall_db)
        self.update()

    def fraction(self, level_db: float) -> float:
        """Height share of the meter a level fills."""
        low, high = METER_RANGE
        return (min(max(level_db, low), high) - low) / (high - low)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, QColor("#1b1b1b"))
        height = rect.height()
        filled = int(round(self.fraction(self.level_db) * height))
        if filled > 0:
            gradient = QLinearGradient(0, height, 0, 0)
            gradient.setColorAt(0.0, QColor("#2e7d32"))
            gradient.setColorAt(0.75, QColor("#c0ca33"))
            gradient.setColorAt(1.0, QColor("#e53935"))
            painter.fillRect(QRectF(0, height - filled, rect.width(), filled), gradient)
        peak = int(round((1.0 - self.fraction(self.peak_db)) * (height - 1)))
        painter.setPen(QColor("#eeeeee"))
        painter.drawLine(0, peak, rect.width(), peak)
        painter.end()


class Spectrogram(pg.GraphicsView):
    """A scrolling spectrogram: :meth:`push` appends columns (cheap, no drawing), :meth:`redraw`
    shows the last :data:`HISTORY_COLUMNS` of them once.

    Colours: the dB values are mapped onto the colour map through the explicit ``levels``
    (:data:`SPECTRUM_LEVELS`, never auto levels) once per column, as they are pushed, into
    8-bit indices; the image item then only looks the indices up in its 256-colour table
    (``setLevels((0, 255))``), the cheapest way pyqtgraph draws. Rows: the session's
    log-frequency bins, low at the bottom; more than ``max_rows`` bins are shown as the maximum
    of each group of neighbours (a strip is about a hundred pixels high).

    The history lives twice in ``(2 * history, rows)`` buffers (each column written at ``p``
    and ``p + history``), so the visible window is always one contiguous slice: no copy and no
    roll per redraw.
    """

    def __init__(self, parent: QWidget | None = None, history: int = HISTORY_COLUMNS,
                 levels: tuple[float, float] = SPECTRUM_LEVELS, max_rows: int = 128) -> None:
        super().__init__(parent, background="#000000")
        self.history = int(history)
        self.max_rows = int(max_rows)
        self.levels = (float(levels[0]), float(levels[1]))
        self.view = pg.ViewBox(enableMouse=False, defaultPadding=0.0)
        self.view.setMenuEnabled(False)
        self.setCentralItem(self.view)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get(COLORMAP))
        self.image.setLevels((0, 255))
        self.view.addItem(self.image)
        self.bins = 0
        self.group = 1  # bins per displayed row
        self._db = np.zeros((0, 0), np.float32)  # (2 * history, bins) dB
        self._index = np.zeros((0, 0), np.uint8)  # (2 * history, rows) colour indices
        self._position = 0  # where the next column goes, in 0 .. history - 1
        self.columns_pushed = 0
        self.redraws = 0
        self._dirty = False
        self.setMinimumHeight(48)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("spectrogram: log frequency (low at the bottom), newest on the right")

    def _allocate(self, bins: int) -> None:
        self.bins = bins
        self.group = -(-bins // self.max_rows) if bins > self.max_rows else 1
        rows = -(-bins // self.group)
        self._db = np.full((2 * self.history, bins), self.levels[0], np.float32)
        self._index = np.zeros((2 * self.history, rows), np.uint8)
        self._position = 0
        self.view.setRange(xRange=(0, self.history), yRange=(0, rows), padding=0.0)

    @property
    def rows(self) -> int:
        """Rows on screen (``bins`` grouped by ``group``)."""
        return self._index.shape[1]

    def to_index(self, db: np.ndarray) -> np.ndarray:
        """dB ``(n, bins)`` -> colour indices ``(n, rows)`` through :attr:`levels`."""
        n = db.shape[0]
        if self.group > 1:
            padded = np.full((n, self.rows * self.group), self.levels[0], np.float32)
            padded[:, :self.bins] = db
            db = padded.reshape(n, self.rows, self.group).max(axis=2)
        low, high = self.levels
        scaled = (db - low) * (255.0 / (high - low))
        return np.clip(scaled, 0.0, 255.0).astype(np.uint8)

    def set_levels(self, low: float, high: float) -> None:
        """Map ``low .. high`` dB onto the colour map from now on (the history too)."""
        if not high > low:
            raise ValueError(f"levels must rise, got ({low}, {high})")
        self.levels = (float(low), float(high))
        if self.bins:
            self._index[:] = self.to_index(self._db)
            self._dirty = True

    def push(self, spectrum: np.ndarray) -> None:
        """Append the columns of ``spectrum (bins, n_frames)`` (dB). A new bin count restarts
        the history."""
        spectrum = np.asarray(spectrum, np.float32)
        if spectrum.ndim == 1:
            spectrum = spectrum[:, None]
        if spectrum.ndim != 2:
            raise ValueError(f"a spectrum is (bins, frames), got shape {spectrum.shape}")
        bins, frames = spectrum.shape
        if bins != self.bins:
            self._allocate(bins)
        if frames == 0:
            return
        columns = spectrum.T[-self.history:]  # more than the history: only the last ones matter
        indices = self.to_index(columns)
        n, h, p = len(columns), self.history, self._position
        first = min(n, h - p)
        for buffer, values in ((self._db, columns), (self._index, indices)):
            for offset in (0, h):
                buffer[offset + p:offset + p + first] = values[:first]
                buffer[offset:offset + n - first] = values[first:]
        self._position = (p + n) % h
        self.columns_pushed += frames
        self._dirty = True

    def visible(self) -> np.ndarray:
        """The columns on screen in dB, oldest first: ``(history, bins)``."""
        return self._db[self._position:self._position + self.history]

    def visible_indices(self) -> np.ndarray:
        """The colour indices on screen, oldest first: ``(history, rows)``."""
        return self._index[self._position:self._position + self.history]

    def redraw(self) -> bool:
        """Draw the columns pushed since the last redraw; False when there were none."""
        if not self._dirty:
            return False
        self.image.setImage(self.visible_indices(), autoLevels=False, levels=(0, 255))
        self._dirty = False
        self.redraws += 1
        return True


class Swatch(QWidget):
    """A small square of a strip's colour."""

    def __init__(self, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = QColor(color)
        self.setFixedSize(QSize(12, 12))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.color)
        painter.end()


class ResetLabel(QLabel):
    """A label that emits ``doubleClicked`` (the gain value: double-click resets to unity)."""

    doubleClicked = Signal()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.doubleClicked.emit()
        event.accept()


class StripWidget(QFrame):
    """One mixer strip. ``key``: a track id, :data:`MIX` or :data:`RESIDUAL`.

    The mixture strip only displays (the mixer has no such key); the others carry Solo, Mute
    and gain controls, whose changes are emitted as ``soloToggled(key, on)``,
    ``muteToggled(key, on)`` and ``gainChanged(key, gain)``. A removable strip
    (:meth:`set_removable`: an instrument added by name) also shows a remove button, which
    emits ``removeRequested(key)``.
    """

    soloToggled = Signal(object, bool)
    muteToggled = Signal(object, bool)
    gainChanged = Signal(object, float)
    removeRequested = Signal(object)

    def __init__(self, key, label: str | None = None, parent: QWidget | None = None,
                 history: int = HISTORY_COLUMNS) -> None:
        super().__init__(parent)
        self.key = key
        self.color = color_for(key)
        self.setObjectName("strip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"#strip {{ border: 1px solid #333; border-left: 4px solid "
                           f"{color_hex(key)}; }}")
        self.number: int | None = None
        self._label = ""
        self._silent = False
        self.swatch = Swatch(self.color)
        self.name = QLabel()
        self.name.setMinimumWidth(100)
        self.solo = QPushButton("S")
        self.mute = QPushButton("M")
        for button, tip, checked_color in ((self.solo, "Solo (key: its number)", "#f9a825"),
                                           (self.mute, "Mute (key: Shift + its number)",
                                            "#e53935")):
            button.setCheckable(True)
            button.setFixedSize(QSize(26, 22))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(tip)
            button.setStyleSheet(f"QPushButton:checked {{ background: {checked_color}; "
                                 "color: black; font-weight: bold; }")
        self.gain = QSlider(Qt.Orientation.Horizontal)
        self.gain.setRange(0, int(MAX_GAIN * GAIN_STEPS))
        self.gain.setValue(GAIN_STEPS)
        self.gain.setPageStep(GAIN_STEPS // 10)
        self.gain.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.gain.setToolTip("gain (0 .. 2, 1 = unity); double-click the value to reset")
        self.remove = QPushButton("x")
        self.remove.setFixedSize(QSize(22, 22))
        self.remove.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.remove.setToolTip("remove this instrument")
        self.remove.setVisible(False)
        self.remove.clicked.connect(lambda: self.removeRequested.emit(self.key))
        self.gain_label = ResetLabel("1.00x")
        self.gain_label.setFixedWidth(40)
        self.meter = LevelMeter()
        self.spectrogram = Spectrogram(history=history)

        controls = QVBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(3)
        title = QHBoxLayout()
        title.addWidget(self.swatch)
        title.addWidget(self.name, 1)
        title.addWidget(self.remove)
        controls.addLayout(title)
        buttons = QHBoxLayout()
        buttons.addWidget(self.solo)
        buttons.addWidget(self.mute)
        buttons.addStretch(1)
        controls.addLayout(buttons)
        gain_row = QHBoxLayout()
        gain_row.addWidget(self.gain, 1)
        gain_row.addWidget(self.gain_label)
        controls.addLayout(gain_row)
        controls.addStretch(1)
        side = QWidget()
        side.setLayout(controls)
        side.setFixedWidth(150)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 4, 4)
        row.addWidget(side)
        row.addWidget(self.meter)
        row.addWidget(self.spectrogram, 1)
        self.setMinimumHeight(84)

        self.has_controls = key != MIX
        for widget in (self.solo, self.mute, self.gain, self.gain_label):
            widget.setVisible(self.has_controls)
        self.solo.toggled.connect(lambda on: self.soloToggled.emit(self.key, on))
        self.mute.toggled.connect(lambda on: self.muteToggled.emit(self.key, on))
        self.gain.valueChanged.connect(self._gain_moved)
        self.gain_label.doubleClicked.connect(lambda: self.set_gain(1.0))
        self.set_label(label or default_label(key))

    # --- display --------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self._label

    def set_label(self, label: str) -> None:
        """The strip's instrument name (shown with its key number, when it has one)."""
        self._label = label
        prefix = f"{self.number}  " if self.number is not None else ""
        # a parenthesis goes on a line of its own ("Residual" / "(everything else)"): a fixed
        # break, not word wrap, which would make the label's height depend on its width
        self.name.setText(f"{prefix}{label}".replace(" (", "\n("))
        self.name.setToolTip(f"{label} (strip key {self.key!r})")

    @property
    def removable(self) -> bool:
        return not self.remove.isHidden()

    def set_removable(self, on: bool) -> None:
        """Show (``on``) or hide the remove button (never on the mixture or the residual)."""
        self.remove.setVisible(bool(on) and self.key not in (MIX, RESIDUAL))

    def set_number(self, number: int | None) -> None:
        """The digit key that solos this strip (None: no key)."""
        self.number = number
        self.set_label(self._label)

    def push(self, spectrum: np.ndarray) -> None:
        """Append spectrogram columns (dB); drawn at the next :meth:`redraw`."""
        self.spectrogram.push(spectrum)

    def set_level(self, level_db: float) -> None:
        self.meter.set_level(level_db)

    def set_effective_gain(self, gain: float) -> None:
        """Dim the name while the mixer holds this strip silent (muted, or another soloed)."""
        silent = self.has_controls and gain <= 1e-6
        if silent != self._silent:  # a style sheet is costly: only on a change
            self._silent = silent
            self.name.setStyleSheet("color: #777;" if silent else "")

    def redraw(self) -> bool:
        return self.spectrogram.redraw()

    # --- controls -------------------------------------------------------------------------
    def is_solo(self) -> bool:
        return self.solo.isChecked()

    def is_muted(self) -> bool:
        return self.mute.isChecked()

    def gain_value(self) -> float:
        return self.gain.value() / GAIN_STEPS

    def set_solo(self, on: bool) -> None:
        """Check / uncheck Solo (emits ``soloToggled`` when it changes)."""
        self.solo.setChecked(bool(on))

    def set_mute(self, on: bool) -> None:
        """Check / uncheck Mute (emits ``muteToggled`` when it changes)."""
        self.mute.setChecked(bool(on))

    def set_gain(self, gain: float) -> None:
        """Move the gain slider (clipped to 0 .. 2; emits ``gainChanged`` when it moves)."""
        self.gain.setValue(int(round(min(max(float(gain), 0.0), MAX_GAIN) * GAIN_STEPS)))

    def _gain_moved(self, value: int) -> None:
        gain = value / GAIN_STEPS
        self.gain_label.setText(f"{gain:.2f}x")
        self.gainChanged.emit(self.key, gain)


class StripPanel(QWidget):
    """The strips in display order: mixture first, then the tracks (in the order the session
    lists them), then the residual. Re-emits every strip's control signals.

    Track strips and the residual are numbered 1, 2, ... in that order: the number is the digit
    key that solos the strip (Shift + digit mutes it).
    """

    soloToggled = Signal(object, bool)
    muteToggled = Signal(object, bool)
    gainChanged = Signal(object, float)
    removeRequested = Signal(object)
    #: ``stripAdded(strip)``: a new strip exists (its signals are already connected).
    stripAdded = Signal(object)
    stripRemoved = Signal(object)

    def __init__(self, parent: QWidget | None = None, history: int = HISTORY_COLUMNS) -> None:
        super().__init__(parent)
        self.history = history
        self._strips: dict = {}
        self._order: list = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)

    def keys(self) -> list:
        """Strip keys in display order."""
        return list(self._order)

    def strips(self) -> list[StripWidget]:
        return [self._strips[k] for k in self._order]

    def strip(self, key) -> StripWidget | None:
        return self._strips.get(key)

    def numbered(self) -> list[StripWidget]:
        """The strips digit keys reach, strip 1 first (tracks, then the residual)."""
        return [self._strips[k] for k in self._order if k != MIX]

    def strip_number(self, number: int) -> StripWidget | None:
        """Strip ``number`` (1-based) of :meth:`numbered`, or None."""
        numbered = self.numbered()
        return numbered[number - 1] if 1 <= number <= len(numbered) else None

    def sync(self, strips) -> bool:
        """Make the panel show exactly ``strips``: ``(key, label)`` pairs (any order; the panel
        sorts them). Strips of keys no longer listed go away; track labels are updated (the
        mixture and the residual always read "Mixture" and "Residual (everything else)"). True
        when a strip was added or removed."""
        # the mixture and the residual keep the names that say what they are
        wanted = {k: default_label(k) if k in (MIX, RESIDUAL) else label for k, label in strips}
        tracks = [k for k in wanted if k not in (MIX, RESIDUAL)]
        order = ([MIX] if MIX in wanted else []) + tracks \
            + ([RESIDUAL] if RESIDUAL in wanted else [])
        changed = False
        for key in [k for k in self._order if k not in wanted]:
            strip = self._strips.pop(key)
            self._layout.removeWidget(strip)
            strip.hide()
            strip.deleteLater()
            self.stripRemoved.emit(key)
            changed = True
        added = []
        for key in order:
            strip = self._strips.get(key)
            if strip is None:
                strip = StripWidget(key, wanted[key] or None, history=self.history)
                strip.soloToggled.connect(self.soloToggled)
                strip.muteToggled.connect(self.muteToggled)
                strip.gainChanged.connect(self.gainChanged)
                strip.removeRequested.connect(self.removeRequested)
                self._strips[key] = strip
                added.append(strip)
                changed = True
            elif wanted[key] and wanted[key] != strip.label:
                strip.set_label(wanted[key])
        if changed or order != self._order:
            self._order = order
            for index, key in enumerate(order):
                self._layout.insertWidget(index, self._strips[key])
            for number, strip in enumerate(self.numbered(), start=1):
                strip.set_number(number if number <= 9 else None)
        for strip in added:
            strip.show()
            self.stripAdded.emit(strip)
        return changed

    def clear(self) -> None:
        """Remove every strip (a new session starts)."""
        self.sync([])
