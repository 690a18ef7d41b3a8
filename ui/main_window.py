"""The main window: device pickers and transport on a toolbar, the camera view beside one mixer
strip per instrument (plus the mixture and the residual), and a status bar with what the engine
reports (backend, algorithmic latency, processing time, real-time factor, degradations, xruns)
and how long the picture is held back to stay in step with the sound.

The window owns at most one session at a time, used through
:class:`~crn_live.stream.protocol.SessionProtocol` only. Opening one (loading models, opening
devices) runs on a worker thread so the window stays responsive; a
:class:`~crn_live.errors.UserError` (no camera, no microphone, a missing file) replaces the main
view by its one-line message and a "Play the demo scene" button. Picking a device in the
:class:`~ui.device_bar.DeviceBar` restarts the session with the new options. A
:class:`~ui.bridge.SessionBridge` copies frames into the widgets; the strips' Solo / Mute / gain
go straight to ``session.mixer``.

The toolbar's "Add instrument" control (:class:`~ui.instrument_picker.InstrumentPicker`) names an
instrument to separate without a box (``session.add_instrument``): its strip works like any
other, and carries a remove button; an unknown name is a status-bar line with the close matches.

Keys: Space start / stop, 1..9 solo strip n, Shift+1..9 mute strip n, R record.

What outlives the window (the device choices, each strip's gain by instrument name, the folder
recorded into, the window geometry and the splitter state) is kept by
:class:`~ui.settings.AppSettings`.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QFileDialog, QLabel, QMainWindow, QPushButton, QScrollArea,
                               QSplitter, QStackedWidget, QToolBar, QVBoxLayout, QWidget)

from crn_live.errors import UserError
from crn_live.stream.protocol import SessionProtocol, is_named
from .bridge import SessionBridge
from .device_bar import DeviceBar
from .instrument_picker import InstrumentPicker
from .settings import AppSettings
from .strip import StripPanel
from .video_view import VideoView

if TYPE_CHECKING:
    from crn_live.stream.session import SessionOptions, Status

SessionFactory = Callable[["SessionOptions"], SessionProtocol]


def live_session_factory(options: SessionOptions) -> SessionProtocol:
    """Open a :class:`~crn_live.stream.session.LiveSession` (the default factory)."""
    from crn_live.stream.session import LiveSession

    return LiveSession(options)


def demo_options(**changes) -> SessionOptions:
    """The bundled demo scene's options (``SessionOptions.demo``)."""
    from crn_live.stream.session import SessionOptions

    return SessionOptions.demo(**changes)


def default_options(**changes) -> SessionOptions:
    """``SessionOptions`` with ``changes`` (the live defaults otherwise)."""
    from crn_live.stream.session import SessionOptions

    return SessionOptions(**changes)


class SessionOpener(QObject):
    """Opens sessions on a worker thread and reports back on the GUI thread.

    ``opened(session, ticket)`` or ``failed(message, is_user_error, ticket)``; the ticket is
    the one :meth:`open` returned, so the window can ignore the result of a superseded open
    (and stop that session).
    """

    opened = Signal(object, int)
    failed = Signal(str, bool, int)

    def __init__(self, factory: SessionFactory, threaded: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.factory = factory
        self.threaded = threaded
        self.ticket = 0
        self.busy = 0

    def open(self, options) -> int:
        self.ticket += 1
        ticket = self.ticket
        self.busy += 1
        if self.threaded:
            threading.Thread(target=self._open, args=(options, ticket), daemon=True,
                             name="crn-live-open").start()
        else:
            self._open(options, ticket)
        return ticket

    def _open(self, options, ticket: int) -> None:
        try:
            session = self.factory(options)
        except UserError as exc:
            self.failed.emit(str(exc), True, ticket)
        except Exception as exc:  # shown in the window, the traceback on stderr
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}", False, ticket)
        else:
            self.opened.emit(session, ticket)


class ErrorPage(QWidget):
    """What the window shows when a session cannot open: the message and the demo button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Could not start")
        self.title.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("font-size: 14px; color: #ffab91;")
        self.hint = QLabel("Pick another camera or microphone in the toolbar, or play the "
                           "bundled demo scene (a recorded video with its music).")
        self.hint.setWordWrap(True)
        self.demo = QPushButton("Play the demo scene")
        self.demo.setMinimumHeight(36)
        self.demo.setStyleSheet("font-size: 14px; padding: 4px 18px;")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.title, self.message, self.hint):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addWidget(self.demo, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def show_error(self, message: str, user_error: bool = True) -> None:
        self.title.setText("Could not start" if user_error else "Something went wrong")
        self.message.setText(message)



class MainWindow(QMainWindow):
    """The crn-live window.

    Parameters
    ----------
    options
        ``SessionOptions`` to open; None: the saved device choices (else camera 0, the default
        microphone and output).
    session_factory
        ``factory(options) -> session`` (default: ``LiveSession``); tests pass fakes.
    session
        An already open session to show instead of opening one (tests).
    settings
        The QSettings to read and write (default: organisation / application "crn-live").
    autostart
        Open and start the session at once.
    threaded
        Open sessions on a worker thread (False: on the GUI thread, for deterministic tests).
    list_devices
        Fill the pickers from ``list_cameras`` / ``list_audio_devices`` (False: only the
        current choices, e.g. when PortAudio is absent).
    """

    sessionOpened = Signal(object)
    sessionFailed = Signal(str)

    def __init__(self, options: SessionOptions | None = None,
                 session_factory: SessionFactory | None = None,
                 session: SessionProtocol | None = None, settings: QSettings | None = None,
                 autostart: bool = True, threaded: bool = True, list_devices: bool = True,
                 pace: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("crn-live - live music source separation")
        self.settings = AppSettings(settings)
        self.factory = session_factory or live_session_factory
        self.opener = SessionOpener(self.factory, threaded, self)
        self.opener.opened.connect(self._opened)
        self.opener.failed.connect(self._failed)
        self.pace = pace
        self.session: SessionProtocol | None = None
        self.bridge: SessionBridge | None = None
        self.demo = False
        self.record_folder: Path | None = None
        self.last_recording: Path | None = None
        self._recording_path: Path | None = None  # the folder being recorded into
        self.error: str | None = None
        self.last_status: Status | None = None  # the newest Status shown
        self.options = options if options is not None else self._saved_options()

        self._build_views()
        self._build_toolbar(list_devices)
        self._build_status_bar()
        self._build_shortcuts()
        self.settings.restore_window(self, self.splitter)
        if session is not None:
            self.options = session.options
            self.device_bar.show_options(self.options)
            self._attach(session)
        elif autostart:
            self.open_session(self.options)

    # --- construction ---------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.video = VideoView()
        self.video.set_message("No video")
        self.video.regionAdded.connect(self.add_region)
        self.video.removeRequested.connect(self.remove_track)
        self.strips = StripPanel()
        self.strips.soloToggled.connect(self._solo)
        self.strips.muteToggled.connect(self._mute)
        self.strips.gainChanged.connect(self._gain)
        self.strips.stripAdded.connect(self._strip_added)
        self.strips.removeRequested.connect(self.remove_instrument)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.strips)
        scroll.setMinimumWidth(420)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main-splitter")
        self.splitter.addWidget(self.video)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 4)
        self.error_page = ErrorPage()
        self.error_page.demo.clicked.connect(self.play_demo)
        self.opening_page = QLabel("Opening the session...")
        self.opening_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget()
        for page in (self.splitter, self.error_page, self.opening_page):
            self.pages.addWidget(page)
        self.setCentralWidget(self.pages)

    def _build_toolbar(self, list_devices: bool) -> None:
        bar = QToolBar("Session")
        bar.setObjectName("session-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.device_bar = DeviceBar(list_devices)
        self.device_bar.show_options(self.options)
        self.device_bar.deviceChosen.connect(self._device_chosen)
        bar.addWidget(self.device_bar)
        bar.addSeparator()
        self.start_action = QAction("Start", self)
        self.start_action.setToolTip("start / stop (Space)")
        self.start_action.triggered.connect(self.toggle_running)
        self.record_action = QAction("Record", self)
        self.record_action.setCheckable(True)
        self.record_action.setToolTip("record the played mix and every instrument into a "
                                      "folder (R)")
        self.record_action.triggered.connect(self._record_clicked)
        self.demo_action = QAction("Demo scene", self)
        self.demo_action.setToolTip("play the bundled demo scene")
        self.demo_action.triggered.connect(self.play_demo)
        for action in (self.start_action, self.record_action, self.demo_action):
            bar.addAction(action)
        bar.addSeparator()
        self.instrument_picker = InstrumentPicker()
        self.instrument_picker.instrumentRequested.connect(self.add_instrument)
        bar.addWidget(self.instrument_picker)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.backend_label = QLabel("backend -")
        self.latency_label = QLabel("latency -")
        self.processing_label = QLabel("processing -")
        self.rtf_label = QLabel("RTF -")
        self.degradations_label = QLabel("degradations -")
        self.xruns_label = QLabel("xruns -")
        self.fps_label = QLabel("UI - fps")
        self.sync_label = QLabel("")
        self.sync_label.setToolTip("the camera picture is shown as late as the separated sound "
                                   "leaves the loudspeaker (algorithmic latency, output "
                                   "buffering, device latency), so that the two are in step")
        self.recording_label = QLabel("")
        self.recording_label.setStyleSheet("color: #ef5350; font-weight: bold;")
        self.latency_label.setToolTip("algorithmic latency: STFT window + chunk of hops")
        self.processing_label.setToolTip("measured processing time per hop, median / p99")
        self.rtf_label.setToolTip("real-time factor: processing time / audio time")
        self.degradations_label.setToolTip("times the engine lowered its quality to keep up")
        self.xruns_label.setToolTip("audio device under- and overruns")
        for label in (self.backend_label, self.latency_label, self.processing_label,
                      self.rtf_label, self.degradations_label, self.xruns_label,
                      self.fps_label, self.sync_label, self.recording_label):
            bar.addPermanentWidget(label)

    def _build_shortcuts(self) -> None:
        self.shortcuts: list[QShortcut] = []

        def add(keys: str, slot: Callable[[], object]) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)

        add("Space", self.toggle_running)
        add("R", self.toggle_recording)
        for n in range(1, 10):
            add(str(n), lambda n=n: self.toggle_solo(n))
            add(f"Shift+{n}", lambda n=n: self.toggle_mute(n))

    # --- devices and settings -------------------------------------------------------------------
    def set_device(self, field: str, value: object) -> None:
        """Choose ``value`` for ``field`` (``camera``, ``mic`` or ``output``) as the picker
        would (restarts the session)."""
        self.device_bar.choose(field, value)

    def _device_chosen(self, field: str, value: object) -> None:
        """The ``field`` picker changed: restart the session with the new choice (leaving the
        demo scene for the saved devices, when it was playing)."""
        if getattr(self.options, field) == value and not self.demo:
            return
        base = self._saved_options() if self.demo else self.options
        self.demo = False
        self.options = dataclasses.replace(base, **{field: value})
        self._save_devices()
        self.open_session(self.options)

    def _saved_options(self) -> SessionOptions:
        """Options from the saved device choices (camera 0, default mic and output when none
        are saved)."""
        return default_options(**self.settings.devices())

    def _save_devices(self) -> None:
        """Remember the devices in use (not the demo's, nor files standing in for devices)."""
        if not self.demo:
            self.settings.save_devices(self.options)

    def save_settings(self) -> None:
        """Write the window geometry, the splitter state and the devices, and flush."""
        self.settings.save_window(self, self.splitter)
        self._save_devices()
        self.settings.sync()

    # --- session lifecycle ----------------------------------------------------------------------
    def open_session(self, options: SessionOptions) -> None:
        """Close the current session and open one with ``options`` (on the worker thread)."""
        self.close_session()
        self.options = options
        self.device_bar.show_options(options)
        self.pages.setCurrentWidget(self.opening_page)
        self.statusBar().showMessage("opening...")
        self.opener.open(options)

    def play_demo(self) -> None:
        """Open the bundled demo scene (keeping the chosen output)."""
        self.demo = True
        self.open_session(demo_options(output=self.options.output))

    def _opened(self, session: SessionProtocol, ticket: int) -> None:
        self.opener.busy -= 1
        if ticket != self.opener.ticket:  # superseded while it opened
            _close_quietly(session)
            return
        self.error = None
        self._attach(session)
        self._save_devices()

    def _failed(self, message: str, user_error: bool, ticket: int) -> None:
        self.opener.busy -= 1
        if ticket != self.opener.ticket:
            return
        self._show_error(message, user_error)
        self._update_actions()
        self.sessionFailed.emit(message)

    def _show_error(self, message: str, user_error: bool) -> None:
        self.error = message
        self.error_page.show_error(message, user_error)
        self.pages.setCurrentWidget(self.error_page)
        self.statusBar().showMessage(message)

    def _attach(self, session: SessionProtocol) -> None:
        """Show ``session``: bridge, strips, classes; start it."""
        self.session = session
        self.strips.clear()
        self.video.clear()
        self.video.set_classes(session.classes)
        no_camera = self.options.camera is None
        self.video.set_message("No camera" if no_camera else "Waiting for video...")
        self.bridge = SessionBridge(session, self.strips, self.video, pace=self.pace,
                                    parent=self)
        self.bridge.statusChanged.connect(self.show_status)
        self.bridge.finished.connect(self._session_finished)
        self.pages.setCurrentWidget(self.splitter)
        self.statusBar().clearMessage()
        if not session.running:
            session.start()
        self.bridge.start()
        self._update_actions()
        self.sessionOpened.emit(session)

    def close_session(self) -> None:
        """Stop and forget the current session (recording stopped first)."""
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge.deleteLater()
            self.bridge = None
        if self.session is not None:
            if self.is_recording():
                self.toggle_recording()
            _close_quietly(self.session)
            self.session = None
        self._update_actions()

    def is_running(self) -> bool:
        return self.session is not None and self.session.running

    def toggle_running(self) -> None:
        """Space: stop a running session, or start (reopening when needed)."""
        if self.is_running():
            self._stop_session()
        elif self.opener.busy:
            return
        elif self.session is not None and not self.session.finished:
            try:
                self.session.start()
            except Exception:  # a session that cannot restart: open a fresh one
                self.open_session(self.options)
                return
            if self.bridge is not None:
                self.bridge.start()
            self.statusBar().clearMessage()
        else:
            self.open_session(self.options)
        self._update_actions()

    def _stop_session(self) -> None:
        """Stop the running session (and its recording), showing its last frames."""
        if self.is_recording():
            self.toggle_recording()
        self.session.stop()
        if self.bridge is not None:
            self.bridge.tick()  # show the last frames
            self.bridge.stop()
        self.statusBar().showMessage("stopped")

    def _session_finished(self) -> None:
        """The session's worker ended: its file input ran out, or it failed (shown)."""
        if self.is_recording():
            self.toggle_recording()
        error = self.session.error if self.session is not None else None
        if isinstance(error, UserError):  # a device went away: its one line; Start reopens
            self._show_error(f"{error}; press Start to restart", True)
            self.error_page.title.setText("Stopped")
        elif error is not None:
            self._show_error(f"the session stopped: {type(error).__name__}: {error}", False)
        else:
            self.statusBar().showMessage("the input ended")
        self._update_actions()

    def _update_actions(self) -> None:
        running = self.is_running()
        self.start_action.setText("Stop" if running else "Start")
        self.record_action.setEnabled(self.session is not None and running)
        self.record_action.setChecked(self.is_recording())

    # --- mixer ----------------------------------------------------------------------------------
    def _solo(self, key: int | str, on: bool) -> None:
        if self.session is not None:
            self.session.mixer.set_solo(key, on)

    def _mute(self, key: int | str, on: bool) -> None:
        if self.session is not None:
            self.session.mixer.set_mute(key, on)

    def _gain(self, key: int | str, gain: float) -> None:
        if self.session is not None:
            self.session.mixer.set_gain(key, gain)
        strip = self.strips.strip(key)
        if strip is not None:
            self.settings.save_gain(key, strip.label, gain)

    def _strip_added(self, strip) -> None:
        """A new strip: give it its saved gain (which also sets the mixer); a named
        instrument's strip can be removed."""
        strip.set_removable(is_named(strip.key))
        if strip.has_controls:
            gain = self.settings.gain(strip.key, strip.label)
            if gain != 1.0:
                strip.set_gain(gain)

    def toggle_solo(self, number: int) -> None:
        """Key ``number``: toggle Solo of strip ``number`` (tracks, then the residual)."""
        strip = self.strips.strip_number(number)
        if strip is not None:
            strip.set_solo(not strip.is_solo())

    def toggle_mute(self, number: int) -> None:
        """Shift + ``number``: toggle Mute of strip ``number``."""
        strip = self.strips.strip_number(number)
        if strip is not None:
            strip.set_mute(not strip.is_muted())

    # --- video regions --------------------------------------------------------------------------
    def add_region(self, box: tuple, class_name: str) -> int | None:
        """A manual region drawn on the video: a new track of ``class_name``."""
        if self.session is None:
            return None
        try:
            track_id = self.session.add_region(tuple(box), class_name)
        except (UserError, ValueError) as exc:
            self.statusBar().showMessage(f"could not add the region: {exc}", 5000)
            return None
        self.statusBar().showMessage(f"added {class_name} #{track_id}", 3000)
        return track_id

    def remove_track(self, track_id: int) -> bool:
        """Right-click on a box: remove that track."""
        if self.session is None:
            return False
        removed = bool(self.session.remove_track(track_id))
        if removed:
            self.statusBar().showMessage(f"removed track #{track_id}", 3000)
        return removed

    # --- instruments named without a box --------------------------------------------------------
    def add_instrument(self, name: str) -> int | None:
        """Separate an instrument by ``name`` (a class or a synonym, any case): its strip's id,
        or None with a status-bar line (unknown name, too many, no session). It is kept when the
        session restarts (another device picked)."""
        from crn_live.instruments import lookup

        if self.session is None:
            self.statusBar().showMessage("no session is open: start one before adding an "
                                         "instrument", 5000)
            return None
        try:
            class_name = lookup(name).name
            named_id = self.session.add_instrument(class_name)
        except (UserError, ValueError) as exc:
            self.statusBar().showMessage(f"could not add the instrument: {exc}", 8000)
            return None
        self.options = dataclasses.replace(
            self.options, instruments=tuple(self.options.instruments) + (class_name,))
        self.statusBar().showMessage(
            f"added {class_name} by name: its strip appears with the next sound", 4000)
        return named_id

    def remove_instrument(self, key: int) -> bool:
        """A named instrument's remove button: forget it (its strip goes with the session's
        next frame, or at once while the session is stopped)."""
        if self.session is None:
            return False
        strip = self.strips.strip(key)
        removed = bool(self.session.remove_track(key))
        if removed and strip is not None:
            names = list(self.options.instruments)
            if strip.label in names:
                names.remove(strip.label)
                self.options = dataclasses.replace(self.options, instruments=tuple(names))
            if not self.session.running:  # no frame will come to take it away
                self.strips.sync([(k, s.label) for k, s in zip(self.strips.keys(),
                                                              self.strips.strips())
                                  if k != key])
            self.statusBar().showMessage(f"removed {strip.label}", 3000)
        return removed

    # --- recording ------------------------------------------------------------------------------
    def is_recording(self) -> bool:
        return self.session is not None and self._recording_path is not None

    def set_record_folder(self, folder: Path | str | None) -> None:
        """Record into ``folder`` without asking (tests; None: ask with a folder dialog)."""
        self.record_folder = Path(folder) if folder is not None else None

    def _record_clicked(self, _checked: bool = False) -> None:
        self.toggle_recording()

    def toggle_recording(self) -> None:
        """R: start recording (asking for a folder unless one is set) or stop it."""
        if self.is_recording():
            self._stop_recording()
        elif self.is_running():
            folder = self.record_folder or self._ask_record_folder()
            if folder is not None:
                self._start_recording(folder)
        self._update_actions()

    def _ask_record_folder(self) -> Path | None:
        """The folder chosen in a dialog (remembered), None when cancelled."""
        chosen = QFileDialog.getExistingDirectory(self, "Record into folder",
                                                  self.settings.record_folder())
        if not chosen:
            return None
        self.settings.save_record_folder(Path(chosen))
        return Path(chosen)

    def _start_recording(self, folder: Path) -> None:
        try:
            self.session.start_recording(folder)
        except (UserError, OSError) as exc:
            self.statusBar().showMessage(f"could not record: {exc}", 8000)
        else:
            self._recording_path = folder
            self.recording_label.setText(f"REC {folder}")

    def _stop_recording(self) -> None:
        self._recording_path = None
        path = self.session.stop_recording()
        self.last_recording = Path(path) if path is not None else None
        self.recording_label.setText("")
        if path is not None:
            self.statusBar().showMessage(f"recorded into {path}", 8000)

    # --- status ---------------------------------------------------------------------------------
    def show_status(self, status: Status | None) -> None:
        """Fill the status bar from a session ``Status``."""
        self.last_status = status
        if status is None:
            return
        self.backend_label.setText(f"backend {status.backend}")
        self.backend_label.setToolTip(str(status.backend_reason or ""))
        latency = status.algorithmic_latency_ms
        self.latency_label.setText(f"latency {latency:.1f} ms" if latency is not None
                                   else "latency -")
        median, p99 = status.hop_ms_median, status.hop_ms_p99
        self.processing_label.setText(
            f"processing {median:.1f} / {p99:.1f} ms" if median is not None and p99 is not None
            else "processing -")
        self.rtf_label.setText(f"RTF {status.rtf:.2f}" if status.rtf is not None else "RTF -")
        level = status.level
        self.degradations_label.setText(
            f"degradations {status.degradations}"
            + (f" ({level})" if level not in (None, "full") else ""))
        self.xruns_label.setText(f"xruns {status.xruns}")
        self.sync_label.setText(_sync_text(status.playback_delay_ms, self.options.camera))
        if self.bridge is not None:
            self.fps_label.setText(f"UI {self.bridge.fps:.0f} fps")
        if status.recording is not None:
            self.recording_label.setText(f"REC {status.recording}")
        if not self.is_running():
            self._update_actions()

    # --- Qt -------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.save_settings()
        self.close_session()
        super().closeEvent(event)


def _sync_text(delay_ms: float | None, camera: object) -> str:
    """The status bar's note on the picture's delay; empty with no camera or no delay."""
    if camera is None or not delay_ms:
        return ""
    return f"picture delayed {delay_ms:.0f} ms to match the sound"


def _close_quietly(session: SessionProtocol) -> None:
    """Close a session (stop it, finish its recording, release its devices), reporting (not
    raising) what goes wrong."""
    try:
        session.close()
    except Exception as exc:
        print(f"crn-live: closing the session failed: {exc}", file=sys.stderr)
