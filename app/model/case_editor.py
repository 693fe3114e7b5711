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
atomically; a ``.dcm`` destination as a DICOM SEG of the case's series), then updates
``case.sources`` to the written file and drops the saved mask's records from the journal (the
whole journal when nothing else is unsaved). The order makes a crash at any moment of a save lose
nothing: the new file is written and fsync'ed under a temporary name; the
journal of the case as it will be after the save (the other mask's unsaved records, under the new
case key) is written; the file replaces its destination; only then is the old journal deleted. So
either the old file and its complete journal, or the new file and its journal, are on disk.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError
from app.io import Case, describe_saved, save_mask
from app.io.dicom_objects import SEG_FORMAT
from app.io.images import sha256_of, source_files
from app.model.delta import MASKS, check_which
from app.model.edit_session import EditSession
from app.model.history import DEFAULT_BUDGET_BYTES
from app.model.journal import Journal, JournalRecord, journal_for


@dataclass(frozen=True)
class _JournalMove:
    """A save's journal hand-over: ``old`` holds every record until the saved file is in place;
    ``new`` (None: journalling is off or failed) is the saved case's journal, written first."""

    sha256: str
    old: Journal | None
    new: Journal | None
    kept: bool = False


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
    author : str
        Content creator written into a DICOM SEG save (the reviewer in review mode; "" for none).

    Notes
    -----
    When the same case is being edited in another window or process (its journal is locked), no
    recovery is offered, nothing is journalled, and ``session.journal_error`` says why.
    """

    def __init__(self, case: Case, *, data_dir: str | Path | None = None, journal: bool = True,
                 history_budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.case = case
        self._data_dir = data_dir
        self.author = ""
        self.session = EditSession(case.gt, case.pred, case.geometry.spacing_zyx, case.num_classes,
                                   history_budget_bytes=history_budget_bytes)
        self._journal = journal_for(case.sources, data_dir, self._info()) if journal else None
        self.recovery: RecoveryOffer | None = None
        self.recovered_records: list[JournalRecord] = []
        """The journal records :meth:`recover` replayed into the masks, in order."""
        if self._journal is not None and self._journal.in_use():
            self.session.journal_error = ("this case is open for editing in another DiceLens window; edits "
                                          "made here are not journalled against a crash.")
            self._journal = None
        elif self._journal is not None and self._journal.has_records():
            contents = self._journal.read()
            if not _changes_anything(contents.records):  # e.g. a stroke and its undo, then a crash
                self._journal.clear()
                self._attach_journal()
                return
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
        self.recovered_records = contents.records[:applied]
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
            Destination ("save as"); default the file the mask was read from. A ``.dcm`` destination
            is written as a new DICOM SEG of the case's image series (which must be a DICOM series).

        Returns
        -------
        Path
            The file written; ``case.sources[which]`` now describes it.

        Raises
        ------
        InputError
            The destination cannot be written (format, directory, pixel type), or it is another input
            of this case (the other mask, the image, the label table); nothing changed.
        """
        check_which(which)
        self.session.end_stroke()
        source = self.case.sources[which]
        destination = Path(path) if path is not None else Path(source.path)
        if path is None and _is_dicom_file(destination):
            raise InputError(f"'{destination}' is a DICOM object read as an input; it is never written over. "
                             "Save the mask to another file (File → Save as…).")
        clash = self.other_input_at(which, destination)
        if clash is not None:
            raise InputError(f"'{destination}' is the {clash} of this case; saving the "
                             f"{'prediction' if which == 'pred' else 'ground truth'} there would replace it. "
                             "Choose another file (File → Save as…).")
        moves: list[_JournalMove] = []

        def move_journal_first(written: Path) -> None:
            # The journal of the saved case is complete before the file is replaced (see _JournalMove).
            sha256 = sha256_of(source_files(written))
            moves.append(self._prepare_journal_move(which, sha256, destination))

        try:
            if _is_dicom_file(destination):   # a DICOM SEG of the case's series (app.io.seg_writing)
                written = self._save_dicom_seg(which, destination, move_journal_first)
            else:
                written = save_mask(self.session.mask(which), destination, like=source,
                                    before_replace=move_journal_first)
        except BaseException:
            if moves and moves[0].new is not None and moves[0].new.directory != moves[0].old.directory:
                moves[0].new.clear()  # the file was not replaced: the old journal still holds everything
            raise
        # Hashed as load_case hashes it, so that reopening the written file finds this case's journal.
        described = describe_saved(source, written, moves[0].sha256 if moves else None)
        if _is_dicom_file(written):
            described = dataclasses.replace(described, format=SEG_FORMAT)
        self.case.sources[which] = described
        self.session.mark_saved(which, Path(written).name)
        if moves:
            self._finish_journal_move(moves[0])
        return written

    def _save_dicom_seg(self, which: str, destination: Path, before_replace) -> Path:
        """Write mask ``which`` as a new DICOM SEG of the case's image series (content creator :attr:`author`)."""
        from app.io import dicom_series
        from app.io.seg_writing import save_dicom_seg  # highdicom loads when first needed (~0.5 s)

        return save_dicom_seg(self.session.mask(which), destination, dicom_series(self.case), self.case.labels,
                              reviewer=self.author, like=self.case.sources[which], before_replace=before_replace)

    def other_input_at(self, which: str, destination: str | Path) -> str | None:
        """Which other input of the case ``destination`` is (``"ground truth"``, ``"image"``...), or None.

        Compared as files (device and inode: symbolic links, ``./`` and hard links are seen
        through), else as resolved paths when ``destination`` does not exist yet.
        """
        names = {"gt": "ground truth", "pred": "prediction", "image": "image", "labels": "label table"}
        for role, source in self.case.sources.items():
            if role == which:
                continue
            for file in {source.path, *source.files}:
                if _same_file(destination, file):
                    return names.get(role, f"{role} input")
        return None

    def discard_journal(self) -> None:
        """Delete the journal (the user closes the case and throws its unsaved edits away)."""
        if self._journal is not None:
            self._journal.clear()

    def close(self) -> None:
        """Release the journal file; unsaved edits stay in it for the next opening to recover.

        With nothing unsaved (no edit, everything saved, or every edit undone) the journal is deleted,
        so that a normal close is never followed by a recovery offer.
        """
        if self._journal is None:
            return
        if self.recovery is None and not self.session.modified:
            self._journal.clear()
        else:
            self._journal.close()

    def _attach_journal(self) -> None:
        if self._journal is not None:
            self.session.journal = self._journal

    def _prepare_journal_move(self, which: str, sha256: str, destination: Path) -> _JournalMove:
        """Before a saved file replaces its destination: write the journal it will belong to.

        That journal (under the case key of the sources after the save) keeps only the other mask's
        unsaved records. Until the file is replaced, the old journal still holds everything.
        """
        move = _JournalMove(sha256, self._journal, None)
        if self._journal is None or self.recovery is not None or self.session.journal_error is not None:
            return move
        self._journal.close()
        sources = dict(self.case.sources)
        sources[which] = dataclasses.replace(sources[which], path=str(destination), sha256=sha256)
        unsaved = [w for w in MASKS if w != which and self.session.is_modified(w)]
        kept = [record for record in self._journal.read().records if record.which in unsaved]
        new_journal = journal_for(sources, self._data_dir, self._info(sources))
        try:
            if kept:
                new_journal.rewrite([*kept, JournalRecord("clear_redo", -1)])
            elif new_journal.directory != self._journal.directory:
                new_journal.clear()  # a journal left there by an earlier save cut short is stale now
        except OSError as error:
            self.session.journal_error = (f"the edit journal '{new_journal.path}' cannot be written "
                                          f"({error.strerror or error}); edits are no longer journalled.")
            return move
        return _JournalMove(sha256, self._journal, new_journal, bool(kept))

    def _finish_journal_move(self, move: _JournalMove) -> None:
        """After the saved file replaced its destination: drop the old journal, journal into the new one."""
        if move.new is None:
            return
        if move.new.directory != move.old.directory or not move.kept:
            move.old.clear()
        self._journal = move.new
        self._attach_journal()

    def _info(self, sources: dict | None = None) -> dict:
        sources = self.case.sources if sources is None else sources
        return {
            "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "sources": {role: {"path": sources[role].path, "sha256": sources[role].sha256} for role in MASKS},
        }


def _is_dicom_file(path: str | Path) -> bool:
    """True for a ``.dcm`` destination: a mask is written there as a DICOM SEG (never as an image)."""
    return Path(path).name.lower().endswith(".dcm")


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _changes_anything(records: list[JournalRecord]) -> bool:
    """Whether replaying ``records`` would leave a mask different from the file (a step not undone).

    Undo writes back exactly the values its step replaced, so the masks equal the files on disk
    when every step of the journal ends up undone (on the redo list or forgotten by ``clear_redo``).
    """
    undo: list[int] = []
    redo: list[int] = []
    for record in records:
        if record.kind == "step":
            undo.append(record.step_id)
            redo.clear()
        elif record.kind == "undo" and undo and undo[-1] == record.step_id:
            redo.append(undo.pop())
        elif record.kind == "redo" and redo and redo[-1] == record.step_id:
            undo.append(redo.pop())
        elif record.kind == "clear_redo":
            redo.clear()
    return bool(undo)
