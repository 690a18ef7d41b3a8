"""Start the desktop app: ``run(options)`` is what ``crn-live`` calls (without ``--no-gui``).

It creates the QApplication (Fusion style with a dark palette, which suits spectrograms), the
:class:`~ui.main_window.MainWindow`, opens and starts the session and runs Qt's event loop until
the window closes. When the devices cannot be opened (no camera, no microphone) the window shows
the one-line reason and a "Play the demo scene" button.
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from .main_window import MainWindow


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style."""
    palette = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colors = {role.Window: "#202124", role.WindowText: "#e8eaed", role.Base: "#17181a",
              role.AlternateBase: "#26272b", role.ToolTipBase: "#2d2e31",
              role.ToolTipText: "#e8eaed", role.PlaceholderText: "#80868b",
              role.Text: "#e8eaed", role.Button: "#2d2e31", role.ButtonText: "#e8eaed",
              role.BrightText: "#ff5252", role.Light: "#3c4043", role.Midlight: "#35363a",
              role.Mid: "#2a2b2e", role.Dark: "#111214", role.Shadow: "#000000",
              role.Link: "#8ab4f8", role.Highlight: "#3d6fb4",
              role.HighlightedText: "#ffffff"}
    for r, color in colors.items():
        palette.setColor(r, QColor(color))
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, r, QColor("#6b6e72"))
    return palette


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style + :func:`dark_palette` (and pyqtgraph's defaults to match)."""
    import pyqtgraph as pg

    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setPalette(dark_palette())
    pg.setConfigOptions(background="#000000", foreground="#e8eaed")


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The running QApplication, or a new one themed by :func:`apply_dark_theme`."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "crn-live", *(argv or ())])
        app.setOrganizationName("crn-live")
        app.setApplicationName("crn-live")
        apply_dark_theme(app)
    return app


def run(options=None, argv: Sequence[str] | None = None,
        session_factory: Callable | None = None) -> int:
    """Show the window for ``options`` (a ``SessionOptions``; None: the saved devices) and run
    until it closes. ``argv``: extra arguments for Qt (e.g. ``-platform offscreen``).

    Returns the exit code (0 when the window was closed normally).
    """
    app = application(argv)
    apply_dark_theme(app)  # also when a QApplication existed already
    window = MainWindow(options, session_factory=session_factory)
    window.show()
    code = app.exec()
    return int(code or 0)
