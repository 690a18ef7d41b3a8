"""ui.bridge: drains the session's queue, coalesces redraws, paces columns, counts fps."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.fakes import FakeSession, ui_frame, video_frame
from crn_live.ui.bridge import SessionBridge
from crn_live.ui.strip import SPECTRUM_LEVELS, StripPanel
from crn_live.ui.video_view import VideoView


class Clock:
    """A settable clock (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def panel(qtbot):
    panel = StripPanel(history=64)
    qtbot.addWidget(panel)
    return panel


def test_many_pending_frames_push_every_column_and_redraw_once(panel):
    session = FakeSession()
    bridge = SessionBridge(session, panel, pace=False)
    session.frames = [ui_frame(i, value=-60 + i) for i in range(10)]
    assert bridge.tick()
    assert panel.keys() == ["mix", 1, 2, "residual"]
    for strip in panel.strips():
        assert strip.spectrogram.columns_pushed == 20
        assert strip.spectrogram.redraws == 1
        newest = strip.spectrogram.visible()[-20:, 0]
        np.testing.assert_array_equal(newest, np.repeat(np.arange(-60, -50), 2))
    assert bridge.frames == 10 and bridge.columns == 20 and bridge.drawn == 1
    assert not bridge.tick()  # nothing new: nothing drawn
    assert bridge.drawn == 1 and bridge.ticks == 2


def test_strips_follow_the_tracks(panel):
    session = FakeSession()
    bridge = SessionBridge(session, panel, pace=False)
    changes = []
    bridge.stripsChanged.connect(lambda: changes.append(panel.keys()))
    session.frames = [ui_frame(0, tracks=(1,))]
    bridge.tick()
    session.frames = [ui_frame(1, tracks=(1, 3))]
    bridge.tick()
    session.frames = [ui_frame(2, tracks=(3,))]
    bridge.tick()
    assert changes == [["mix", 1, "residual"], ["mix", 1, 3, "residual"],
                       ["mix", 3, "residual"]]
    # track 3 appeared a chunk late: its strip starts with silence, aligned with the others
    pushed = panel.strip(3).spectrogram
    assert pushed.columns_pushed == 4
    assert panel.strip("mix").spectrogram.columns_pushed == 6


def test_a_strip_missing_from_some_frames_gets_silence_there(panel):
    session = FakeSession()
    bridge = SessionBridge(session, panel, pace=False)
    session.frames = [ui_frame(0, tracks=()), ui_frame(1, tracks=(2,), value=-5.0)]
    bridge.tick()
    visible = panel.strip(2).spectrogram.visible()[-4:, 0]
    assert visible.tolist() == [SPECTRUM_LEVELS[0]] * 2 + [-5.0, -5.0]


def test_levels_and_effective_gain_reach_the_strip(panel):
    session = FakeSession()
    bridge = SessionBridge(session, panel, pace=False)
    frame = ui_frame(0, tracks=(1,))
    strips = tuple(s if s.key != 1 else type(s)(1, "Violin", s.spectrum, -9.0, 0.0)
                   for s in frame.strips)
    session.frames = [type(frame)(0, 0.0, strips)]
    bridge.tick()
    assert panel.strip(1).meter.level_db == -9.0
    assert "777" in panel.strip(1).name.styleSheet()  # silenced by the mixer: dimmed


def test_pacing_releases_columns_at_the_hop_rate(panel):
    clock = Clock()
    session = FakeSession()
    bridge = SessionBridge(session, panel, clock=clock)
    hop = 256 / 11025
    released = []
    for tick in range(300):  # 9 s of 30 ms ticks; a 2-hop chunk every 46.4 ms
        clock.now = tick * 0.030
        while len(session.frames) + bridge.frames < int(clock.now / (2 * hop)) + 1:
            session.frames.append(ui_frame(bridge.frames + len(session.frames)))
        before = bridge.columns
        bridge.tick()
        released.append(bridge.columns - before)
    steady = np.asarray(released[20:])
    assert (steady > 0).mean() > 0.95  # the picture moves nearly every tick
    assert steady.max() <= 2
    assert bridge.pending_columns <= 3  # holds back at most about a chunk
    assert bridge.scrolled >= 0.95 * 300 - 20


def test_a_backlog_is_released_at_once(panel):
    clock = Clock()
    session = FakeSession()
    bridge = SessionBridge(session, panel, clock=clock)
    session.frames = [ui_frame(i) for i in range(20)]  # a stall: 40 columns at once
    bridge.tick()
    assert bridge.columns >= 40 - 3


def test_fps_counts_drawn_ticks(panel):
    clock = Clock()
    session = FakeSession()
    bridge = SessionBridge(session, panel, pace=False, clock=clock)
    bridge.start()
    bridge.stop()  # driven by hand below
    for i in range(31):
        clock.now = i / 30
        session.frames = [ui_frame(i)]
        bridge.tick()
    assert bridge.fps == pytest.approx(30.0)
    clock.now += 5.0
    assert bridge.fps == 0.0  # nothing drawn in the last two seconds
    stats = bridge.stats()
    assert stats["drawn"] == 31 and stats["strips"] == 4


def test_video_status_and_end_are_forwarded(qtbot, panel):
    session = FakeSession()
    video = VideoView()
    qtbot.addWidget(video)
    bridge = SessionBridge(session, panel, video, pace=False, status_ms=0)
    statuses, ended = [], []
    bridge.statusChanged.connect(statuses.append)
    bridge.finished.connect(lambda: ended.append(True))
    session.video = video_frame(tracks=(1,))
    assert bridge.tick() and bridge.video_frames == 1 and list(video.boxes) == [1]
    assert statuses and statuses[-1].backend == "onnxruntime"
    session.finished = True
    bridge.tick()
    bridge.tick()
    assert ended == [True]


def test_the_timer_drives_it(qtbot, panel):
    session = FakeSession()
    session.frames = [ui_frame(0)]
    bridge = SessionBridge(session, panel, interval_ms=10)
    bridge.start()
    qtbot.waitUntil(lambda: session.polls >= 3, timeout=2000)
    bridge.stop()
    assert not bridge.active and panel.keys() == ["mix", 1, 2, "residual"]
