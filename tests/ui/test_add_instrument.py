"""The toolbar's "Add instrument" control with a fake session: an instrument named by class (or a
synonym) becomes a strip without a box that solos / mutes like any other and can be removed; an
unknown name is one status-bar line with the close matches (never a dialog)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from crn_live.instruments import CLASSES
from crn_live.stream.protocol import NAMED_ID_BASE
from crn_live.stream.session import SessionOptions
from crn_live.ui.instrument_picker import InstrumentPicker, completions
from crn_live.ui.main_window import MainWindow
from tests.ui.fakes import FakeFactory, ui_frame

LIVE = SessionOptions(camera=None, mic="default", output="default")


def make_window(qtbot, settings, options=LIVE):
    factory = FakeFactory()
    window = MainWindow(options, session_factory=factory, settings=settings, threaded=False,
                        list_devices=False, pace=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window, factory.opened[0]


def feed(window, tracks, labels=None):
    window.session.frames.append(ui_frame(window.bridge.frames, tracks=tracks,
                                          labels=labels))
    window.bridge.tick()


def test_the_picker_lists_the_classes_and_completes_synonyms(qtbot):
    picker = InstrumentPicker()
    qtbot.addWidget(picker)
    assert [picker.combo.itemText(i) for i in range(picker.combo.count())] == list(CLASSES)
    assert "contrabass" in completions() and "fiddle" in completions()
    seen = []
    picker.instrumentRequested.connect(seen.append)
    picker.request()  # an empty box: nothing
    picker.set_text("  fiddle ")
    qtbot.mouseClick(picker.add, Qt.MouseButton.LeftButton)
    assert seen == ["fiddle"]


def test_an_instrument_added_by_name_gets_a_strip_that_can_be_removed(qtbot, settings):
    window, session = make_window(qtbot, settings)
    window.instrument_picker.set_text("contrabass")
    qtbot.mouseClick(window.instrument_picker.add, Qt.MouseButton.LeftButton)
    (named_id, name), = session.named.items()
    assert name == "Double bass" and named_id >= NAMED_ID_BASE
    assert "added Double bass" in window.statusBar().currentMessage()
    assert window.options.instruments == ("Double bass",)  # kept if the session restarts

    feed(window, (1, named_id), {named_id: "Double bass"})
    assert window.strips.keys() == ["mix", 1, named_id, "residual"]
    strip = window.strips.strip(named_id)
    assert strip.label == "Double bass" and strip.removable
    assert not window.strips.strip(1).removable
    assert not window.strips.strip("residual").removable
    qtbot.mouseClick(strip.solo, Qt.MouseButton.LeftButton)  # a strip like any other
    strip.gain.setValue(50)
    assert session.mixer.calls == [("solo", named_id, True), ("gain", named_id, 0.5)]

    qtbot.mouseClick(strip.remove, Qt.MouseButton.LeftButton)
    assert session.removed == [named_id] and session.named == {}
    assert window.options.instruments == ()
    feed(window, (1,))  # the session's next frame no longer has it
    assert window.strips.keys() == ["mix", 1, "residual"]


def test_return_in_the_box_adds_and_a_stopped_session_drops_the_strip_at_once(qtbot,
                                                                               settings):
    window, session = make_window(qtbot, settings)
    window.instrument_picker.set_text("violin")
    qtbot.keyClick(window.instrument_picker.combo.lineEdit(), Qt.Key.Key_Return)
    (named_id, name), = session.named.items()
    assert name == "Violin"
    feed(window, (named_id,), {named_id: "Violin"})
    window.toggle_running()  # stop: no frame will come
    assert not session.running
    assert window.remove_instrument(named_id)
    assert window.strips.keys() == ["mix", "residual"]


def test_unknown_names_and_too_many_are_status_lines(qtbot, settings, monkeypatch):
    window, session = make_window(qtbot, settings, SessionOptions(
        camera=None, mic="default", output="default", max_objects=1))
    shown = []
    monkeypatch.setattr("PySide6.QtWidgets.QMessageBox.exec",
                        lambda *a: shown.append(a))  # a dialog would be a failure
    assert window.add_instrument("violn") is None
    message = window.statusBar().currentMessage()
    assert "unknown instrument 'violn': did you mean Violin" in message and "\n" not in message
    assert window.add_instrument("Kazoo") is None
    assert "unknown instrument 'Kazoo'" in window.statusBar().currentMessage()
    assert window.add_instrument("Flute") is not None
    assert window.add_instrument("Cello") is None  # max_objects = 1
    assert "already named" in window.statusBar().currentMessage()
    assert list(session.named.values()) == ["Flute"] and not shown


def test_without_a_session_adding_says_so(qtbot, settings):
    window, _ = make_window(qtbot, settings)
    window.close_session()
    assert window.add_instrument("Violin") is None
    assert "no session" in window.statusBar().currentMessage()


def test_instruments_named_on_the_command_line_reach_the_session_and_can_go(qtbot, settings):
    """``crn-live --instruments violin`` with the window: the session opens with the name; its
    strip (an id of a named instrument) has the remove button, which forgets the name too."""
    window, session = make_window(qtbot, settings, SessionOptions(
        camera=None, mic="default", output="default", instruments=("Violin",)))
    assert session.options.instruments == ("Violin",)
    feed(window, (NAMED_ID_BASE,), {NAMED_ID_BASE: "Violin"})
    assert window.strips.strip(NAMED_ID_BASE).removable
    qtbot.mouseClick(window.strips.strip(NAMED_ID_BASE).remove, Qt.MouseButton.LeftButton)
    assert session.removed == [NAMED_ID_BASE] and window.options.instruments == ()
