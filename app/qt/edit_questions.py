"""The questions editing asks the user, as dialogs: unsaved edits, crash recovery, where to save.

A mixin of :class:`~app.qt.main_window.MainWindow` (a ``QWidget``), so that tests replace each method
on the window to answer without a dialog, like ``show_error``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from app.io import READABLE_ENDINGS
from app.qt.plain_text import plain_message_box


def source_ending(path: str) -> str | None:
    """The image ending of ``path`` (``".nii.gz"``, ``".seg.nrrd"``, ``".nrrd"``...), None when it has none."""
    lower = path.lower()
    return max((e for e in READABLE_ENDINGS if lower.endswith(e)), key=len, default=None)


class EditQuestions:
    """Dialog methods the :class:`~app.qt.edit_workflow.EditWorkflow` calls on its window."""

    def ask_unsaved_changes(self, message: str) -> str:
        """Save / Discard / Cancel for unsaved edits: ``"save"``, ``"discard"`` or ``"cancel"`` (tests replace)."""
        buttons = QMessageBox.StandardButton
        answer = plain_message_box(self, QMessageBox.Icon.Question, "Unsaved edits", message,
                                   buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save).exec()
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_recovery(self, message: str) -> bool:
        """Whether to replay a crashed session's journal (tests replace this method)."""
        buttons = QMessageBox.StandardButton
        answer = plain_message_box(self, QMessageBox.Icon.Question, "Recover unsaved edits", message,
                                   buttons.Yes | buttons.No, buttons.Yes).exec()
        return answer == buttons.Yes

    def ask_replace_input(self, which: str, path: str) -> str:
        """Before Save first writes over an input: ``"replace"``, ``"save_as"`` or ``"cancel"`` (tests replace)."""
        name = "prediction" if which == "pred" else "ground truth"
        box = plain_message_box(self, QMessageBox.Icon.Warning, "Replace the input file?",
                                f"Save will replace {path}\n\nThis is the {name} file this case was opened from; "
                                "its current contents will be lost.", QMessageBox.StandardButton.NoButton)
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        save_as = box.addButton("Save As…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save_as)
        box.exec()
        return {replace: "replace", save_as: "save_as"}.get(box.clickedButton(), "cancel")

    def ask_save_path(self, which: str, current: str) -> str | None:
        """Where to save mask ``which`` ("Save as"), offering the source's format; None when cancelled.

        Suggests ``<source>_edited<ending>`` beside the source; a name without a known ending gets the
        source's ending (tests replace this method).
        """
        title = "Save prediction as" if which == "pred" else "Save ground truth as"
        ending = source_ending(current)
        filters = f"Same format as the source (*{ending});;All files (*)" if ending else "All files (*)"
        suggested = f"{current[:-len(ending)]}_edited{ending}" if ending else current  # never the input itself
        path, _ = QFileDialog.getSaveFileName(self, title, suggested, filters)
        if path and ending and source_ending(path) is None:
            path += ending
        return path or None

    def ask_undo_budget(self, current_mb: int) -> int | None:
        """Memory for undo/redo in MB; None when cancelled (tests replace this method)."""
        value, accepted = QInputDialog.getInt(self, "Undo memory", "Memory kept for undo and redo (MB):",
                                              current_mb, 16, 1 << 20, 64)
        return value if accepted else None

    def ask_large_change(self, voxels: int) -> bool:
        """Before a tool changes more voxels than it may unasked (a fill of over a quarter of the slice):
        whether to go on (tests replace this method)."""
        buttons = QMessageBox.StandardButton
        answer = plain_message_box(self, QMessageBox.Icon.Question, "Large change",
                                   f"This would change {voxels:,} voxels, more than a quarter of the slice.\n\n"
                                   "Change them?", buttons.Yes | buttons.Cancel, buttons.Cancel).exec()
        return answer == buttons.Yes
