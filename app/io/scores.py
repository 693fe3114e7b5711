"""Class scores for the soft Dice loss: probabilities or logits, classes first.

Accepted files: nnU-Net's ``.npz`` (array ``probabilities``, shape ``(C, z, y, x)``, the same axis
order as the SimpleITK array of the masks), a ``.npy`` of the same layout (2D cases may omit z), or a
4D NIfTI / NRRD with the class axis first or last (:mod:`app.io.model_output`, which reads and checks
them slab by slab in the file's own dtype). Checked: shape against the masks, NaN/Inf, and for
probabilities the range [0, 1] and that the classes sum to one at every voxel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.io.model_output import PROBABILITY_TOLERANCE, SCORE_KINDS, read_model_output

__all__ = ["PROBABILITY_TOLERANCE", "SCORE_KINDS", "read_scores"]


def read_scores(path: str | Path, kind: str, shape_zyx: tuple[int, int, int], num_classes: int,
                *, max_voxels: int | None = None) -> np.ndarray:
    """Read and check class scores (see :func:`app.io.model_output.read_model_output`).

    Parameters
    ----------
    path : str or Path
        ``.npz`` (key ``probabilities``, or its only array), ``.npy``, or a 4D NIfTI / NRRD.
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
        ``(C, z, y, x)`` in the file's floating-point dtype (float16 stays float16).

    Raises
    ------
    InputError
        Unreadable file, wrong shape, too few channels, NaN/Inf, or probabilities out of range.
    """
    return read_model_output(path, kind, shape_zyx, num_classes, max_voxels=max_voxels).scores
