"""The "Dice vs threshold" dock: the selected class's Dice if it were predicted where its probability
is at least t (one-vs-rest), for every t = k/1024, with the best threshold marked, and a slider that
sets the threshold the prediction is derived with.

The curves are the soft lane's (:class:`~app.qt.soft_controller.SoftController`, computed exactly from
histograms of the probabilities inside and outside the ground truth, docs/architecture.md §8), so they
follow ground-truth edits; this panel only draws them. The threshold the shown prediction uses is
marked too when there is one (a one-channel model: p >= 0.5; or the slider's, once applied); an argmax
prediction has none. While the curves are being computed the panel says so, with the share of the pass
done, and if the load fails, why (:meth:`SoftController.load_status`). Moving the slider (or clicking
the curve) emits ``threshold_chosen`` once it rests for :data:`APPLY_DELAY_MS`; the window then re-derives
the prediction on the soft lane and writes it as one undoable edit (:mod:`app.qt.threshold_apply`).
"""

from __future__ import annotations

import html
import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.qt.theme import DEFAULT_THEME, PLOT_COLORS, PlotColors, style_plot

CURVE_COLOR = QColor(80, 160, 255)
BEST_COLOR = QColor(90, 200, 90)
NO_MODEL_OUTPUT = "Open the model's output (File → Open model output…) to see Dice against the threshold."
CURVES_PENDING = "Computing the Dice-vs-threshold curves from the model's output…"
CURVES_FAILED = "The Dice-vs-threshold curves could not be computed: {reason}"
PROGRESS_POLL_MS = 250
"""How often the pending text shows the curves' progress (:meth:`SoftController.load_status`)."""
CURVE_TOOLTIP = ("Dice of the selected class if it were predicted wherever its probability is at least the\n"
                 "threshold (one-vs-rest), exact at every threshold k/1024 (from histograms of the\n"
                 "probabilities inside and outside the ground truth). Follows ground-truth edits.")
PREDICTION_THRESHOLD = {"threshold": 0.5}
"""How the case's prediction was derived -> the threshold it used (none for an argmax or a given mask)."""
STEPS = 1024
"""Slider steps: the thresholds k/1024 at which the curves are exact."""
APPLY_DELAY_MS = 300
"""The slider's threshold is applied once it has rested this long (not on every step of a drag)."""
SLIDER_TOOLTIP = ("Threshold for the selected class (one-vs-rest): it is predicted wherever its probability is at\n"
                  "least this, elsewhere the most probable other class. Every metric follows. Click the curve\n"
                  "to pick a threshold there.")


class ThresholdCurvePanel(QWidget):
    """Dice-vs-threshold curve of the selected class.

    Parameters
    ----------
    state : app.qt.review_state.ReviewState
        Shared selection; the panel follows ``case_changed`` and ``selected_class_changed``.
    soft : app.qt.soft_controller.SoftController
        Source of the curves (``soft_ready``) and of the load's progress (``status_changed``).

    Signals
    -------
    threshold_chosen(int, int)
        ``label, index``: the user chose threshold ``index / 1024`` for class ``label``.
    """

    threshold_chosen = Signal(int, int)

    def __init__(self, state, soft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._soft = soft
        self._update = None
        self._applied: tuple[int, int] | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.setValue(STEPS // 2)
        self.slider.setToolTip(SLIDER_TOOLTIP)
        self.slider_label = QLabel()
        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.setInterval(APPLY_DELAY_MS)
        self._apply_timer.timeout.connect(self._apply)
        self._progress_timer = QTimer(self)   # runs only while the curves are pending
        self._progress_timer.setInterval(PROGRESS_POLL_MS)
        self._progress_timer.timeout.connect(self._redraw)
        self.title_label = QLabel()
        self.title_label.setTextFormat(Qt.TextFormat.RichText)   # class names in it are escaped
        self.title_label.setWordWrap(True)
        self.plot = pg.PlotWidget(enableMenu=False)   # no context menu (not even built: §10)
        self.plot.setToolTip(CURVE_TOOLTIP)
        plot_item = self.plot.getPlotItem()
        plot_item.setLabel("left", "Dice")
        plot_item.setLabel("bottom", "threshold")
        plot_item.showGrid(x=True, y=True, alpha=0.3)
        plot_item.hideButtons()
        view_box = plot_item.getViewBox()
        view_box.setMouseEnabled(x=False, y=False)
        view_box.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0.03)
        self.curve = pg.PlotDataItem(connect="finite", pen=pg.mkPen(CURVE_COLOR, width=2))
        plot_item.addItem(self.curve)
        self.best = pg.ScatterPlotItem(size=10, pen=None, brush=BEST_COLOR)
        plot_item.addItem(self.best)
        self.current = pg.InfiniteLine(angle=90, movable=False)
        plot_item.addItem(self.current, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title_label)
        layout.addWidget(self.plot, 1)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Threshold"))
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.slider_label)
        layout.addLayout(slider_row)
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        self.set_plot_colors(PLOT_COLORS[DEFAULT_THEME])
        state.case_changed.connect(self._on_case_changed)
        state.selected_class_changed.connect(self._on_class_selected)
        soft.soft_ready.connect(self.on_soft_ready)
        soft.status_changed.connect(self._redraw)
        if soft.last_update is not None:
            self.on_soft_ready(soft.last_update)
        self._redraw()

    def set_plot_colors(self, colors: PlotColors) -> None:
        """Draw the background, axes and the current-threshold line in the theme's ``colors``."""
        style_plot(self.plot, colors)
        self.current.setPen(pg.mkPen(colors.marker, width=2, style=Qt.PenStyle.DashLine))

    def set_applied(self, label: int, index: int) -> None:
        """Say the prediction shown was derived at threshold ``index / 1024`` of class ``label`` (marked)."""
        self._applied = (int(label), int(index))
        self.slider.blockSignals(True)
        self.slider.setValue(int(index))
        self.slider.blockSignals(False)
        self._redraw()

    def clear_applied(self) -> None:
        """Say the prediction shown was not derived with the slider (the case's own: argmax, p >= 0.5 or a
        given mask); the slider shows the threshold that prediction used, if any."""
        self._applied = None
        threshold = PREDICTION_THRESHOLD.get(getattr(self._state.case, "prediction_from", ""))
        if threshold is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(round(threshold * STEPS))
            self.slider.blockSignals(False)
        self._redraw()

    @property
    def shown_curve(self):
        """The :class:`~dice_engine.soft_threshold.DiceCurve` drawn, or None."""
        if self._update is None or not self._update.curves:
            return None
        return self._update.curves.get(self._state.selected_class)

    @Slot(object)
    def on_soft_ready(self, update) -> None:
        """Draw the curves of ``update`` (a :class:`~app.qt.soft_controller.SoftUpdate`)."""
        self._update = update
        self._redraw()

    @Slot(object)
    def _on_case_changed(self, _case) -> None:
        self._update, self._applied = None, None
        self._apply_timer.stop()
        self._redraw()

    @Slot(int)
    def _on_slider_moved(self, _value: int) -> None:
        self._show_slider_value()
        if self.shown_curve is not None:
            self._apply_timer.start()

    @Slot(object)
    def _on_plot_clicked(self, event) -> None:
        if self.shown_curve is None:
            return
        x = self.plot.getPlotItem().getViewBox().mapSceneToView(event.scenePos()).x()
        self.slider.setValue(round(min(max(x, 0.0), 1.0) * STEPS))

    @Slot()
    def _apply(self) -> None:
        curve = self.shown_curve
        if curve is not None and self._applied != (curve.label, self.slider.value()):
            self.threshold_chosen.emit(curve.label, self.slider.value())

    def _show_slider_value(self) -> None:
        index = self.slider.value()
        curve = self.shown_curve
        dice = "" if curve is None or math.isnan(float(curve.dice[index])) else f" · Dice {curve.dice[index]:.3f}"
        self.slider_label.setText(f"{index / STEPS:.3f}{dice}")

    def _used_threshold(self, curve) -> float | None:
        """The threshold the shown prediction used for ``curve``'s class, or None (argmax, a given mask)."""
        if self._applied is not None:
            return self._applied[1] / STEPS if self._applied[0] == curve.label else None
        return PREDICTION_THRESHOLD.get(getattr(self._state.case, "prediction_from", ""))

    @Slot(int)
    def _on_class_selected(self, _label: int) -> None:
        self._redraw()

    def waiting_text(self) -> str:
        """What the panel says while it draws no curve: no channel for the class, the curves being computed
        (with progress), why they could not be computed, or how to open model output."""
        if self._update is not None and self._update.curves:
            return "The selected class has no probability channel."
        status = self._soft.load_status()
        if status is not None and status.failure:
            return CURVES_FAILED.format(reason=status.failure)
        if status is not None and status.curves_pending:
            return CURVES_PENDING + ("" if status.progress is None else f" {status.progress:.0%}")
        return NO_MODEL_OUTPUT

    @Slot()
    def _redraw(self) -> None:
        curve = self.shown_curve
        case = self._state.case
        self.slider.setEnabled(curve is not None)
        self._show_slider_value()
        if curve is None:
            self.curve.setData([], [])
            self.best.setData([], [])
            self.current.setVisible(False)
            text = self.waiting_text()
            self.title_label.setText(html.escape(text, quote=False))
            if not text.startswith(CURVES_PENDING):
                self._progress_timer.stop()
            elif not self._progress_timer.isActive():
                self._progress_timer.start()
            return
        self._progress_timer.stop()
        self.curve.setData(curve.thresholds, curve.dice)
        name = html.escape(case.labels.name(curve.label)) if case is not None else str(curve.label)
        text = f"Dice of <b>{name}</b> where p({name}) ≥ threshold"
        if curve.best_index is None:
            self.best.setData([], [])
            text += ": undefined (absent from both)"
        else:
            best_dice = float(curve.dice[curve.best_index])
            self.best.setData([curve.best_threshold], [best_dice])
            text += f" · best {curve.best_threshold:.3f} (Dice {best_dice:.3f})"
        threshold = self._used_threshold(curve)
        self.current.setVisible(threshold is not None)
        if threshold is not None:
            self.current.setValue(threshold)
            index = math.ceil(threshold * (len(curve.thresholds) - 1))   # the edge k/1024 at the threshold
            current_dice = float(curve.dice[index])
            shown = "—" if math.isnan(current_dice) else f"{current_dice:.3f}"
            text += f" · used {threshold:.3f} (Dice {shown})"
        self.title_label.setText(text)
