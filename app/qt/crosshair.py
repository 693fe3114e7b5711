"""The crosshair of the linked views: one voxel ``(z, y, x)`` that the three orthogonal views pass through.

:class:`Crosshair` holds the point; each linked view shows one :class:`CrosshairPlane`, the slice through
the point along a fixed array axis. Moving the point (a click or a dragged crosshair line in one view, the
wheel or slider of another) moves the slices of the others. The layout (:mod:`app.qt.view_layout`) keeps
the shared :class:`~app.qt.review_state.ReviewState`'s axis and slice on the view in focus, so panels that
follow the state (the per-slice plot, the confusion matrix's "locate") follow that view.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Crosshair(QObject):
    """The voxel the linked views pass through.

    Parameters
    ----------
    state : ReviewState
        Gives the case's shape; on a new case the point goes to the middle of the volume (silently: the
        views lay the new case out anyway).

    Attributes
    ----------
    point : tuple of 3 int
        ``(z, y, x)`` array index, inside the volume.

    Signals
    -------
    moved(tuple)
        The new point, after a real change.
    """

    moved = Signal(object)

    def __init__(self, state, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.point: tuple[int, int, int] = (0, 0, 0)
        state.case_changed.connect(self._on_case_changed)

    def _on_case_changed(self, case) -> None:
        self.point = tuple(int(size) // 2 for size in case.gt.shape)

    def set_point(self, point) -> None:
        """Move to ``point`` ``(z, y, x)``, clamped to the volume."""
        case = self.state.case
        if case is None:
            return
        clamped = tuple(int(min(max(int(value), 0), size - 1)) for value, size in zip(point, case.gt.shape,
                                                                                       strict=True))
        if clamped != self.point:
            self.point = clamped
            self.moved.emit(clamped)

    def set_coordinate(self, axis: int, index: int) -> None:
        """Move along array ``axis`` only, to ``index`` (clamped)."""
        point = list(self.point)
        point[axis] = index
        self.set_point(point)


class CrosshairPlane(QObject):
    """The slice through the crosshair along one fixed array axis: the plane of one linked view.

    Same interface as the shared state's plane (``axis``, ``slice_index``, ``slice_count()``,
    ``set_slice()``, ``axis_changed``, ``slice_changed``), so a :class:`~app.qt.slice_view.SliceView` shows
    either.

    Parameters
    ----------
    crosshair : Crosshair
    axis : int
        Array axis 0, 1 or 2.
    """

    axis_changed = Signal(int)
    """Never emitted (the axis is fixed); present for the plane interface."""
    slice_changed = Signal(int)

    def __init__(self, crosshair: Crosshair, axis: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        self.crosshair = crosshair
        self.axis = axis
        self._shown = crosshair.point[axis]
        crosshair.moved.connect(self._on_moved)
        crosshair.state.case_changed.connect(self._on_case_changed)   # after the crosshair's own reset

    @property
    def slice_index(self) -> int:
        """The crosshair's coordinate along :attr:`axis`."""
        return self.crosshair.point[self.axis]

    def slice_count(self, axis: int | None = None) -> int:
        """Slices along ``axis`` (default: this plane's); 0 without a case."""
        return self.crosshair.state.slice_count(self.axis if axis is None else axis)

    def set_slice(self, index: int) -> None:
        """Show slice ``index`` (clamped): moves the crosshair along this plane's axis."""
        self.crosshair.set_coordinate(self.axis, index)

    def _on_case_changed(self, _case) -> None:
        self._shown = self.slice_index

    def _on_moved(self, point) -> None:
        if point[self.axis] != self._shown:
            self._shown = point[self.axis]
            self.slice_changed.emit(self._shown)
