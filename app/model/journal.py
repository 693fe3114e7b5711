"""Crash-safe edit journal: every completed stroke, undo and redo appended to disk as it happens.

One folder per case under the user data directory (``journal/<case key>/``), holding ``journal.bin``
and ``case.json`` (which files the journal belongs to). ``journal.bin`` is a sequence of records::

    b"DLJR" | payload length (uint64 LE) | CRC-32 of length + payload (uint32 LE) | payload
    payload = JSON header length (uint32 LE) | JSON header (UTF-8) | indices | old values | new values

Each record is written, flushed and ``os.fsync``'ed before the edit counts as done. A crash (or a
kill, or power loss) can still leave a record half-written: reading stops at the first record that
is incomplete or fails its checksum, returns every record before it with a warning (never an
exception), and the next append cuts the torn tail off first. ``tests/app/model/test_crash_recovery.py``
kills editing processes between the two halves of a split record write to prove it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.io.writing import fsync_directory
from app.model.delta import check_which

try:  # POSIX advisory locks; without them (Windows) two processes are not kept apart
    import fcntl
except ImportError:  # pragma: no cover - exercised on Windows only
    fcntl = None

MAGIC = b"DLJR"
_PREFIX = struct.Struct("<4sQI")  # magic, payload length, CRC-32
_HEADER_LENGTH = struct.Struct("<I")
JOURNAL_FILE = "journal.bin"
INFO_FILE = "case.json"
LOCK_FILE = "journal.lock"
RECORD_KINDS = ("step", "undo", "redo", "clear_redo")
"""``step``: a new stroke; ``undo`` / ``redo``: a step applied backwards / forwards again (values as
written); ``clear_redo``: the redo list was forgotten (written when the journal is compacted)."""


@dataclass(frozen=True)
class JournalRecord:
    """One journalled event, with the voxel values it wrote.

    Attributes
    ----------
    kind : {"step", "undo", "redo", "clear_redo"}
    step_id : int
        The step created, undone or redone (-1 for ``clear_redo``).
    which : {"pred", "gt"}
        The mask written.
    indices : np.ndarray
        ``(N,)`` flat C-order indices written (ascending).
    old_values, new_values : np.ndarray
        ``(N,)`` labels before and after this event (for ``undo`` the step's new and old values).
    description : str
        The step's description.
    new_instance_class : int or None
        The class a voxel given a new instance id took when the record was written (instance mode with
        semantic masks, docs/architecture.md §5d), so that recovery gives the classes painting gave; None when
        not recorded (other modes, and journals written before it was).
    """

    kind: str
    step_id: int
    which: str = "pred"
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    old_values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    new_values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    description: str = ""
    new_instance_class: int | None = None

    def encode(self) -> bytes:
        """The record's bytes as stored in ``journal.bin`` (prefix + payload)."""
        if self.kind not in RECORD_KINDS:
            raise ValueError(f"unknown journal record kind {self.kind!r}")
        check_which(self.which)
        fields = {
            "kind": self.kind, "id": int(self.step_id), "which": self.which, "count": int(self.indices.size),
            "index_dtype": self.indices.dtype.str, "value_dtype": self.old_values.dtype.str,
            "description": self.description,
        }
        if self.new_instance_class is not None:
            fields["new_instance_class"] = int(self.new_instance_class)
        header = json.dumps(fields).encode()
        payload = b"".join((_HEADER_LENGTH.pack(len(header)), header, self.indices.tobytes(),
                            self.old_values.tobytes(), self.new_values.astype(self.old_values.dtype).tobytes()))
        length = struct.pack("<Q", len(payload))
        return MAGIC + length + struct.pack("<I", zlib.crc32(length + payload)) + payload

    def problem(self, shape_zyx: tuple[int, int, int], num_classes: int) -> str | None:
        """Why this record cannot apply to masks of ``shape_zyx`` with ``num_classes`` labels; None if it can."""
        if self.kind == "clear_redo":
            return None
        size = int(np.prod(shape_zyx))
        if self.indices.size == 0 or int(self.indices.min()) < 0 or int(self.indices.max()) >= size:
            return f"voxel indices outside a volume of {size} voxels"
        if not self.indices.size == self.old_values.size == self.new_values.size:
            return "values do not match the indices"
        if int(self.new_values.min()) < 0 or int(self.new_values.max()) >= num_classes:
            return f"labels outside 0..{num_classes - 1}"
        return None

    @classmethod
    def decode(cls, payload: bytes) -> JournalRecord:
        """Parse a payload whose checksum matched; ValueError when its contents do not add up."""
        (header_length,) = _HEADER_LENGTH.unpack_from(payload)
        header = json.loads(payload[_HEADER_LENGTH.size:_HEADER_LENGTH.size + header_length])
        count = int(header["count"])
        index_dtype, value_dtype = np.dtype(header["index_dtype"]), np.dtype(header["value_dtype"])
        offset = _HEADER_LENGTH.size + header_length
        sizes = (count * index_dtype.itemsize, count * value_dtype.itemsize, count * value_dtype.itemsize)
        if offset + sum(sizes) != len(payload):
            raise ValueError("array sizes do not match the payload length")
        arrays = []
        for dtype, size in zip((index_dtype, value_dtype, value_dtype), sizes, strict=True):
            arrays.append(np.frombuffer(payload, dtype=dtype, count=count, offset=offset).copy())
            offset += size
        new_instance_class = header.get("new_instance_class")
        return cls(header["kind"], int(header["id"]), header["which"], arrays[0], arrays[1], arrays[2],
                   header.get("description", ""), None if new_instance_class is None else int(new_instance_class))


@dataclass
class JournalContents:
    """What :meth:`Journal.read` found.

    Attributes
    ----------
    records : list of JournalRecord
        Every intact record, in order.
    warnings : list of str
        Messages for the user (a damaged tail skipped, an unreadable file); empty when all is well.
    valid_bytes : int
        Length of the intact prefix of the file (where the next record belongs).
    """

    records: list[JournalRecord]
    warnings: list[str]
    valid_bytes: int


class Journal:
    """The append-only journal of one case, in ``directory``.

    Parameters
    ----------
    directory : str or Path
        The case's journal folder (created on the first append).
    info : dict, optional
        What the journal belongs to, written to ``case.json`` when the folder is created.
    """

    def __init__(self, directory: str | Path, info: dict | None = None) -> None:
        self.directory = Path(directory)
        self.info = info
        self._stream = None
        self._lock = None

    @property
    def path(self) -> Path:
        """The journal file."""
        return self.directory / JOURNAL_FILE

    def in_use(self) -> bool:
        """Whether another process (or another :class:`Journal` object) is appending to this journal now.

        The appender holds an advisory lock on ``journal.lock`` until :meth:`close`; the operating
        system releases it when that process dies, so a crashed session's journal is not in use.
        """
        if fcntl is None or self._lock is not None:
            return False
        try:
            with open(self.directory / LOCK_FILE, "a") as probe:
                try:
                    fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        except OSError:
            return False
        return False

    def has_records(self) -> bool:
        """Whether the journal file exists and is not empty (there may be something to recover)."""
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def read(self) -> JournalContents:
        """Every intact record; a damaged or incomplete tail is skipped with a warning, never raised."""
        records: list[JournalRecord] = []
        warnings: list[str] = []
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return JournalContents(records, warnings, 0)
        except OSError as error:
            return JournalContents(records, [f"the edit journal '{self.path}' could not be read "
                                             f"({error.strerror or error}); nothing was recovered."], 0)
        offset = 0
        while offset < len(data):
            record, end, problem = _record_at(data, offset)
            if problem is not None:
                warnings.append(f"the edit journal '{self.path}' has a damaged record at byte {offset} "
                                f"({problem}); it and the {len(data) - offset} bytes from there were "
                                f"skipped, the {len(records)} records before it were recovered.")
                break
            records.append(record)
            offset = end
        return JournalContents(records, warnings, offset)

    def append(self, record: JournalRecord) -> None:
        """Append ``record`` and make it durable (write, flush, ``os.fsync``) before returning.

        On the first append of a session a damaged tail left by a crash is cut off first, so the
        new record follows the last intact one.

        Raises
        ------
        OSError
            The journal cannot be written (disk full, permissions), or another process is
            appending to it (:meth:`in_use`).
        """
        if self._stream is None:
            self._open_for_append()
        self._write_record(record.encode())
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def _write_record(self, data: bytes) -> None:
        """Write one encoded record to the open journal file (the crash test splits this write in two)."""
        self._stream.write(data)

    def rewrite(self, records: list[JournalRecord]) -> None:
        """Replace the journal by ``records`` atomically (temporary file, fsync, rename)."""
        self.close()
        if not records:
            self.clear()
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.info is not None and not (self.directory / INFO_FILE).exists():
            self.write_info(self.info)
        handle, temporary = tempfile.mkstemp(prefix=".journal.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(handle, "wb") as stream:
                for record in records:
                    stream.write(record.encode())
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        fsync_directory(self.directory)

    def write_info(self, info: dict) -> None:
        """Write ``case.json`` (what the journal belongs to, for the recovery question) atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".case.", suffix=".tmp", dir=self.directory)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(info, stream, indent=1)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, self.directory / INFO_FILE)

    def read_info(self) -> dict:
        """``case.json``'s contents, or an empty dict when missing or unreadable."""
        try:
            return json.loads((self.directory / INFO_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def clear(self) -> None:
        """Delete the journal and its folder (after a save, or when the user declines recovery)."""
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def close(self) -> None:
        """Close the file kept open for appending and release the lock (appending again reopens it)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._lock is not None:
            with suppress(OSError):
                self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def _open_for_append(self) -> None:
        created = not self.directory.exists()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        if self.info is not None and not (self.directory / INFO_FILE).exists():
            self.write_info(self.info)
        valid_bytes = self.read().valid_bytes
        self._stream = open(self.path, "ab")  # kept open across appends; closed in close()
        if self._stream.tell() != valid_bytes:
            self._stream.truncate(valid_bytes)
            self._stream.seek(valid_bytes)
        if created or valid_bytes == 0:
            fsync_directory(self.directory)


    def _acquire_lock(self) -> None:
        if fcntl is None or self._lock is not None:
            return
        lock = open(self.directory / LOCK_FILE, "a")  # held until close()
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise OSError(f"another DiceLens window is editing this case and writing '{self.path}'") from None
        self._lock = lock


def _record_at(data: bytes, offset: int) -> tuple[JournalRecord | None, int, str | None]:
    """The record starting at ``offset``: (record, offset after it, None) or (None, offset, problem)."""
    if len(data) - offset < _PREFIX.size:
        return None, offset, "incomplete record header"
    magic, length, checksum = _PREFIX.unpack_from(data, offset)
    if magic != MAGIC:
        return None, offset, "not a record start"
    start = offset + _PREFIX.size
    if start + length > len(data):
        return None, offset, "incomplete record"
    payload = data[start:start + length]
    if zlib.crc32(struct.pack("<Q", length) + payload) != checksum:
        return None, offset, "checksum mismatch"
    try:
        record = JournalRecord.decode(payload)
        check_which(record.which)
        if record.kind not in RECORD_KINDS:
            raise ValueError(f"unknown kind {record.kind!r}")
    except (ValueError, KeyError, TypeError, struct.error) as error:
        return None, offset, f"unreadable contents: {error}"
    return record, start + length, None


DATA_DIR_VARIABLE = "DICELENS_DATA_DIR"
"""Environment variable overriding the user data directory (tests, portable installs)."""


def user_data_dir(base: str | Path | None = None) -> Path:
    """DiceLens' user data directory.

    ``base`` if given, else ``$DICELENS_DATA_DIR``, else the platform's per-user data folder:
    ``$XDG_DATA_HOME/DiceLens`` or ``~/.local/share/DiceLens`` (Linux), ``~/Library/Application
    Support/DiceLens`` (macOS), ``%LOCALAPPDATA%\\DiceLens`` (Windows).
    """
    if base is not None:
        return Path(base)
    if os.environ.get(DATA_DIR_VARIABLE):
        return Path(os.environ[DATA_DIR_VARIABLE])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "DiceLens"
    if sys.platform.startswith("win"):
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "DiceLens"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share") / "DiceLens"


def case_key(sources: dict) -> str:
    """SHA-256 (hex) of the ground-truth and prediction files' absolute paths and content hashes.

    Parameters
    ----------
    sources : dict
        ``{"gt": InputFile, "pred": InputFile, ...}`` (anything with ``path`` and ``sha256``); only
        the two masks count, so the same masks opened with another image share the journal.
    """
    digest = hashlib.sha256()
    for role in ("gt", "pred"):
        source = sources[role]
        digest.update(f"{role}\0{os.path.abspath(source.path)}\0{source.sha256}\n".encode())
    return digest.hexdigest()


def journal_for(sources: dict, base: str | Path | None = None, info: dict | None = None) -> Journal:
    """The journal of the case with these ``sources`` under :func:`user_data_dir` (``base``)."""
    return Journal(user_data_dir(base) / "journal" / case_key(sources), info)
