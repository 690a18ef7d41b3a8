"""ui.video_view: boxes in the tracks' colours, manual regions by dragging, removal by
right-click."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.ui.fakes import video_frame
from crn_live.ui.colors import color_for
from crn_live.ui.video_view import VideoView, frame_to_qimage


@pytest.fixture
def view(qtbot):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    return view


def viewport_point(view, x, y):
    return view.mapFromScene(QPointF(x, y))


def test_frame_conversion_copies_pixels():
    image = np.zeros((4, 6, 3), np.uint8)
    image[1, 2] = (255, 10, 20)
    qimage = frame_to_qimage(image)
    image[1, 2] = 0  # the QImage owns its copy
    assert (qimage.width(), qimage.height()) == (6, 4)
    assert qimage.pixelColor(2, 1).getRgb()[:3] == (255, 10, 20)
    with pytest.raises(ValueError):
        frame_to_qimage(np.zeros((4, 6), np.uint8))


def test_boxes_carry_class_id_and_the_track_colour(view):
    frame = video_frame(tracks=(1, 2, 4))
    assert view.show_frame(frame)
    assert not view.show_frame(frame)  # the same frame is not drawn twice
    assert view.frame_size == (320, 240) and sorted(view.boxes) == [1, 2, 4]
    assert view.frame is frame
    for tid, box in view.boxes.items():
        assert box.rect.pen().color() == color_for(tid)
        assert box.tag_back.brush().color() == color_for(tid)
        track = next(t for t in frame.tracks if t.track_id == tid)
        assert box.text.startswith(f"{track.class_name} #{tid}")
        x0, y0, x1, y1 = track.box
        assert box.rect.rect().getCoords() == pytest.approx((x0, y0, x1, y1))
    assert "(manual)" in view.boxes[4].text
    assert view.boxes[4].rect.pen().style() == Qt.PenStyle.DashLine
    view.show_frame(video_frame(tracks=(2,), time_s=0.1))  # tracks 1 and 4 ended
    assert sorted(view.boxes) == [2] and view.frames_shown == 2
    image = view.grab().toImage()
    assert not image.isNull()


def test_drag_emits_the_region_in_frame_pixels(view, qtbot):
    view.show_frame(video_frame(tracks=()))
    start, end = viewport_point(view, 40, 30), viewport_point(view, 200, 180)
    with qtbot.waitSignal(view.regionDrawn) as drawn:
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view.viewport(), pos=end)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    box = drawn.args[0]
    scale = 320 / view.viewport().width() * 2 + 1  # one viewport pixel, in frame pixels
    assert box == pytest.approx((40, 30, 200, 180), abs=scale)
    assert view.menu is None  # no classes: no menu
    with qtbot.waitSignal(view.regionAdded) as added:
        assert view.complete_region("Violin") == box
    assert added.args == [box, "Violin"]
    assert view.complete_region("Violin") is None  # nothing pending any more


def test_drag_offers_the_classes_and_a_click_is_no_region(view, qtbot):
    view.show_frame(video_frame(tracks=()))
    view.set_classes(("Violin", "Cello"))
    point = viewport_point(view, 100, 100)
    with qtbot.assertNotEmitted(view.regionDrawn):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    view.begin_region((10, 10, 90, 90), viewport_point(view, 90, 90))
    assert view.menu is not None
    names = [a.text() for a in view.menu.actions() if a.text()]
    assert names[:3] == ["Which instrument?", "Violin", "Cello"]
    with qtbot.waitSignal(view.regionAdded) as added:
        next(a for a in view.menu.actions() if a.text() == "Cello").trigger()
    assert added.args == [(10.0, 10.0, 90.0, 90.0), "Cello"]


def test_right_click_on_a_box_requests_its_removal(view, qtbot):
    view.show_frame(video_frame(tracks=(1, 2)))
    inside_two = viewport_point(view, 110, 100)  # track 2's box is (80, 20) - (140, 120)
    with qtbot.waitSignal(view.removeRequested) as removed:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=inside_two)
    assert removed.args == [2]
    with qtbot.assertNotEmitted(view.removeRequested):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton,
                         pos=viewport_point(view, 300, 200))


def test_clear_forgets_picture_and_boxes(view):
    view.show_frame(video_frame(tracks=(1,)))
    view.clear()
    assert view.boxes == {} and view.frame_size is None and view.message.isVisible()
    assert view.frame is None
