"""A loaded case opened for editing: the edit session plus its journal, crash recovery and saving.

Typical use by the GUI::

    editor = CaseEditor(case)                  # case from app.io.load_case
    if editor.recovery is not None:            # a previous session crashed with unsaved edits
        if ask_user(editor.recovery): warnings = editor.recover()
        else: editor.discard_recovery()
    session = editor.session                   # tools, undo/redo, listeners
    ...
    editor.save("pred")                        # or editor.save("pred", "other.nii.gz") (save as)

Saving writes through :func:`app.io.save_mask` (the source's format, grid and pixel type,
atomically), then updates ``case.sources`` to the written file and drops the saved mask's records
from the journal (the whole journal when nothing else is unsaved).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from app.io import Case, describe_saved, save_mask
from app.model.delta import MASKS, check_which
from app.model.edit_session import EditSession
from app.model.history import DEFAULT_BUDGET_BYTES
from app.model.journal import Journal, JournalRecord, journal_for


@dataclass(frozen=True)
class RecoveryOffer:
    """Unsaved edits of this case left in the journal by a session that did not end normally.

    Attributes
    ----------
    journal_path : Path
        The journal file.
    size_bytes : int
        Its size.
    started : str
        When the journal was started (ISO 8601, UTC), or "" when unknown.
    strokes : int
        Intact records of strokes, fills and polygons (undo and redo records not counted).
    damaged : bool
        Whether the journal ends with a damaged record (recovery will skip it with a warning).
    """

    journal_path: Path
    size_bytes: int
    started: str
    strokes: int
    damaged: bool


class CaseEditor:
    """Edit a :class:`~app.io.Case`'s masks with crash-safe journalling and atomic saving.

    Parameters
    ----------
    case : Case
        The loaded case; its ``gt`` and ``pred`` arrays are edited in place and ``sources`` is
        updated when a mask is saved.
    data_dir : str or Path, optional
        Base of the user data directory (default: ``$DICELENS_DATA_DIR`` or the platform's; see
        :func:`~app.model.journal.user_data_dir`). The journal lives in ``journal/<case key>/``.
    journal : bool
        Whether to journal edits (default True).
    history_budget_bytes : int
        Undo history memory budget (default 512 MB).

    Attributes
    ----------
    session : EditSession
        The tools, history and listeners.
    recovery : RecoveryOffer or None
        Set when the journal holds edits of an earlier session; until :meth:`recover` or
        :meth:`discard_recovery` is called, new edits are not journalled.

    Notes
    -----
    When the same case is being edited in another window or process (its journal is locked), no
    recovery is offered, nothing is journalled, and ``session.journal_error`` says why.
    """

    def __init__(self, case: Case, *, data_dir: str | Path | None = None, journal: bool = True,
                 history_budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.case = case
        self._data_dir = data_dir
        self.session = EditSession(case.gt, case.pred, case.geometry.spacing_zyx, case.num_classes,
                                   history_budget_bytes=history_budget_bytes)
        self._journal = journal_for(case.sources, data_dir, self._info()) if journal else None
        self.recovery: RecoveryOffer | None = None
        if self._journal is not None and self._journal.in_use():
            self.session.journal_error = ("this case is open for editing in another DiceLens window; edits "
                                          "made here are not journalled against a crash.")
            self._journal = None
        elif self._journal is not None and self._journal.has_records():
            contents = self._journal.read()
            self.recovery = RecoveryOffer(self._journal.path, self._journal.path.stat().st_size,
                                          str(self._journal.read_info().get("started", "")),
                                          sum(record.kind == "step" for record in contents.records),
                                          bool(contents.warnings))
        else:
            self._attach_journal()

    @property
    def journal(self) -> Journal | None:
        """The case's journal (None when journalling is off)."""
        return self._journal

    def recover(self) -> list[str]:
        """Replay the journal onto the freshly loaded masks and keep journalling after it.

        Returns
        -------
        list of str
            Warnings for the user (a damaged tail record skipped...); empty when all was recovered.
        """
        if self.recovery is None:
            return []
        contents = self._journal.read()
        applied, replay_warnings = self.session.replay(contents.records)
        if applied < len(contents.records):  # keep only what was applied, so new records follow it
            self._journal.rewrite(contents.records[:applied])
        self.recovery = None
        self._attach_journal()
        return contents.warnings + replay_warnings

    def discard_recovery(self) -> None:
        """Delete the earlier session's journal without applying it; journal new edits from scratch."""
        if self.recovery is None:
            return
        self._journal.clear()
        self.recovery = None
        self._attach_journal()

    def save(self, which: str, path: str | Path | None = None) -> Path:
        """Write a mask in its source's format, grid and pixel type (atomically), then mark it saved.

        Parameters
        ----------
        which : {"pred", "gt"}
        path : str or Path, optional
            Destination ("save as"); default the file the mask was read from.

        Returns
        -------
        Path
            The file written; ``case.sources[which]`` now describes it.

        Raises
        ------
        InputError
            The destination cannot be written (format, directory, pixel type); nothing changed.
        """
        check_which(which)
        self.session.end_stroke()
        source = self.case.sources[which]
        written = save_mask(self.session.mask(which), Path(path) if path is not None else Path(source.path),
                            like=source)
        # Hashed as load_case hashes it, so that reopening the written file finds this case's journal.
        self.case.sources[which] = describe_saved(source, written)
        self.session.mark_saved(which, Path(written).name)
        self._move_journal()
        return written

    def discard_journal(self) -> None:
        """Delete the journal (the user closes the case and throws its unsaved edits away)."""
        if self._journal is not None:
            self._journal.clear()

    def close(self) -> None:
        """Release the journal file; unsaved edits stay in it for the next opening to recover."""
        if self._journal is not None:
            self._journal.close()

    def _attach_journal(self) -> None:
        if self._journal is not None:
            self.session.journal = self._journal

    def _move_journal(self) -> None:
        """After a save: journal under the new case key, keeping only the other mask's unsaved records."""
        if self._journal is None or self.recovery is not None:
            return
        old_journal = self._journal
        old_journal.close()
        unsaved = [which for which in MASKS if self.session.is_modified(which)]
        kept = [record for record in old_journal.read().records if record.which in unsaved]
        self._journal = journal_for(self.case.sources, self._data_dir, self._info())
        if kept:
            self._journal.rewrite([*kept, JournalRecord("clear_redo", -1)])
        if self._journal.directory != old_journal.directory or not kept:
            old_journal.clear()
        self._attach_journal()

    def _info(self) -> dict:
        return {
            "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "sources": {role: {"path": self.case.sources[role].path, "sha256": self.case.sources[role].sha256}
                        for role in MASKS},
        }
