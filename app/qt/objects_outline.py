"""The slice views' object key: missed and false objects (lesions) outlined by their boxes on every slice they cross.

Each view shows, for the objects of the latest :class:`~app.qt.objects_controller.ObjectsUpdate` whose
bounding box crosses the view's slice, the box's in-plane rectangle: missed objects (ground truth without
a match) in red, false objects (predictions without a match) in cyan, the colours of the voxel key
(:data:`app.qt.overlay_objects.KEY_COLORS`). The rectangles are a few graphics items laid
over the image, redrawn when the objects update (debounced after edits) or the slice changes: a stroke
never re-renders anything here. View coordinates are millimetres, pixel ``(row, col)`` covering
``[row * row_mm, (row + 1) * row_mm)`` (see :mod:`app.qt.crosshair_lines`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, QTimer, Slot
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from app.qt.overlay_objects import KEY_COLORS

KIND_COLORS = KEY_COLORS
"""Outline RGB(A) per object status."""
MAX_OUTLINED = 200
"""At most this many objects are outlined per view (the largest)."""
_Z_VALUE = 40
"""Above the image and overlays, below the crosshair lines."""


def plane_change_signals(views) -> tuple:
    """The signals after which a view of ``views`` (a ViewLayout) may show another slice or plane."""
    state = views.state
    return (state.axis_changed, state.slice_changed, views.crosshair.moved, views.layout_changed,
            *(p.axis_changed for p in views.planes), *(p.slice_changed for p in views.planes))


def screen_span(lo: int, hi: int, size: int, flipped: bool) -> tuple[int, int]:
    """Screen pixel range ``[start, stop)`` of array range ``[lo, hi)`` along an axis of ``size`` pixels."""
    return (size - hi, size - lo) if flipped else (lo, hi)


class ObjectsOutline(QObject):
    """Outlines the missed and false objects in every slice view of ``views``.

    Parameters
    ----------
    views : app.qt.view_layout.ViewLayout
        Its ``views`` get the outlines; its state, planes, crosshair and layout say when to redraw.
    controller : app.qt.objects_controller.ObjectsController
        Source of the objects (``objects_ready``).
    """

    def __init__(self, views, controller, parent: QObject | None = None) -> None:
        super().__init__(parent or views)
        self._layout = views
        self._objects: list = []
        self.shown = True
        self.items: dict[int, list[QGraphicsRectItem]] = {id(view): [] for view in views.views}
        self._timer = QTimer(self)   # coalesces the signals of one change; runs after the views re-lay out
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.redraw)
        controller.objects_ready.connect(self._on_objects)
        views.state.case_changed.connect(self._on_case_changed)
        for signal in plane_change_signals(views):
            signal.connect(self.schedule)

    @Slot()
    @Slot(object)
    def schedule(self, *_args) -> None:
        """Redraw once the current change has been laid out."""
        self._timer.start()

    @Slot(bool)
    def set_shown(self, shown: bool) -> None:
        """Draw the outlines or not."""
        self.shown = bool(shown)
        self.redraw()

    @Slot(object)
    def _on_case_changed(self, _case) -> None:
        self._objects = []   # the new case's objects follow (replies of the previous one are dropped)
        self.schedule()

    @Slot(object)
    def _on_objects(self, update) -> None:
        scores = update.scores
        unmatched = [] if scores is None else [o for c in scores.classes for o in (*c.missed, *c.false)]
        self._objects = sorted(unmatched, key=lambda o: -o.voxels)[:MAX_OUTLINED]
        self.schedule()

    @Slot()
    def redraw(self) -> None:
        """Put the outlines of the objects crossing each view's slice."""
        case = self._layout.state.case
        for view in self._layout.views:
            for item in self.items[id(view)]:
                view.view_box.removeItem(item)
            self.items[id(view)] = []
            frame = view.frame
            if not self.shown or case is None or frame is None:
                continue
            index, shape = view.slice_index, case.gt.shape
            for item in self._objects:
                lo, hi = item.box[frame.array_axis]
                if lo <= index < hi:
                    self.items[id(view)].append(self._rectangle(view, frame, shape, item))

    @staticmethod
    def _rectangle(view, frame, shape, item) -> QGraphicsRectItem:
        cols = screen_span(*item.box[frame.col_axis], shape[frame.col_axis], frame.flip_cols)
        rows = screen_span(*item.box[frame.row_axis], shape[frame.row_axis], frame.flip_rows)
        rect = QGraphicsRectItem(QRectF(cols[0] * frame.col_mm, rows[0] * frame.row_mm,
                                        (cols[1] - cols[0]) * frame.col_mm, (rows[1] - rows[0]) * frame.row_mm))
        red, green, blue, _ = KIND_COLORS[item.status]
        pen = QPen(QColor(red, green, blue, 255))
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        rect.setPen(pen)
        rect.setZValue(_Z_VALUE)
        view.view_box.addItem(rect, ignoreBounds=True)
        return rect
