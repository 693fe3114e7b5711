"""The review's state in ``R/review.sqlite``: verdicts, claims, time spent, the case a window had open.

Standard-library :mod:`sqlite3` in WAL mode with ``synchronous=FULL``: every write is one
``BEGIN IMMEDIATE`` transaction, so a verdict is either wholly there or not at all after a kill or a
power loss, and two processes (two reviewers on one folder, even on a shared disk with working
locks) serialise their writes through SQLite's lock, each waiting up to :data:`BUSY_TIMEOUT_S`.

Schema versions live in the ``schema_version`` table. A new database is built by running every step
of :data:`MIGRATIONS` in order; an older one runs only the steps it lacks, in one transaction, so the
path from the first version is the same code that builds a new database.

Verdicts are never updated in place: each one is a new row, :meth:`ReviewStore.verdicts` gives the
latest per case and :meth:`ReviewStore.history` all of them. Timestamps are UTC ISO 8601 text;
claim heartbeats are Unix seconds (``time.time()``), compared across processes.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError

DATABASE_NAME = "review.sqlite"
BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process's transaction before the database counts as locked."""
STALE_CLAIM_S = 120.0
"""A claim whose heartbeat is older than this was left by a window that crashed or hung: it is void."""

STATUSES = ("to review", "in progress", "accepted", "needs correction", "corrected", "rejected")
"""Every status a case can have; the first two are not verdicts (nothing was decided)."""
VERDICT_STATUSES = STATUSES[2:]
UNDECIDED_STATUSES = STATUSES[:2]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # version 1: the dataset's configuration and the verdicts
    ("CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
     "CREATE TABLE verdicts (id INTEGER PRIMARY KEY AUTOINCREMENT, case_name TEXT NOT NULL, "
     "status TEXT NOT NULL, grade INTEGER, reviewer TEXT NOT NULL, reviewed_at TEXT NOT NULL, "
     "seconds REAL NOT NULL, comment TEXT NOT NULL, dice_before TEXT NOT NULL, dice_after TEXT, "
     "voxels_changed INTEGER NOT NULL, corrected_path TEXT)",
     "CREATE INDEX verdicts_by_case ON verdicts (case_name, id)"),
    # version 2: what the windows share while they work: claims, time spent, the open case
    ("CREATE TABLE claims (case_name TEXT PRIMARY KEY, reviewer TEXT NOT NULL, heartbeat REAL NOT NULL)",
     "CREATE TABLE case_time (case_name TEXT PRIMARY KEY, seconds REAL NOT NULL)",
     "CREATE TABLE in_progress (case_name TEXT PRIMARY KEY, reviewer TEXT NOT NULL, since TEXT NOT NULL)",
     "CREATE TABLE open_cases (reviewer TEXT PRIMARY KEY, case_name TEXT NOT NULL)"),
)
SCHEMA_VERSION = len(MIGRATIONS)
SQLITE_MAGIC = b"SQLite format 3\x00"


def utc_timestamp() -> str:
    """Now as UTC ISO 8601 with seconds (``2026-11-27T11:29:39+00:00``), the form of :attr:`Verdict.reviewed_at`."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


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
        if self.grade is not None and not (isinstance(self.grade, int) and 1 <= self.grade <= 5):
            raise ValueError(f"a grade is an integer from 1 to 5 or None, not {self.grade!r}")


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
        """A new database at ``path`` (which must not exist) holding ``config``, at :data:`SCHEMA_VERSION`.

        The file is built under a temporary name and renamed into place, so a kill leaves either no
        database or a complete one.
        """
        path = Path(path)
        temporary = path.with_name(f".{path.name}.new.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        try:
            connection = sqlite3.connect(temporary, isolation_level=None)
            try:
                connection.execute("PRAGMA journal_mode=DELETE")
                connection.execute("BEGIN IMMEDIATE")
                _migrate(connection, 0)
                connection.executemany("INSERT INTO config (key, value) VALUES (?, ?)", sorted(config.items()))
                connection.execute("COMMIT")
            finally:
                connection.close()
            temporary.replace(path)
        except (OSError, sqlite3.Error) as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise InputError(f"cannot create the review database '{path}' ({error}); check that the "
                             "folder is writable.") from None
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
        path = Path(path)
        _check_header(path)
        try:
            connection = sqlite3.connect(f"file:{urllib.parse.quote(str(path.absolute()))}?mode=rw", uri=True,
                                         isolation_level=None,
                                         timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        except sqlite3.Error as error:
            raise InputError(f"cannot open the review database '{path}' ({error}).") from None
        try:
            connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            version = _schema_version(connection, path)
            if version > SCHEMA_VERSION:
                raise InputError(f"the review database '{path}' was made by a newer DiceLens (schema version "
                                 f"{version}, this one reads up to {SCHEMA_VERSION}); update DiceLens to open it.")
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise InputError(f"the review database '{path}' is damaged ({problems[0]}); restore it from a "
                                 "backup, or start a new review folder (the scores in cases/ are kept).")
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            if version < SCHEMA_VERSION:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    _migrate(connection, _schema_version(connection, path))
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
        except sqlite3.OperationalError as error:
            connection.close()
            if "locked" in str(error) or "busy" in str(error):
                raise InputError(f"the review database '{path}' is locked by another program ({error}); close "
                                 "that program, or wait for it, and try again.") from None
            raise InputError(f"cannot read the review database '{path}' ({error}).") from None
        except sqlite3.DatabaseError as error:
            connection.close()
            raise InputError(f"the review database '{path}' is damaged ({error}); restore it from a backup, "
                             "or start a new review folder (the scores in cases/ are kept).") from None
        except BaseException:
            connection.close()
            raise
        return cls(connection, path)

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
                                 f"{BUSY_TIMEOUT_S:g} s ({error}); nothing was recorded, try again.") from None
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
    return json.dumps({str(name): None if value is None else float(value) for name, value in dice.items()},
                      allow_nan=False)


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Run the steps after ``version`` (inside the caller's transaction) and record the new version."""
    if version == 0:
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in step:
            connection.execute(statement)
        connection.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                           (number, utc_timestamp()))


def _schema_version(connection: sqlite3.Connection, path: Path) -> int:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" not in tables:
        raise InputError(f"'{path}' is a SQLite database but not a DiceLens review (no schema_version table); "
                         "give the folder that `dicelens review --out` created.")
    return int(connection.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as stream:
            header = stream.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise InputError(f"'{path.parent}' is not a review folder (no {path.name} in it); create one with "
                         "`dicelens review --gt-dir G --pred-dir P --out R`.") from None
    except OSError as error:
        raise InputError(f"cannot read the review database '{path}' ({error.strerror}).") from None
    if header != SQLITE_MAGIC:
        raise InputError(f"the review database '{path}' is damaged (not a SQLite file); restore it from a "
                         "backup, or start a new review folder (the scores in cases/ are kept).")
