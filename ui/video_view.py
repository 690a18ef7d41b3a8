"""The camera view: the latest video frame with each track's box, class and id drawn in the
track's colour (:mod:`ui.colors`, the same as its mixer strip).

Mouse: drag a rectangle with the left button to add a manual region - a small menu then asks
which instrument it is (:attr:`VideoView.classes`) and :meth:`VideoView.complete_region` emits
``regionAdded(box, class_name)``; right-click a box to emit ``removeRequested(track_id)``. Boxes
are in frame pixels ``(x0, y0, x1, y1)``, like the session's :class:`TrackInfo`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene,
                               QGraphicsSimpleTextItem, QGraphicsView, QMenu, QWidget)

from .colors import color_for

#: A drag smaller than this (frame pixels, either side) is a click, not a region.
MIN_REGION_PX = 8.0


def frame_to_qimage(image: np.ndarray) -> QImage:
    """An RGB ``uint8 (h, w, 3)`` array as a QImage that owns a copy of the pixels."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"a video frame is RGB (h, w, 3), got shape {image.shape}")
    h, w, _ = image.shape
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class TrackBox:
    """The scene items of one track: its rectangle and its ``class #id`` tag."""

    def __init__(self, scene: QGraphicsScene, track_id: int) -> None:
        self.track_id = track_id
        color = color_for(track_id)
        pen = QPen(color, 2.0)
        pen.setCosmetic(True)
        self.rect = QGraphicsRectItem()
        self.rect.setPen(pen)
        self.rect.setData(0, track_id)
        self.rect.setZValue(2)
        self.tag_back = QGraphicsRectItem()
        self.tag_back.setBrush(QBrush(color))
        self.tag_back.setPen(QPen(Qt.PenStyle.NoPen))
        self.tag_back.setData(0, track_id)
        self.tag_back.setZValue(3)
        self.tag_back.setFlag(QGraphicsRectItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.tag = QGraphicsSimpleTextItem(self.tag_back)
        self.tag.setBrush(QBrush(QColor("#000000")))
        font = QFont()
        font.setBold(True)
        self.tag.setFont(font)
        self.tag.setPos(3, 1)
        self.text = ""
        for item in (self.rect, self.tag_back):
            scene.addItem(item)

    def update(self, class_name: str, box, manual: bool, score: float) -> None:
        x0, y0, x1, y1 = (float(v) for v in box)
        self.rect.setRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        pen = self.rect.pen()
        pen.setStyle(Qt.PenStyle.DashLine if manual else Qt.PenStyle.SolidLine)
        self.rect.setPen(pen)
        text = f"{class_name} #{self.track_id}" + (" (manual)" if manual else
                                                   f" {score:.2f}" if score else "")
        if text != self.text:
            self.text = text
            self.tag.setText(text)
            bounds = self.tag.boundingRect()
            self.tag_back.setRect(QRectF(0, 0, bounds.width() + 6, bounds.height() + 2))
        self.tag_back.setPos(min(x0, x1), min(y0, y1))

    def remove(self, scene: QGraphicsScene) -> None:
        for item in (self.rect, self.tag_back):
            scene.removeItem(item)


class VideoView(QGraphicsView):
    """Shows :class:`VideoFrame` objects (``image``, ``time_s``, ``tracks``) fitted to the view.

    Signals: ``regionDrawn(box)`` when a drag ends (before the instrument is chosen),
    ``regionAdded(box, class_name)`` when it is completed, ``removeRequested(track_id)`` on a
    right-click on a box.
    """

    regionDrawn = Signal(tuple)
    regionAdded = Signal(tuple, str)
    removeRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor("#000000"))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMinimumSize(240, 180)
        self.pixmap = QGraphicsPixmapItem()
        self.pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.pixmap)
        self.message = QGraphicsSimpleTextItem("No video")
        self.message.setBrush(QBrush(QColor("#9e9e9e")))
        self.scene().addItem(self.message)
        self.boxes: dict[int, TrackBox] = {}
        self.classes: tuple[str, ...] = ()
        self.frame_size: tuple[int, int] | None = None  # (w, h)
        self.frames_shown = 0
        self._last_frame = None
        self._drag_start: QPointF | None = None
        self._band = QGraphicsRectItem()
        band_pen = QPen(QColor("#ffffff"), 1.5, Qt.PenStyle.DashLine)
        band_pen.setCosmetic(True)
        self._band.setPen(band_pen)
        self._band.setBrush(QBrush(QColor(255, 255, 255, 40)))
        self._band.setZValue(5)
        self._band.hide()
        self.scene().addItem(self._band)
        self.pending_box: tuple | None = None
        self.menu: QMenu | None = None
        self.setToolTip("drag a rectangle to add an instrument; right-click a box to remove it")

    # --- frames -----------------------------------------------------------------------------
    def set_classes(self, classes) -> None:
        """Instrument names the manual-region menu offers."""
        self.classes = tuple(classes)

    def set_message(self, text: str) -> None:
        """A line shown when there is no picture (e.g. "No camera")."""
        self.message.setText(text)
        self.message.setVisible(bool(text) and self.frame_size is None)
        if self.frame_size is None:
            self.setSceneRect(self.message.boundingRect().adjusted(-20, -20, 20, 20))
            self._fit()

    @property
    def frame(self):
        """The VideoFrame shown, None before the first one (or after :meth:`clear`)."""
        return self._last_frame

    def show_frame(self, frame) -> bool:
        """Show ``frame`` (a VideoFrame) unless it is the one already shown; True when drawn.

        A frame counts as already shown when it has the same image object, time and tracks
        (the session builds a new VideoFrame per call around its latest snapshot).
        """
        last = self._last_frame
        if frame is None or frame is last or (
                last is not None and frame.image is last.image and frame.time_s == last.time_s
                and list(frame.tracks) == list(last.tracks)):
            return False
        self._last_frame = frame
        image = np.asarray(frame.image)
        h, w = image.shape[:2]
        if last is None or frame.image is not last.image:
            self.pixmap.setPixmap(QPixmap.fromImage(frame_to_qimage(image)))
        if self.frame_size != (w, h):
            self.frame_size = (w, h)
            self.message.hide()
            self.setSceneRect(QRectF(0, 0, w, h))
            self._fit()
        self.set_tracks(frame.tracks)
        self.frames_shown += 1
        return True

    def set_tracks(self, tracks) -> None:
        """Draw exactly these tracks' boxes (TrackInfo-like objects)."""
        seen = set()
        for track in tracks:
            tid = int(track.track_id)
            seen.add(tid)
            box = self.boxes.get(tid)
            if box is None:
                box = self.boxes[tid] = TrackBox(self.scene(), tid)
            box.update(track.class_name, track.box, bool(track.manual),
                       float(getattr(track, "score", 0.0) or 0.0))
        for tid in [t for t in self.boxes if t not in seen]:
            self.boxes.pop(tid).remove(self.scene())

    def clear(self) -> None:
        """Forget the picture and the boxes (a new session starts)."""
        self.set_tracks(())
        self.pixmap.setPixmap(QPixmap())
        self.frame_size = None
        self._last_frame = None
        self.message.show()
        self.set_message(self.message.text())

    def _fit(self) -> None:
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._fit()

    # --- mouse --------------------------------------------------------------------------------
    def track_at(self, scene_pos: QPointF) -> int | None:
        """The id of the track whose box (or tag) is under ``scene_pos``, the smallest box
        first; None when there is none."""
        hits = []
        for tid, box in self.boxes.items():
            rect = box.rect.rect()
            tag = box.tag_back.sceneBoundingRect()
            if rect.contains(scene_pos) or tag.contains(scene_pos):
                hits.append((rect.width() * rect.height(), tid))
        return min(hits)[1] if hits else None

    def _clamped(self, point: QPointF) -> QPointF:
        if self.frame_size is None:
            return point
        w, h = self.frame_size
        return QPointF(min(max(point.x(), 0.0), w), min(max(point.y(), 0.0), h))

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        scene_pos = self.mapToScene(event.position().toPoint())
        if event.button() == Qt.MouseButton.RightButton:
            tid = self.track_at(scene_pos)
            if tid is not None:
                self.removeRequested.emit(tid)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.frame_size is not None:
            self._drag_start = self._clamped(scene_pos)
            self._band.setRect(QRectF(self._drag_start, self._drag_start))
            self._band.show()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self._drag_start is not None:
            end = self._clamped(self.mapToScene(event.position().toPoint()))
            self._band.setRect(QRectF(self._drag_start, end).normalized())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self._drag_start is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        end = self._clamped(self.mapToScene(event.position().toPoint()))
        rect = QRectF(self._drag_start, end).normalized()
        self._drag_start = None
        event.accept()
        if rect.width() < MIN_REGION_PX or rect.height() < MIN_REGION_PX:
            self._band.hide()
            return
        box = (round(rect.left(), 1), round(rect.top(), 1), round(rect.right(), 1),
               round(rect.bottom(), 1))
        self.begin_region(box, event.position().toPoint())

    # --- manual regions -------------------------------------------------------------------------
    def begin_region(self, box: tuple, at: QPoint | None = None) -> None:
        """A region was drawn: emit ``regionDrawn`` and pop up the instrument menu at ``at``
        (view coordinates; no menu when there are no classes or ``at`` is None)."""
        self.pending_box = tuple(float(v) for v in box)
        self._band.setRect(QRectF(QPointF(*self.pending_box[:2]),
                                  QPointF(*self.pending_box[2:])))
        self._band.show()
        self.regionDrawn.emit(self.pending_box)
        if at is None or not self.classes:
            return
        self.menu = QMenu(self)
        self.menu.addSection("Which instrument?")
        for name in self.classes:
            self.menu.addAction(name, lambda name=name: self.complete_region(name))
        self.menu.addSeparator()
        self.menu.addAction("Cancel", self.cancel_region)
        self.menu.aboutToHide.connect(self._menu_closed)
        self.menu.popup(self.viewport().mapToGlobal(at))

    def complete_region(self, class_name: str) -> tuple | None:
        """Finish the pending region as ``class_name``: emits ``regionAdded(box, class_name)``
        and returns the box (None when no region is pending)."""
        box = self.pending_box
        self.pending_box = None
        self._band.hide()
        if box is None:
            return None
        self.regionAdded.emit(box, str(class_name))
        return box

    def cancel_region(self) -> None:
        self.pending_box = None
        self._band.hide()

    def _menu_closed(self) -> None:
        # the menu's action runs after aboutToHide: cancel only if nothing was chosen by then
        menu = self.menu
        self.menu = None
        if menu is not None:
            menu.deleteLater()
        QTimer.singleShot(0, lambda: self.cancel_region() if self.menu is None
                          and self.pending_box is not None else None)
