"""The app's settings, apart from the views: :class:`AppSettings` reads and writes them in a
QSettings store (organisation and application "crn-live"; tests pass their own), and the window
only asks it.

Keys (the values are JSON text, except Qt's own byte arrays under ``window/``):

* ``devices/camera``, ``devices/mic``, ``devices/output``: the device choices (an index, a
  name or null; never a file standing in for a device);
* ``gains/<name>``: a strip's gain by :func:`gain_name` (the instrument's class, or
  ``residual``), so that a violin's gain outlives its track id;
* ``record/folder``: the folder last recorded into;
* ``window/geometry``, ``window/splitter``: the window's geometry and its splitter's state.

Every change is written to the store at once; :meth:`AppSettings.sync` flushes it to disk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QSplitter, QWidget

from .strip import RESIDUAL

ORGANIZATION = APPLICATION = "crn-live"
#: The device choices saved, with what is used when none is saved.
DEFAULT_DEVICES = {"camera": 0, "mic": "default", "output": "default"}
#: The window's size before any is saved, and the splitter's (the strips get the larger share).
DEFAULT_WINDOW_SIZE = (1280, 760)
DEFAULT_SPLITTER_SIZES = (540, 740)


def default_store() -> QSettings:
    """The user's settings store (organisation and application "crn-live")."""
    return QSettings(ORGANIZATION, APPLICATION)


def gain_name(key: int | str, label: str) -> str:
    """The name a strip's gain is saved under: ``residual``, or the instrument's class name
    (the label without a trailing track number), so a violin's gain outlives its track id."""
    if key == RESIDUAL:
        return RESIDUAL
    name = re.sub(r"\s*#\d+$", "", label.strip()) or str(key)
    return name.replace("/", "_")


def is_device_choice(value: object) -> bool:
    """True for what is saved as a device: None, an index or a device name (a file standing in
    for a device, like the demo's, is not)."""
    return value is None or isinstance(value, int) or (
        isinstance(value, str) and not Path(value).is_file())


class AppSettings:
    """The settings of the window in ``store`` (default: :func:`default_store`)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else default_store()

    # --- JSON values --------------------------------------------------------------------------
    def load(self, key: str, default: object = None) -> object:
        """The value saved under ``key``; ``default`` when there is none or it is not JSON."""
        text = self.store.value(key)
        if text is None:
            return default
        try:
            return json.loads(str(text))
        except ValueError:
            return default

    def save(self, key: str, value: object) -> None:
        self.store.setValue(key, json.dumps(value))

    # --- devices ------------------------------------------------------------------------------
    def devices(self) -> dict[str, object]:
        """The saved device choices by option name (:data:`DEFAULT_DEVICES` for those unsaved)."""
        return {field: self.load(f"devices/{field}", default)
                for field, default in DEFAULT_DEVICES.items()}

    def save_devices(self, options: object) -> None:
        """Remember the devices of ``options`` (a ``SessionOptions``), skipping files."""
        for field in DEFAULT_DEVICES:
            value = getattr(options, field, None)
            if is_device_choice(value):
                self.save(f"devices/{field}", value)

    # --- gains --------------------------------------------------------------------------------
    def gain(self, key: int | str, label: str) -> float:
        """The saved gain of strip ``key`` labelled ``label`` (1.0 when none or not a number)."""
        try:
            return float(self.load(f"gains/{gain_name(key, label)}", 1.0))
        except (TypeError, ValueError):
            return 1.0

    def save_gain(self, key: int | str, label: str, gain: float) -> None:
        self.save(f"gains/{gain_name(key, label)}", gain)

    # --- recording ----------------------------------------------------------------------------
    def record_folder(self) -> str:
        """The folder last recorded into (the home folder before the first recording)."""
        return str(self.load("record/folder", str(Path.home())))

    def save_record_folder(self, folder: Path | str) -> None:
        self.save("record/folder", str(folder))

    # --- window -------------------------------------------------------------------------------
    def restore_window(self, window: QWidget, splitter: QSplitter) -> None:
        """Give ``window`` and ``splitter`` their saved geometry and state (else the defaults)."""
        geometry = self.store.value("window/geometry")
        if geometry is not None:
            window.restoreGeometry(geometry)
        else:
            window.resize(*DEFAULT_WINDOW_SIZE)
        state = self.store.value("window/splitter")
        if state is None or not splitter.restoreState(state):
            splitter.setSizes(list(DEFAULT_SPLITTER_SIZES))

    def save_window(self, window: QWidget, splitter: QSplitter) -> None:
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/splitter", splitter.saveState())

    def sync(self) -> None:
        """Write what changed to disk."""
        self.store.sync()
