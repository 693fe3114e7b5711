"""The report's confusion figure: the whole matrix for a few classes, else the classes with the most confusion.

A selection of counts only (no metric is computed here); :mod:`app.report.charts` draws it and
:func:`app.report.content.build_case_report` puts it in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFUSION_MAX_CLASSES = 12
"""Confusion figures with more classes than this show only the classes with the most confusion."""


@dataclass(frozen=True)
class ConfusionFigure:
    """The confusion matrix, or the part of it with the most confusion.

    Attributes
    ----------
    indices : tuple of int
        Class indices shown, in matrix order.
    names : tuple of str
        Their names.
    counts : numpy.ndarray
        ``(K, K) int64`` voxel counts, rows = ground truth, columns = prediction.
    total_classes : int
        C, the number of classes of the full matrix (K < C means a selection is shown).
    """

    indices: tuple[int, ...]
    names: tuple[str, ...]
    counts: np.ndarray
    total_classes: int

    @property
    def is_subset(self) -> bool:
        """True when only the most confused classes are shown."""
        return len(self.indices) < self.total_classes


def confusion_figure(matrix, names: Sequence[str],
                     max_classes: int = CONFUSION_MAX_CLASSES) -> ConfusionFigure:
    """The full matrix for up to ``max_classes`` classes, else background plus the most confused ones.

    "Most confused" = largest off-diagonal voxel count in the class's row plus its column (voxels
    of the class predicted as another, plus voxels of other classes predicted as it).
    """
    counts = np.asarray(matrix, dtype=np.int64)
    total = counts.shape[0]
    if total <= max_classes:
        indices = np.arange(total)
    else:
        off_diagonal = counts.sum(axis=0) + counts.sum(axis=1) - 2 * np.diag(counts)
        foreground_order = np.argsort(-off_diagonal[1:], kind="stable") + 1
        indices = np.sort(np.concatenate([[0], foreground_order[: max_classes - 1]]))
    return ConfusionFigure(
        indices=tuple(int(i) for i in indices),
        names=tuple(names[i] for i in indices),
        counts=counts[np.ix_(indices, indices)],
        total_classes=total,
    )
