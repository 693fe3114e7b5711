"""The report's QA verdict as a list of stated criteria, each checked against the score document.

Criteria (defaults; set by ``report`` / ``batch`` options): mean foreground Dice ≥ 0.80; HD95 ≤ 10 mm for
every class; |volume difference| ≤ 20 % for every class; no missed object ≥ 0.1 mL. The verdict fails
when any criterion fails, so a missed lesion above the size limit always fails it, whatever the voxel
Dice. A criterion that cannot be checked (no surface distances, no object counts, ground-truth objects
left out by a ``--min-size`` that reaches the missed-object limit) says why and is not counted as held.
Qt-free; nothing is computed here beyond comparing the score document's numbers.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from app.errors import InputError
from app.object_text import two_dimensional
from app.score_document import CaseScore

LISTED = 5
"""Failing classes or objects named per criterion; the rest are counted."""


@dataclass(frozen=True)
class VerdictCriteria:
    """The limits of the verdict."""

    min_mean_dice: float = 0.80
    max_hd95_mm: float = 10.0
    max_volume_difference_percent: float = 20.0
    max_missed_object_ml: float = 0.1


@dataclass(frozen=True)
class CriterionCheck:
    """One criterion: its statement, whether it holds (None: not checked) and what was found."""

    statement: str
    holds: bool | None
    finding: str

    @property
    def mark(self) -> str:
        """``"pass"``, ``"FAIL"`` or ``"not checked"``."""
        return {True: "pass", False: "FAIL", None: "not checked"}[self.holds]


@dataclass(frozen=True)
class Verdict:
    """The checked criteria of one case; the first is the mean foreground Dice."""

    checks: tuple[CriterionCheck, ...]

    @property
    def passes(self) -> bool:
        """True when every criterion was checked and holds."""
        return all(check.holds is True for check in self.checks)

    @property
    def sentence(self) -> str:
        """One line: fails (naming the failed criteria), no verdict (the mean Dice is undefined), meets all,
        or meets those checked."""
        failed = [c.statement for c in self.checks if c.holds is False]
        unchecked = [c.statement for c in self.checks if c.holds is None]
        total = len(self.checks)
        if failed:
            return f"Fails {len(failed)} of {total} criteria: " + "; ".join(failed) + "."
        if self.checks[0].holds is None:
            return f"No verdict: {self.checks[0].finding}."
        if unchecked:
            return (f"Meets the {total - len(unchecked)} criteria checked; not checked: "
                    + "; ".join(unchecked) + ".")
        return f"Meets all {total} criteria."


def evaluate_verdict(score: CaseScore, criteria: VerdictCriteria) -> Verdict:
    """Check every criterion of ``criteria`` against ``score``."""
    return Verdict((_mean_dice(score, criteria), _hd95(score, criteria), _volumes(score, criteria),
                    _missed_objects(score, criteria)))


def _mean_dice(score: CaseScore, criteria: VerdictCriteria) -> CriterionCheck:
    statement = f"mean foreground Dice \u2265 {criteria.min_mean_dice:.2f}"
    value = score.dice_mean_foreground
    if value is None:
        return CriterionCheck(statement, None, "no foreground class has a defined Dice")
    return CriterionCheck(statement, value >= criteria.min_mean_dice, f"mean foreground Dice {value:.3f}")


def _hd95(score: CaseScore, criteria: VerdictCriteria) -> CriterionCheck:
    statement = f"HD95 \u2264 {criteria.max_hd95_mm:g} mm for every class"
    if not score.has_distances:
        return CriterionCheck(statement, None, "surface distances not computed")
    values = [(c.name, c.distances.hausdorff95_mm) for c in score.classes[1:]
              if c.distances is not None and c.distances.hausdorff95_mm is not None]
    if not values:
        return CriterionCheck(statement, None, "HD95 undefined for every class (absent from a mask)")
    over = sorted((v for v in values if v[1] > criteria.max_hd95_mm), key=lambda v: -v[1])
    if not over:
        return CriterionCheck(statement, True, f"largest HD95 {max(v for _, v in values):.1f} mm")
    return CriterionCheck(statement, False, _listed([f"{name} {value:.1f} mm" for name, value in over]))


def _volumes(score: CaseScore, criteria: VerdictCriteria) -> CriterionCheck:
    statement = f"|volume difference| \u2264 {criteria.max_volume_difference_percent:g} % for every class"
    found = []
    for entry in score.classes[1:]:
        if not entry.gt_voxels and not entry.pred_voxels:
            continue
        if not entry.gt_voxels:
            found.append((math.inf, f"{entry.name} predicted but absent from the ground truth"))
            continue
        percent = 100.0 * (entry.pred_voxels - entry.gt_voxels) / entry.gt_voxels
        found.append((abs(percent), f"{entry.name} {percent:+.1f} %"))
    if not found:
        return CriterionCheck(statement, None, "no foreground class in either mask")
    over = sorted((f for f in found if f[0] > criteria.max_volume_difference_percent), key=lambda f: -f[0])
    if not over:
        return CriterionCheck(statement, True, f"largest {max(f[0] for f in found):.1f} %")
    return CriterionCheck(statement, False, _listed([text for _, text in over]))


def _missed_objects(score: CaseScore, criteria: VerdictCriteria) -> CriterionCheck:
    limit = criteria.max_missed_object_ml
    statement = f"no missed object \u2265 {limit:g} mL"
    if score.objects is None:
        return CriterionCheck(statement, None, "objects not counted")
    missed = [(item.volume_ml, entry.name, item) for entry in score.objects.classes for item in entry.missed]
    if any(volume is None for volume, _, _ in missed):
        return CriterionCheck(statement, None, "the image has no physical pixel size")
    large = sorted((m for m in missed if m[0] >= limit), key=lambda m: -m[0])
    if large:
        flat = two_dimensional(score.geometry)   # a 2D image: no slice to name
        return CriterionCheck(statement, False, _listed([
            f"{name} {volume:.3f} mL" + ("" if flat else f" at slice z {item.key_slice_zyx[0]}")
            for volume, name, item in large]))
    unseen = _left_out_at_limit(score.objects, limit)
    if unseen:
        return CriterionCheck(statement, None, unseen)
    return CriterionCheck(statement, True, f"{len(missed)} missed object(s), all smaller" if missed
                          else "no missed object")


def _left_out_at_limit(objects, limit: float) -> str | None:
    """Why ground-truth objects left out by the size limit (``--min-size``) may hide a missed object of ``limit``
    mL or more, or None when none could."""
    left_out = sum(entry.gt_left_out for entry in objects.classes)
    largest = objects.largest_left_out_ml
    if not left_out or (largest is not None and largest < limit):
        return None
    size = f"{objects.min_size_voxels} voxels" if largest is None else \
        f"{largest + objects.voxel_ml:.3g} mL ({objects.min_size_voxels} voxels)"
    return (f"{left_out} ground-truth object(s) under the size limit of {size} were left out of the object counts, "
            f"so a missed object of {limit:g} mL or more may not be seen; lower --min-size to check it")


def _listed(texts: list[str]) -> str:
    more = len(texts) - LISTED
    return ", ".join(texts[:LISTED]) + (f" and {more} more" if more > 0 else "")


def add_verdict_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the verdict criteria options (``--verdict-dice``, ``--verdict-hd95``, ``--verdict-volume``,
    ``--verdict-missed-ml``), defaults of :class:`VerdictCriteria`."""
    defaults = VerdictCriteria()
    parser.add_argument("--verdict-dice", type=float, default=defaults.min_mean_dice, metavar="D",
                        help=f"verdict: mean foreground Dice must be >= D (default {defaults.min_mean_dice:g})")
    parser.add_argument("--verdict-hd95", type=float, default=defaults.max_hd95_mm, metavar="MM",
                        help=f"verdict: HD95 of every class must be <= MM (default {defaults.max_hd95_mm:g})")
    parser.add_argument("--verdict-volume", type=float, default=defaults.max_volume_difference_percent,
                        metavar="PCT", help="verdict: |volume difference| of every class must be <= PCT percent "
                                            f"(default {defaults.max_volume_difference_percent:g})")
    parser.add_argument("--verdict-missed-ml", type=float, default=defaults.max_missed_object_ml, metavar="ML",
                        help="verdict: no missed object (lesion) of ML millilitres or more "
                             f"(default {defaults.max_missed_object_ml:g})")


def verdict_criteria(args: argparse.Namespace) -> VerdictCriteria:
    """The criteria of the parsed arguments.

    Raises
    ------
    InputError
        A Dice limit outside [0, 1] or a distance, percentage or volume that is not a number >= 0.
    """
    criteria = VerdictCriteria(args.verdict_dice, args.verdict_hd95, args.verdict_volume, args.verdict_missed_ml)
    if not 0.0 <= criteria.min_mean_dice <= 1.0:
        raise InputError(f"--verdict-dice must be a Dice value between 0 and 1, got {args.verdict_dice}.")
    for option, value in (("--verdict-hd95", criteria.max_hd95_mm),
                          ("--verdict-volume", criteria.max_volume_difference_percent),
                          ("--verdict-missed-ml", criteria.max_missed_object_ml)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"{option} must be a number >= 0, got {value}.")
    return criteria
