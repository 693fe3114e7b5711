"""The review database file ``R/review.sqlite``: creating it, opening and checking it, migrating its schema.

Schema versions live in the ``schema_version`` table. A new database is built by running every step
of :data:`MIGRATIONS` in order; an older one runs only the steps it lacks, in one transaction, so the
path from the first version is the same code that builds a new database. Opening refuses, with one
:class:`~app.errors.InputError` line and without writing anything, a missing file, a file that is not
SQLite, damaged pages (``PRAGMA quick_check``), a schema newer than this DiceLens, and a database
locked by another program for longer than :data:`BUSY_TIMEOUT_S`. The rows are read and written by
:class:`app.review.store.ReviewStore`.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import os
import sqlite3
import tempfile
import time
import urllib.parse
from pathlib import Path

from app.errors import InputError
from app.io.writing import fsync_directory

DATABASE_NAME = "review.sqlite"
BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process's transaction before the database counts as locked."""
STALE_TEMPORARY_S = 3600
"""A temporary database file older than this was left by a creation that was killed."""

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


def create_database(path: Path, config: dict[str, str]) -> bool:
    """Build a new database at ``path`` holding ``config`` (key -> value), at :data:`SCHEMA_VERSION`.

    The file is built under a temporary name of this process and hard-linked into place, which never
    replaces an existing file: when two processes create the same review at once, one database wins
    and both use it. A kill leaves either no database or a complete one (a temporary file left by a
    killed creation is removed by a later one after :data:`STALE_TEMPORARY_S`).

    Returns
    -------
    bool
        True when this call created the database, False when ``path`` already existed (left untouched).

    Raises
    ------
    InputError
        The folder is not writable.
    """
    _remove_stale_temporaries(path)
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new.tmp", dir=path.parent)
    except OSError as error:
        raise InputError(f"cannot create the review database '{path}' ({error.strerror}); check that the "
                         "folder is writable.") from None
    os.close(descriptor)   # an empty file: SQLite builds a new database in it
    temporary = Path(name)
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
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as error:   # a file system without hard links: replace, unless it appeared meanwhile
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP) or path.exists():
                raise
            os.replace(temporary, path)
        fsync_directory(path.parent)
        return True
    except (OSError, sqlite3.Error) as error:
        raise InputError(f"cannot create the review database '{path}' ({error}); check that the "
                         "folder is writable.") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _remove_stale_temporaries(path: Path) -> None:
    """Delete ``.review.sqlite.*.new.tmp`` files that a killed creation left (old enough not to be in use)."""
    now = time.time()
    with contextlib.suppress(OSError):
        for candidate in path.parent.glob(f".{path.name}.*.new.tmp"):
            with contextlib.suppress(OSError):
                if now - candidate.stat().st_mtime > STALE_TEMPORARY_S:
                    candidate.unlink()


def connect(path: Path) -> sqlite3.Connection:
    """Open, check and (when older) migrate the database at ``path``; the connection is in autocommit mode.

    Raises
    ------
    InputError
        See the module's description; nothing is written then.
    """
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
    return connection


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
