"""Verdicts and grades in review mode: keys ``A`` / ``C`` / ``R`` and ``1``-``5`` become rows of the review database.

:class:`VerdictRecorder` (one per :class:`~app.qt.worklist_controller.WorklistController`) records a
:class:`app.review.store.Verdict` per key press: status, grade, reviewer, UTC time, seconds spent on
the case, comment (``R`` asks for one), per-class Dice before (the case's stored result: the
original masks) and after a correction (the engine's numbers once it has caught up with every edit:
the window never computes a metric itself), the voxels changed
(:class:`~app.qt.worklist_changes.ChangedVoxels`) and the corrected file.

A verdict on a case with unsaved edits saves them to ``R/corrected/`` first; the first time in a
review it asks whether to do that without asking again (remembered per review folder). "Accept" on a
case whose mask was corrected records ``corrected``. A grade given before any verdict is kept and
recorded with the case's next verdict; on a decided case it records the same status with the new grade.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot
from PySide6.QtWidgets import QInputDialog, QMessageBox

from app.errors import InputError
from app.qt.edit_bridge import MASK_NAMES
from app.qt.plain_text import plain_message_box
from app.qt.worklist_changes import ChangedVoxels
from app.review.store import Verdict, utc_timestamp

ENGINE_WAIT_MS = 60_000
"""How long a verdict on a corrected case waits for the engine's figures of the corrected masks (else its
``dice_after`` is left empty rather than wrong)."""
SAVE_SILENTLY_SETTING = "review/save_corrections_silently_"
"""Settings key prefix (+ a hash of the review folder): save edits with a verdict without asking."""


def foreground_dice_of_score(score) -> dict[str, float | None]:
    """Class name -> Dice of the foreground classes of a :class:`app.score_document.CaseScore`."""
    return {entry.name: entry.dice for entry in score.classes if entry.index > 0}


def foreground_dice_of_result(result, name_of) -> dict[str, float | None]:
    """Class name -> Dice of the foreground classes of an engine result (NaN -> None: undefined)."""
    dice = result.metrics.dice
    return {name_of(label): (None if math.isnan(float(dice[label])) else float(dice[label]))
            for label in range(1, len(dice))}


class VerdictRecorder(QObject):
    """Records verdicts and grades on the controller's current case (parent: the controller)."""

    def __init__(self, controller) -> None:
        super().__init__(controller)
        self.changes: ChangedVoxels | None = None
        self.pending_grade: int | None = None

    @property
    def controller(self):
        """The :class:`~app.qt.worklist_controller.WorklistController` (the Qt parent)."""
        return self.parent()

    def case_opened(self, case) -> None:
        """A case is on screen: follow its edits from here on."""
        self.pending_grade = None
        self.changes = ChangedVoxels(case.gt.shape)
        editor = self.controller.window.edits.editor
        if editor is not None:
            editor.author = self.controller.reviewer   # content creator of a corrected DICOM SEG
            if editor.journal is not None and any(event.kind == "recovered" for event in editor.session.review_log):
                for record in editor.journal.read().records:   # edits recovered after a crash count too
                    if record.kind != "clear_redo":
                        self.changes.add_flat(record.which, record.indices, record.old_values)
        bridge = self.controller.window.edits.bridge
        if bridge is not None:
            bridge.painted.connect(self._on_painted)

    @Slot(object)
    def _on_painted(self, delta) -> None:
        if self.changes is not None:
            self.changes.add(delta)

    # ------------------------------------------------------------- actions
    def give(self, status: str) -> bool:
        """Record ``status`` ("accepted", "needs correction", "rejected") for the current case.

        Returns False when nothing was recorded (no worklist case open, a question cancelled, a save failed).
        """
        controller = self.controller
        case = controller.current
        if case is None:
            controller.window.statusBar().showMessage("Open a case of the worklist to give a verdict.", 6000)
            return False
        comment = ""
        if status == "rejected":
            comment = self.ask_comment(case)
            if comment is None:
                return False
        if not self.save_edits_first():
            return False
        if status == "accepted" and controller.folder.is_corrected(case):
            status = "corrected"
        latest = controller.folder.store.verdicts().get(case)
        grade = self.pending_grade if self.pending_grade is not None else (latest.grade if latest else None)
        self.record(status, grade, comment)
        return True

    def grade(self, grade: int) -> None:
        """Grade the current case ``grade`` (1-5)."""
        controller = self.controller
        case = controller.current
        if case is None:
            controller.window.statusBar().showMessage("Open a case of the worklist to grade it.", 6000)
            return
        latest = controller.folder.store.verdicts().get(case)
        if latest is None:
            self.pending_grade = grade
            row = controller.panel.model.row_of(case)
            if row is not None:
                controller.panel.update_row(replace(row, grade=grade))
            controller.window.statusBar().showMessage(
                f"Grade {grade} noted: it is recorded with the verdict (A accept, C needs correction, R reject).", 8000)
            return
        if not self.save_edits_first():
            return
        self.record(latest.status, grade, latest.comment)

    def record(self, status: str, grade: int | None, comment: str) -> Verdict:
        """Write the verdict of the current case and show it in the worklist."""
        controller = self.controller
        folder, case, window = controller.folder, controller.current, controller.window
        seconds = controller.flush_time()
        stored = folder.case_result(case)
        dice_before = foreground_dice_of_score(stored["score"]) if stored is not None else {}
        corrected = folder.is_corrected(case)
        result = self.current_result() if corrected else None
        dice_after = None
        if result is not None and window.state.case is not None:
            dice_after = foreground_dice_of_result(result, window.state.case.labels.name)
        latest = folder.store.verdicts().get(case)
        changed = self._voxels_changed()
        if changed == 0 and latest is not None:
            changed = latest.voxels_changed   # nothing edited on this visit: the last count stands
        paths = [folder.corrected_path(case, which) for which in ("pred", "gt")]
        corrected_path = next((str(path) for path in paths if path.exists()), None)
        verdict = Verdict(case=case, status=status, grade=grade, reviewer=controller.reviewer,
                          reviewed_at=utc_timestamp(), seconds=seconds, comment=comment,
                          dice_before=dice_before, dice_after=dice_after, voxels_changed=changed,
                          corrected_path=corrected_path)
        folder.store.record_verdict(verdict)
        self.pending_grade = None
        controller.refresh_row(case)
        controller.update_title()
        graded = f", grade {grade}" if grade is not None else ""
        window.statusBar().showMessage(f"{case}: {status}{graded}.", 6000)
        return verdict

    def current_result(self):
        """The engine's result for the masks as they are now, or None when it does not come within
        :data:`ENGINE_WAIT_MS`.

        A verdict given right after a stroke (or while the case's first metrics are computed) must not
        store the Dice of the masks before it: while the engine has edits in flight or queued, or has not
        answered this case yet, wait for it (user input is held back meanwhile, so no key acts twice).
        """
        window = self.controller.window
        engine = window.controller

        def current() -> bool:
            result = engine.last_result
            return not engine.busy and result is not None and result.generation == engine.generation

        if not current():
            window.statusBar().showMessage("Waiting for the metrics of the corrected masks…")
            loop = QEventLoop()
            timer = QTimer(loop)
            timer.setSingleShot(True)
            timer.timeout.connect(loop.quit)
            engine.busy_changed.connect(loop.quit)
            engine.result_ready.connect(loop.quit)
            timer.start(ENGINE_WAIT_MS)
            while not current() and timer.isActive():
                loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
            engine.busy_changed.disconnect(loop.quit)
            engine.result_ready.disconnect(loop.quit)
            window.statusBar().clearMessage()
        return engine.last_result if current() else None

    def _voxels_changed(self) -> int:
        editor = self.controller.window.edits.editor
        if self.changes is None or editor is None:
            return 0
        return sum(self.changes.count(which, editor.session.mask(which)) for which in ("pred", "gt"))

    # -------------------------------------------------------------- saving
    def save_edits_first(self) -> bool:
        """Save unsaved edits of the current case to ``R/corrected/`` (asked the first time per review).

        Returns False when the reviewer cancelled or a save failed (the window said why).
        """
        controller = self.controller
        window = controller.window
        editor = window.edits.editor
        if editor is not None and not window.edits.finish_pending_step("recording the verdict"):
            return False   # a threshold step pending: it is saved with the verdict once written (§8a)
        if editor is None or not editor.session.modified:
            return True
        settings = window.settings
        key = SAVE_SILENTLY_SETTING + hashlib.sha256(str(controller.folder.root.resolve()).encode()).hexdigest()[:16]
        if not settings.value(key, False, type=bool):
            unsaved = [MASK_NAMES[which] for which in ("pred", "gt") if editor.session.is_modified(which)]
            answer = self.ask_save_edits(
                f"The {' and the '.join(unsaved)} of {controller.current} {'have' if len(unsaved) > 1 else 'has'} "
                f"unsaved edits. Save {'them' if len(unsaved) > 1 else 'it'} to "
                f"{controller.folder.root / 'corrected'} with the verdict? (The original files are never changed.)")
            if answer == "cancel":
                return False
            if answer == "always":
                settings.setValue(key, True)
        for which in ("pred", "gt"):
            if not editor.session.is_modified(which):
                continue
            try:
                target = controller.target.path(which)
            except InputError as error:
                window.show_error(f"The {MASK_NAMES[which]} was not saved and no verdict recorded: {error}")
                return False
            if not window.edits.save(which, str(target)):
                return False
        controller.update_title()
        return True

    # ----------------------------------------------------------- questions
    def ask_comment(self, case: str) -> str | None:
        """Why ``case`` is rejected; None when cancelled (tests replace this method)."""
        text, accepted = QInputDialog.getText(self.controller.window, "Reject case",
                                              f"Why is {case} rejected? (Enter records the rejection)")
        return text.strip() if accepted else None

    def ask_save_edits(self, message: str) -> str:
        """``"save"``, ``"always"`` (save without asking again in this review) or ``"cancel"`` (tests replace)."""
        box = plain_message_box(self.controller.window, QMessageBox.Icon.Question, "Save the correction?",
                                message, QMessageBox.StandardButton.NoButton)
        save = box.addButton("Save", QMessageBox.ButtonRole.AcceptRole)
        always = box.addButton("Save, don't ask again in this review", QMessageBox.ButtonRole.YesRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save)
        box.exec()
        return {save: "save", always: "always"}.get(box.clickedButton(), "cancel")
