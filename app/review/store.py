"""The review's state in ``R/review.sqlite``: verdicts, claims, time spent, the case a window had open.

Standard-library :mod:`sqlite3` in WAL mode with ``synchronous=FULL``: every write is one
``BEGIN IMMEDIATE`` transaction, so a verdict is either wholly there or not at all after a kill or a
power loss, and two processes (two reviewers on one folder, even on a shared disk with working
locks) serialise their writes through SQLite's lock, each waiting up to :data:`BUSY_TIMEOUT_S`.

Creating, opening, checking and migrating the file: :mod:`app.review.database`.

Verdicts are never updated in place: each one is a new row, :meth:`ReviewStore.verdicts` gives the
latest per case and :meth:`ReviewStore.history` all of them. Timestamps are UTC ISO 8601 text;
claim heartbeats are Unix seconds (``time.time()``), compared across processes.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError
from app.review import database
from app.review.database import (
    BUSY_TIMEOUT_S,
    DATABASE_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    connect,
    create_database,
    utc_timestamp,
)

__all__ = ["BUSY_TIMEOUT_S", "DATABASE_NAME", "MIGRATIONS", "SCHEMA_VERSION", "STATUSES", "ReviewStore", "Verdict",
           "utc_timestamp"]

STALE_CLAIM_S = 120.0
"""A claim whose heartbeat is older than this was left by a window that crashed or hung: it is void."""

STATUSES = ("to review", "in progress", "accepted", "needs correction", "corrected", "rejected")
"""Every status a case can have; the first two are not verdicts (nothing was decided)."""
VERDICT_STATUSES = STATUSES[2:]
UNDECIDED_STATUSES = STATUSES[:2]


@dataclass(frozen=True)
class Verdict:
    """One decision on one case.

    Attributes
    ----------
    case : str
        The case name (as paired).
    status : str
        One of :data:`VERDICT_STATUSES`.
    grade : int or None
        1 (worst) to 5 (best), or None when not graded.
    reviewer : str
        Who gave it.
    reviewed_at : str
        UTC ISO 8601 (:func:`utc_timestamp`).
    seconds : float
        Time spent on the case when the verdict was given.
    comment : str
        Free text ("" for none); a rejection carries its reason here.
    dice_before : dict of str to float or None
        Foreground class name -> Dice of the original masks (None: undefined, absent from both).
    dice_after : dict of str to float or None, or None
        The same after the reviewer's correction; None when nothing was corrected.
    voxels_changed : int
        Voxels the correction changed (0 when none).
    corrected_path : str or None
        The corrected mask written under ``R/corrected/``, if any.
    """

    case: str
    status: str
    grade: int | None
    reviewer: str
    reviewed_at: str
    seconds: float
    comment: str
    dice_before: dict[str, float | None]
    dice_after: dict[str, float | None] | None
    voxels_changed: int
    corrected_path: str | None

    def __post_init__(self):
        if self.status not in VERDICT_STATUSES:
            raise ValueError(f"a verdict's status is one of {', '.join(VERDICT_STATUSES)}, not {self.status!r}")
        grade = self.grade
        if grade is not None:
            if isinstance(grade, bool) or not isinstance(grade, numbers.Integral) or not 1 <= grade <= 5:
                raise ValueError(f"a grade is an integer from 1 to 5 or None, not {grade!r}")
            object.__setattr__(self, "grade", int(grade))   # a NumPy integer is stored as a plain int


class ReviewStore:
    """The review database of one review folder; one connection, usable from any thread (serialised).

    Use :meth:`create` for a new folder and :meth:`open` for an existing one; both raise
    :class:`~app.errors.InputError` with one clear line for everything a user can fix.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path, stale_after_s: float = STALE_CLAIM_S):
        self._db = connection
        self.path = path
        self.stale_after_s = stale_after_s
        self._lock = threading.RLock()

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, config: dict[str, str]) -> ReviewStore:
        """The database at ``path``, created holding ``config`` at :data:`SCHEMA_VERSION` unless it exists
        (:func:`app.review.database.create_database`: an existing file is opened as it is)."""
        create_database(Path(path), config)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path) -> ReviewStore:
        """Open an existing database, migrating an older schema to :data:`SCHEMA_VERSION`.

        Raises
        ------
        InputError
            The file is missing or not a SQLite database, is damaged, was made by a newer DiceLens,
            or is locked by another program for longer than :data:`BUSY_TIMEOUT_S`. Nothing is
            written in any of these cases.
        """
        return cls(connect(Path(path)), Path(path))

    def close(self) -> None:
        """Close the connection (the last one to close folds the WAL back into the database)."""
        with self._lock:
            self._db.close()

    def config(self) -> dict[str, str]:
        """The dataset's configuration stored at creation (input folders, label table)."""
        return dict(self._read("SELECT key, value FROM config"))

    def schema_version(self) -> int:
        """The database's schema version (:data:`SCHEMA_VERSION` once opened)."""
        return self._read("SELECT MAX(version) FROM schema_version")[0][0]

    # --- verdicts --------------------------------------------------------------------------

    def record_verdict(self, verdict: Verdict) -> None:
        """Store ``verdict`` (one transaction); it also ends the case's "in progress" mark."""
        with self._write() as db:
            self._insert_verdict(db, verdict)
            db.execute("DELETE FROM in_progress WHERE case_name = ?", (verdict.case,))

    def _insert_verdict(self, db: sqlite3.Connection, verdict: Verdict) -> None:
        """The verdict's row (a seam: the kill test stops the process after it, before the commit)."""
        db.execute("INSERT INTO verdicts (case_name, status, grade, reviewer, reviewed_at, seconds, comment, "
                   "dice_before, dice_after, voxels_changed, corrected_path) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (verdict.case, verdict.status, verdict.grade, verdict.reviewer, verdict.reviewed_at,
                    float(verdict.seconds), verdict.comment, _dice_text(verdict.dice_before),
                    None if verdict.dice_after is None else _dice_text(verdict.dice_after),
                    int(verdict.voxels_changed), verdict.corrected_path))

    def verdicts(self) -> dict[str, Verdict]:
        """The latest verdict of every case that has one."""
        rows = self._read(f"SELECT {_VERDICT_COLUMNS} FROM verdicts WHERE id IN "
                          "(SELECT MAX(id) FROM verdicts GROUP BY case_name) ORDER BY id")
        return {row[0]: _verdict(row) for row in rows}

    def latest_verdict(self, case: str) -> Verdict | None:
        """The latest verdict of ``case``, or None."""
        rows = self._read(f"SELECT {_VERDICT_COLUMNS} FROM verdicts WHERE case_name = ? ORDER BY id DESC LIMIT 1",
                          (case,))
        return _verdict(rows[0]) if rows else None

    def history(self, case: str) -> list[Verdict]:
        """Every verdict of ``case``, oldest first."""
        return [_verdict(row) for row in
                self._read(f"SELECT {_VERDICT_COLUMNS} FROM verdicts WHERE case_name = ? ORDER BY id", (case,))]

    def set_in_progress(self, case: str, reviewer: str) -> None:
        """Mark ``case`` as being reviewed by ``reviewer`` (shown while it has no verdict)."""
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO in_progress (case_name, reviewer, since) VALUES (?, ?, ?)",
                       (case, reviewer, utc_timestamp()))

    def in_progress(self) -> dict[str, str]:
        """Cases marked in progress and not decided since: case -> reviewer."""
        return dict(self._read("SELECT case_name, reviewer FROM in_progress"))

    # --- time spent ------------------------------------------------------------------------

    def add_seconds(self, case: str, seconds: float) -> None:
        """Add ``seconds`` to the time spent on ``case`` (the worklist's "time spent", the export's ``seconds``).

        The window adds the time of each visit when it leaves a case (and may add it in parts while
        the case stays open); the sum is kept across sessions and reviewers.
        """
        if not seconds > 0:
            return
        with self._write() as db:
            db.execute("INSERT INTO case_time (case_name, seconds) VALUES (?, ?) ON CONFLICT (case_name) "
                       "DO UPDATE SET seconds = seconds + excluded.seconds", (case, float(seconds)))

    def seconds_spent(self) -> dict[str, float]:
        """Time spent per case (cases never opened are absent)."""
        return dict(self._read("SELECT case_name, seconds FROM case_time"))

    # --- claims ----------------------------------------------------------------------------

    def claim(self, case: str, reviewer: str, *, stale_after_s: float | None = None) -> str | None:
        """Take ``case`` for ``reviewer``: None when it is now ours, else the name of the live claim's holder.

        Claims belong to reviewer names: two windows of the same reviewer share them. Heartbeats are
        compared with this machine's clock, so machines sharing a review folder need synchronised clocks.

        A claim is live while its heartbeat (:meth:`refresh_claim`) is younger than ``stale_after_s``
        (default :attr:`stale_after_s`); an older claim was left by a window that crashed and is taken over.
        """
        stale = self.stale_after_s if stale_after_s is None else stale_after_s
        with self._write() as db:
            now = time.time()
            row = db.execute("SELECT reviewer, heartbeat FROM claims WHERE case_name = ?", (case,)).fetchone()
            if row is not None and row[0] != reviewer and now - row[1] < stale:
                return row[0]
            db.execute("INSERT OR REPLACE INTO claims (case_name, reviewer, heartbeat) VALUES (?, ?, ?)",
                       (case, reviewer, now))
        return None

    def refresh_claim(self, case: str, reviewer: str) -> None:
        """Heartbeat: keep ``reviewer``'s claim on ``case`` live (call well within the stale timeout)."""
        with self._write() as db:
            db.execute("UPDATE claims SET heartbeat = ? WHERE case_name = ? AND reviewer = ?",
                       (time.time(), case, reviewer))

    def release(self, case: str, reviewer: str) -> None:
        """Give up ``reviewer``'s claim on ``case`` (another reviewer's claim is left alone)."""
        with self._write() as db:
            db.execute("DELETE FROM claims WHERE case_name = ? AND reviewer = ?", (case, reviewer))

    def claims(self, *, excluding: str | None = None) -> dict[str, str]:
        """Live claims: case -> reviewer, without those of ``excluding`` (pass the window's own reviewer)."""
        rows = self._read("SELECT case_name, reviewer FROM claims WHERE heartbeat > ?",
                          (time.time() - self.stale_after_s,))
        return {case: reviewer for case, reviewer in rows if reviewer != excluding}

    # --- the case a window had open ---------------------------------------------------------

    def set_open_case(self, reviewer: str, case: str | None) -> None:
        """Remember which case ``reviewer``'s window has open (None: none), to reopen it after a crash."""
        with self._write() as db:
            if case is None:
                db.execute("DELETE FROM open_cases WHERE reviewer = ?", (reviewer,))
            else:
                db.execute("INSERT OR REPLACE INTO open_cases (reviewer, case_name) VALUES (?, ?)",
                           (reviewer, case))

    def open_case(self, reviewer: str) -> str | None:
        """The case ``reviewer``'s window had open when it last stopped, or None."""
        rows = self._read("SELECT case_name FROM open_cases WHERE reviewer = ?", (reviewer,))
        return rows[0][0] if rows else None

    # --- plumbing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction; rolled back on any exception."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise InputError(f"the review database '{self.path}' stayed locked by another program for "
                                 f"{database.BUSY_TIMEOUT_S:g} s ({error}); nothing was recorded, try again.") from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as error:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(error, sqlite3.OperationalError):   # disk full, I/O error, lost lock
                    raise InputError(f"could not write the review database '{self.path}' ({error}); nothing "
                                     "was recorded. Free disk space or check the folder, and try again.") from None
                raise

    def _read(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()


_VERDICT_COLUMNS = ("case_name, status, grade, reviewer, reviewed_at, seconds, comment, dice_before, dice_after, "
                    "voxels_changed, corrected_path")


def _verdict(row: tuple) -> Verdict:
    case, status, grade, reviewer, reviewed_at, seconds, comment, before, after, voxels, corrected = row
    return Verdict(case, status, grade, reviewer, reviewed_at, seconds, comment, json.loads(before),
                   None if after is None else json.loads(after), voxels, corrected)


def _dice_text(dice: dict[str, float | None]) -> str:
    """JSON of per-class Dice; NaN (the engine's "undefined") is stored as null, like None."""
    return json.dumps({str(name): None if value is None or math.isnan(value) else float(value)
                       for name, value in dice.items()}, allow_nan=False)
