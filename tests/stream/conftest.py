"""Audio device fixtures: a PulseAudio null sink as this process's default output and input.

``pulse`` sets up the shared sink ``crn_null`` (:func:`ensure_pulse_null_sink`);
``private_sink`` gives one test a null sink of its own, so that other processes playing into
``crn_null`` at the same time (another test run on the machine) cannot leak into what it
records.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from crn_live.stream.devices import KEEPALIVE_SINK, NULL_SINK, ensure_pulse_null_sink


@pytest.fixture(scope="session")
def pulse() -> str:
    """Name of the null sink this process plays into (its monitor is the default input).

    Skips only when the ``pulseaudio`` binary is absent; fails when it is installed and the
    null sink still cannot be set up.
    """
    if shutil.which("pulseaudio") is None:
        pytest.skip("pulseaudio is not installed (scripts/install.sh installs it): "
                    "no audio devices to test on")
    if not ensure_pulse_null_sink():
        pytest.fail("pulseaudio is installed but ensure_pulse_null_sink() found no default "
                    "input and output device afterwards (try: pulseaudio --daemonize; "
                    "pactl info)")
    return NULL_SINK


def _pactl(*args: str) -> str:
    done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        pytest.fail(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@pytest.fixture
def private_sink(pulse, monkeypatch) -> str:
    """A null sink for this test only, made this process's default output (and its monitor
    the default input) through ``PULSE_SINK`` / ``PULSE_SOURCE``; removed afterwards."""
    name = f"crn_test_{os.getpid()}_{time.monotonic_ns() % 10**6}"
    modules = [_pactl("load-module", "module-null-sink", f"sink_name={name}", "rate=48000")]
    # Keep it rendering in small blocks (see devices.KEEPALIVE_SINK) and restart its timer.
    modules.append(_pactl("load-module", "module-loopback", f"source={name}.monitor",
                          f"sink={KEEPALIVE_SINK}", "latency_msec=20", "source_dont_move=true",
                          "sink_dont_move=true"))
    _pactl("suspend-sink", name, "1")
    _pactl("suspend-sink", name, "0")
    monkeypatch.setenv("PULSE_SINK", name)
    monkeypatch.setenv("PULSE_SOURCE", f"{name}.monitor")
    yield name
    for module in reversed(modules):
        subprocess.run(["pactl", "unload-module", module], capture_output=True, timeout=10)
