"""Check an input path before anything opens it: the name must be UTF-8, the thing a regular file.

Opening a named pipe (FIFO) blocks until someone writes to it, so a FIFO given as a mask or label
table would hang DiceLens forever; sockets and devices are no better. Only ``os.stat`` is used here,
which never opens the file. A path whose bytes are not UTF-8 reaches Python as a str with lone
surrogates (``surrogateescape``); SimpleITK aborts the whole process on such a name, and JSON, CSV
and PDF outputs could not hold it, so it is refused with a message.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.errors import InputError

SERIES_SEPARATOR = "::"

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISDIR, "a directory"))


def printable(path: str | os.PathLike) -> str:
    """The path as text that can always be printed and written (undecodable bytes become U+FFFD)."""
    text = os.fspath(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_input_path(path: str | os.PathLike, role: str, *, directory_allowed: bool = False) -> os.stat_result:
    """Raise :class:`InputError` unless ``path`` names an existing regular file (or directory, if allowed).

    Parameters
    ----------
    path : str or PathLike
        The input as given.
    role : str
        How the message names it, e.g. ``"ground truth"`` or ``"label table"``.
    directory_allowed : bool
        Accept a directory (a DICOM series).

    Returns
    -------
    os.stat_result
        The stat of the file or directory (symlinks followed).
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{role} '{printable(text)}': the path contains bytes that are not valid UTF-8 (shown "
                         "as \N{REPLACEMENT CHARACTER}); DiceLens cannot read or report such a name. Rename the "
                         "file or folder using UTF-8 characters.") from None
    try:
        info = os.stat(text)
    except FileNotFoundError:
        raise InputError(f"{role} '{text}' does not exist.") from None
    except OSError as error:
        raise InputError(f"{role} '{text}' cannot be accessed ({error.strerror or error}); check the path "
                         "and its permissions.") from None
    if stat.S_ISREG(info.st_mode) or (directory_allowed and stat.S_ISDIR(info.st_mode)):
        return info
    kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
    wanted = "a file or a DICOM directory" if directory_allowed else "a regular file"
    raise InputError(f"{role} '{text}' is {kind}, not {wanted}; pass the file itself (DiceLens does not read "
                     "from pipes or devices).")


def split_series_spec(text: str) -> tuple[str, str | None]:
    """``(path, series_uid)`` from ``DIR::SERIES_UID``; a path that exists as given is taken literally.

    A file or folder whose name contains ``::`` is read as itself; only when nothing exists under the
    whole text is it split at the last ``::`` into a DICOM directory and a Series Instance UID.
    """
    if SERIES_SEPARATOR not in text or os.path.lexists(text):
        return text, None
    directory, _, series_uid = text.rpartition(SERIES_SEPARATOR)
    return directory, series_uid


def check_directory_entries(directory: Path, role: str) -> None:
    """Refuse a DICOM directory holding a FIFO, socket or device (the DICOM scanner would open it).

    File names that are not UTF-8 are refused too: SimpleITK cannot hand them back to Python.
    """
    for entry in directory.iterdir():
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{role} '{directory}' holds a file whose name is not valid UTF-8 "
                             f"('{printable(entry.name)}'); rename it using UTF-8 characters.") from None
        try:
            mode = entry.stat().st_mode
        except OSError:
            continue  # a dangling link: the DICOM scanner skips it
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise InputError(f"{role} '{directory}' holds '{entry.name}', which is {kind}; a DICOM directory "
                             "must hold only files. Move it out of the folder.")
