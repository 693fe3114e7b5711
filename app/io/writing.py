"""Atomic writes: masks in their source's format and geometry, and text outputs (JSON, CSV).

Everything is first written under a temporary name in the destination's directory, ``os.fsync``'ed,
then moved into place with :func:`os.replace`, and the directory is fsync'ed, so a failure (or a
crash, or power loss) never leaves a half-written file behind and a reader never sees one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from app.errors import InputError
from app.io.images import DICOM_FORMAT, NUMPY_FORMAT, format_of, sha256_of, source_files
from app.io.nifti_header import copy_kept_fields, read_header
from app.io.sources import InputFile

_KEEP_COMPRESSED = ("NRRD", "3D Slicer segmentation", "MetaImage")
_EIGHT_BIT_ONLY = ("BMP",)
_SIXTEEN_BIT_MAX = ("PNG",)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path.

    Raises
    ------
    InputError
        The directory does not exist or is not writable.
    """
    path = Path(path)
    with _atomic_directory(path) as temporary:
        (temporary / path.name).write_text(text, encoding="utf-8")
    return path


def describe_saved(like: InputFile, written: str | Path, sha256: str | None = None) -> InputFile:
    """The :class:`InputFile` of a mask just written by :func:`save_mask` in place of ``like``.

    Hashed exactly as :func:`app.io.load_case` hashes an input (a ``.mhd``/``.nhdr`` header with its
    data file), so the written file, reopened, is recognised as the same input. ``sha256``: the hash
    already taken of the same bytes (by ``before_replace`` in :func:`save_mask`), not taken again.
    """
    files = source_files(written)
    return dataclasses.replace(like, path=str(written), sha256=sha256 or sha256_of(files),
                               format=format_of(written), files=tuple(str(f) for f in files))


def save_mask(array_zyx: np.ndarray, path: str | Path, like: InputFile,
              before_replace: Callable[[Path], None] | None = None) -> Path:
    """Write a label map with the grid and pixel type of the input it was read from.

    Parameters
    ----------
    array_zyx : np.ndarray
        ``(z, y, x)`` integer labels on ``like``'s grid (2D sources: ``z = 1``).
    path : str or Path
        Destination; its ending chooses the format (``.nii.gz``, ``.nrrd``, ``.seg.nrrd``, ``.mha``,
        ``.png``, ``.npy``...). DICOM and JPEG cannot be written as masks.
    like : InputFile
        The source mask (``case.sources["pred"]``): its geometry, pixel type and, for ``.seg.nrrd``,
        its segment names and colours are written with the data. Labels that do not fit the source's
        pixel type are written in the smallest type that holds them.
    before_replace : callable, optional
        Called with the written file (complete and fsync'ed, under ``path``'s name in a temporary
        folder beside it) just before it replaces ``path``: the edit journal is moved there, so that
        a crash at any moment leaves either the old file and its journal or the new file and its own.
        An exception from it cancels the save.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        Unsupported destination format, a shape that differs from the source, or an unwritable path.
    """
    path = Path(path)
    target_format = format_of(path) if not path.is_dir() else DICOM_FORMAT
    if target_format in (DICOM_FORMAT, "JPEG"):
        raise InputError(f"cannot save a mask as {target_format} ('{path}'); save it as .nii.gz, .nrrd, "
                         ".seg.nrrd, .mha, .png or .npy.")
    if like.geometry is not None and tuple(array_zyx.shape) != like.geometry.shape_zyx:
        raise InputError(f"the mask has shape {tuple(array_zyx.shape)} but '{like.path}' has "
                         f"{like.geometry.shape_zyx} (z, y, x); it cannot be written with that file's grid.")
    labels = _pixel_type(array_zyx, like.dtype, target_format)
    with _atomic_directory(path, before_replace) as temporary:
        destination = temporary / path.name
        if target_format == NUMPY_FORMAT:
            np.save(destination, labels[0] if _is_2d(like, labels) else labels)
        else:
            image = sitk.GetImageFromArray(labels[0] if _is_2d(like, labels) else labels)
            if like.geometry is not None:
                like.geometry.apply_to(image)
            if target_format in ("NRRD", "3D Slicer segmentation"):
                for key, value in like.metadata.items():
                    image.SetMetaData(key, value)
            try:
                sitk.WriteImage(image, str(destination), useCompression=target_format in _KEEP_COMPRESSED)
            except RuntimeError as error:
                reason = str(error).strip().splitlines()[-1]
                raise InputError(f"could not write '{path}' ({reason}).") from None
            if target_format == like.format == "NIfTI" and (header := read_header(like.path)) is not None:
                copy_kept_fields(header, destination)  # transform codes, intent, description, units
    return path


def _is_2d(like: InputFile, labels: np.ndarray) -> bool:
    two_d_formats = ("PNG", "BMP", "TIFF")
    return labels.shape[0] == 1 and (like.format in two_d_formats or like.geometry is None
                                     or like.geometry.size[2] == 1)


def _pixel_type(array_zyx: np.ndarray, source_dtype: str | None, target_format: str) -> np.ndarray:
    """Cast to the source's pixel type when every label fits, else to the smallest type that holds them."""
    array_zyx = np.asarray(array_zyx)
    if array_zyx.dtype.kind not in "iub":
        raise InputError(f"a mask must hold integer labels to be saved, got {array_zyx.dtype}.")
    low, high = (int(array_zyx.min()), int(array_zyx.max())) if array_zyx.size else (0, 0)
    candidates = [np.dtype(source_dtype)] if source_dtype else []
    candidates += [np.dtype(t) for t in ("uint8", "uint16", "int32")]
    if target_format in _EIGHT_BIT_ONLY:
        candidates = [np.dtype("uint8")]
    elif target_format in _SIXTEEN_BIT_MAX:
        candidates = [c for c in candidates if c in (np.dtype("uint8"), np.dtype("uint16"))]
    for dtype in candidates:
        if dtype.kind in "iu" and np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return array_zyx.astype(dtype, copy=False)
    raise InputError(f"labels {low}..{high} do not fit a {target_format} file; save as .nii.gz or .nrrd.")


@contextlib.contextmanager
def _atomic_directory(path: Path, before_replace: Callable[[Path], None] | None = None):
    """A temporary directory next to ``path``; files written into it are moved into place on success.

    Writers that produce a header and a data file (``.nhdr``, ``.mhd``) reference the data file by
    name, so both are written under their final names in the temporary directory and moved together
    (data files first, the header last). Each is fsync'ed before it is moved, and the directory after.
    """
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write '{path}': the directory '{directory}' does not exist.")
    _remove_stale_temporaries(directory, path.name)
    try:
        temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory))
    except OSError as error:
        raise InputError(f"cannot write '{path}': {error.strerror or error}.") from None
    try:
        yield temporary
        produced = sorted(temporary.iterdir(), key=lambda f: f.name == path.name)
        for written in produced:
            _fsync_file(written)
        if before_replace is not None:
            before_replace(temporary / path.name)
        for written in produced:
            os.replace(written, directory / written.name)
        fsync_directory(directory)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


atomic_directory = _atomic_directory
"""Public name for writers outside this module (the DICOM SEG writer): write into the yielded folder
under the destination's name; the file replaces the destination only when the block succeeds."""

STALE_AFTER_S = 3600
"""A temporary folder of an earlier write of the same file older than this was left by a killed process."""


def _remove_stale_temporaries(directory: Path, name: str) -> None:
    """Delete the temporary folders that killed writes of ``name`` left in ``directory`` (an hour old:
    a write in progress in another process is never touched)."""
    pattern = re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")
    now = time.time()
    with contextlib.suppress(OSError):
        for candidate in directory.iterdir():
            if pattern.fullmatch(candidate.name) and candidate.is_dir() and not candidate.is_symlink() \
                    and now - candidate.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(candidate, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())


def fsync_directory(directory: Path) -> None:
    """Make a file's creation or rename in ``directory`` durable (POSIX; a no-op where directories cannot be opened)."""
    if sys.platform.startswith("win"):
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
