"""Checks on the output paths of the ``dicelens`` commands, made before any (possibly long) work starts.

An output must never replace an input given on the same command line: every command passes its
outputs and inputs here, and the comparison sees through symlinks, ``./``, ``..`` and hard links
(existing files are compared by device and inode, outputs that do not exist yet by their resolved
folder and name). An output must also be writable: a file name (not a folder), in a folder that
exists and accepts a new file (probed by creating and removing an empty hidden file, so read-only
folders, read-only file systems and ``/proc`` are found before scoring, not after).

Qt-free; every message is one line naming both paths, raised as :class:`app.errors.InputError`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.errors import InputError

STDOUT = "-"
SERIES_SELECTOR = "::"


def check_output_files(outputs: Mapping[str, str | os.PathLike | None],
                       inputs: Mapping[str, str | os.PathLike | None]) -> None:
    """Refuse outputs that would replace an input or each other, or that cannot be written.

    Parameters
    ----------
    outputs : mapping of str to path or None
        ``{option: path}`` of the files a command will write (``"--json": "out.json"``); None
        (option not given) and ``"-"`` (standard output) are skipped.
    inputs : mapping of str to path or None
        ``{option: path}`` of the command's inputs; a DICOM series folder (or ``DIR::SERIES_UID``)
        stands for every file in it, a ``.mhd``/``.nhdr`` header also for its data file.

    Raises
    ------
    InputError
        An output is (or lies in) an input, two outputs are the same file, an output names a
        folder or something other than a regular file, or its folder is missing or not writable.
    """
    given = {option: str(path) for option, path in outputs.items() if path is not None and str(path) != STDOUT}
    expanded = {option: _input_paths(path) for option, path in inputs.items() if path is not None}
    seen: dict[tuple, tuple[str, str]] = {}
    for option, text in given.items():
        path = Path(text)
        _check_file_target(option, text)
        for input_option, (spec, members, folder) in expanded.items():
            for member in members:
                if same_file(path, member):
                    raise InputError(f"{option} '{text}' is the same file as the input {input_option} "
                                     f"'{member if member != Path(spec) else spec}'; writing it would destroy "
                                     "that input: choose another output path.")
            if folder is not None and is_inside(path, folder):
                raise InputError(f"{option} '{text}' lies in the input folder {input_option} '{spec}'; "
                                 "writing there would change that input: choose another output folder.")
        key = _identity(path)
        if key in seen:
            other_option, other = seen[key]
            raise InputError(f"{option} '{text}' and {other_option} '{other}' are the same file; "
                             "give each output its own path.")
        seen[key] = (option, text)
    for option, text in given.items():
        _probe_writable(option, text)


def check_output_folder(option: str, out_dir: str | os.PathLike,
                        input_folders: Mapping[str, str | os.PathLike | None],
                        input_files: Mapping[str, str | os.PathLike | None] | None = None,
                        written_inside: Iterable[str] = ()) -> None:
    """Refuse an output folder that is, lies in or holds an input folder, or that would replace an input file.

    Parameters
    ----------
    option : str
        The option naming the folder (``"--out"``).
    out_dir : path
        The output folder (it may not exist yet).
    input_folders : mapping of str to path or None
        ``{option: folder}`` of the input folders (``--gt-dir``...); None entries are skipped.
    input_files : mapping of str to path or None, optional
        Input files (``--labels``) that must not be among what the command writes.
    written_inside : iterable of str
        Names, relative to ``out_dir``, of the files and folders the command writes there
        (``"metrics.csv"``, ``"cases"``): an input file equal to or inside one of them is refused.

    Raises
    ------
    InputError
        One line naming both paths.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{option} '{out}' is a file; give a folder for the outputs.")
    for input_option, folder in input_folders.items():
        if folder is None:
            continue
        folder = Path(folder)
        if is_inside(out, folder):
            raise InputError(f"{option} '{out}' is or lies in the input folder {input_option} '{folder}'; "
                             "choose an output folder outside every input folder.")
        if is_inside(folder, out):
            raise InputError(f"the input folder {input_option} '{folder}' lies in {option} '{out}'; "
                             "choose an output folder that holds no input.")
    for input_option, path in (input_files or {}).items():
        if path is None:
            continue
        for name in written_inside:
            if same_file(Path(path), out / name) or is_inside(Path(path), out / name):
                raise InputError(f"the input {input_option} '{path}' is an output of {option} '{out}' "
                                 f"('{name}') and would be overwritten; move it out of that folder.")


def same_file(first: Path, second: Path) -> bool:
    """True when both paths name one file: same device and inode if both exist, else the same resolved path."""
    try:
        a, b = first.stat(), second.stat()
    except OSError:
        return _resolved(first) == _resolved(second)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def is_inside(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or lies below it (symlinks resolved, folders compared by inode)."""
    try:
        target = folder.stat()
    except OSError:
        target = None
    resolved_folder = _resolved(folder)
    for candidate in (_resolved(path), *_resolved(path).parents):
        if candidate == resolved_folder:
            return True
        if target is not None:
            with contextlib.suppress(OSError):
                found = candidate.stat()
                if (found.st_dev, found.st_ino) == (target.st_dev, target.st_ino):
                    return True
    return False


def _input_paths(path: str | os.PathLike) -> tuple[str, list[Path], Path | None]:
    """``(as given, files it consists of, its folder if it is a folder input)``."""
    spec = str(path)
    location = Path(spec)
    if not location.exists() and SERIES_SELECTOR in spec:
        location = Path(spec.split(SERIES_SELECTOR, 1)[0])
    if location.is_dir():
        with contextlib.suppress(OSError):
            return spec, sorted(p for p in location.iterdir() if p.is_file()), location
        return spec, [], location
    return spec, [location, *_detached_data_files(location)], None


def _detached_data_files(path: Path) -> list[Path]:
    """The data file of a ``.mhd``/``.nhdr`` header (as :mod:`app.io` reads it), else nothing."""
    if path.suffix.lower() not in (".mhd", ".nhdr"):
        return []
    try:
        from app.io.images import source_files

        return list(source_files(path))[1:]
    except (OSError, ValueError, ImportError):
        return []


def _check_file_target(option: str, text: str) -> None:
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise InputError(f"{option} '{text}' cannot be used as an output ({error.strerror}); "
                         "choose another path.") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{option} '{text}' is a folder; give a file name inside it, "
                         f"such as '{path / 'out'}{_suffix_hint(option)}'.")
    if not stat.S_ISREG(mode):
        raise InputError(f"{option} '{text}' is not a regular file (a device, pipe or socket) and would be "
                         f"replaced; give a file name{' or - for standard output' if option == '--json' else ''}.")


def _suffix_hint(option: str) -> str:
    return {"--json": ".json", "--csv": ".csv", "--screenshot": ".png", "--out": ".pdf"}.get(option, "")


def _probe_writable(option: str, text: str) -> None:
    """Create and remove an empty hidden file next to ``text``: the same operation the atomic writers need."""
    path = Path(text)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{option} '{text}': the folder '{folder}' does not exist; create it first "
                         "or choose another place.")
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".dicelens-probe.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise InputError(f"{option} '{text}': cannot write in the folder '{folder}' "
                         f"({error.strerror or error}); choose another place.") from None
    os.close(descriptor)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _identity(path: Path) -> tuple:
    try:
        found = path.stat()
    except OSError:
        return ("path", _resolved(path))
    return ("inode", found.st_dev, found.st_ino)


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))
