"""Class scores for the soft Dice loss: probabilities or logits, classes first.

Accepted files: nnU-Net's ``.npz`` (array ``probabilities``, shape ``(C, z, y, x)``, the same axis
order as the SimpleITK array of the masks) or a ``.npy`` of the same layout; 2D cases may omit z.
Read with ``allow_pickle=False``, after the header's dtype and size were checked (:mod:`app.io.arrays`).
Checked: shape against the masks, NaN/Inf, and for probabilities the range [0, 1] and that the
classes sum to one at every voxel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import InputError
from app.io.arrays import read_npy, read_npz_member
from app.io.paths import check_input_path

PROBABILITY_TOLERANCE = 1e-3
"""Allowed deviation from [0, 1] and from a per-voxel sum of 1 (float16 exports round)."""

SCORE_KINDS = ("probs", "logits")


def read_scores(path: str | Path, kind: str, shape_zyx: tuple[int, int, int], num_classes: int,
                *, max_voxels: int | None = None) -> np.ndarray:
    """Read and check class scores.

    Parameters
    ----------
    path : str or Path
        ``.npz`` (key ``probabilities``, or its only array) or ``.npy``.
    kind : {"probs", "logits"}
        Probabilities are range- and sum-checked; logits only for finite values.
    shape_zyx : tuple of 3 int
        Shape of the masks.
    num_classes : int
        Classes found in the masks / label table; the scores need at least this many channels
        (exactly 1 channel is also accepted for binary masks: foreground score).
    max_voxels : int, optional
        Size limit override (see :func:`app.io.limits.check_declared_size`).

    Returns
    -------
    np.ndarray
        ``(C, z, y, x)`` float32.

    Raises
    ------
    InputError
        Unreadable file, wrong shape, too few channels, NaN/Inf, or probabilities out of range.
    """
    if kind not in SCORE_KINDS:
        raise ValueError(f"kind must be one of {SCORE_KINDS}, got {kind!r}")
    path = Path(path)
    option = "--probs" if kind == "probs" else "--logits"
    scores = _load(path, option, max_voxels)
    if scores.dtype.kind != "f":
        raise InputError(f"{option} '{path}' holds {scores.dtype} values; class scores must be floating "
                         "point.")
    z, y, x = shape_zyx
    if scores.ndim == 3 and z == 1:
        scores = scores[:, np.newaxis]
    if scores.ndim != 4 or scores.shape[1:] != shape_zyx:
        hint = ""
        if scores.ndim == 4 and scores.shape[:3] == shape_zyx:
            hint = " It looks channels-last: move the class axis first (numpy.moveaxis(a, -1, 0))."
        raise InputError(f"{option} '{path}' has shape {scores.shape}; expected (C, {z}, {y}, {x}): classes "
                         f"first, then the masks' (z, y, x) shape.{hint}")
    channels = scores.shape[0]
    if channels < num_classes and not (channels == 1 and num_classes <= 2):
        raise InputError(f"{option} '{path}' has {channels} class channels but the masks (and label table) "
                         f"have {num_classes} classes; pass scores for every class.")
    scores = scores.astype(np.float32, copy=False)
    if not np.isfinite(scores).all():
        raise InputError(f"{option} '{path}' contains NaN or infinite values.")
    if kind == "probs":
        _check_probabilities(scores, path)
    return scores


def _load(path: Path, option: str, max_voxels: int | None) -> np.ndarray:
    check_input_path(path, option)
    name = f"{option} '{path}'"
    advice = "Save the scores again with numpy.save / numpy.savez (numeric arrays, no pickled objects)."
    with path.open("rb") as stream:
        is_zip = stream.read(4) == b"PK\x03\x04"
    if is_zip or path.name.lower().endswith(".npz"):
        return read_npz_member(path, name, max_voxels, advice)
    return read_npy(path, name, max_voxels, advice)


def _check_probabilities(scores: np.ndarray, path: Path) -> None:
    low, high = float(scores.min()), float(scores.max())
    if low < -PROBABILITY_TOLERANCE or high > 1 + PROBABILITY_TOLERANCE:
        raise InputError(f"--probs '{path}' has values from {low:g} to {high:g}, outside [0, 1]: these look "
                         "like logits; pass them with --logits.")
    if scores.shape[0] > 1:
        worst = float(np.abs(scores.sum(axis=0, dtype=np.float32) - 1).max())
        if worst > PROBABILITY_TOLERANCE:
            raise InputError(f"--probs '{path}': the class probabilities do not sum to one at every voxel "
                             f"(off by up to {worst:.3g}); pass softmax outputs, or raw scores with "
                             "--logits.")
