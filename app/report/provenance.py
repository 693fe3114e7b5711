"""What exactly was scored: a checksum of each mask array, and whether it was edited and saved (Qt-free).

A file's sha256 identifies the file on disk. A report exported from the window after edits scores
the edited arrays, which no file holds until they are saved, so the report also identifies the
arrays themselves with :func:`array_sha256`, and says which masks were edited during the review
and which of those edits are not saved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ARRAY_HASH_VERSION = "dicelens-array-v1"
CHANGE_KINDS = ("edit", "undo", "redo", "recovered")
"""Edit-record kinds that change a mask (see :class:`app.report.content.EditRecord`)."""
SAVED_KIND = "saved"
"""Edit-record kind of a save during the review."""
UNSAVED_KIND = "unsaved"
"""Edit-record kind closing the list: that mask had unsaved edits when the report was made."""
_CHUNK_BYTES = 64 * 2**20


def array_sha256(array: np.ndarray) -> str:
    """The sha256 (hex) of a mask array's values, type and shape.

    Hashed: the ASCII header ``"dicelens-array-v1 <dtype.str> <d0>x<d1>x...\\n"`` (e.g.
    ``"dicelens-array-v1 |u1 128x62x128\\n"``; ``dtype.str`` includes the byte order), then the
    array's bytes in C order. Two arrays hash alike exactly when they hold the same values with
    the same type and shape. Reproducible with numpy: ``hashlib.sha256(header + a.tobytes())``.

    Parameters
    ----------
    array : numpy.ndarray
        Any shape and dtype, typically a ``(z, y, x)`` integer label volume.
    """
    array = np.asarray(array)
    digest = hashlib.sha256(array_hash_header(array))
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8) if array.size else np.zeros(0, np.uint8)
    for start in range(0, flat.size, _CHUNK_BYTES):
        digest.update(flat[start: start + _CHUNK_BYTES].data)
    return digest.hexdigest()


def array_hash_header(array: np.ndarray) -> bytes:
    """The header :func:`array_sha256` hashes before the values."""
    shape = "x".join(str(int(n)) for n in array.shape)
    return f"{ARRAY_HASH_VERSION} {array.dtype.str} {shape}\n".encode("ascii")


@dataclass(frozen=True)
class ScoredMask:
    """One mask as scored.

    Attributes
    ----------
    which : {"gt", "pred"}
    array_sha256 : str
        :func:`array_sha256` of the scored array.
    dtype : str
        Its numpy type name (``"uint8"``).
    shape : tuple of int
        Its ``(z, y, x)`` shape.
    edited : bool
        Whether it was changed during the review (edits, undos, redos or recovered edits).
    unsaved : bool
        Whether it had unsaved edits when the report was made: the file on disk is not what was scored.
    saved : bool
        Whether it was saved during the review.
    """

    which: str
    array_sha256: str
    dtype: str
    shape: tuple[int, ...]
    edited: bool = False
    unsaved: bool = False
    saved: bool = False

    @property
    def edit_state(self) -> str:
        """``"NOT SAVED"``, ``"saved"``, ``"edits undone"`` (edited, yet equal to its file) or ``""``."""
        if self.unsaved:
            return "NOT SAVED"
        if self.saved:
            return "saved"
        return "edits undone" if self.edited else ""


def scored_masks(case, edits: Sequence = ()) -> tuple[ScoredMask, ScoredMask]:
    """The ground truth and the prediction of ``case`` as scored, with their edit state from ``edits``.

    Parameters
    ----------
    case : app.io.Case
        Supplies ``gt`` and ``pred``, the ``(z, y, x)`` arrays that were scored.
    edits : sequence of app.report.content.EditRecord
        The review's edit list (empty for ``dicelens report``).
    """
    edited = {edit.mask for edit in edits if edit.kind in CHANGE_KINDS}
    unsaved = {edit.mask for edit in edits if edit.kind == UNSAVED_KIND}
    saved = {edit.mask for edit in edits if edit.kind == SAVED_KIND}
    return tuple(ScoredMask(which=which, array_sha256=array_sha256(array), dtype=str(array.dtype),
                            shape=tuple(int(n) for n in array.shape), edited=which in edited,
                            unsaved=which in unsaved, saved=which in saved)
                 for which, array in (("gt", case.gt), ("pred", case.pred)))
