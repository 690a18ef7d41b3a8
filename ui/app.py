"""Start the desktop app: ``run(options)`` is what ``crn-live`` calls (without ``--no-gui``).

It creates the QApplication (Fusion style with a dark palette, which suits spectrograms), the
:class:`~ui.main_window.MainWindow`, opens and starts the session and runs Qt's event loop until
the window closes. When the devices cannot be opened (no camera, no microphone) the window shows
the one-line reason and a "Play the demo scene" button.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Callable, Sequence

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from crn_live.errors import UserError

from .main_window import MainWindow

#: What Qt's xcb platform plugin needs on Debian/Ubuntu (scripts/install.sh installs them).
XCB_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
                "libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 "
                "libxkbcommon-x11-0")
#: Platforms that need no display server.
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc")
_PROBE = ("import sys; from PySide6.QtGui import QGuiApplication; "
          "app = QGuiApplication(sys.argv[:1] + sys.argv[1:]); print(app.platformName())")


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


def platform_requested(argv: Sequence[str] | None = None) -> str:
    """The Qt platform ``argv`` (``-platform NAME``) or ``QT_QPA_PLATFORM`` asks for ('' for
    Qt's default)."""
    args = list(argv or ())
    for k, arg in enumerate(args[:-1]):
        if arg in ("-platform", "--platform"):
            return args[k + 1]
    return os.environ.get("QT_QPA_PLATFORM", "")


def check_display(argv: Sequence[str] | None = None, timeout: float = 30.0) -> None:
    """Make sure Qt can open its display platform, or raise a one-line :class:`UserError`.

    Qt aborts the whole process (SIGABRT) when no platform plugin can start, so a short child
    process tries first; headless platforms (``offscreen``) need no check.
    """
    platform = platform_requested(argv)
    if platform.split(":")[0] in HEADLESS_PLATFORMS:
        return
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, *(argv or ())],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"Qt did not open the display within {timeout:.0f} s; run crn-live "
                        f"--no-gui, or check the X server / Wayland session") from None
    if done.returncode == 0:
        return
    raise UserError(display_problem(done.stderr, os.environ))


def display_problem(qt_stderr: str, env: dict | os._Environ) -> str:
    """One line: why Qt could not open a display, and what to do (from Qt's messages)."""
    text = qt_stderr.lower()
    if "could not connect to display" in text or "failed to create wl_display" in text:
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            return ("the window cannot open: no display (DISPLAY and WAYLAND_DISPLAY are not "
                    "set); start crn-live from a desktop session, or run crn-live --no-gui")
        where = env.get("WAYLAND_DISPLAY") or env.get("DISPLAY")
        return (f"the window cannot open: Qt could not connect to the display {where}; check "
                f"that the X server / Wayland session is running, or run crn-live --no-gui")
    if "could not load the qt platform plugin" in text:
        return (f"the window cannot open: Qt's platform plugin does not load (missing system "
                f"libraries); install them with: sudo apt-get install {XCB_PACKAGES}, or run "
                f"crn-live --no-gui")
    first = next((line for line in qt_stderr.splitlines() if line.strip()), "no message")
    return f"the window cannot open: Qt failed ({first.strip()[:160]}); run crn-live --no-gui"


def run(options=None, argv: Sequence[str] | None = None,
        session_factory: Callable | None = None) -> int:
    """Show the window for ``options`` (a ``SessionOptions``; None: the saved devices) and run
    until it closes. ``argv``: extra arguments for Qt (e.g. ``-platform offscreen``).

    Returns the exit code (0 when the window was closed normally).
    """
    if QApplication.instance() is None:
        check_display(argv)
    app = application(argv)
    apply_dark_theme(app)  # also when a QApplication existed already
    window = MainWindow(options, session_factory=session_factory)
    window.show()
    code = app.exec()
    return int(code or 0)
