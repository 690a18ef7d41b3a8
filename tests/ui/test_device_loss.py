"""The window on a real LiveSession whose microphone goes away mid-run (a PulseAudio null
sink of this test's own, unloaded): the window shows the session's one line, the recording is
whole up to the last chunk, and Start opens a new session on the same devices once the device
is back."""

from __future__ import annotations

import dataclasses

import re
import time

import pytest
import soundfile
from PySide6.QtWidgets import QApplication

from crn_live.stream.session import SessionOptions
from crn_live.ui.main_window import MainWindow
from tests.stream.sources.unplug import LoseableDevice

pytestmark = pytest.mark.slow


def wait_until(condition, timeout: float, what: str) -> None:
    """Run Qt's event loop until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.005)


def test_a_lost_microphone_shows_its_line_and_start_reopens(qapp, pulse, settings,
                                                             monkeypatch, tmp_path):
    device = LoseableDevice(monkeypatch, ("input",))
    options = SessionOptions(camera=None, mic="default", output=None, backend="onnxruntime",
                             device_latency=0.1)
    window = MainWindow(options, settings=settings)
    window.show()
    try:
        wait_until(window.is_running, 30, "the session to run")
        first = window.session
        wait_until(lambda: first.status().chunks >= 5, 20, "audio through the engine")
        window.set_record_folder(tmp_path / "take")
        before = first.status().chunks
        window.toggle_recording()
        assert window.is_recording()
        wait_until(lambda: first.status().chunks >= 15, 20, "a recorded second or so")
        device.unplug()
        wait_until(lambda: window.error is not None, 5, "the window to show the loss")

        line = window.error
        assert re.fullmatch(r"the microphone 'default' went away at \d+\.\d s \(PulseAudio "
                            rf"source '{re.escape(device.monitor)}' was removed\); recording "
                            rf"kept in {re.escape(str(tmp_path / 'take'))}; press Start to "
                            r"restart", line), line
        assert window.pages.currentWidget() is window.error_page
        assert window.error_page.title.text() == "Stopped"
        assert window.error_page.message.text() == line
        assert window.statusBar().currentMessage() == line
        assert window.start_action.text() == "Start" and not window.is_running()
        assert not window.is_recording() and first.finished
        recorded = first.status().chunks - before  # give or take the chunk in flight
        for name in ("mix", "residual", "played"):
            frames = len(soundfile.read(tmp_path / "take" / f"{name}.wav")[0])
            assert frames in ((recorded - 1) * first.engine.chunk_samples,
                              recorded * first.engine.chunk_samples), (name, frames)
        assert (tmp_path / "take" / "stats.json").is_file()

        device.plug()  # the microphone is back: Start opens a new session on it
        window.start_action.trigger()
        wait_until(lambda: window.session is not first and window.is_running(), 30,
                   "a new session")
        assert window.error is None and window.pages.currentWidget() is window.splitter
        # the same options; the session only fills in the output prefill it sized itself
        assert dataclasses.replace(window.session.options,
                                   output_prefill_ms=options.output_prefill_ms) == options
        wait_until(lambda: window.session.status().chunks >= 5, 20, "audio after the restart")
        assert window.session.error is None
    finally:
        window.close()
        device.close()
