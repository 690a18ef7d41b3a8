"""Qt runs offscreen, and no test touches the user's settings.

``QT_QPA_PLATFORM=offscreen`` and a private ``XDG_CONFIG_HOME`` are set before anything imports
Qt; QSettings' default paths also point into a temporary folder. Fixtures: ``settings`` (a
fresh INI file per test), ``pulse`` (the PulseAudio null sink as this process's devices).
"""

from __future__ import annotations

import os
import shutil
import tempfile

os.environ["QT_QPA_PLATFORM"] = "offscreen"
_CONFIG = tempfile.mkdtemp(prefix="crn-live-ui-tests-")
os.environ["XDG_CONFIG_HOME"] = _CONFIG

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from crn_live.stream.devices import NULL_SINK, ensure_pulse_null_sink  # noqa: E402

for _scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
    QSettings.setPath(QSettings.Format.IniFormat, _scope, _CONFIG)
    QSettings.setPath(QSettings.Format.NativeFormat, _scope, _CONFIG)


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """A QSettings in an INI file of the test's own temporary folder."""
    return QSettings(str(tmp_path / "crn-live.ini"), QSettings.Format.IniFormat)


@pytest.fixture(scope="session")
def pulse() -> str:
    """The PulseAudio null sink as default output / input; skips without ``pulseaudio``."""
    if shutil.which("pulseaudio") is None:
        pytest.skip("pulseaudio is not installed (scripts/install.sh installs it)")
    if not ensure_pulse_null_sink():
        pytest.fail("ensure_pulse_null_sink() found no default input and output device")
    return NULL_SINK


def pytest_sessionfinish(session, exitstatus) -> None:
    shutil.rmtree(_CONFIG, ignore_errors=True)
