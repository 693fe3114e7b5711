"""The Objects dock: per-class object counts and the missed and false objects (lesions), largest first.

Shows the :class:`~app.qt.objects_controller.ObjectsUpdate` of the current case: one line per foreground
class with TP, FP, FN and F1 (lesion mode, docs/architecture.md §5a), then a table of the unmatched
objects (class, missed / false, volume, slice range along the current axis (rows for a 2D image), IoU
with the most-overlapping object), largest first. Clicking a row goes to the object's largest slice (with
three linked views, the crosshair moves to the object's largest slice along every axis), clears the
highlighted confusion cell and announces the object (``object_chosen``): the views' object key
(:mod:`app.qt.objects_key`) then highlights that object's own voxels. While edits are pending, the figures
are marked as updating. The "outline" box switches the views' object key (:mod:`app.qt.objects_outline`).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.qt.label_colors import class_names

COLUMNS = ("Class", "Kind", "Volume", "Slices", "IoU")
HINT = "Click an object to go to its largest slice and highlight its voxels"


class ObjectsPanel(QWidget):
    """Object counts per class and the list of missed and false objects.

    Parameters
    ----------
    state : app.qt.review_state.ReviewState
        The shared selection: the panel sets the plane and clears the highlighted confusion cell.
    controller : app.qt.objects_controller.ObjectsController
        Source of the objects (``objects_ready``, ``objects_stale``).
    views : app.qt.view_layout.ViewLayout, optional
        With three linked views, a click moves their crosshair.

    Signals
    -------
    object_chosen(object)
        The :class:`dice_engine.objects.SegmentObject` of the clicked row.
    """

    object_chosen = Signal(object)

    def __init__(self, state, controller, views=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._views = views
        self.objects: list = []
        """The rows' objects, in table order."""
        self._stale = False
        self._counts_text = ""
        self.counts_label = QLabel("No case")
        self.counts_label.setTextFormat(Qt.TextFormat.PlainText)   # class names are user text
        self.counts_label.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellClicked.connect(self._on_cell_clicked)
        hint = QLabel(HINT)
        hint.setWordWrap(True)
        self.outline_box = QCheckBox("Outline missed (red) and false (cyan) objects in the views")
        self.outline_box.setChecked(True)
        self.outline_box.setToolTip("Each missed or false object's bounding box, on every slice it crosses "
                                    "(app.qt.objects_outline)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addWidget(self.outline_box)
        controller.objects_ready.connect(self.show_update)
        controller.objects_stale.connect(self.mark_stale)
        state.case_changed.connect(self._on_case_changed)

    @Slot(object)
    def _on_case_changed(self, case) -> None:
        self.objects = []
        self.table.setRowCount(0)
        self._stale = False
        self._counts_text = "Counting the objects…" if case is not None else "No case"
        self.counts_label.setText(self._counts_text)

    @Slot()
    def mark_stale(self) -> None:
        """An edit came after the figures shown: say they are being updated."""
        self._stale = True
        self._show_counts()

    @Slot(object)
    def show_update(self, update) -> None:
        """Show an :class:`~app.qt.objects_controller.ObjectsUpdate`."""
        self._stale = update.stale
        if update.scores is None:
            self.objects = []
            self.table.setRowCount(0)
            self._counts_text = update.message
            self._show_counts()
            return
        names = class_names(self._state.scored_case, 1 + max((c.class_index for c in update.scores.classes), default=0))
        lines = [f"{names[c.class_index]}: TP {c.counts.tp} · FP {c.counts.fp} · FN {c.counts.fn} · "
                 f"F1 {_figure(c.counts.f1)}" for c in update.scores.classes]
        self._counts_text = "\n".join(lines) if lines else "No foreground class"
        unmatched = [o for c in update.scores.classes for o in (*c.missed, *c.false)]
        self.objects = sorted(unmatched, key=lambda o: (-o.voxels, o.class_index, o.mask, o.anchor))
        self.table.setRowCount(len(self.objects))
        case = self._state.case
        axis = 1 if case is not None and case.gt.shape[0] == 1 else self._state.axis   # a 2D image: its rows
        for row, item in enumerate(self.objects):
            low, high = item.box[axis]
            span = f"{low}" if high - low == 1 else f"{low}\u2013{high - 1}"
            cells = (names[item.class_index], item.status, f"{item.volume_ml:.3f} mL ({item.voxels} vox)",
                     f"{'zyx'[axis]} {span}", f"{item.iou:.2f}")
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column in (2, 4):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        self._show_counts()

    def choose(self, row: int) -> None:
        """Go to the object of ``row``: its largest slice; announce it (``object_chosen``) to be highlighted."""
        if not 0 <= row < len(self.objects):
            return
        item = self.objects[row]
        self.table.selectRow(row)
        if self._views is not None and self._views.linked:
            self._views.crosshair.set_point(item.largest_slices)
        else:
            axis = self._state.axis
            self._state.set_plane(axis, item.largest_slices[axis])
        self._state.highlight_cell(None)   # the object's own voxels are highlighted (app.qt.objects_key)
        self.object_chosen.emit(item)

    @Slot(int, int)
    def _on_cell_clicked(self, row: int, _column: int) -> None:
        self.choose(row)

    def _show_counts(self) -> None:
        self.counts_label.setText(self._counts_text + ("\n(updating after the latest edits…)" if self._stale
                                                       else ""))


def _figure(value: float) -> str:
    return "\u2014" if value is None or math.isnan(value) else f"{value:.2f}"
