"""Read ``.npy`` / ``.npz`` arrays safely: header first, never pickles, size checked before allocating.

``numpy.load`` would allocate whatever a ``.npy`` header declares (10^15 elements reach the
allocator), raises half a dozen exception types on damaged files (``BadZipFile``, ``TokenError``,
``SyntaxError``, ``ValueError``...) and refuses object arrays with an ``allow_pickle`` hint that must
not be followed for untrusted files. Here the header is parsed on its own
(``numpy.lib.format.read_magic`` / ``read_array_header_*``), checked (plain numeric dtype, declared
size within :func:`app.io.limits.check_declared_size`, file long enough), and only then is the
array read, always with ``allow_pickle=False``.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from app.errors import InputError
from app.io.limits import check_declared_size

NPZ_PREFERRED_KEY = "probabilities"
_DAMAGE = (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, zlib.error,
           KeyError, IndexError, TypeError, RecursionError, MemoryError, OverflowError)


def read_npy(path: Path, name: str, max_voxels: int | None = None, advice: str = "", *,
             channels_first: bool = False) -> np.ndarray:
    """The array of a ``.npy`` file, after its header has been checked.

    Parameters
    ----------
    path : Path
        The ``.npy`` file.
    name : str
        How messages name it, e.g. ``"prediction 'pred.npy'"``.
    max_voxels : int, optional
        Size limit override (see :func:`app.io.limits.check_declared_size`).
    advice : str
        What to do, appended to messages about damaged files.
    channels_first : bool
        The first axis holds channels (class scores): the size limit counts the voxels of the other
        axes, each ``channels x itemsize`` bytes (the engine's working memory is per voxel, not per value).

    Returns
    -------
    np.ndarray
        As stored (any shape; the caller checks it).

    Raises
    ------
    InputError
        A damaged or non-``.npy`` file, an object (pickled) dtype, a file shorter than its header
        declares, or a declared size beyond the limit.
    """
    try:
        with path.open("rb") as stream:
            shape, dtype = _checked_header(stream, name, max_voxels, advice, channels_first)
            data_start = stream.tell()
        expected = math.prod(shape) * dtype.itemsize
        available = path.stat().st_size - data_start
        if available < expected:
            raise InputError(f"{name} is damaged or incomplete: its header declares {expected} bytes of data but the "
                             f"file holds {available}. {advice}".rstrip())
        return np.load(path, allow_pickle=False)
    except InputError:
        raise
    except _DAMAGE as error:
        raise InputError(f"{name} is not a readable .npy array ({type(error).__name__}: {error}). "
                         f"{advice}".rstrip()) from None


def read_npz_member(path: Path, name: str, max_voxels: int | None = None, advice: str = "", *,
                    channels_first: bool = False) -> np.ndarray:
    """The array ``probabilities`` of a ``.npz`` (or its only array), header checked before reading
    (``channels_first`` as in :func:`read_npy`).

    Raises
    ------
    InputError
        A damaged or truncated archive, several arrays none of which is ``probabilities``, an
        object dtype, or a declared size beyond the limit.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = [member[:-4] if member.endswith(".npy") else member for member in archive.namelist()]
            if NPZ_PREFERRED_KEY in names:
                chosen = NPZ_PREFERRED_KEY
            elif len(names) == 1:
                chosen = names[0]
            else:
                raise InputError(f"{name} holds the arrays {names}; expected nnU-Net's '{NPZ_PREFERRED_KEY}' "
                                 "(or a single array).")
            member = chosen + ".npy" if chosen + ".npy" in archive.namelist() else chosen
            with archive.open(member) as stream:
                _checked_header(stream, f"{name} (array '{chosen}')", max_voxels, advice, channels_first)
            with np.load(path, allow_pickle=False) as loaded:
                return loaded[chosen]
    except InputError:
        raise
    except _DAMAGE as error:
        raise InputError(f"{name} is not a readable .npz archive ({type(error).__name__}: {error}); it is "
                         f"probably truncated or damaged. {advice}".rstrip()) from None


def _checked_header(stream: BinaryIO, name: str, max_voxels: int | None, advice: str,
                    channels_first: bool = False) -> tuple[tuple, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject or dtype.kind not in "biuf":
        raise InputError(f"{name} holds {dtype} values ({'Python objects' if dtype.hasobject else 'not numbers'}); "
                         "DiceLens reads plain numeric arrays only and never unpickles objects from a file "
                         "(allow_pickle=False). Save a numeric array with numpy.save.")
    if any(n < 0 for n in shape):
        raise ValueError(f"negative shape {shape}")
    if channels_first and len(shape) > 1:
        check_declared_size(name, shape[1:], dtype.itemsize * shape[0], max_voxels)
    else:
        check_declared_size(name, shape, dtype.itemsize, max_voxels)
    return shape, dtype
