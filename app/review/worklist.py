"""The worklist's rows as data: one per case, its scores and review state; ordering, "next", filters.

Pure functions over :class:`WorklistRow` (Qt-free); the window's dock model shows them. Scores come
from the case's stored result (``R/cases/<case>.json``, :meth:`app.review.folder.ReviewFolder.case_result`),
the review state from the database. "Mean Dice" is the score document's mean foreground Dice
(docs/architecture.md §5); nothing is computed here beyond picking the worst class.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from app.review.folder import ReviewFolder
from app.review.store import STATUSES, UNDECIDED_STATUSES, Verdict
from app.score_document import CaseScore


@dataclass(frozen=True)
class WorklistRow:
    """One case of the worklist.

    Attributes
    ----------
    case : str
        Case name.
    mean_dice : float or None
        Mean foreground Dice of the original masks; None when undefined or not scored yet.
    worst_class, worst_dice : str or None, float or None
        The foreground class with the lowest defined Dice, and that Dice.
    hd95 : float or None
        Mean foreground HD95 in mm, when the case was scored with surface distances.
    volume_difference : float or None
        Predicted minus ground-truth foreground volume in mL (sum over the foreground classes).
    status : str
        One of :data:`~app.review.store.STATUSES`.
    grade : int or None
        The latest verdict's grade.
    reviewer : str or None
        Who gave the latest verdict, or who has the case in progress.
    seconds : float
        Time spent on the case (all visits).
    scored : bool
        Whether the case's scores are there (unscored rows come last).
    class_dice : dict of str to float or None
        Foreground class name -> Dice (for the "class X below Dice d" filter).
    dice_after : float or None
        Mean foreground Dice after the reviewer's correction (the latest verdict's figures), None when
        the case was not corrected.
    """

    case: str
    mean_dice: float | None
    worst_class: str | None
    worst_dice: float | None
    hd95: float | None
    volume_difference: float | None
    status: str
    grade: int | None
    reviewer: str | None
    seconds: float
    scored: bool
    class_dice: Mapping[str, float | None] = field(default_factory=dict, compare=False)
    dice_after: float | None = None

    @property
    def decided(self) -> bool:
        """True once the case has a verdict (accepted, needs correction, corrected or rejected)."""
        return self.status not in UNDECIDED_STATUSES


def mean_foreground(dice: Mapping[str, float | None] | None) -> float | None:
    """Mean of the defined per-class Dice of a verdict's figures (its classes are the foreground ones).

    Equal to the score document's ``dice_mean_foreground`` (docs/architecture.md §5: undefined classes are
    left out); None when no class is defined or there are no figures.
    """
    if not dice:
        return None
    values = [float(value) for value in dice.values() if value is not None and not math.isnan(value)]
    return sum(values) / len(values) if values else None


def case_row(case: str, result: Mapping | None, *, verdict: Verdict | None = None,
             in_progress_by: str | None = None, seconds: float = 0.0) -> WorklistRow:
    """The row of one case from its stored result (None: not scored yet) and review state."""
    if verdict is not None:
        status, grade, reviewer = verdict.status, verdict.grade, verdict.reviewer
    elif in_progress_by is not None:
        status, grade, reviewer = "in progress", None, in_progress_by
    else:
        status, grade, reviewer = "to review", None, None
    dice_after = None if verdict is None else mean_foreground(verdict.dice_after)
    if result is None:
        return WorklistRow(case, None, None, None, None, None, status, grade, reviewer, float(seconds), False,
                           dice_after=dice_after)
    score: CaseScore = result["score"]
    foreground = [entry for entry in score.classes if entry.index > 0]
    class_dice = {entry.name: entry.dice for entry in foreground}
    defined = [entry for entry in foreground if entry.dice is not None]
    worst = min(defined, key=lambda entry: entry.dice) if defined else None
    differences = [entry.volume_difference_ml for entry in foreground if entry.volume_difference_ml is not None]
    distances = score.distances_mean_foreground
    return WorklistRow(case, score.dice_mean_foreground, None if worst is None else worst.name,
                       None if worst is None else worst.dice,
                       None if distances is None else distances.hausdorff95_mm,
                       sum(differences) if differences else None, status, grade, reviewer, float(seconds), True,
                       class_dice, dice_after)


def worklist_rows(folder: ReviewFolder) -> list[WorklistRow]:
    """Every case of the review as a row, in the default order (:func:`sort_rows`)."""
    verdicts = folder.store.verdicts()
    in_progress = folder.store.in_progress()
    seconds = folder.store.seconds_spent()
    return sort_rows(_row(folder, name, verdicts.get(name), in_progress.get(name), seconds.get(name))
                     for name in folder.case_names())


def row_for_case(folder: ReviewFolder, case: str) -> WorklistRow:
    """The row of one case, exactly as :func:`worklist_rows` makes it (to refresh one row after a verdict)."""
    store = folder.store
    return _row(folder, case, store.latest_verdict(case), store.in_progress().get(case),
                store.seconds_spent().get(case))


def _row(folder: ReviewFolder, case: str, verdict: Verdict | None, in_progress_by: str | None,
         seconds: float | None) -> WorklistRow:
    """Time spent: the sum the windows added (:meth:`~app.review.store.ReviewStore.add_seconds`), else the
    latest verdict's seconds, else 0."""
    if seconds is None:
        seconds = verdict.seconds if verdict is not None else 0.0
    return case_row(case, folder.case_result(case), verdict=verdict, in_progress_by=in_progress_by,
                    seconds=seconds)


def sort_rows(rows: Iterable[WorklistRow]) -> list[WorklistRow]:
    """Default order: worst mean foreground Dice first; then scored cases whose Dice is undefined (both
    masks empty); unscored cases last. Ties keep the given (pairing) order."""
    def key(row: WorklistRow) -> tuple:
        if not row.scored:
            return (2, 0.0)
        return (0, row.mean_dice) if row.mean_dice is not None else (1, 0.0)

    return sorted(rows, key=key)


def next_to_review(rows: Iterable[WorklistRow], after: str | None, *, taken: Collection[str] = ()) -> str | None:
    """The first case in ``rows``' order (the worklist's: worst first) not yet decided, other than
    ``after`` (the case on screen) and the cases in ``taken`` (claimed by other reviewers); None when
    every other case is decided."""
    for row in rows:
        if not row.decided and row.case != after and row.case not in taken:
            return row.case
    return None


def filter_rows(rows: Iterable[WorklistRow], *, statuses: Collection[str] | None = None,
                class_below: tuple[str, float] | None = None, search: str = "") -> list[WorklistRow]:
    """The rows that pass every filter given, in their order.

    Parameters
    ----------
    statuses : collection of str, optional
        Keep rows with one of these statuses (:data:`~app.review.store.STATUSES`); None: any.
    class_below : (str, float), optional
        ``(class name, d)``: keep rows where that class has a defined Dice below ``d`` (an undefined
        Dice or an unscored case does not pass).
    search : str
        Keep rows whose case name contains this text, ignoring case ("" keeps all).
    """
    if statuses is not None:
        unknown = set(statuses) - set(STATUSES)
        if unknown:
            raise ValueError(f"unknown statuses {sorted(unknown)}; use {', '.join(STATUSES)}")
    needle = search.strip().casefold()
    kept = []
    for row in rows:
        if statuses is not None and row.status not in statuses:
            continue
        if class_below is not None:
            name, threshold = class_below
            dice = row.class_dice.get(name)
            if dice is None or not dice < threshold:
                continue
        if needle and needle not in row.case.casefold():
            continue
        kept.append(row)
    return kept
