"""The Dice table dock widget: per-class Dice, IoU, volumes, errors and surface distances, with the headlines."""

from __future__ import annotations

import math

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSize, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.qt.label_colors import class_colors, class_names
from app.qt.plain_text import plain_tooltip
from app.qt.table_model import (
    NAME_COLUMN,
    STALE_TEXT,
    UNDEFINED_DICE_TOOLTIP,
    UNDEFINED_TEXT,
    ClassMetricsModel,
    MetricSortProxy,
)
from app.qt.voxel_readout import distance_unit

MAX_NAME_COLUMN_CHARS = 22
"""Widest class-name column, in characters; longer names are elided (the tooltip has them whole)."""
SWATCH_ROOM_PX = 14
"""Room for the colour swatch and margins beside the name."""
HEADLINE_TOOLTIP = (
    "Mean Dice over the foreground classes (label 0, background, is not included).\n" + UNDEFINED_DICE_TOOLTIP
)
BUSY_DELAY_MS = 250
"""The busy indicator appears only when a computation takes longer than this (a case load, not a brush dab)."""
LOSS_TOOLTIP = (
    "Dice loss on the hard masks: 1 − (2·TP + 1) / (2·TP + FP + FN + 1) per foreground class\n"
    "(smooth = 1), averaged over the foreground classes."
)
DISTANCES_TOOLTIP = (
    "Means over the foreground classes present in both masks (the others are undefined and left out).\n"
    "HD95: larger of the two directed 95th percentiles of surface distances; ASSD: mean of both\n"
    "directions' surface distances; in mm between surface-voxel centres (MONAI's definitions).\n"
    "Recomputed in the background once edits settle."
)


class DiceTablePanel(QWidget):
    """Per-class metrics of the current case; selecting a row selects that class everywhere.

    Parameters
    ----------
    state : app.qt.review_state.ReviewState
        Shared selection; the panel follows ``case_changed`` and ``selected_class_changed``.
    controller : app.qt.engine_controller.EngineController
        Source of the numbers (``result_ready``), the surface distances (``distances_ready``,
        ``distances_stale``) and the busy indicator (``busy_changed``).
    """

    def __init__(self, state, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._controller = controller
        self.model = ClassMetricsModel(self)
        self.proxy = MetricSortProxy(self)
        self.proxy.setSourceModel(self.model)

        self.mean_label = QLabel()
        self.mean_label.setToolTip(HEADLINE_TOOLTIP)
        self.mean_label.setTextFormat(Qt.TextFormat.RichText)
        self.loss_label = QLabel()
        self.loss_label.setToolTip(LOSS_TOOLTIP)
        self.distance_label = QLabel()
        self.distance_label.setToolTip(DISTANCES_TOOLTIP)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate: moves while the engine computes
        self.busy_bar.setMaximumWidth(80)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setToolTip("Computing the metrics…")
        self.busy_bar.setVisible(False)
        self._busy = False
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_DELAY_MS)
        self._busy_timer.timeout.connect(self._show_busy)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)

        headline = QHBoxLayout()
        headline.addWidget(self.mean_label)
        headline.addStretch(1)
        headline.addWidget(self.busy_bar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(headline)
        layout.addWidget(self.loss_label)
        layout.addWidget(self.distance_label)
        layout.addWidget(self.table)
        self._show_headline(None)
        self._show_distance_headline(None)

        self.table.selectionModel().selectionChanged.connect(self._on_rows_selected)
        state.case_changed.connect(self._on_case_changed)
        state.selected_class_changed.connect(self._on_class_selected)
        controller.result_ready.connect(self._on_result)
        controller.busy_changed.connect(self._on_busy_changed)
        controller.distances_ready.connect(self._on_distances)
        controller.distances_stale.connect(self._on_distances_stale)
        self._on_busy_changed(controller.busy)
        if state.case is not None:
            self._on_case_changed(state.case)
        if controller.last_result is not None:
            self._on_result(controller.last_result)
        if controller.distances.last_update is not None:
            self._on_distances(controller.distances.last_update)

    def sizeHint(self) -> QSize:  # Qt override: room for about ten rows and every column
        return QSize(700, 14 * self.table.verticalHeader().defaultSectionSize() + 80)

    @Slot(object)
    def _on_case_changed(self, case) -> None:
        self.model.set_distance_unit(distance_unit(case))
        scored = self._state.scored_case or case   # the voxel case with view --instances
        self._set_classes(scored, scored.num_classes)
        self._show_headline(None)
        self._show_distance_headline(None)

    @Slot(object)
    def _on_distances(self, update) -> None:
        if update.generation != self._controller.generation:
            return  # of a case replaced meanwhile (its distances start after the new case's table)
        result = update.result
        if result is not None and len(result.hausdorff95) != self.model.rowCount():
            return  # computed for another class table; the next load brings the right one
        self.model.set_distances(result, update.stale, unavailable=update.message)
        self._show_distance_headline(update)

    @Slot(object)
    def _on_distances_stale(self, stale) -> None:
        self.model.mark_distances_stale(stale)
        if self.model.stale_distance_classes:
            self.distance_label.setEnabled(False)

    @Slot(object)
    def _on_result(self, result) -> None:
        if result.num_classes != self.model.rowCount():
            self._set_classes(self._state.scored_case, result.num_classes)
        first = not self.model.has_metrics
        self.model.set_metrics(result.metrics, sort_column=self.proxy.sortColumn())
        self._show_headline(result)
        if first:
            self._fit_columns()

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        self._busy = busy
        if busy:
            if not self.busy_bar.isVisibleTo(self) and not self._busy_timer.isActive():
                self._busy_timer.start()
        else:
            self._busy_timer.stop()
            if self.busy_bar.isVisibleTo(self):
                self.busy_bar.setVisible(False)

    @Slot()
    def _show_busy(self) -> None:
        if self._busy:
            self.busy_bar.setVisible(True)

    @Slot(int)
    def _on_class_selected(self, label: int) -> None:
        self._select_row(label)

    @Slot(QItemSelection, QItemSelection)
    def _on_rows_selected(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._state.select_class(self.proxy.mapToSource(rows[0]).row())

    def set_column_source(self, model=None) -> None:
        """Sort and show ``model`` (a proxy over :attr:`model` that adds columns, e.g. the soft Dice ones),
        or :attr:`model` itself (None); keeps the selected row and fits the columns.

        Put a proxy in only while it adds columns: the view asks every model of the chain for each role of
        each painted cell, and one written in Python takes the GIL for each answer, which makes a brush
        segment's repaint wait on any busy background lane (docs/architecture.md §3).
        """
        source = self.model if model is None else model
        if self.proxy.sourceModel() is source:
            return
        self.proxy.setSourceModel(source)
        self._fit_columns()
        self._select_row(self._state.selected_class)

    def _fit_columns(self) -> None:
        """Columns as wide as their contents, the class names at most :data:`MAX_NAME_COLUMN_CHARS` wide
        (longer ones elided, whole in the tooltip), so that every number column stays in view."""
        self.table.resizeColumnsToContents()
        widest = self.table.fontMetrics().horizontalAdvance("x" * MAX_NAME_COLUMN_CHARS) + 2 * SWATCH_ROOM_PX
        if self.table.columnWidth(NAME_COLUMN) > widest:
            self.table.setColumnWidth(NAME_COLUMN, widest)

    def _set_classes(self, case, num_classes: int) -> None:
        self.model.set_classes(class_names(case, num_classes), class_colors(case, num_classes))
        self._fit_columns()
        self._select_row(self._state.selected_class)

    def _select_row(self, label: int) -> None:
        if not 0 <= label < self.model.rowCount():
            self.table.clearSelection()
            return
        index = self.proxy.mapFromSource(self.proxy.sourceModel().index(label, 0))   # rows = labels through any proxy
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def _show_distance_headline(self, update) -> None:
        """Foreground means of HD95 and ASSD (the engine's ``foreground_means``), greyed while outdated."""
        if update is None:
            self.distance_label.setText(f"Mean foreground HD95 / ASSD: {STALE_TEXT} (computing)")
            self.distance_label.setEnabled(False)
            return
        if update.result is None:
            self.distance_label.setText(f"Mean foreground HD95 / ASSD: {UNDEFINED_TEXT} (not available)")
            self.distance_label.setToolTip(plain_tooltip(update.message or DISTANCES_TOOLTIP))
            self.distance_label.setEnabled(True)
            return
        means = update.result.foreground_means()
        unit = distance_unit(self._state.case)

        def mm(value) -> str:
            return UNDEFINED_TEXT if value is None else f"{value:.2f} {unit}"

        left_out = f" · {means['n_undefined']} undefined left out"
        self.distance_label.setText(f"Mean foreground HD95 {mm(means['hausdorff95_mm'])} · "
                                    f"ASSD {mm(means['assd_mm'])}{left_out}")
        self.distance_label.setToolTip(DISTANCES_TOOLTIP)
        self.distance_label.setEnabled(not update.stale)

    def _show_headline(self, result) -> None:
        if result is None:
            self.mean_label.setText("Mean foreground Dice: <b>…</b>")
            self.loss_label.setText("Dice loss (hard, foreground, smooth 1): …")
            return
        left_out = f" · {result.n_undefined_foreground} undefined left out"
        if math.isnan(result.dice_mean_foreground):
            mean = f"{UNDEFINED_TEXT} (no foreground class present)"
        else:
            mean = f"{result.dice_mean_foreground:.3f}"
        self.mean_label.setText(f"Mean foreground Dice: <b>{mean}</b>{left_out}")
        loss = UNDEFINED_TEXT if math.isnan(result.dice_loss_hard) else f"{result.dice_loss_hard:.3f}"
        self.loss_label.setText(f"Dice loss (hard, foreground, smooth 1): {loss}")
