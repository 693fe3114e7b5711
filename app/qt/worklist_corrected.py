"""Where saves go in review mode: every mask saved from a worklist case goes to ``R/corrected/``.

:class:`CorrectedTarget` answers the window's save questions (the replaceable ``ask_replace_input``
and ``ask_save_path`` of :class:`~app.qt.edit_questions.EditQuestions`), so File → Save, Save as and
"Save" in the unsaved-edits question all write the case's corrected file
(:meth:`app.review.folder.ReviewFolder.corrected_path`) in the source's format and geometry, never an
input. It is also the window's ``edits.save_redirect``, so File → Save of a DICOM SEG or RTSTRUCT
mask (which otherwise asks where to write a new SEG) writes the corrected file too. For a case opened
from the File menu (not in the worklist) the window's own questions are asked.
"""

from __future__ import annotations

from pathlib import Path
from weakref import WeakMethod

from app.review.corrected import corrected_target


class CorrectedTarget:
    """Answers the window's save questions in review mode: every save of a mask goes to ``R/corrected/``.

    Installed as the window's ``ask_replace_input`` and ``ask_save_path`` (the replaceable question
    methods of :class:`~app.qt.edit_questions.EditQuestions`), so File → Save, Save as and "Save" in the
    unsaved-edits question all write the corrected file, never an input. It reaches the window's own
    questions through weak references only (no reference cycle with the window).
    """

    def __init__(self, folder, window_replace_answer, window_save_path) -> None:
        self.folder = folder
        self.case: str | None = None
        """The worklist case on screen (None: a case opened from the File menu, saved as usual)."""
        self._window_questions = (WeakMethod(window_replace_answer), WeakMethod(window_save_path))

    def path(self, which: str) -> Path:
        """The corrected file of mask ``which`` of the current case (its folder created), checked against
        every input of the review (:func:`app.review.corrected.corrected_target`).

        Raises
        ------
        InputError
            The file would replace or lie in an input (``corrected/`` linked into an input folder...).
        """
        return corrected_target(self.folder, self.case, which)

    def redirect(self, which: str) -> str | None:
        """Where File → Save writes mask ``which`` (the window's ``edits.save_redirect``): the corrected
        file of a worklist case, DICOM SEG and RTSTRUCT sources included; None for another case."""
        return None if self.case is None else str(self.path(which))

    def replace_answer(self, which: str, path: str) -> str:
        """"Save will replace the input": never; save to the corrected file instead (another case: asked)."""
        if self.case is None:
            return self._ask(0, which, path, default="cancel")
        return "save_as"

    def save_path(self, which: str, current: str) -> str | None:
        """"Save as": the corrected file (another case: asked)."""
        if self.case is None:
            return self._ask(1, which, current, default=None)
        return str(self.path(which))

    def _ask(self, number: int, which: str, path: str, default):
        question = self._window_questions[number]()
        return default if question is None else question(which, path)
