"""The questions editing asks the user, as dialogs: unsaved edits, crash recovery, where to save.

A mixin of :class:`~app.qt.main_window.MainWindow` (a ``QWidget``), so that tests replace each method
on the window to answer without a dialog, like ``show_error``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox


class EditQuestions:
    """Dialog methods the :class:`~app.qt.edit_workflow.EditWorkflow` calls on its window."""

    def ask_unsaved_changes(self, message: str) -> str:
        """Save / Discard / Cancel for unsaved edits: ``"save"``, ``"discard"`` or ``"cancel"`` (tests replace)."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(self, "Unsaved edits", message, buttons.Save | buttons.Discard | buttons.Cancel,
                                      buttons.Save)
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_recovery(self, message: str) -> bool:
        """Whether to replay a crashed session's journal (tests replace this method)."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(self, "Recover unsaved edits", message, buttons.Yes | buttons.No, buttons.Yes)
        return answer == buttons.Yes

    def ask_save_path(self, which: str, current: str) -> str | None:
        """Where to save mask ``which`` ("Save as"); None when cancelled (tests replace this method)."""
        title = "Save prediction as" if which == "pred" else "Save ground truth as"
        path, _ = QFileDialog.getSaveFileName(self, title, current)
        return path or None

    def ask_undo_budget(self, current_mb: int) -> int | None:
        """Memory for undo/redo in MB; None when cancelled (tests replace this method)."""
        value, accepted = QInputDialog.getInt(self, "Undo memory", "Memory kept for undo and redo (MB):",
                                              current_mb, 16, 1 << 20, 64)
        return value if accepted else None
