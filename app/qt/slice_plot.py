"""The per-slice Dice dock widget: Dice of the selected class in each slice along the current axis.

Slices where the class is absent from both masks have undefined Dice and are drawn as gaps, not
zeros. A vertical marker shows the current slice; clicking the plot or dragging the marker moves it.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.qt.label_colors import class_name
from app.qt.review_state import AXIS_NAMES
from app.qt.theme import DEFAULT_THEME, PLOT_COLORS, PlotColors, style_plot

GAP_NOTE = "gaps: absent from both masks"
CURVE_COLOR = QColor(90, 170, 255)
GAP_TOOLTIP = (
    "Dice = 2·TP / (2·TP + FP + FN) of the selected class in each slice. Gaps are slices where the class\n"
    "is absent from both the ground truth and the prediction (Dice undefined); 0 means it is in one only.\n"
    "Click the plot or drag the marker to go to a slice."
)


def isolated_points(values: np.ndarray) -> np.ndarray:
    """``(S,) bool``: finite values whose neighbours (or the array's ends) are both NaN."""
    finite = np.isfinite(values)
    padded = np.concatenate(([False], finite, [False]))
    return finite & ~padded[:-2] & ~padded[2:]


class SliceDicePlotPanel(QWidget):
    """Dice per slice for ``state.selected_class`` along ``state.axis``, from the engine's per-slice counts.

    Parameters
    ----------
    state : app.qt.review_state.ReviewState
        Shared selection: class, axis and slice; clicking sets the slice.
    controller : app.qt.engine_controller.EngineController
        Source of the per-slice counts (``slice_counts``, updated before each ``result_ready``); the
        panel tells it the axis on screen (``set_slice_axis``). A result that touched a few slices
        recomputes the Dice of those slices only.
    """

    def __init__(self, state, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._controller = controller
        self._result = None
        self._shown_range: tuple[int, int] | None = None
        self._drawn: tuple[int, int, np.ndarray] | None = None  # axis, class and counts on the plot
        self.slice_dice: np.ndarray | None = None
        """``(S,) float64`` Dice per slice as drawn, NaN where undefined; None before a result."""

        self.title_label = QLabel()
        self.title_label.setTextFormat(Qt.TextFormat.RichText)  # the class name in it is escaped
        self.title_label.setToolTip(GAP_TOOLTIP)
        self.title_label.setWordWrap(True)  # long titles wrap instead of widening the bottom docks
        # Room for two lines from the start: a title that wraps differently after an edit must not resize
        # the plot (a relayout and full repaint of the dock per brush segment).
        self.title_label.setMinimumHeight(2 * self.title_label.fontMetrics().lineSpacing())
        self.plot = pg.PlotWidget(enableMenu=False)   # no context menu (not even built: §10)
        self.plot.setToolTip(GAP_TOOLTIP)
        plot_item = self.plot.getPlotItem()
        plot_item.setLabel("left", "Dice")
        plot_item.showGrid(x=False, y=True, alpha=0.3)
        plot_item.hideButtons()
        self._view_box = plot_item.getViewBox()
        self._view_box.setMouseEnabled(x=True, y=False)
        self._view_box.setLimits(yMin=-0.05, yMax=1.05)
        self._view_box.setYRange(0.0, 1.0, padding=0.03)
        self.curve = pg.PlotDataItem(connect="finite", pen=pg.mkPen(CURVE_COLOR, width=2))
        plot_item.addItem(self.curve)
        # A defined slice between two gaps has no line to either side: a dot shows it (dots on
        # every slice would cost more to paint than the rest of the plot).
        self.isolated = pg.ScatterPlotItem(size=6, pen=None, brush=CURVE_COLOR)
        plot_item.addItem(self.isolated)
        self.marker = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen(QColor(255, 200, 60), width=2))
        self.marker.setToolTip("Current slice: drag it, or click the plot, to change slice")
        plot_item.addItem(self.marker, ignoreBounds=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title_label)
        layout.addWidget(self.plot, 1)

        self.marker.sigPositionChanged.connect(self._on_marker_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        state.case_changed.connect(self._on_case_changed)
        state.selected_class_changed.connect(self._on_view_changed)
        state.axis_changed.connect(self._on_axis_changed)
        state.slice_changed.connect(self._on_slice_changed)
        controller.result_ready.connect(self._on_result)
        controller.set_slice_axis(state.axis)
        self.set_plot_colors(PLOT_COLORS[DEFAULT_THEME])
        self._redraw()
        if controller.last_result is not None:
            self._on_result(controller.last_result)

    def set_plot_colors(self, colors: PlotColors) -> None:
        """Draw the plot's background, axes and slice marker in the theme's ``colors``."""
        style_plot(self.plot, colors)
        self.marker.setPen(pg.mkPen(colors.marker, width=2))

    @Slot(object)
    def _on_case_changed(self, case) -> None:
        self._result = None
        self._redraw()

    @Slot(object)
    def _on_result(self, result) -> None:
        self._result = result
        slices, drawn = result.slices, self._drawn
        if drawn is not None and drawn[:2] == (self._state.axis, self._state.selected_class) and (
                slices is None or (slices.axis == drawn[0] and not slices.whole)):
            if slices is not None:
                self._update_slices(slices.start, slices.stop)
            return   # only the touched slices can have changed (none without per-slice counts)
        self._redraw()

    @Slot(int)
    def _on_view_changed(self, _value: int) -> None:
        self._redraw()

    @Slot(int)
    def _on_axis_changed(self, axis: int) -> None:
        self._controller.set_slice_axis(axis)   # its counts come with the next result
        self._redraw()

    @Slot(int)
    def _on_slice_changed(self, index: int) -> None:
        self.marker.setValue(index)

    @Slot(object)
    def _on_marker_moved(self, line) -> None:
        self._state.set_slice(round(line.value()))

    @Slot(object)
    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if not self._view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        self._state.set_slice(round(self._view_box.mapSceneToView(event.scenePos()).x()))

    def _redraw(self) -> None:
        state, axis = self._state, self._state.axis
        label = state.selected_class
        result, all_counts = self._result, self._controller.slice_counts
        if (result is None or all_counts is None or self._controller.slice_axis != axis
                or not 0 <= label < result.num_classes):
            self._drawn = None
            self.slice_dice = None
            self.curve.setData([], [])
            self.isolated.setData([], [])
            self.title_label.setText("Dice per slice: waiting for the metrics…" if state.case else "Dice per slice")
            self._show_slice_range(state.slice_count() if state.case else 1)
            return
        counts = all_counts[:, label, :].copy()   # the panel's own: the controller updates its array in place
        drawn = self._drawn
        if drawn is not None and drawn[:2] == (axis, label) and np.array_equal(drawn[2], counts):
            return  # an edit elsewhere: this class's curve is unchanged, skip the redraw
        self._drawn = (axis, label, counts)
        self.slice_dice = _dice_of(counts)
        self._draw_curve()

    def _update_slices(self, start: int, stop: int) -> None:
        """Slices ``start .. stop - 1`` of the drawn axis have new counts: recompute and redraw only if the
        drawn class's changed."""
        _axis, label, counts = self._drawn
        new = self._controller.slice_counts[start:stop, label, :]
        if np.array_equal(counts[start:stop], new):
            return  # the edit left this class's counts as they were
        counts[start:stop] = new
        self.slice_dice[start:stop] = _dice_of(np.ascontiguousarray(new))
        self._draw_curve()

    def _draw_curve(self) -> None:
        """Draw :attr:`slice_dice` (line, isolated dots, title) for the drawn axis and class."""
        state = self._state
        axis, label, _counts = self._drawn
        slices = np.arange(len(self.slice_dice))
        self.curve.setData(slices, self.slice_dice)
        alone = isolated_points(self.slice_dice)
        self.isolated.setData(slices[alone], self.slice_dice[alone])
        name = class_name(state.scored_case, label)   # the engine's classes (view --instances: the voxel case)
        defined = int(np.count_nonzero(~np.isnan(self.slice_dice)))
        self.title_label.setText(
            f"Dice of <b>{escape(name)}</b> per {AXIS_NAMES[axis]} slice: defined in {defined} of {len(slices)} "
            f"slices ({GAP_NOTE})"
        )
        self._show_slice_range(len(slices))

    def _show_slice_range(self, count: int) -> None:
        """Fit the x axis to ``count`` slices, only when the axis or the count changed (keeps the zoom)."""
        count = max(count, 1)
        if self._shown_range != (self._state.axis, count):
            self._shown_range = (self._state.axis, count)
            self._view_box.setLimits(xMin=-0.5, xMax=count - 0.5)
            self._view_box.setXRange(-0.5, count - 0.5, padding=0.01)
            self.plot.getPlotItem().setLabel("bottom", f"{AXIS_NAMES[self._state.axis]} slice")
            self.marker.setBounds((0, count - 1))
        self.marker.setValue(self._state.slice_index)


def _dice_of(counts: np.ndarray) -> np.ndarray:
    """``(n,) float64`` Dice of ``(n, 3)`` TP, FP, FN rows, by the engine's numpy scorer (NaN where absent from
    both): :func:`dice_engine.matrix_scores.ratio`, as the table's Dice, with no torch call on the GUI thread."""
    from dice_engine.matrix_scores import ratio

    twice_tp = 2 * counts[:, 0].astype(np.int64)
    return ratio(twice_tp, twice_tp + counts[:, 1] + counts[:, 2])
