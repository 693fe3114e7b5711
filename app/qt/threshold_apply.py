"""Applying the threshold slider: the prediction is re-derived from the model output as one undoable edit.

:class:`ThresholdApplier` connects the Dice-vs-threshold panel's ``threshold_chosen`` to the soft lane
(:meth:`app.qt.soft_controller.SoftController.derive_prediction`: the whole volume derived slab by slab,
and compared with the prediction shown, off the GUI thread) and writes the derived prediction into the
case's prediction as **one step** of the edit model (:meth:`app.qt.edit_bridge.EditBridge.apply_replacement`,
docs/architecture.md §8a): only the voxels whose label changes, through the same ``painted`` delta as a
stroke, so the Dice engine, the confusion matrix, the per-slice plot, objects and surface distances follow
incrementally, without a new case. Ctrl+Z restores the previous prediction, strokes before it stay
undoable, and the step is journalled like any other, so it survives a crash.

From the request until the step is written the bridge holds every edit (:meth:`EditBridge.hold_edits`) and
then makes them after it, in order, so a stroke made meanwhile is neither overwritten nor put before the
step in the history. A newer threshold supersedes an older one still pending: only the latest is written.

After every change of the history (the threshold step, undo, redo, a recovered journal) the applier
reads from it which threshold the prediction uses (:func:`app.model.threshold_step.applied_threshold`,
marked on the curve and set on the slider) and whether hand edits of the prediction came after it
(:func:`~app.model.threshold_step.prediction_edited`: the soft figures then say that they describe the
model's output, not the edited prediction).

Saving, exporting and closing with Save while a step is pending first wait for it (:meth:`ThresholdApplier.
finish_pending`: a short modal progress dialog, events go on), so what is written is what the user asked
for: the step and the edits held behind it, never the prediction from before the step.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog

from app.model.threshold_step import STEPS, applied_threshold, describe, prediction_edited

NO_CHANGE = "The prediction at threshold {threshold:.4f} is the one shown: nothing changed."
NOT_EDITABLE = "The prediction cannot be re-derived while a case is opening."
DERIVING = "Deriving the prediction at threshold {threshold:.4f}… (edits made meanwhile follow it)"
BACK_TO_OPENED = "The prediction no longer uses a threshold of the slider: it is as it was before the first one."
BACK_TO_THRESHOLD = "The prediction uses threshold {threshold:.4f} for {name} again."
WAITING = "Writing the prediction at the threshold chosen (and the edits made meanwhile) before {purpose}…"
WAIT_SHOWN_AFTER_MS = 300
"""A wait shorter than this shows no dialog."""


class ThresholdApplier(QObject):
    """Re-derives the prediction at the threshold the user chose, as one undoable edit (see the module docstring).

    Parameters
    ----------
    window : app.qt.main_window.MainWindow
        Provides ``threshold_curve``, ``soft_metrics``, ``edits``, ``state`` and ``statusBar``.

    Signals
    -------
    step_settled()
        No threshold step is pending any more (written, given up, failed, or the case changed).
    """

    step_settled = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self._bridge = None
        self._applied: tuple[int, int] | None = None   # as last marked, to tell the user when undo changes it
        self._holding = None   # the bridge holding edits for the threshold step being derived
        window.threshold_curve.threshold_chosen.connect(self.on_threshold_chosen)
        window.soft_metrics.prediction_derived.connect(self.on_prediction_derived)
        window.soft_metrics.soft_ready.connect(self._on_soft_ready)
        window.soft_metrics.warning.connect(self._on_soft_failed)
        window.state.case_changed.connect(self._on_case_changed)

    @property
    def _window(self):
        return self.parent()

    @Slot(int, int)
    def on_threshold_chosen(self, label: int, index: int) -> None:
        """Ask the soft lane for the prediction at ``index / 1024`` of class ``label`` and the voxels where it
        differs from the prediction shown; edits are held until it is written (the latest threshold wins)."""
        window = self._window
        bridge = window.edits.bridge
        if bridge is None or window.state.case is None or window.edit_toolbar.bridge is None:
            window.statusBar().showMessage(NOT_EDITABLE, 15000)
            return
        session = bridge.session
        bridge.hold_edits()   # nothing lands before the step or under it (released in on_prediction_derived)
        self._holding = bridge
        serial = window.soft_metrics.derive_prediction(label, index, session.mask("pred"), session.revision("pred"),
                                                       session.num_classes, describe(label, index))
        if serial is None:   # no model output (any more): nothing to wait for
            self._release()
            return
        if bridge.holding:   # not yet answered (a synchronous lane answers within the call)
            window.statusBar().showMessage(DERIVING.format(threshold=index / STEPS))

    @Slot(object)
    def on_prediction_derived(self, derived) -> None:
        """Write the derived prediction (a :class:`~app.qt.soft_worker.DerivedPrediction` of the newest request)
        over the current one as one undoable step, then the edits held meanwhile; the plane, slice and class stay."""
        bridge, self._holding = self._holding, None
        if bridge is None or bridge is not self._window.edits.bridge:
            return   # another case since the request
        bridge.release_edits(functools.partial(self._write, bridge, derived))
        self.step_settled.emit()

    def _write(self, bridge, derived) -> None:
        window = self._window
        case = window.state.case
        name = case.labels.name(derived.label)
        threshold = derived.index / STEPS
        changed = bridge.apply_replacement(derived.replacement, describe(derived.label, derived.index),
                                           f"threshold {threshold:.4f} for {derived.label} ({name})")
        if not changed:
            window.threshold_curve.set_applied(derived.label, derived.index)
            window.statusBar().showMessage(NO_CHANGE.format(threshold=threshold), 15000)
            return
        window.statusBar().showMessage(
            f"Prediction derived from the model output: '{name}' where p >= {threshold:.4f} "
            f"({derived.index}/{STEPS}), elsewhere the most probable other class. Ctrl+Z restores the previous one.",
            15000)

    @Slot(str)
    def _on_soft_failed(self, _message: str) -> None:
        """The soft lane failed (its message is shown): no threshold step comes; the held edits go ahead."""
        self._release()

    def settle(self) -> None:
        """Give up a threshold step still being derived and make the edits held for it now (before the case
        closes or another opens, so no held edit is lost and the unsaved-edits question counts them)."""
        self._release()

    @property
    def pending(self) -> bool:
        """Whether a threshold step is being derived, or its held edits wait for a drag, on the case shown."""
        bridge = self._window.edits.bridge
        return bridge is not None and (self._holding is bridge or bridge.holding)

    def finish_pending(self, purpose: str) -> bool:
        """Wait until the pending threshold step and the edits held behind it are written (or the step failed or
        the case changed), so that ``purpose`` (e.g. "saving the prediction") uses what the user asked for.

        The GUI thread keeps running events meanwhile (the soft lane's reply is one); a modal progress dialog
        with Cancel shows when the wait is longer than :data:`WAIT_SHOWN_AFTER_MS`. A drag in progress should
        be finished first (a step waits for it). Returns True when nothing is pending any more, False when
        the user cancelled (the step stays pending).
        """
        if not self.pending:
            return True
        dialog = QProgressDialog(WAITING.format(purpose=purpose), "Cancel", 0, 0, self._window)
        dialog.setWindowTitle("Threshold step")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        shown_later = QTimer(dialog)   # a busy dialog (range 0..0) has no progress to show itself on
        shown_later.setSingleShot(True)
        shown_later.timeout.connect(dialog.show)
        shown_later.start(WAIT_SHOWN_AFTER_MS)
        loop = QEventLoop(self)
        self.step_settled.connect(loop.quit)
        dialog.canceled.connect(loop.quit)
        try:
            while self.pending and not dialog.wasCanceled():
                loop.exec()
        finally:
            self.step_settled.disconnect(loop.quit)
            dialog.close()
            dialog.deleteLater()
            loop.deleteLater()
        return not self.pending

    def _release(self) -> None:
        bridge, self._holding = self._holding, None
        if bridge is not None and bridge is self._window.edits.bridge:
            bridge.release_edits()
        if bridge is not None:
            self.step_settled.emit()

    @Slot(object)
    def _on_case_changed(self, _case) -> None:
        """Follow the new case's edit history (the bridge is made per case, before the case is shown)."""
        dropped, self._holding = self._holding, None   # a step asked for on the previous case is dropped
        if dropped is not None:
            self.step_settled.emit()
        bridge = self._window.edits.bridge
        if bridge is not self._bridge:
            self._bridge = bridge
            if bridge is not None:
                bridge.history_changed.connect(self._on_history_changed)
        self._mark_threshold()   # the soft figures of this case come later (_on_soft_ready)

    @Slot()
    def _on_history_changed(self) -> None:
        """Mark the threshold the prediction uses (saying so when an undo or redo changed it) and say whether
        the prediction holds hand edits."""
        window = self._window
        editor = window.edits.editor
        if editor is None:
            return
        before = self._applied
        self._mark_threshold()
        if self._applied != before:
            if self._applied is None:
                window.statusBar().showMessage(BACK_TO_OPENED, 15000)
            elif window.state.case is not None:
                label, index = self._applied
                window.statusBar().showMessage(BACK_TO_THRESHOLD.format(
                    threshold=index / STEPS, name=f"'{window.state.case.labels.name(label)}'"), 15000)
        window.soft_metrics.set_prediction_edited(prediction_edited(editor.session.history))

    def _mark_threshold(self) -> None:
        window = self._window
        editor = window.edits.editor
        self._applied = None if editor is None else applied_threshold(editor.session.history)
        if self._applied is None:
            window.threshold_curve.clear_applied()
        else:
            window.threshold_curve.set_applied(*self._applied)

    @Slot(object)
    def _on_soft_ready(self, update) -> None:
        """A new case's first soft figures start unflagged: flag them when its history holds hand edits."""
        editor = self._window.edits.editor
        if update.result is not None and editor is not None:
            self._window.soft_metrics.set_prediction_edited(prediction_edited(editor.session.history))
