"""Applying the threshold slider: the prediction is re-derived from the model output and every metric follows.

:class:`ThresholdApplier` connects the Dice-vs-threshold panel's ``threshold_chosen`` to the soft lane
(:meth:`app.qt.soft_controller.SoftController.derive_prediction`, the whole volume derived slab by slab
off the GUI thread) and shows the derived prediction through the window's ordinary load path
(:meth:`app.qt.main_window.MainWindow.show_case`: the Dice engine, the surface distances and the soft
metrics all start over from it, exactly), keeping the plane, slice and selected class. Unsaved edits are
never replaced: the user is told to save or undo them first.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Slot

from app.qt.case_loader import case_title
from app.qt.threshold_curve import STEPS

UNSAVED_EDITS = "Save or undo your edits first: applying a threshold replaces the prediction."


class ThresholdApplier(QObject):
    """Re-derives and shows the prediction at the threshold the user chose (see the module docstring).

    Parameters
    ----------
    window : app.qt.main_window.MainWindow
        Provides ``threshold_curve``, ``soft_metrics``, ``edits``, ``state``, ``show_case`` and
        ``statusBar``.
    """

    def __init__(self, window) -> None:
        super().__init__(window)
        window.threshold_curve.threshold_chosen.connect(self.on_threshold_chosen)
        window.soft_metrics.prediction_derived.connect(self.on_prediction_derived)

    @property
    def _window(self):
        return self.parent()

    @Slot(int, int)
    def on_threshold_chosen(self, label: int, index: int) -> None:
        """Ask the soft lane for the prediction at ``index / 1024`` of class ``label``."""
        window = self._window
        editor = window.edits.editor
        if editor is not None and editor.session.modified:
            window.statusBar().showMessage(UNSAVED_EDITS, 15000)
            return
        window.statusBar().showMessage(f"Deriving the prediction at threshold {index / STEPS:.3f}…")
        window.soft_metrics.derive_prediction(label, index)

    @Slot(object)
    def on_prediction_derived(self, derived) -> None:
        """Show the derived prediction (a :class:`~app.qt.soft_worker.DerivedPrediction`) in place of the
        current one, in the same plane, slice and class."""
        window = self._window
        state = window.state
        case = state.case
        editor = window.edits.editor
        if case is None or (editor is not None and editor.session.modified):
            window.statusBar().showMessage(UNSAVED_EDITS, 15000)
            return
        name = case.labels.name(derived.label)
        note = (f"prediction derived from the model output: '{name}' where p >= {derived.index / STEPS:.4f} "
                f"({derived.index}/{STEPS}), elsewhere the most probable other class")
        derived_case = replace(case, pred=derived.labels, prediction_from="threshold", messages=[note])
        axis, slice_index, selected = state.axis, state.slice_index, state.selected_class
        title = f"{case_title(window.case_paths)} · threshold" if window.case_paths else "threshold"
        window.show_case(derived_case, title=title)
        state.set_axis(axis)
        state.set_slice(slice_index)
        state.select_class(selected)
        window.threshold_curve.set_applied(derived.label, derived.index)
