"""The window on a real LiveSession: the bundled demo scene (video + mixture files, looped) with
its output played into the PulseAudio null sink.

One window serves the module (opening a session loads the models: about a second). The
engine runs non-adaptive here (``adaptive=False``): on a busy two-core machine an adaptive
engine may fall back to dry pass-through, where the mixer is bypassed by design. What is heard
is read back from a recording: ``played.wav`` is a linear mix of the per-track stems and the
residual, so a least-squares fit of the stems to it gives each strip's gain as heard.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from crn_live.stream.protocol import SessionProtocol
from crn_live.stream.session import SessionOptions
from crn_live.ui.colors import color_for
from crn_live.ui.main_window import MainWindow

pytestmark = pytest.mark.slow


def wait_until(condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Run Qt's event loop until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.005)


def run_for(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.005)


def track_keys(window) -> list[int]:
    return [k for k in window.strips.keys() if isinstance(k, int)]


def open_window(settings: QSettings, options) -> MainWindow:
    window = MainWindow(options, settings=settings)
    window.show()
    return window


@pytest.fixture(scope="module")
def demo_window(qapp, pulse, tmp_path_factory):
    settings = QSettings(str(tmp_path_factory.mktemp("settings") / "crn-live.ini"),
                         QSettings.Format.IniFormat)
    window = open_window(settings, SessionOptions.demo(adaptive=False))
    wait_until(lambda: window.session is not None, 20, "the session to open")
    wait_until(lambda: len(track_keys(window)) >= 3, 10, "three track strips")
    yield window
    window.close()


def record(window, folder: Path, seconds: float = 1.2) -> dict[str, np.ndarray]:
    """Record ``seconds`` into ``folder``: ``{file stem: samples}``."""
    window.set_record_folder(folder)
    window.toggle_recording()
    assert window.is_recording()
    run_for(seconds)
    window.toggle_recording()
    assert window.last_recording == folder
    return {p.stem: soundfile.read(p, dtype="float32")[0] for p in folder.glob("*.wav")}


def heard_gains(window, wavs: dict[str, np.ndarray]) -> dict:
    """Each strip's gain in ``played``: least squares over the stems and the residual."""
    names = {key: next(n for n in wavs if n.startswith(f"track-{key:03d}-"))
             for key in track_keys(window)}
    names["residual"] = "residual"
    n = min(len(wavs[name]) for name in [*names.values(), "played"])
    stems = np.stack([wavs[name][:n] for name in names.values()], axis=1)
    gains, *_ = np.linalg.lstsq(stems, wavs["played"][:n], rcond=None)
    return dict(zip(names, np.round(gains, 3)))


def test_strips_follow_the_tracks_in_their_colours(demo_window):
    window = demo_window
    assert isinstance(window.session, SessionProtocol)
    run_for(0.5)
    video = window.session.latest_video()
    assert video is not None and window.video.frame_size == video.image.shape[1::-1]
    classes = {t.track_id: t.class_name for t in video.tracks}
    keys = track_keys(window)
    assert window.strips.keys() == ["mix", *keys, "residual"]
    assert set(keys) == set(classes) == set(window.video.boxes)
    for key in keys:
        strip = window.strips.strip(key)
        assert strip.label == classes[key]
        assert strip.color == color_for(key) == window.video.boxes[key].rect.pen().color()
        assert strip.spectrogram.columns_pushed > 10 and strip.spectrogram.redraws > 5
    assert window.bridge.fps > 10


def played_position_s(session) -> float:
    """Audio time (seconds of input) of what leaves the loudspeaker now, from the output's
    count of played samples: less the prefill (one start), the synthesis delay and what the
    device still holds."""
    output = session.output
    prefill = int(session.rate * session.options.output_prefill_ms / 1000.0)
    heard = (output.played_frames + output.dropped_frames - prefill
             - session.engine.stft_config.latency_samples - round(output.latency * session.rate))
    return heard / session.rate


def test_the_picture_shown_is_the_one_of_the_sound_heard(demo_window):
    """The frame on screen belongs to the audio leaving the loudspeaker, within the period of
    the frames (one per chunk) and a GUI tick, and the status bar says by how much it is
    delayed."""
    window = demo_window
    session = window.session
    wait_until(lambda: played_position_s(session) >= 1.0, 20, "a second of played audio")
    period = session.engine.chunk_ms / 1000.0
    tick = window.bridge.timer.interval() / 1000.0
    lags = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        QApplication.processEvents()
        lags.append(played_position_s(session) - window.video.frame.time_s)
        time.sleep(0.01)
    lags = np.asarray(lags)
    within = (lags >= -0.012) & (lags <= period + tick + 0.012)
    assert within.mean() >= 0.9, np.round(1000 * lags, 1)
    reported = window.last_status.playback_delay_ms
    assert window.sync_label.text() == f"picture delayed {reported:.0f} ms to match the sound"
    floor = session.engine.stft_config.latency_samples / session.rate + session.output.latency
    assert reported > 1000 * floor


def test_solo_mute_and_gain_change_what_is_heard(demo_window, tmp_path):
    window = demo_window
    a, b, c = track_keys(window)[:3]
    strips = window.strips
    qtbot_click = lambda button: button.click()  # noqa: E731 - a real click signal path

    qtbot_click(strips.strip(a).solo)
    run_for(0.3)  # the mixer ramps (20 ms); a chunk or two later the new gains are in play
    solo = heard_gains(window, record(window, tmp_path / "solo"))
    assert solo[a] == pytest.approx(1.0, abs=0.03)
    for key in (b, c, "residual"):
        assert solo[key] == pytest.approx(0.0, abs=0.03), solo

    qtbot_click(strips.strip(a).solo)
    qtbot_click(strips.strip(b).mute)
    run_for(0.3)
    mute = heard_gains(window, record(window, tmp_path / "mute"))
    assert mute[b] == pytest.approx(0.0, abs=0.03), mute
    for key in (a, c, "residual"):
        assert mute[key] == pytest.approx(1.0, abs=0.03), mute

    qtbot_click(strips.strip(b).mute)
    strips.strip(c).gain.setValue(50)  # the slider: 0.5
    run_for(0.3)
    gain = heard_gains(window, record(window, tmp_path / "gain"))
    assert gain[c] == pytest.approx(0.5, abs=0.03), gain
    for key in (a, b, "residual"):
        assert gain[key] == pytest.approx(1.0, abs=0.03), gain
    strips.strip(c).set_gain(1.0)

    written = {p.name for p in (tmp_path / "gain").iterdir()}
    assert {"played.wav", "mix.wav", "residual.wav", "stats.json", "objects.json"} <= written
    assert len([n for n in written if n.startswith("track-")]) == 3


def test_a_manual_region_becomes_a_track_and_right_click_removes_it(demo_window, qtbot):
    window = demo_window
    before = set(track_keys(window))
    window.video.begin_region((250.0, 10.0, 310.0, 60.0))
    window.video.complete_region("Violin")
    wait_until(lambda: len(track_keys(window)) == len(before) + 1, 5, "the manual track")
    (new,) = set(track_keys(window)) - before
    assert window.strips.strip(new).label == "Violin"
    wait_until(lambda: new in window.video.boxes, 2, "its box")
    assert "(manual)" in window.video.boxes[new].text
    centre = window.video.mapFromScene(window.video.boxes[new].rect.rect().center())
    qtbot.mouseClick(window.video.viewport(), Qt.MouseButton.RightButton, pos=centre)
    wait_until(lambda: new not in track_keys(window), 5, "the track to go")
    assert set(track_keys(window)) == before


def test_the_demo_button_runs_the_demo(qapp, pulse, settings):
    window = open_window(settings, SessionOptions(camera=0))  # there is no camera here
    try:
        wait_until(lambda: window.error is not None, 20, "the error page")
        assert window.pages.currentWidget() is window.error_page
        assert "no camera 0" in window.error_page.message.text()
        window.error_page.demo.click()
        wait_until(lambda: window.session is not None and len(track_keys(window)) >= 3, 20,
                   "the demo's strips")
        assert window.is_running() and window.demo
        assert Path(window.session.options.camera).name == "video.mp4"
    finally:
        window.close()


def test_settings_persist_across_a_restart(qapp, pulse, settings):
    window = open_window(settings, SessionOptions.demo())
    wait_until(lambda: len(track_keys(window)) >= 1, 20, "a track strip")
    key = track_keys(window)[0]
    label = window.strips.strip(key).label
    window.strips.strip(key).set_gain(0.3)
    window.strips.strip("residual").set_gain(1.6)
    window.resize(720, 520)  # within the offscreen screen (800 x 600)
    run_for(0.05)
    window.splitter.setSizes([200, 500])
    sizes = window.splitter.sizes()
    window.close()

    again = open_window(settings, SessionOptions.demo())
    try:
        wait_until(lambda: label in [s.label for s in again.strips.strips()], 20, label)
        strip = next(s for s in again.strips.strips() if s.label == label)
        assert strip.gain_value() == 0.3 and again.session.mixer.gain[strip.key] == 0.3
        assert again.strips.strip("residual").gain_value() == 1.6
        assert again.session.mixer.gain["residual"] == 1.6
        assert again.splitter.sizes() == sizes and again.size() == window.size()
    finally:
        again.close()
