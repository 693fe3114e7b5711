"""The Dice history dock: mean foreground Dice and the selected class's Dice after each edit of the review.

One point per completed action (a drag, a fill, a polygon, an undo, a redo), plus the starting point
when the case's metrics first arrive. Values come from the engine (:class:`EngineResult`), never
computed here. A point is taken when the engine has answered every delta sent so far: at once when
the engine is idle as the action completes, else when it next becomes idle (``busy_changed(False)``).
The engine takes a few milliseconds per edit, so a point holds exactly its action's effect unless
the next drag starts before the engine caught up (then it also holds that drag's first segments).

The points also give the report's edit list (:meth:`DiceHistoryPanel.edit_records`): one
:class:`~app.report.content.EditRecord` per action, with the mean foreground Dice before and after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.qt.label_colors import class_name
from app.qt.theme import DEFAULT_THEME, PLOT_COLORS, PlotColors, style_plot

if TYPE_CHECKING:   # the report's content is imported when a report asks, not before the first picture (§10)
    from app.report.content import EditRecord

MEAN_PEN_WIDTH = 2
CLASS_PEN_WIDTH = 2
MIN_Y_SPAN = 0.02
"""Smallest Dice range shown, so a 0.001 change is visible but noise is not magnified without bound."""


@dataclass(frozen=True)
class HistoryPoint:
    """The metrics after one action.

    Attributes
    ----------
    edit : CompletedEdit or None
        The action (None for the starting point).
    mean_dice : float
        Mean foreground Dice (NaN when undefined).
    dice : np.ndarray
        ``(C,) float64`` per-class Dice (NaN where undefined).
    """

    edit: object
    mean_dice: float
    dice: np.ndarray


class DiceHistoryPanel(QWidget):
    """Plot of Dice after each edit: mean foreground (white) and the selected class (its colour).

    Parameters
    ----------
    state : ReviewState
    controller : EngineController

    Attributes
    ----------
    points : list of HistoryPoint
        The starting point, then one per completed action.
    """

    def __init__(self, state, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._controller = controller
        self.points: list[HistoryPoint] = []
        self._waiting: list = []  # completed edits whose point waits for the engine to go idle
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "edit")
        self.plot.setLabel("left", "Dice")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getAxis("left").enableAutoSIPrefix(False)   # Dice as 0.93, not "930 (x0.001)"
        self.plot.getPlotItem().hideButtons()
        self._colors = PLOT_COLORS[DEFAULT_THEME]
        self.mean_curve = self.plot.plot([], [], symbol="o", symbolSize=5)
        self.class_curve = self.plot.plot([], [], symbol="o", symbolSize=5)
        self.legend_label = QLabel()
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setWordWrap(True)  # a long class name wraps instead of widening the bottom docks
        self.caption = QLabel("No edits yet: paint with a tool to see what each correction does.")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # edit descriptions name labels (user text)
        # Two lines' room each from the start: a caption or legend that wraps differently after an edit
        # must not resize the plot (a relayout and full repaint of the dock per completed edit).
        for label in (self.legend_label, self.caption):
            label.setMinimumHeight(2 * label.fontMetrics().lineSpacing())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.legend_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        state.case_changed.connect(self._on_case_changed)
        state.selected_class_changed.connect(self._on_class_selected)
        controller.result_ready.connect(self._on_result)
        controller.busy_changed.connect(self._on_busy_changed)
        self.set_plot_colors(self._colors)

    def set_plot_colors(self, colors: PlotColors) -> None:
        """Draw the plot, the mean curve and the legend in the theme's ``colors``."""
        self._colors = colors
        style_plot(self.plot, colors)
        self.mean_curve.setPen(pg.mkPen(colors.foreground, width=MEAN_PEN_WIDTH))
        self.mean_curve.setSymbolBrush(pg.mkBrush(colors.foreground))
        self._redraw()

    # ------------------------------------------------------------ inputs
    @Slot(object)
    def add_edit(self, edit) -> None:
        """An action completed (:class:`~app.qt.edit_bridge.CompletedEdit`): add its point when the engine has it."""
        self._waiting.append(edit)
        if not self._controller.busy:
            self._take_waiting()

    @Slot(object)
    def _on_case_changed(self, _case) -> None:
        self.points = []
        self._waiting = []
        self._redraw()

    @Slot(object)
    def _on_result(self, result) -> None:
        if not self.points and result.generation == self._controller.generation:
            self.points.append(HistoryPoint(None, result.dice_mean_foreground, np.array(result.metrics.dice)))
            self._redraw()

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        if not busy:
            self._take_waiting()

    @Slot(int)
    def _on_class_selected(self, _label: int) -> None:
        self._redraw()

    def _take_waiting(self) -> None:
        result = self._controller.last_result
        if not self._waiting or not self.points or result is None or result.generation != self._controller.generation:
            return
        dice = np.array(result.metrics.dice)
        for edit in self._waiting:
            self.points.append(HistoryPoint(edit, result.dice_mean_foreground, dice))
        self._waiting = []
        self._redraw()

    # ------------------------------------------------------------ outputs
    def edit_records(self) -> list[EditRecord]:
        """The review's edits for the report: one per action, mean foreground Dice before -> after."""
        from app.report.content import EditRecord

        records = []
        for before, after in zip(self.points, self.points[1:], strict=False):
            records.append(EditRecord(mask=after.edit.which, voxels_changed=int(after.edit.voxels_changed),
                                      dice_before=_defined(before.mean_dice), dice_after=_defined(after.mean_dice),
                                      description=after.edit.description))
        return records

    def _redraw(self) -> None:
        steps = np.arange(len(self.points), dtype=np.float64)
        means = np.array([p.mean_dice for p in self.points], dtype=np.float64)
        label = self._state.selected_class
        selected = np.array([p.dice[label] if label < p.dice.size else np.nan for p in self.points],
                            dtype=np.float64)
        self.mean_curve.setData(steps, means, connect="finite")
        case = self._state.scored_case   # whose classes the engine scores (the voxel case with view --instances)
        rgb = tuple(int(v) for v in case.labels.color(label)) if case is not None and label else (160, 160, 160)
        self.class_curve.setPen(pg.mkPen(rgb, width=CLASS_PEN_WIDTH))
        self.class_curve.setSymbolBrush(pg.mkBrush(rgb))
        self.class_curve.setData(steps, selected, connect="finite")
        self.plot.setXRange(-0.25, max(len(self.points) - 1, 1) + 0.25, padding=0)
        self.plot.setYRange(*_y_range(np.concatenate([means, selected])), padding=0)
        swatch = "#" + "".join(f"{v:02x}" for v in rgb)
        self.legend_label.setText(f"<span style='color:{self._colors.foreground}'>━ mean foreground</span> &nbsp; "
                                  f"<span style='color:{swatch}'>━ {label} {escape(class_name(case, label))}</span>")
        self.caption.setText(self._caption())

    def _caption(self) -> str:
        if len(self.points) < 2:
            return "No edits yet: paint with a tool to see what each correction does."
        first, last = self.points[0].mean_dice, self.points[-1].mean_dice
        change = f"{first:.3f} → {last:.3f}" if math.isfinite(first) and math.isfinite(last) else "undefined"
        last_edit = self.points[-1].edit.description
        return f"{len(self.points) - 1} edits · mean foreground Dice {change} · last: {last_edit}"


def _y_range(values: np.ndarray) -> tuple[float, float]:
    """Dice axis around the plotted values (edits move Dice by thousandths: 0..1 would flatten them),
    at least :data:`MIN_Y_SPAN` tall, within [0, 1]."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    pad = max((MIN_Y_SPAN - (high - low)) / 2, 0.0) + 0.1 * (high - low)
    low, high = max(low - pad, 0.0), min(high + pad, 1.0)
    return (low, high) if high > low else (0.0, 1.0)


def _defined(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
