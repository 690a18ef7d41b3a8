"""ui.app: the dark theme and ``run`` (QApplication, window, session, event loop, exit code).

``run`` runs in a fresh process: it creates its own QApplication, and an event loop that ended
by closing the last window leaves Qt unwilling to activate windows in the tests after it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QPalette

from crn_live.ui.app import dark_palette

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
