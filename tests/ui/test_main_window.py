"""ui.main_window with fake sessions: keys, mixer calls, error page and demo button, device
pickers restarting the session, recording, regions, status bar and settings across a restart.
(The pickers themselves: test_device_bar.py; the settings store: test_settings.py.)"""

from __future__ import annotations

from PySide6.QtCore import Qt

from crn_live.stream.session import SessionOptions
from tests.ui.fakes import FakeFactory, ui_frame, video_frame
from crn_live.ui.main_window import MainWindow

LIVE = SessionOptions(camera=0, mic="default", output="default")


def make_window(qtbot, settings, factory=None, options=LIVE, **kwargs):
    factory = factory or FakeFactory()
    window = MainWindow(options, session_factory=factory, settings=settings, threaded=False,
                        list_devices=False, pace=False, **kwargs)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.windowHandle().requestActivate()  # key shortcuts go to the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    return window, factory


def feed(window, tracks=(1, 2)):
    """One frame with ``tracks`` through the bridge."""
    window.session.frames.append(ui_frame(window.bridge.frames, tracks=tracks))
    window.bridge.tick()


def test_opens_and_starts_the_session_and_shows_its_strips(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    session = factory.opened[0]
    assert window.session is session and session.running
    assert window.pages.currentWidget() is window.splitter
    assert window.start_action.text() == "Stop"
    feed(window)
    assert window.strips.keys() == ["mix", 1, 2, "residual"]
    assert window.video.classes == session.classes


def test_digit_keys_solo_and_shift_digits_mute(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    feed(window, tracks=(5, 2))
    mixer = factory.opened[0].mixer
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.keyClick(window, Qt.Key.Key_3)  # strip 3: the residual
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window, Qt.Key.Key_1)  # again: solo off
    qtbot.keyClick(window, Qt.Key.Key_9)  # no strip 9: nothing
    assert mixer.calls == [("solo", 5, True), ("solo", "residual", True), ("mute", 2, True),
                           ("solo", 5, False)]
    assert window.strips.strip(2).is_muted() and not window.strips.strip(5).is_solo()


def test_strip_buttons_and_slider_reach_the_mixer(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    feed(window)
    strip = window.strips.strip(2)
    qtbot.mouseClick(strip.solo, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(strip.mute, Qt.MouseButton.LeftButton)
    strip.gain.setValue(35)
    assert factory.opened[0].mixer.calls == [("solo", 2, True), ("mute", 2, True),
                                             ("gain", 2, 0.35)]


def test_space_stops_and_starts(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    session = factory.opened[0]
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not session.running and window.start_action.text() == "Start"
    assert not window.bridge.active
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert session.running and window.bridge.active and len(factory.opened) == 1


def test_r_records_into_the_chosen_folder(qtbot, settings, tmp_path):
    window, factory = make_window(qtbot, settings)
    session = factory.opened[0]
    window.set_record_folder(tmp_path / "take")
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert session.recording == tmp_path / "take" and window.record_action.isChecked()
    assert "REC" in window.recording_label.text()
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert session.recording is None and session.recorded == [tmp_path / "take"]
    assert window.last_recording == tmp_path / "take" and not window.record_action.isChecked()


def test_a_missing_camera_shows_the_reason_and_the_demo_button(qtbot, settings):
    window, factory = make_window(qtbot, settings, FakeFactory(broken={0}))
    assert window.session is None and window.pages.currentWidget() is window.error_page
    assert "no camera 0" in window.error_page.message.text()
    assert window.error_page.demo.isVisible()
    qtbot.mouseClick(window.error_page.demo, Qt.MouseButton.LeftButton)
    demo = factory.options[-1]
    assert demo == SessionOptions.demo(output="default")
    assert window.session is factory.opened[-1] and window.session.running and window.demo
    assert window.pages.currentWidget() is window.splitter


def test_a_failing_session_shows_its_error(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    session = factory.opened[0]
    session.error = RuntimeError("the model exploded")
    session.finished = True
    qtbot.waitUntil(lambda: window.error is not None, timeout=2000)
    assert window.pages.currentWidget() is window.error_page
    assert "RuntimeError: the model exploded" in window.error_page.message.text()


def test_changing_a_device_restarts_the_session(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    first = factory.opened[0]
    window.set_device("mic", None)  # "No microphone" is one of the picker's entries
    assert first.closed and window.session is factory.opened[1]
    assert factory.options[-1].mic is None and factory.options[-1].camera == 0
    assert window.device_bar.mic_box.currentData() is None
    window.set_device("output", "crn_null")
    assert factory.options[-1].output == "crn_null" and len(factory.opened) == 3
    assert window.device_bar.output_box.currentText() == "crn_null"


def test_a_device_picked_during_the_demo_leaves_it_for_the_saved_devices(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    window.play_demo()
    assert window.demo and factory.options[-1].mic.endswith("mix.wav")
    window.set_device("camera", None)
    assert not window.demo
    assert (factory.options[-1].camera, factory.options[-1].mic) == (None, "default")


def test_threaded_open_reports_back_on_the_gui_thread(qtbot, settings):
    factory = FakeFactory()
    window = MainWindow(LIVE, session_factory=factory, settings=settings, list_devices=False)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.sessionOpened, timeout=5000):
        pass
    assert window.session is factory.opened[0]
    window.close()
    assert factory.opened[0].closed


def test_manual_region_and_removal_reach_the_session(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    session = factory.opened[0]
    session.video = video_frame(tracks=(1,))
    window.bridge.tick()
    window.video.begin_region((5, 6, 70, 80))
    window.video.complete_region("Cello")
    assert session.regions == [((5.0, 6.0, 70.0, 80.0), "Cello")]
    window.video.removeRequested.emit(1)
    assert session.removed == [1]


def test_status_bar_shows_the_engine_report(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    window.show_status(factory.opened[0].status())
    assert window.backend_label.text() == "backend onnxruntime"
    assert window.backend_label.toolTip() == "no GPU here"
    assert window.latency_label.text() == "latency 115.9 ms"
    assert window.processing_label.text() == "processing 4.2 / 9.8 ms"
    assert window.rtf_label.text() == "RTF 0.21"
    assert window.degradations_label.text() == "degradations 1"
    assert window.xruns_label.text() == "xruns 2"


def test_status_bar_shows_how_long_the_picture_is_delayed(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    session = factory.opened[0]
    window.bridge.tick()  # the first tick reports the status
    assert window.sync_label.text() == "picture delayed 186 ms to match the sound"
    session.playback_delay_ms = 226.4
    window.show_status(session.status())
    assert window.sync_label.text() == "picture delayed 226 ms to match the sound"
    assert "in step" in window.sync_label.toolTip()


def test_no_camera_no_picture_delay(qtbot, settings):
    options = SessionOptions(camera=None, mic="default", output="default")
    window, factory = make_window(qtbot, settings, options=options)
    window.show_status(factory.opened[0].status())
    assert window.sync_label.text() == ""


def test_settings_persist_across_a_restart(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    feed(window, tracks=(1,))
    window.strips.strip(1).set_gain(0.4)  # Violin
    window.strips.strip("residual").set_gain(1.7)
    window.set_device("output", "crn_null")
    window.resize(720, 520)  # the offscreen screen is 800 x 600
    window.splitter.setSizes([250, 450])
    sizes = window.splitter.sizes()
    window.close()

    again, factory2 = make_window(qtbot, settings, options=None)
    assert factory2.options[0].camera == 0 and factory2.options[0].output == "crn_null"
    assert again.device_bar.output_box.currentData() == "crn_null"
    assert (again.width(), again.height()) == (720, 520)
    assert again.splitter.sizes() == sizes
    feed(again, tracks=(5,))  # another Violin track: same saved gain
    assert again.strips.strip(5).gain_value() == 0.4
    assert again.strips.strip("residual").gain_value() == 1.7
    assert ("gain", 5, 0.4) in factory2.opened[0].mixer.calls


def test_the_demo_is_not_saved_as_the_devices(qtbot, settings):
    window, factory = make_window(qtbot, settings)
    window.play_demo()
    window.close()
    again, factory2 = make_window(qtbot, settings, options=None)
    assert factory2.options[0].camera == 0 and factory2.options[0].mic == "default"
