"""The NIfTI header fields SimpleITK reads past silently, read from the file itself.

SimpleITK's NIfTI reader replaces a NaN, zero or infinite voxel size (``pixdim``) with 1 mm and turns
a negative one positive, and it reads NaN and ±Inf voxels of a float image as 0. Both would change
the numbers without a word (volumes, distances; a float mask full of Inf would score as background),
so the header's ``pixdim`` is checked here, and float voxels are scanned for non-finite values on
the way (:class:`NonFiniteScan`, fed by the gzip verification of :mod:`app.io.streams`, or
:func:`raw_has_non_finite` for an uncompressed ``.nii``).
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_FLOAT_TYPES = {16: "f4", 64: "f8"}  # NIfTI datatype codes of real floats
_SCAN_ITEMS = 1 << 22


@dataclass(frozen=True)
class NiftiHeader:
    """What DiceLens checks in a NIfTI-1 or NIfTI-2 header.

    Attributes
    ----------
    dims : tuple of int
        ``dim[1..dim[0]]``: the voxel counts, x first.
    pixdim : tuple of float
        ``pixdim[1..dim[0]]``: the voxel size along each of those axes as stored.
    vox_offset : int
        Where the voxels start in the (uncompressed) file.
    float_dtype : np.dtype or None
        The voxels' dtype (with byte order) when they are real floats, else None.
    """

    dims: tuple[int, ...]
    pixdim: tuple[float, ...]
    vox_offset: int
    float_dtype: np.dtype | None


def read_nifti_header(path: Path) -> NiftiHeader | None:
    """Parse the header of a ``.nii`` / ``.nii.gz``; None when it is not a NIfTI-1/2 header."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                raw = stream.read(540)
        else:
            with path.open("rb") as stream:
                raw = stream.read(540)
    except (OSError, EOFError, zlib.error):
        return None
    for order in "<>":
        if len(raw) >= 348 and struct.unpack(order + "i", raw[:4])[0] == 348:
            dim = struct.unpack(order + "8h", raw[40:56])
            datatype = struct.unpack(order + "h", raw[70:72])[0]
            pixdim = struct.unpack(order + "8f", raw[76:108])
            vox_offset = struct.unpack(order + "f", raw[108:112])[0]
            return _header(order, dim, datatype, pixdim, vox_offset)
        if len(raw) >= 540 and struct.unpack(order + "i", raw[:4])[0] == 540:
            datatype = struct.unpack(order + "h", raw[12:14])[0]
            dim = struct.unpack(order + "8q", raw[16:80])
            pixdim = struct.unpack(order + "8d", raw[104:168])
            vox_offset = struct.unpack(order + "q", raw[168:176])[0]
            return _header(order, dim, datatype, pixdim, vox_offset)
    return None


def _header(order: str, dim, datatype: int, pixdim, vox_offset: float) -> NiftiHeader | None:
    rank = dim[0]
    if not 1 <= rank <= 7 or not math.isfinite(vox_offset):
        return None
    code = _FLOAT_TYPES.get(datatype)
    return NiftiHeader(dims=tuple(int(n) for n in dim[1:rank + 1]),
                       pixdim=tuple(float(v) for v in pixdim[1:rank + 1]),
                       vox_offset=int(vox_offset),
                       float_dtype=np.dtype(order + code) if code else None)


def bad_voxel_size(header: NiftiHeader) -> str | None:
    """Describe the spatial ``pixdim`` entries that are not finite and positive, or None when all are."""
    spatial = header.pixdim[:3]
    if all(math.isfinite(v) and v > 0 for v in spatial):
        return None
    axes = "xyz"
    return ", ".join(f"pixdim[{k + 1}] ({axes[k]}) = {v:g}" for k, v in enumerate(spatial))


class NonFiniteScan:
    """Watches a decompressed NIfTI stream for NaN/±Inf float voxels (call it with each chunk, in order).

    Parameters
    ----------
    header : NiftiHeader
        Its ``float_dtype`` must be set; the voxels are ``prod(dims)`` items from ``vox_offset``.
    """

    def __init__(self, header: NiftiHeader) -> None:
        self._dtype = header.float_dtype
        self._start = header.vox_offset
        self._end = header.vox_offset + math.prod(header.dims) * self._dtype.itemsize
        self._position = 0
        self._carry = b""
        self.found = False

    def __call__(self, chunk: bytes) -> None:
        """Scan the part of ``chunk`` that holds voxels."""
        begin = max(self._start - self._position, 0)
        end = min(self._end - self._position, len(chunk))
        self._position += len(chunk)
        if self.found or end <= begin:
            return
        data = self._carry + chunk[begin:end]
        usable = len(data) - len(data) % self._dtype.itemsize
        self._carry = data[usable:]
        if not np.isfinite(np.frombuffer(data, self._dtype, usable // self._dtype.itemsize)).all():
            self.found = True


def raw_has_non_finite(path: Path, header: NiftiHeader) -> bool:
    """Whether an uncompressed ``.nii``'s float voxels hold NaN or ±Inf (read in blocks, memory-mapped)."""
    count = math.prod(header.dims)
    if count == 0:
        return False
    voxels = np.memmap(path, dtype=header.float_dtype, mode="r", offset=header.vox_offset, shape=(count,))
    try:
        return any(not np.isfinite(voxels[at:at + _SCAN_ITEMS]).all() for at in range(0, count, _SCAN_ITEMS))
    finally:
        del voxels
