"""Keep the NIfTI-1 header fields SimpleITK does not write back when a mask is saved.

SimpleITK writes a new header for every file: both transform codes become 1 (scanner anatomical),
the intent, description and auxiliary file name are emptied, and the units become mm and seconds.
An MNI-152 mask (``sform_code`` 4) saved that way claims to be in scanner space. After SimpleITK has
written a NIfTI-1 file, :func:`copy_kept_fields` copies these fields from the source file's header
into the written one (the fixed 348-byte header at the start of the file; a ``.nii.gz`` is
decompressed and compressed again, streamed):

- ``qform_code``, ``sform_code`` (the transforms themselves are SimpleITK's: the same grid);
- ``intent_code``, ``intent_p1..3``, ``intent_name`` (e.g. 1002, NIFTI_INTENT_LABEL);
- ``descrip``, ``aux_file``;
- ``xyzt_units``: the time units always, the spatial unit only when it is the one written or
  unknown (SimpleITK converts metres and microns to mm; the source's unit would rescale the grid).

Dimensions, voxel sizes, data type, scaling and the transforms are never touched. Files that are
not NIfTI-1 (NIfTI-2, ANALYZE) are left as SimpleITK wrote them.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
from pathlib import Path

HEADER_SIZE = 348
_MAGICS = (b"n+1\0", b"ni1\0")
_BYTES = {"descrip": (148, 80), "aux_file": (228, 24), "intent_name": (328, 16)}
_NUMBERS = {"intent_p": (56, "3f"), "intent_code": (68, "h"), "qform_code": (252, "h"), "sform_code": (254, "h")}
_UNITS_OFFSET = 123
_SPACE_UNITS, _TIME_UNITS = 0x07, 0x38


def read_header(path: str | Path) -> bytes | None:
    """The first 348 bytes of a NIfTI-1 file (``.nii`` or ``.nii.gz``), or None when it is not one."""
    try:
        with _open(path, "rb") as stream:
            header = stream.read(HEADER_SIZE)
    except (OSError, EOFError):
        return None
    return header if _byte_order(header) is not None else None


def copy_kept_fields(source_header: bytes, written: str | Path) -> bool:
    """Copy the kept fields of ``source_header`` into the NIfTI-1 file ``written``, in place.

    Parameters
    ----------
    source_header : bytes
        The source file's header (:func:`read_header`).
    written : str or Path
        The file SimpleITK just wrote (a temporary file, replaced by the caller afterwards).

    Returns
    -------
    bool
        Whether the header was patched (False: ``written`` is not NIfTI-1, or nothing differed).
    """
    written = Path(written)
    target = read_header(written)
    source_order = _byte_order(source_header)
    if target is None or source_order is None:
        return False
    patched = _patched(source_header, source_order, target, _byte_order(target))
    if patched == target:
        return False
    if not _is_gzip(written):
        with open(written, "rb+") as stream:
            stream.write(patched)
        return True
    temporary = written.with_name(written.name + ".patch")
    with gzip.open(written, "rb") as source, gzip.open(temporary, "wb", compresslevel=6) as target_stream:
        source.read(HEADER_SIZE)
        target_stream.write(patched)
        shutil.copyfileobj(source, target_stream, 1 << 22)
    os.replace(temporary, written)
    return True


def _patched(source: bytes, source_order: str, target: bytes, target_order: str) -> bytes:
    header = bytearray(target)
    for offset, size in _BYTES.values():
        header[offset:offset + size] = source[offset:offset + size]
    for offset, fmt in _NUMBERS.values():
        values = struct.unpack_from(source_order + fmt, source, offset)
        struct.pack_into(target_order + fmt, header, offset, *values)
    source_units, written_units = source[_UNITS_OFFSET], target[_UNITS_OFFSET]
    space = source_units & _SPACE_UNITS
    if space not in (0, written_units & _SPACE_UNITS):
        space = written_units & _SPACE_UNITS
    header[_UNITS_OFFSET] = space | (source_units & _TIME_UNITS)
    return bytes(header)


def _byte_order(header: bytes) -> str | None:
    """``"<"`` or ``">"`` for a NIfTI-1 header, None for anything else."""
    if len(header) < HEADER_SIZE or header[344:348] not in _MAGICS:
        return None
    for order in "<>":
        if struct.unpack_from(order + "i", header, 0)[0] == HEADER_SIZE:
            return order
    return None


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def _open(path: str | Path, mode: str):
    return gzip.open(path, mode) if _is_gzip(Path(path)) else open(path, mode)
