"""Editing in the review window: opening a case for editing, recovery, saving, the unsaved-edits question, report.

One :class:`EditWorkflow` per main window. For each case shown it opens a
:class:`~app.model.case_editor.CaseEditor` (journal, recovery, save) and an
:class:`~app.qt.edit_bridge.EditBridge`, and wires the bridge (docs/architecture.md §3)::

    bridge.painted        -> EngineController.submit_delta   (queued to the worker, merged while busy)
    bridge.region_changed -> ViewLayout.update_region        (only the painted tile, in every view)
    bridge.edit_completed -> DiceHistoryPanel.add_edit       (one point per action)
    bridge.history_changed-> the title's modified marker, undo/redo actions

Questions go through the window's replaceable methods (``ask_unsaved_changes``, ``ask_recovery``,
``ask_replace_input``, ``ask_save_path``, ``show_error``), so tests answer them without dialogs.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog

from app.errors import InputError
from app.io import dicom_series
from app.io.dicom_objects import RTSTRUCT_FORMAT, SEG_FORMAT
from app.model.case_editor import CaseEditor
from app.model.history import DEFAULT_BUDGET_BYTES
from app.qt.edit_bridge import MASK_NAMES, EditBridge


def recovery_message(offer) -> str:
    """The question asked when a case's journal holds edits of a session that did not end normally."""
    started = f" (session started {offer.started})" if offer.started else ""
    text = (f"DiceLens found {offer.strokes} edit{'s' if offer.strokes != 1 else ''} of this case that were "
            f"never saved{started}: the previous session did not end normally.")
    if offer.damaged:
        text += " The journal's last record is damaged (a write cut short) and will be skipped."
    return text + "\n\nRecover these edits?"


UNDO_BUDGET_SETTING = "editing/undo_budget_mb"


class EditWorkflow(QObject):
    """The editing side of :class:`~app.qt.main_window.MainWindow`.

    Parameters
    ----------
    window : MainWindow
        Provides ``state``, ``controller``, ``views``, the ask/show methods and ``edit_data_dir``.
    tools : EditTools
    toolbar : EditToolbar
    history_panel : DiceHistoryPanel

    Attributes
    ----------
    editor : CaseEditor or None
    bridge : EditBridge or None
    file_actions : dict of str to QAction
        ``save_pred``, ``save_gt``, ``save_pred_as``, ``save_gt_as``, ``export_report``.
    journal : bool
        Journal edits and offer recovery (default True). Screenshot mode turns it off, so that rendering
        a picture never asks a question nor touches a journal of unsaved edits.
    """

    def __init__(self, window, tools, toolbar, history_panel) -> None:
        super().__init__(window)
        self.tools = tools
        self.toolbar = toolbar
        self.history_panel = history_panel
        self.editor: CaseEditor | None = None
        self.bridge: EditBridge | None = None
        self.file_actions: dict[str, QAction] = {}
        self.journal = True
        self._replace_confirmed: set[str] = set()  # masks whose source file Save may replace (asked)
        self.save_redirect = None
        """None, or a callable ``which -> path or None``: where File → Save writes instead of the mask's
        source (review mode: ``R/corrected/``, :class:`app.qt.worklist_corrected.CorrectedTarget`)."""
        self.new_instance_class = None
        """None, or ``() -> int`` given to every case's :class:`~app.model.edit_session.EditSession` (recorded in
        its journal: docs/architecture.md §5d)."""
        for which in ("pred", "gt"):
            key = "Ctrl+S" if which == "pred" else "Ctrl+Alt+S"
            self._file_action(f"save_{which}", f"&Save {MASK_NAMES[which]}", key, self.save_pred
                              if which == "pred" else self.save_gt)
            self._file_action(f"save_{which}_as", f"Save {MASK_NAMES[which]} &as…", None, self.save_pred_as
                              if which == "pred" else self.save_gt_as)
            self._file_action(f"save_{which}_seg", f"Save {MASK_NAMES[which]} as DICOM SE&G…", None,
                              self.save_pred_seg if which == "pred" else self.save_gt_seg)
        self._file_action("export_report", "&Export report…", "Ctrl+Shift+E", self.export_report)
        budget_action = QAction("Undo &memory…", toolbar)
        budget_action.setToolTip("How much memory undo/redo may keep; beyond it the oldest steps are dropped")
        budget_action.triggered.connect(self.choose_undo_budget)
        toolbar.actions_by_name["undo_budget"] = budget_action  # listed in the Edit menu
        self._update_actions()

    def _file_action(self, name: str, text: str, key: str | None, slot) -> None:
        action = QAction(text, self)
        if key:
            action.setShortcut(QKeySequence(key))
        action.triggered.connect(slot)
        self.file_actions[name] = action

    @property
    def window(self):
        """The main window (the Qt parent; not kept as a Python attribute, which would make a reference
        cycle that only the garbage collector breaks, possibly from another thread)."""
        return self.parent()

    # --------------------------------------------------------------- cases
    def open_case(self, case) -> None:
        """Open ``case`` for editing, offering recovery first; call before the window shows it.

        A recovered journal is replayed into the masks before the view and the engine see them, so
        the first metrics already include the recovered edits (and the Dice history starts there).
        """
        self.close_case()
        window = self.window
        self._replace_confirmed = set()
        self.editor = CaseEditor(case, data_dir=window.edit_data_dir, journal=self.journal,
                                 history_budget_bytes=self.undo_budget_mb() * 2**20)
        self.editor.session.new_instance_class = self.new_instance_class
        image = case.image
        # The intensity-aware tools read scalar images only (not a 2D picture's RGB).
        self.editor.session.image = image if image is not None and image.shape == case.gt.shape else None
        if self.editor.recovery is not None:
            self._offer_recovery()
        self.bridge = EditBridge(self.editor, case.labels.name, self)
        self.bridge.painted.connect(window.controller.submit_delta)
        self.bridge.painted.connect(window.objects.submit_delta)
        self.bridge.painted.connect(window.soft_metrics.submit_delta)
        self.bridge.region_changed.connect(window.views.update_region)
        self.bridge.edit_completed.connect(self.history_panel.add_edit)
        self.bridge.history_changed.connect(self._on_history_changed)
        if self.editor.session.journal_error:
            window.statusBar().showMessage(self.editor.session.journal_error, 15000)
        self.toolbar.set_bridge(self.bridge, case)
        self._on_history_changed()

    def _offer_recovery(self) -> None:
        offer = self.editor.recovery
        if not self.window.ask_recovery(recovery_message(offer)):
            self.editor.discard_recovery()
            return
        warnings = self.editor.recover()
        self.window.statusBar().showMessage(f"Recovered {offer.strokes} edit(s) from the journal.", 15000)
        if warnings:
            self.window.show_error("\n".join(warnings))

    def close_case(self) -> None:
        """Stop editing the current case (unsaved edits stay in its journal unless discarded first)."""
        self.tools.finish_drag()
        if self.bridge is not None:
            self.bridge.detach()
            self.bridge.deleteLater()
        if self.editor is not None:
            self.editor.close()
        self.editor = self.bridge = None
        self.toolbar.set_bridge(None, None)
        self._update_actions()

    def confirm_discard(self) -> bool:
        """Before closing the window or opening another case: ask about unsaved edits. False = cancel."""
        if not self.finish_pending_step("closing the case"):
            self.window.threshold_applier.settle()   # cancelled: the step is given up, the held edits are made
        if self.editor is None or not self.editor.session.modified:
            return True
        unsaved = [MASK_NAMES[w] for w in ("pred", "gt") if self.editor.session.is_modified(w)]
        answer = self.window.ask_unsaved_changes(
            f"The {' and the '.join(unsaved)} of this case {'have' if len(unsaved) > 1 else 'has'} unsaved edits.")
        if answer == "save":
            return all(self.save(which) for which in ("pred", "gt") if self.editor.session.is_modified(which))
        if answer == "discard":
            self.editor.discard_journal()
            return True
        return False

    # -------------------------------------------------------------- saving
    def finish_pending_step(self, purpose: str) -> bool:
        """End a drag, then wait for a pending threshold step and the edits held behind it to be written, so
        that ``purpose`` (saving, exporting) uses what the user sees and asked for (docs/architecture.md §8a);
        False when the user cancelled the wait."""
        self.tools.finish_drag()
        return self.window.threshold_applier.finish_pending(purpose)

    def save(self, which: str, path: str | None = None) -> bool:
        """Save mask ``which`` (to ``path``: save as) through the model: atomic, source format and geometry.

        Saving over the file the mask was opened from is asked first, once per mask of the case
        ("Save will replace …": Replace / Save as… / Cancel); Replace is remembered for the case.
        """
        if self.editor is None or not self.finish_pending_step(f"saving the {MASK_NAMES[which]}"):
            return False
        if path is None and self.save_redirect is not None:
            try:
                path = self.save_redirect(which)
            except InputError as error:
                self.window.show_error(f"The {MASK_NAMES[which]} was not saved: {error}")
                return False
        if path is None and self.editor.case.sources[which].format in (SEG_FORMAT, RTSTRUCT_FORMAT):
            return self.save_dicom_seg(which)  # a DICOM object is never overwritten: a new SEG instance
        if path is None and self.editor.other_input_at(which, self.editor.case.sources[which].path) is not None:
            return self.save_as(which)   # derived from the model output: its source is the model's file
        if path is None and which not in self._replace_confirmed:
            answer = self.window.ask_replace_input(which, self.editor.case.sources[which].path)
            if answer == "save_as":
                return self.save_as(which)
            if answer != "replace":
                return False
            self._replace_confirmed.add(which)
        try:
            written = self.editor.save(which, path)
        except (InputError, OSError) as error:
            self.window.show_error(f"The {MASK_NAMES[which]} was not saved: {error}")
            return False
        if path is not None:
            self._replace_confirmed.add(which)  # from now on Save writes the file chosen here
        self.window.statusBar().showMessage(f"Saved the {MASK_NAMES[which]}: {written}", 10000)
        self._on_history_changed()
        return True

    def save_as(self, which: str) -> bool:
        """Ask where, then save mask ``which`` there (the dialog offers the source's format; another
        input of the case is refused by the model with a message)."""
        if self.editor is None or not self.finish_pending_step(f"saving the {MASK_NAMES[which]}"):
            return False
        try:
            path = self.window.ask_save_path(which, self.editor.case.sources[which].path)
        except InputError as error:   # review mode: the corrected file cannot be written (worklist_corrected)
            self.window.show_error(f"The {MASK_NAMES[which]} was not saved: {error}")
            return False
        return bool(path) and self.save(which, path)

    def save_dicom_seg(self, which: str) -> bool:
        """File → Save … as DICOM SEG: a new SEG instance of the case's DICOM series (asks file and reviewer).

        The mask's source and its unsaved state are left as they are (a SEG is an export); the case's image
        must be a DICOM series, else the reason is shown.
        """
        if self.editor is None or not self.finish_pending_step(f"saving the {MASK_NAMES[which]}"):
            return False
        case = self.editor.case
        try:
            series = dicom_series(case)
        except InputError as error:
            self.window.show_error(f"The {MASK_NAMES[which]} was not saved as DICOM SEG: {error}")
            return False
        answer = self.ask_dicom_seg_target(which, case.sources[which].path)
        if answer is None:
            return False
        path, reviewer = answer
        clash = self.editor.other_input_at(which, path)
        if clash is None and path == case.sources[which].path:
            clash = MASK_NAMES[which]
        from app.io.seg_writing import save_dicom_seg  # highdicom loads when first needed (~0.5 s)

        try:
            if clash is not None:
                raise InputError(f"'{path}' is the {clash} of this case; choose another file.")
            written = save_dicom_seg(self.editor.session.mask(which), path, series, case.labels, reviewer=reviewer,
                                     like=case.sources[which])
        except (InputError, OSError) as error:
            self.window.show_error(f"The {MASK_NAMES[which]} was not saved as DICOM SEG: {error}")
            return False
        self.window.statusBar().showMessage(f"Saved the {MASK_NAMES[which]} as DICOM SEG: {written}", 10000)
        return True

    def ask_dicom_seg_target(self, which: str, current: str) -> tuple[str, str] | None:
        """The SEG file to write and the reviewer's name (remembered), or None (tests replace this)."""
        suggested = f"{current.rstrip('/').rsplit('.', 1)[0]}_corrected_seg.dcm"
        path, _ = QFileDialog.getSaveFileName(self.window, f"Save {MASK_NAMES[which]} as DICOM SEG", suggested,
                                              "DICOM SEG (*.dcm);;All files (*)")
        if not path:
            return None
        settings = getattr(self.window, "settings", None) or QSettings()
        reviewer, accepted = QInputDialog.getText(self.window, "Reviewer", "Content creator (your name):",
                                                  text=str(settings.value("report/reviewer", "")))
        if not accepted:
            return None
        settings.setValue("report/reviewer", reviewer.strip())  # shared with File → Export report
        return path, reviewer.strip()

    @Slot()
    def save_pred_seg(self) -> None:
        """File → Save prediction as DICOM SEG…"""
        self.save_dicom_seg("pred")

    @Slot()
    def save_gt_seg(self) -> None:
        """File → Save ground truth as DICOM SEG…"""
        self.save_dicom_seg("gt")

    @Slot()
    def save_pred(self) -> None:
        """File → Save prediction."""
        self.save("pred")

    @Slot()
    def save_gt(self) -> None:
        """File → Save ground truth."""
        self.save("gt")

    @Slot()
    def save_pred_as(self) -> None:
        """File → Save prediction as…"""
        self.save_as("pred")

    @Slot()
    def save_gt_as(self) -> None:
        """File → Save ground truth as…"""
        self.save_as("gt")

    # -------------------------------------------------------------- report
    @Slot()
    def export_report(self):
        """File → Export report…: the PDF of the case as reviewed, listing every edit of this review
        (recovered, saved and unsaved) and which masks are edited and unsaved."""
        from app.model.threshold_step import as_reported
        from app.qt.report_dialog import export_case_report
        from app.report.case_name import report_case_name
        from app.report.review import review_edit_records

        if self.editor is None or not self.finish_pending_step("exporting the report"):
            return None
        case = self.editor.case
        name = report_case_name(*(case.sources[role].path if role in case.sources else None
                                  for role in ("gt", "pred", "image")))
        session = self.editor.session
        edits = review_edit_records(session.review_log, session.is_modified, self.history_panel.edit_records(),
                                    case.labels.name)
        case = as_reported(case, session.history)   # a threshold step: the report says so (§8a)
        return export_case_report(self.window, case, case_name=name, score=None, edits=edits,
                                  settings=self.window.settings)

    # ------------------------------------------------------------- updates
    @Slot()
    def undo_budget_mb(self) -> int:
        """The undo memory budget in MB (setting ``editing/undo_budget_mb``, default 512)."""
        value = self.window.settings.value(UNDO_BUDGET_SETTING, DEFAULT_BUDGET_BYTES // 2**20)
        try:
            return max(int(value), 1)
        except (TypeError, ValueError):
            return DEFAULT_BUDGET_BYTES // 2**20

    @Slot()
    def choose_undo_budget(self) -> None:
        """Ask for the undo memory budget, remember it, and apply it to the case being edited."""
        megabytes = self.window.ask_undo_budget(self.undo_budget_mb())
        if megabytes is None:
            return
        self.window.settings.setValue(UNDO_BUDGET_SETTING, int(megabytes))
        if self.editor is not None:
            self.editor.session.history.budget_bytes = int(megabytes) * 2**20  # drops oldest steps at once
            self._on_history_changed()

    def _on_history_changed(self) -> None:
        modified = self.editor is not None and self.editor.session.modified
        self.window.setWindowModified(modified)
        self._update_actions()

    def _update_actions(self) -> None:
        session = self.editor.session if self.editor is not None else None
        for which in ("pred", "gt"):
            self.file_actions[f"save_{which}"].setEnabled(session is not None and session.is_modified(which))
            self.file_actions[f"save_{which}_as"].setEnabled(session is not None)
            self.file_actions[f"save_{which}_seg"].setEnabled(session is not None)
        self.file_actions["export_report"].setEnabled(session is not None)
