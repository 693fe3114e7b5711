"""The confusion-matrix dock widget: a zoomable heatmap, rows = ground truth, columns = prediction.

Clicking cell ``(i, j)`` highlights the voxels with GT = i predicted as j in the slice view (through
the shared state) and asks the engine for the slice holding most of them, then jumps there.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Slot
from PySide6.QtGui import QColor, QCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.qt.class_axis import ClassAxis
from app.qt.label_colors import class_names
from app.qt.plain_text import plain_tooltip
from app.qt.review_state import AXIS_NAMES
from app.qt.theme import DEFAULT_THEME, PLOT_COLORS, PlotColors, style_plot

MODE_COUNTS = "Counts"
MODE_ROW_PERCENT = "Row %"
MAX_ANNOTATED_CLASSES = 12
"""Cells carry their value as text up to this many classes; beyond, read values from the hover tooltip."""
HINT = "Hover a cell for its counts · click it to highlight its voxels and go to the slice with most"
COLOR_MAP = "viridis"
COLOR_STEPS = 256
"""Colour resolution of the heatmap for deciding whether a result changes what is drawn."""
FIT_PADDING = 0.03
"""Margin around the fitted matrix, as a fraction of its size, so the edge classes' names are not clipped."""


class ConfusionMatrixPanel(QWidget):
    """Heatmap of the confusion matrix with counts or row percentages, linear or log colours.

    Parameters
    ----------
    state : app.qt.review_state.ReviewState
        Shared selection: the panel sets ``highlighted_cell`` and the slice, and reads the axis.
    controller : app.qt.engine_controller.EngineController
        Source of the matrix (``result_ready``) and of cell locations (``cell_located``).
    """

    def __init__(self, state, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._controller = controller
        self._confusion: np.ndarray | None = None
        self._names: list[str] = []
        self._annotations: list[pg.TextItem] = []
        self._color_label: str | None = None
        self._drawn_key: tuple | None = None
        self._described_cell: tuple[int, int] | None = None
        """The cell the line under the matrix describes (hovered or clicked), to re-describe on new counts."""

        self.mode_box = QComboBox()
        self.mode_box.addItems([MODE_ROW_PERCENT, MODE_COUNTS])
        self.mode_box.setToolTip("Row %: each ground-truth row sums to 100 %. Counts: voxels.")
        self.log_box = QCheckBox("Log colour")
        self.log_box.setToolTip("Colour by log10(1 + value), so small confusions stay visible.")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole matrix (mouse wheel zooms, drag pans)")
        self.info_label = QLabel(HINT)
        self.info_label.setTextFormat(Qt.TextFormat.PlainText)  # class names are user text
        self.info_label.setWordWrap(True)
        self.info_label.setMinimumHeight(2 * self.info_label.fontMetrics().lineSpacing())  # no jumps on wrap

        self._x_axis = ClassAxis("bottom")
        self._y_axis = ClassAxis("left")
        self.plot = pg.PlotWidget(axisItems={"bottom": self._x_axis, "left": self._y_axis},
                                enableMenu=False)   # no context menu (not even built: §10)
        plot_item = self.plot.getPlotItem()
        plot_item.setLabel("left", "Ground-truth label (rows)")
        plot_item.setLabel("bottom", "Predicted label (columns)")
        plot_item.hideButtons()
        self._view_box = plot_item.getViewBox()
        self._view_box.invertY(True)
        self._view_box.setDefaultPadding(FIT_PADDING)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get(COLOR_MAP))
        plot_item.addItem(self.image)
        self.color_bar = pg.ColorBarItem(colorMap=pg.colormap.get(COLOR_MAP), interactive=False, width=12)
        self.color_bar.setImageItem(self.image, insert_in=plot_item)
        self._highlight = QGraphicsRectItem(0, 0, 1, 1)
        self._highlight.setPen(pg.mkPen(QColor(255, 60, 60), width=3))
        self._highlight.setZValue(10)
        self._highlight.setVisible(False)
        self._view_box.addItem(self._highlight, ignoreBounds=True)
        self._selected_row, self._selected_column = QGraphicsRectItem(), QGraphicsRectItem()
        for outline in (self._selected_row, self._selected_column):  # the class selected in the table
            outline.setPen(pg.mkPen(QColor(255, 255, 255, 150), width=1, style=Qt.PenStyle.DashLine))
            outline.setZValue(9)
            outline.setVisible(False)
            self._view_box.addItem(outline, ignoreBounds=True)

        controls = QHBoxLayout()
        controls.addWidget(self.mode_box)
        controls.addWidget(self.log_box)
        controls.addStretch(1)
        controls.addWidget(self.fit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.info_label)

        self.mode_box.currentIndexChanged.connect(self._on_display_option_changed)
        self.log_box.toggled.connect(self._on_display_option_changed)
        self.fit_button.clicked.connect(self.fit)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        state.case_changed.connect(self._on_case_changed)
        state.highlighted_cell_changed.connect(self._on_highlighted_cell_changed)
        state.selected_class_changed.connect(self._on_class_selected)
        controller.result_ready.connect(self._on_result)
        controller.cell_located.connect(self._on_cell_located)
        self.set_plot_colors(PLOT_COLORS[DEFAULT_THEME])
        if controller.last_result is not None:
            self._on_result(controller.last_result)

    def set_plot_colors(self, colors: PlotColors) -> None:
        """Draw the matrix's background, class axes and colour bar in the theme's ``colors``."""
        style_plot(self.plot, colors, extra_axes=(self.color_bar.axis,))

    @property
    def row_percent(self) -> bool:
        """True when cells show row-normalised percentages, False for voxel counts."""
        return self.mode_box.currentText() == MODE_ROW_PERCENT

    def displayed_values(self) -> np.ndarray | None:
        """``(C, C) float64`` values the colours stand for: counts or row % (NaN for rows without GT voxels)."""
        if self._confusion is None:
            return None
        counts = self._confusion.astype(np.float64)
        if not self.row_percent:
            return counts
        row_totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(row_totals > 0, 100.0 * counts / row_totals, np.nan)

    def cell_center_in_scene(self, gt_label: int, pred_label: int):
        """Scene position of the centre of cell ``(gt_label, pred_label)`` (for tests and scripted clicks)."""
        return self._view_box.mapViewToScene(pg.Point(pred_label + 0.5, gt_label + 0.5))

    @Slot()
    def fit(self) -> None:
        """Show the whole matrix, and keep it fitted to the panel until the user zooms or pans."""
        self._view_box.enableAutoRange()

    @Slot(object)
    def _on_case_changed(self, case) -> None:
        self._confusion = None
        self._drawn_key = None
        scored = self._state.scored_case or case   # the voxel case with view --instances
        self._names = class_names(scored, scored.num_classes)
        self.image.clear()
        self._clear_annotations()
        self._describe(None)

    @Slot(object)
    def _on_result(self, result) -> None:
        resized = self._confusion is None or self._confusion.shape != result.confusion.shape
        if not resized and np.array_equal(self._confusion, result.confusion):
            return  # e.g. an edit that rewrote voxels with the labels they had: nothing to redraw
        self._confusion = result.confusion
        if len(self._names) != result.num_classes:
            self._names = class_names(self._state.scored_case, result.num_classes)
        if resized:
            size = result.num_classes
            self._x_axis.set_names(self._names)
            self._y_axis.set_names(self._names)
            margin = 0.5 + FIT_PADDING * size
            self._view_box.setLimits(
                xMin=-margin, xMax=size + margin, yMin=-margin, yMax=size + margin, minXRange=1, minYRange=1
            )
            self._clear_annotations()
            self._drawn_key = None
        self._redraw()
        if resized:
            self.fit()
        cell = self._described_cell
        self._describe(cell if cell is not None and max(cell) < result.num_classes else None)
        self._on_highlighted_cell_changed(self._state.highlighted_cell)
        self._on_class_selected(self._state.selected_class)

    @Slot()
    def _on_display_option_changed(self) -> None:
        if self._confusion is not None:
            self._redraw()

    def _redraw(self) -> None:
        values = self.displayed_values()
        upper = 100.0 if self.row_percent else max(float(np.max(values)), 1.0)
        shown, label = values, "row %" if self.row_percent else "voxels"
        if self.log_box.isChecked():
            shown, upper, label = np.log10(1.0 + values), math.log10(1.0 + upper), f"log10(1 + {label})"
        # A brush segment in a large volume rarely changes what is drawn (row % rounded, colours to 1/256
        # of the range): then skip repainting the heatmap and its 100+ text items (stroke latency).
        drawn = (label, upper, self._cell_texts(values),
                 np.floor(np.nan_to_num(shown, nan=-1.0) / upper * COLOR_STEPS).astype(np.int64).tobytes())
        if drawn == self._drawn_key:
            return
        self._drawn_key = drawn
        self.image.setImage(shown, levels=(0.0, upper), autoLevels=False)
        self.image.setRect(QRectF(0, 0, values.shape[1], values.shape[0]))
        self.color_bar.setLevels((0.0, upper))
        if self._color_label != label:  # re-labelling the bar's axis costs a relayout: only on change
            self._color_label = label
            self.color_bar.axis.setLabel(label)
        self._annotate(values, shown, upper)

    def _cell_texts(self, values: np.ndarray) -> tuple[str, ...]:
        """The annotation of every cell as drawn (none above :data:`MAX_ANNOTATED_CLASSES`)."""
        if values.shape[0] > MAX_ANNOTATED_CLASSES:
            return ()
        return tuple("" if math.isnan(value) else f"{value:.0f}%" if self.row_percent else f"{value:,.0f}"
                     for value in values.ravel())

    def _annotate(self, values: np.ndarray, shown: np.ndarray, upper: float) -> None:
        size = values.shape[0]
        if size > MAX_ANNOTATED_CLASSES:
            return
        if not self._annotations:
            for row in range(size):
                for column in range(size):
                    text = pg.TextItem(anchor=(0.5, 0.5))
                    text.setPos(column + 0.5, row + 0.5)
                    self._view_box.addItem(text, ignoreBounds=True)
                    self._annotations.append(text)
        for text, value, level in zip(self._annotations, values.ravel(), shown.ravel(), strict=True):
            string = "" if math.isnan(value) else f"{value:.0f}%" if self.row_percent else f"{value:,.0f}"
            bright = level > 0.6 * upper  # viridis is light at the top: dark text there
            if (string, bright) != getattr(text, "shown", None):  # setText re-lays out the item: only on change
                text.shown = (string, bright)
                text.setText(string)
                text.setColor(QColor(20, 20, 20) if bright else QColor(235, 235, 235))

    def _clear_annotations(self) -> None:
        for text in self._annotations:
            self._view_box.removeItem(text)
        self._annotations = []

    def _cell_at(self, scene_pos) -> tuple[int, int] | None:
        if self._confusion is None or not self._view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self._view_box.mapSceneToView(scene_pos)
        row, column = math.floor(point.y()), math.floor(point.x())
        size = self._confusion.shape[0]
        return (row, column) if 0 <= row < size and 0 <= column < size else None

    def describe_cell(self, gt_label: int, pred_label: int) -> str:
        """One line about cell ``(gt_label, pred_label)``: both names, voxel count and share of the GT row."""
        count = int(self._confusion[gt_label, pred_label])
        row_total = int(self._confusion[gt_label].sum())
        share = f"{100.0 * count / row_total:.1f} % of GT row" if row_total else "GT row is empty"
        return (
            f"GT {self._names[gt_label]} ({gt_label}) → predicted {self._names[pred_label]} ({pred_label}): "
            f"{count:,} voxels, {share}"
        )

    def _describe(self, cell: tuple[int, int] | None, note: str = "") -> str:
        """Show :meth:`describe_cell` of ``cell`` (with ``note``) under the matrix, or the hint for None."""
        self._described_cell = cell
        text = HINT if cell is None or self._confusion is None else self.describe_cell(*cell) + note
        self.info_label.setText(text)
        return text

    @Slot(object)
    def _on_mouse_moved(self, scene_pos) -> None:
        cell = self._cell_at(scene_pos)
        if cell is None:
            self._describe(None)
            QToolTip.hideText()
            return
        text = self._describe(cell)
        QToolTip.showText(QCursor.pos(), plain_tooltip(text), self.plot)

    @Slot(object)
    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self._cell_at(event.scenePos())
        if cell is None:
            return
        self._state.highlight_cell(cell)
        self._controller.locate_cell(cell[0], cell[1], self._state.axis)

    @Slot(object)
    def _on_highlighted_cell_changed(self, cell) -> None:
        size = 0 if self._confusion is None else self._confusion.shape[0]
        visible = cell is not None and cell[0] < size and cell[1] < size
        if visible:
            self._highlight.setRect(QRectF(cell[1], cell[0], 1, 1))
        self._highlight.setVisible(visible)

    @Slot(int)
    def _on_class_selected(self, label: int) -> None:
        size = 0 if self._confusion is None else self._confusion.shape[0]
        visible = 0 <= label < size
        if visible:
            self._selected_row.setRect(QRectF(0, label, size, 1))
            self._selected_column.setRect(QRectF(label, 0, 1, size))
        self._selected_row.setVisible(visible)
        self._selected_column.setVisible(visible)

    @Slot(int, int, int, int)
    def _on_cell_located(self, gt_label: int, pred_label: int, axis: int, slice_index: int) -> None:
        if (gt_label, pred_label) != self._state.highlighted_cell or axis != self._state.axis:
            return  # an answer to an earlier click, or the axis changed meanwhile
        if self._confusion is None or slice_index < 0:
            self._described_cell = None
            self.info_label.setText(
                f"No voxel has GT {self._names[gt_label]} predicted as {self._names[pred_label]}."
            )
            return
        self._state.set_slice(slice_index)
        case = self._state.case
        flat = case is not None and case.gt.shape[0] == 1   # a 2D image: its one slice needs no naming
        self._describe((gt_label, pred_label), "" if flat else f" — most on {AXIS_NAMES[axis]} slice {slice_index}")
