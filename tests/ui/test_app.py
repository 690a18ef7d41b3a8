"""ui.app: the dark theme and ``run`` (QApplication, window, session, event loop, exit code).

``run`` runs in a fresh process: it creates its own QApplication, and an event loop that ended
by closing the last window leaves Qt unwilling to activate windows in the tests after it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QPalette

from crn_live.ui.app import dark_palette, display_problem, platform_requested

ROOT = Path(__file__).resolve().parents[2]

RUN = """
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from crn_live.stream.session import SessionOptions
from tests.ui.fakes import FakeFactory
from crn_live.ui.app import application, run

application()  # the timers below need the application that run() then uses
factory, seen = FakeFactory(), []

def close():
    seen.extend(type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible())
    QApplication.closeAllWindows()

QTimer.singleShot(300, close)
QTimer.singleShot(10000, lambda: QApplication.exit(3))  # a safety net
code = run(SessionOptions(camera=0), session_factory=factory)
app = QApplication.instance()
print(code, "MainWindow" in seen, bool(factory.opened) and factory.opened[0].closed,
      app.style().name().lower(), app.palette().color(QPalette.ColorRole.Window).lightness())
"""


def test_the_palette_is_dark_with_light_text():
    palette = dark_palette()
    role = QPalette.ColorRole
    assert palette.color(role.Window).lightness() < 60
    assert palette.color(role.Base).lightness() < 60
    assert palette.color(role.WindowText).lightness() > 200


@pytest.mark.slow
def test_run_shows_the_window_and_returns_the_exit_code(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    code, shown, closed, style, lightness = done.stdout.split()[-5:]
    assert (code, shown, closed, style) == ("0", "True", "True", "fusion")
    assert int(lightness) < 60


def _crn_live(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crn_live.cli", "live", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={k: v for k, v in env.items() if v is not None})


@pytest.mark.slow
@pytest.mark.parametrize("display, said", [(":4242", "could not connect to the display :4242"),
                                           (None, "no display")])
def test_no_display_is_one_line_and_exit_2(display, said, tmp_path) -> None:
    """Qt aborts (SIGABRT) when its platform cannot start: crn-live says why in one line."""
    env = {**os.environ, "QT_QPA_PLATFORM": None, "WAYLAND_DISPLAY": None, "DISPLAY": display,
           "XDG_CONFIG_HOME": str(tmp_path)}
    done = _crn_live(["--demo"], env)
    assert done.returncode == 2, done.stderr[-2000:]
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert said in err and "--no-gui" in err


def test_missing_xcb_libraries_name_the_apt_command() -> None:
    qt = ('qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb '
          'platform plugin.\nqt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" '
          'even though it was found.\nThis application failed to start because no Qt platform '
          'plugin could be initialized.')
    line = display_problem(qt, {"DISPLAY": ":0"})
    assert "\n" not in line and "sudo apt-get install" in line and "libxcb-cursor0" in line
    assert "--no-gui" in line
    assert platform_requested(["-platform", "offscreen"]) == "offscreen"


XCB_SHOTS = """
import sys, time
from pathlib import Path
from PySide6.QtCore import QPoint, QSettings
from crn_live.stream.session import SessionOptions
from crn_live.ui.app import application
from crn_live.ui.main_window import MainWindow

out = Path(sys.argv[1])
app = application()
assert app.platformName() == "xcb", app.platformName()
settings = QSettings(str(out / "crn-live.ini"), QSettings.Format.IniFormat)
window = MainWindow(SessionOptions.demo(output=None), settings=settings)
window.resize(1280, 760)
window.move(0, 0)
window.show()

def pump(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)

deadline = time.monotonic() + 60
while window.session is None and window.error is None and time.monotonic() < deadline:
    pump(0.05)
assert window.error is None, window.error
pump(4.0)

def shot(name):  # the X server's pixels where the strips are, not a widget render
    corner = window.strips.mapToGlobal(QPoint(0, 0))
    width = min(window.strips.width(), 1280 - corner.x())
    height = min(window.strips.height(), 800 - corner.y())
    app.primaryScreen().grabWindow(0, corner.x(), corner.y(), width, height).save(str(out / name))

shot("first.png")
pump(2.0)
shot("second.png")
window.close()
app.processEvents()
print("shots taken on", app.platformName())
"""


def _free_display() -> int:
    return next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                and not Path(f"/tmp/.X{n}-lock").exists())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed "
                    "(scripts/install.sh installs it)")
def test_the_real_window_on_xcb_scrolls_its_spectrograms(tmp_path) -> None:
    """The window on the xcb platform of a real X server (Xvfb), not offscreen: two screen
    grabs of the strips two seconds apart differ, and both show a picture."""
    number = _free_display()
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten",
                               "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        env = {**os.environ, "DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb",
               "XDG_CONFIG_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", XCB_SHOTS, str(tmp_path)], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shots taken on xcb" in done.stdout
    first = cv2.imread(str(tmp_path / "first.png"))
    second = cv2.imread(str(tmp_path / "second.png"))
    assert first is not None and first.shape == second.shape and first.shape[0] > 200
    assert first.std() > 10 and second.std() > 10  # spectrograms drawn, not a blank area
    moved = np.abs(first.astype(np.int16) - second.astype(np.int16)).mean(axis=2) > 8
    assert moved.mean() > 0.05, moved.mean()  # the spectrograms scrolled
