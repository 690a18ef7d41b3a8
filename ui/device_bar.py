"""The device pickers: camera, microphone and output, side by side in one widget for the
window's toolbar.

Each picker lists "none" (and the default device) first, then what :func:`find_devices` found:
cameras through OpenCV, audio devices through PortAudio. A choice that is not listed (a file
standing in for a device, a device gone since) gets an entry of its own when it is shown.

The bar only shows and reports choices; the window opens sessions. ``deviceChosen(field,
value)`` says that the user picked an entry: ``field`` is the ``SessionOptions`` field it sets
(``camera``, ``mic`` or ``output``), ``value`` what goes there (an index, a name or None).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from crn_live.errors import UserError

#: The pickers by the option they set: label and tooltip.
PICKERS = {"camera": ("Camera", "the camera that sees the players"),
           "mic": ("Microphone", "what is separated"),
           "output": ("Output", "where the mix is played")}
#: Widest a picker gets (long PortAudio names are cut).
PICKER_MAX_WIDTH = 230

Entries = list[tuple[str, object]]


def find_devices() -> tuple[list[dict], list[str], list[str]]:
    """``(cameras, input names, output names)``: ``list_cameras()`` and the names of
    ``list_audio_devices()`` with inputs / outputs. What cannot be listed (OpenCV or PortAudio
    trouble) is reported on stderr and left empty: it must not keep the window from opening."""
    from crn_live.stream.devices import list_audio_devices, list_cameras

    cameras, devices = [], []
    try:
        cameras = list_cameras()
    except Exception as exc:
        print(f"crn-live: could not list cameras: {exc}", file=sys.stderr)
    try:
        devices = list_audio_devices()
    except UserError as exc:
        print(f"crn-live: {exc}", file=sys.stderr)
    inputs = [d["name"] for d in devices if d["inputs"] > 0]
    outputs = [d["name"] for d in devices if d["outputs"] > 0]
    return cameras, inputs, outputs


def picker_entries(cameras: Sequence[dict] = (), inputs: Sequence[str] = (),
                   outputs: Sequence[str] = ()) -> dict[str, Entries]:
    """Each picker's entries ``(text, value)``: none / default first, then the devices."""
    return {
        "camera": [("No camera", None)]
        + [(f"Camera {c['index']} ({c['width']}x{c['height']})", c["index"]) for c in cameras],
        "mic": [("Default microphone", "default"), ("No microphone", None)]
        + [(name, name) for name in inputs],
        "output": [("Default output", "default"), ("No output", None)]
        + [(name, name) for name in outputs],
    }


def describe(value: object) -> str:
    """The text of an entry added for an unlisted ``value``: ``Camera 3``, ``File: a.wav``,
    or the name itself."""
    if isinstance(value, int):
        return f"Camera {value}"
    text = str(value)
    return f"File: {Path(text).name}" if Path(text).is_file() else text


class DeviceBar(QWidget):
    """The three pickers (``camera_box``, ``mic_box``, ``output_box``) with their labels.

    ``list_devices``: fill them from :func:`find_devices` (False: only the fixed entries, e.g.
    when PortAudio is absent, and in tests).
    """

    deviceChosen = Signal(str, object)

    def __init__(self, list_devices: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._boxes: dict[str, QComboBox] = {}
        for field, (name, tip) in PICKERS.items():
            box = self._picker(name, tip)
            box.activated.connect(lambda _index, field=field: self._activated(field))
            layout.addWidget(QLabel(f" {name} "))
            layout.addWidget(box)
            self._boxes[field] = box
        self.camera_box, self.mic_box, self.output_box = (self._boxes[field] for field in
                                                          ("camera", "mic", "output"))
        self.fill(*(find_devices() if list_devices else ()))

    @staticmethod
    def _picker(name: str, tip: str) -> QComboBox:
        box = QComboBox()
        box.setObjectName(name.lower())
        box.setToolTip(tip)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        box.setMaximumWidth(PICKER_MAX_WIDTH)
        box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return box

    def boxes(self) -> dict[str, QComboBox]:
        """The pickers by the option they set."""
        return dict(self._boxes)

    def fill(self, cameras: Sequence[dict] = (), inputs: Sequence[str] = (),
             outputs: Sequence[str] = ()) -> None:
        """Replace the entries by :func:`picker_entries` (no signal is emitted)."""
        for field, items in picker_entries(cameras, inputs, outputs).items():
            box = self._boxes[field]
            box.blockSignals(True)
            box.clear()
            for text, value in items:
                box.addItem(text, value)
            box.blockSignals(False)

    def value(self, field: str) -> object:
        """What the ``field`` picker has chosen."""
        return self._boxes[field].currentData()

    def show_options(self, options: object) -> None:
        """Select each picker's entry for ``options`` (a ``SessionOptions``), adding it when
        missing; no signal is emitted."""
        for field, box in self._boxes.items():
            index = self._entry(box, getattr(options, field))
            box.blockSignals(True)
            box.setCurrentIndex(index)
            box.blockSignals(False)

    def choose(self, field: str, value: object) -> None:
        """Pick ``value`` for ``field`` as the user would (``deviceChosen`` is emitted)."""
        box = self._boxes[field]
        box.setCurrentIndex(self._entry(box, value))
        self._activated(field)

    def _entry(self, box: QComboBox, value: object) -> int:
        """Index of ``value`` in ``box``, added as a new entry when missing."""
        index = next((i for i in range(box.count()) if box.itemData(i) == value), -1)
        if index < 0:
            box.addItem(describe(value), value)
            index = box.count() - 1
        return index

    def _activated(self, field: str) -> None:
        self.deviceChosen.emit(field, self.value(field))
