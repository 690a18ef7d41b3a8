"""The crn-live desktop app (PySide6 + pyqtgraph): the only package that imports Qt.

Modules: :mod:`ui.app` (``run``: QApplication, dark theme, main window), :mod:`ui.main_window`
(toolbar, video, strips, status bar, keys, the session's lifecycle), :mod:`ui.device_bar` (the
camera / microphone / output pickers), :mod:`ui.settings` (what outlives the window, in
QSettings), :mod:`ui.video_view` (camera frame with track boxes, manual regions),
:mod:`ui.strip` (one mixer strip: scrolling spectrogram, meter, solo / mute / gain),
:mod:`ui.bridge` (a QTimer draining the session's frame queue), :mod:`ui.colors` (one stable
colour per track) and :mod:`ui.screenshot`. The app uses a session through
:class:`crn_live.stream.protocol.SessionProtocol` only.
"""

# Before any widget exists: keep PySide6 6.12.0 (Python < 3.12) from aborting.
from .compat import guard_singletons  # noqa: E402

__all__ = ["guard_singletons"]
