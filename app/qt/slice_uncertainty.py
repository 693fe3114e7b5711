"""The per-slice plot's second curve: the model's mean uncertainty in each slice, beside the Dice (a toggle).

The means are the soft lane's (:class:`~app.qt.soft_controller.SoftController`, ``uncertainty_ready``:
the normalised entropy of every voxel averaged per slice along each axis, computed once per case off
the GUI thread, docs/architecture.md §8a); this module only draws the array of the axis on screen. They
depend on the probabilities only, so edits never redraw the curve; a change of axis or case does.
Entropy and Dice share the plot's [0, 1] scale: where the Dice dips and the uncertainty rises, the model
knew it was unsure. While the soft lane computes the means, the toggle is shown disabled and says so.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox

UNCERTAINTY_COLOR = QColor(230, 110, 200)
TOGGLE_TEXT = "Mean uncertainty per slice (dashed)"
PENDING_TEXT = "Mean uncertainty per slice (being computed…)"
FAILED_TOOLTIP = "The model's uncertainty could not be computed: {reason}"
TOGGLE_TOOLTIP = ("The mean normalised entropy of the model's probabilities in each slice (0 = certain,\n"
                  "1 = all classes equally likely), on the same 0–1 scale as the Dice. It depends on the\n"
                  "model's output only: edits do not change it.")


class SliceUncertaintyCurve(QObject):
    """Adds the toggle and the mean-uncertainty curve to a :class:`~app.qt.slice_plot.SliceDicePlotPanel`.

    Parameters
    ----------
    panel : app.qt.slice_plot.SliceDicePlotPanel
        The plot drawn in (its ``plot`` and layout).
    state : app.qt.review_state.ReviewState
        The axis on screen (``axis_changed``).
    soft : app.qt.soft_controller.SoftController
        Source of the per-slice means (``uncertainty_ready``, ``uncertainty``).
    parent : QObject or None

    Attributes
    ----------
    toggle : QCheckBox
        Shown while the case has model output (disabled, saying so, until its uncertainty is computed);
        checked: the curve is drawn.
    curve : pyqtgraph.PlotDataItem
    values : numpy.ndarray or None
        ``(S,) float64`` means drawn, along the axis on screen; None while not drawn.
    """

    def __init__(self, panel, state, soft, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._soft = soft
        self._reply = None
        self.values: np.ndarray | None = None
        self.toggle = QCheckBox(TOGGLE_TEXT)
        self.toggle.setToolTip(TOGGLE_TOOLTIP)
        self.toggle.setStyleSheet(f"QCheckBox {{ color: {UNCERTAINTY_COLOR.name()}; }}")
        self.toggle.setVisible(False)
        layout = panel.layout()
        layout.insertWidget(layout.indexOf(panel.title_label) + 1, self.toggle)
        self.curve = pg.PlotDataItem(pen=pg.mkPen(UNCERTAINTY_COLOR, width=2, style=Qt.PenStyle.DashLine))
        self.curve.setVisible(False)
        panel.plot.getPlotItem().addItem(self.curve)
        self.toggle.toggled.connect(self._redraw)
        state.axis_changed.connect(self._redraw)
        soft.uncertainty_ready.connect(self.on_uncertainty)
        soft.status_changed.connect(self.show_status)
        self.on_uncertainty(soft.uncertainty)

    @Slot(object)
    def on_uncertainty(self, reply) -> None:
        """Keep ``reply`` (an :class:`~app.qt.soft_worker.UncertaintyReply`, or None: no model output) and redraw."""
        self._reply = reply
        self.show_status()
        self._redraw()

    @Slot()
    def show_status(self) -> None:
        """Show the toggle when the case has model output: enabled once the means exist, else disabled and
        saying they are being computed (:meth:`~app.qt.soft_controller.SoftController.load_status`)."""
        status = self._soft.load_status()
        pending = self._reply is None and status is not None and status.uncertainty_pending
        self.toggle.setVisible(self._reply is not None or pending)
        self.toggle.setEnabled(self._reply is not None)
        self.toggle.setText(PENDING_TEXT if pending else TOGGLE_TEXT)
        failed = self._reply is None and status is not None and status.failure
        self.toggle.setToolTip(FAILED_TOOLTIP.format(reason=status.failure) if failed else TOGGLE_TOOLTIP)

    @Slot()
    def _redraw(self, *_args) -> None:
        reply, axis = self._reply, self._state.axis
        if reply is None or not self.toggle.isChecked() or not 0 <= axis < len(reply.per_slice):
            self.values = None
            self.curve.setVisible(False)
            self.curve.setData([], [])
            return
        self.values = np.asarray(reply.per_slice[axis], dtype=np.float64)
        self.curve.setData(np.arange(self.values.size), self.values)
        self.curve.setVisible(True)
