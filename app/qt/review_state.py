"""The review's shared selection state: which case, class, axis, slice and highlighted cell.

Every panel and the slice view read and change the selection through one :class:`ReviewState`,
so selecting a class in the Dice table selects it in the view, the matrix and the slice plot
alike. Signals are named after what changed; setters emit only on a real change,
so panels that set and listen never loop.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

AXIS_NAMES = ("axial", "coronal", "sagittal")
"""Axis index -> name; axis ``k`` slices the ``(z, y, x)`` arrays along array axis ``k``."""


class ReviewState(QObject):
    """Selection shared by the window's views and panels.

    Attributes are read directly; change them only through the setters.

    Attributes
    ----------
    case : app.io.Case or None
        The case under review.
    selected_class : int
        Label index selected everywhere (table row, error map, slice plot); 1 by default.
    axis : int
        0 axial (slices along z), 1 coronal (along y), 2 sagittal (along x).
    slice_index : int
        Current slice along ``axis``.
    highlighted_cell : tuple of int or None
        ``(gt_label, pred_label)`` of the confusion-matrix cell whose voxels are highlighted.
    scored_case : app.io.Case or None
        The case whose classes the Dice table, matrix, slice plot and objects dock show: ``case`` itself,
        or with ``view --instances`` its voxel case (app/qt/instance_voxels.py); ``selected_class`` indexes it.
    scored_case_source : callable or None
        ``case -> scored case``; None: ``case`` itself.
    scored_slices_source : callable or None
        ``(gt slice, pred slice, take) -> (gt classes, pred classes)``: the scored case's classes on a slice
        shown, from its ids and ``take`` (``(z, y, x) volume -> that slice as on screen``), kept current through
        edits; None: ``case``'s labels are the classes.
    """

    case_changed = Signal(object)
    selected_class_changed = Signal(int)
    axis_changed = Signal(int)
    slice_changed = Signal(int)
    highlighted_cell_changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.case = None
        self.selected_class = 1
        self.axis = 0
        self.slice_index = 0
        self.highlighted_cell: tuple[int, int] | None = None
        self.scored_case = None
        self.scored_case_source = None
        self.scored_slices_source = None

    def slice_count(self, axis: int | None = None) -> int:
        """Number of slices along ``axis`` (default: the current axis); 0 without a case."""
        if self.case is None:
            return 0
        return int(self.case.gt.shape[self.axis if axis is None else axis])

    def set_case(self, case) -> None:
        """Show ``case``: middle slice of the current axis (until :mod:`app.qt.opening_slice` moves it), no
        highlight, class kept when it exists."""
        self.case = case
        self.scored_case = case if self.scored_case_source is None else self.scored_case_source(case)
        self.highlighted_cell = None
        classes = self.scored_case.num_classes
        if self.selected_class >= classes:
            self.selected_class = 1 if classes > 1 else 0
        self.slice_index = self.slice_count() // 2
        self.case_changed.emit(case)

    def select_class(self, label: int) -> None:
        """Select label ``label`` everywhere."""
        if label != self.selected_class:
            self.selected_class = int(label)
            self.selected_class_changed.emit(self.selected_class)

    def set_axis(self, axis: int) -> None:
        """Switch to ``axis`` (0, 1 or 2), keeping the slice in range."""
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        if axis != self.axis:
            self.axis = axis
            self.slice_index = min(self.slice_index, max(self.slice_count() - 1, 0))
            self.axis_changed.emit(axis)

    def set_slice(self, index: int) -> None:
        """Go to slice ``index`` along the current axis (clamped to the volume)."""
        index = int(min(max(index, 0), max(self.slice_count() - 1, 0)))
        if index != self.slice_index:
            self.slice_index = index
            self.slice_changed.emit(index)

    def set_plane(self, axis: int, index: int) -> None:
        """Switch to ``axis`` and slice ``index`` at once: handlers of ``axis_changed`` already see the
        slice (linked views focusing another view; see :mod:`app.qt.view_layout`)."""
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        if axis == self.axis:
            self.set_slice(index)
            return
        self.axis = axis
        self.slice_index = int(min(max(index, 0), max(self.slice_count() - 1, 0)))
        self.axis_changed.emit(axis)

    def highlight_cell(self, cell: tuple[int, int] | None) -> None:
        """Highlight the voxels of confusion-matrix cell ``(gt_label, pred_label)``, or none."""
        cell = None if cell is None else (int(cell[0]), int(cell[1]))
        if cell != self.highlighted_cell:
            self.highlighted_cell = cell
            self.highlighted_cell_changed.emit(cell)
