"""Which classes get key-slice pictures in a case report, and why (Qt-free).

A 116-class atlas where most structures match perfectly must not bury its few failures under pages
of identical pictures. Key slices go to the foreground classes that fail a criterion:

- Dice below the report's threshold;
- a missed structure (in the ground truth, absent from the prediction) or an invented one
  (predicted, absent from the ground truth), whatever the threshold;
- HD95 above a limit, when one is set.

Failing classes are shown worst first, at most :data:`MAX_FAILING_SHOWN` of them (every failing
class stays shaded in the table). When no class fails, the :data:`WORST_FEW` classes with the lowest
Dice are shown for a visual check. All other classes appear only in the table. The report states
which classes got pictures and why (:attr:`KeySliceChoice.explanation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WORST_FEW = 6
"""Classes shown when none fails a criterion."""
MAX_FAILING_SHOWN = 24
"""Most failing classes given key slices (the worst; at two pictures each, about four pages)."""

REASON_BELOW = "below threshold"
REASON_MISSED = "missed"
REASON_INVENTED = "invented"
REASON_HD95 = "HD95 above limit"


@dataclass(frozen=True)
class KeySliceChoice:
    """The classes that get key slices.

    Attributes
    ----------
    classes : tuple of int
        Class indices, in the order shown (worst first).
    reasons : dict of int to tuple of str
        Why each failing class was chosen (``REASON_*``); empty tuples for the worst-few fallback.
    failing : int
        How many foreground classes fail a criterion (may exceed ``len(classes)``).
    candidates : int
        Foreground classes with a defined Dice (present in at least one mask).
    threshold : float
        The Dice threshold applied.
    hd95_limit_mm : float or None
        The HD95 limit applied, if any.
    """

    classes: tuple[int, ...]
    reasons: dict[int, tuple[str, ...]]
    failing: int
    candidates: int
    threshold: float
    hd95_limit_mm: float | None = None

    @property
    def explanation(self) -> str:
        """One paragraph for the report: which classes have key slices and why, the rest in the table."""
        criteria = f"Dice below {self.threshold:.2f}, a structure missed or invented"
        if self.hd95_limit_mm is not None:
            criteria += f", HD95 above {self.hd95_limit_mm:g} mm"
        rest = self.candidates - len(self.classes)
        in_table = (" The other class appears only in the table." if rest == 1 else
                    f" The other {rest} classes appear only in the table." if rest > 1 else "")
        if not self.classes:
            return "No foreground class is present in either mask: there are no key slices."
        if self.failing == 0:
            return (f"No class fails a criterion ({criteria}): key slices of the {len(self.classes)} "
                    f"{_plural(len(self.classes))} with the lowest Dice, for a visual check.{in_table}")
        shown = len(self.classes)
        head = (f"Key slices of the {shown} {_plural(shown)} that fail a criterion ({criteria}), worst first"
                if shown == self.failing else
                f"{self.failing} classes fail a criterion ({criteria}); key slices of the {shown} worst, "
                f"the {self.failing - shown} others are shaded or listed in the table")
        return head + "." + in_table


def choose_key_slice_classes(rows: Sequence, totals: np.ndarray, threshold: float,
                             hd95_limit_mm: float | None = None, worst_few: int = WORST_FEW,
                             max_failing: int = MAX_FAILING_SHOWN) -> KeySliceChoice:
    """Choose the classes that get key slices (see the module docstring).

    Parameters
    ----------
    rows : sequence of app.report.content.ClassRow
        The report's per-class rows (``index``, ``name``, ``dice``, ``hausdorff95_mm``).
    totals : numpy.ndarray
        ``(C, 3) int64`` TP, FP, FN voxels per class (the engine's per-slice counts summed).
    threshold : float
        Dice a class must reach.
    hd95_limit_mm : float, optional
        HD95 a class must not exceed; None: no distance criterion.
    worst_few : int
        Classes shown when none fails.
    max_failing : int
        Most failing classes shown.
    """
    reasons: dict[int, tuple[str, ...]] = {}
    candidates = [row for row in rows if row.index != 0 and row.dice is not None]
    for row in candidates:
        tp, fp, fn = (int(v) for v in totals[row.index])
        why = []
        if row.dice < threshold:
            why.append(REASON_BELOW)
        if tp == 0 and fn > 0 and fp == 0:
            why.append(REASON_MISSED)
        if tp == 0 and fn == 0 and fp > 0:
            why.append(REASON_INVENTED)
        distance = getattr(row, "hausdorff95_mm", None)
        if hd95_limit_mm is not None and distance is not None and distance > hd95_limit_mm:
            why.append(REASON_HD95)
        if why:
            reasons[row.index] = tuple(why)

    def badness(row):
        errors = int(totals[row.index, 1] + totals[row.index, 2])
        return (row.dice, -errors, row.index)

    failing = sorted((row for row in candidates if row.index in reasons), key=badness)
    if failing:
        chosen = [row.index for row in failing[:max_failing]]
    else:
        chosen = [row.index for row in sorted(candidates, key=badness)[:worst_few]]
    return KeySliceChoice(classes=tuple(chosen), reasons={c: reasons[c] for c in chosen if c in reasons},
                          failing=len(failing), candidates=len(candidates), threshold=threshold,
                          hd95_limit_mm=hd95_limit_mm)


def reason_text(choice: KeySliceChoice, row) -> str:
    """Why ``row``'s class has key slices, for its caption: ``"missed"``, ``"Dice 0.53 < 0.80"``..."""
    parts = []
    reasons = choice.reasons.get(row.index, ())
    for reason in reasons:
        if reason == REASON_BELOW and (REASON_MISSED in reasons or REASON_INVENTED in reasons):
            continue   # a missed or invented structure scores 0: saying so is enough
        if reason == REASON_BELOW:
            parts.append(f"Dice {row.dice:.3f} < {choice.threshold:.2f}")
        elif reason == REASON_HD95:
            parts.append(f"HD95 {row.hausdorff95_mm:.1f} > {choice.hd95_limit_mm:g} mm")
        else:
            parts.append(f"{reason} structure")
    return ", ".join(parts) if parts else "lowest Dice (no class fails)"


def _plural(count: int) -> str:
    return "class" if count == 1 else "classes"
