"""The review summary (``R/review.pdf``) as plain data (Qt-free): verdict counts, grades, Dice before
and after corrections, and the rejected and corrected cases with their comments and key slices.

Built by :func:`app.review.export.export_review` from the review folder; drawn by
:func:`app.report.review_summary_pdf.write_review_summary`.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.report.keyslices import KeySlice

GRADES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class CaseSnapshot:
    """A key slice with what it shows (``"before"``: the original prediction, ``"after correction"``)."""

    label: str
    key_slice: KeySlice


@dataclass(frozen=True)
class ReviewedCase:
    """A rejected or corrected case as the summary lists it.

    Attributes
    ----------
    dice_before, dice_after : float or None
        Mean foreground Dice of the original masks and after the correction (None: undefined or
        not corrected).
    snapshots : tuple of CaseSnapshot
        Key slices of the case's worst class (none when the case was not drawn, see ``note``).
    note : str
        Why there is no picture ("" when there is one).
    """

    case: str
    status: str
    grade: int | None
    reviewer: str
    reviewed_at: str
    comment: str
    dice_before: float | None
    dice_after: float | None
    voxels_changed: int
    corrected_path: str | None
    snapshots: tuple[CaseSnapshot, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ReviewSummary:
    """Everything ``R/review.pdf`` shows.

    Attributes
    ----------
    source : str
        The folders compared.
    created : str
        When the summary was made (local time, for the header).
    total_cases, scored_cases : int
        Cases paired, and how many of them have scores.
    status_counts : tuple of (str, int)
        Every status in the worklist's order with its number of cases.
    grade_counts : tuple of (int, int)
        ``(grade, cases)`` for grades 1..5 (latest verdicts).
    ungraded : int
        Decided cases without a grade.
    reviewers : tuple of str
        Who gave the verdicts.
    dice_pairs : tuple of (str, float, float)
        ``(case, Dice before, Dice after)`` of every corrected case with both defined.
    highlighted : tuple of ReviewedCase
        Rejected and corrected cases, in worklist order.
    unmatched : tuple of str
        Lines about the files pairing left out.
    """

    source: str
    created: str
    total_cases: int
    scored_cases: int
    status_counts: tuple[tuple[str, int], ...]
    grade_counts: tuple[tuple[int, int], ...]
    ungraded: int
    reviewers: tuple[str, ...]
    dice_pairs: tuple[tuple[str, float, float], ...]
    highlighted: tuple[ReviewedCase, ...]
    unmatched: tuple[str, ...] = ()
