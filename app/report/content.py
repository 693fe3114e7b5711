"""A case report as plain data: what the PDF shows, decided without Qt.

:func:`build_case_report` turns a loaded case and its score document (a
:class:`~app.score_document.CaseScore`, made by :func:`app.scoring.score_case`) into a :class:`CaseReport`.
Nothing here computes an overlap metric: every Dice, count and volume comes from the score
document or from :mod:`dice_engine` (per-slice results, see :mod:`app.report.keyslices`); this module
only selects, orders and words them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app import __version__
from app.io import READABLE_ENDINGS
from app.object_document import CaseObjects
from app.object_text import CONVENTIONS_TEXT as OBJECT_CONVENTIONS
from app.report.confusion_figure import ConfusionFigure, confusion_figure
from app.report.keyslices import KeySlice, SliceSeries
from app.report.provenance import ScoredMask
from app.report.selection import KeySliceChoice
from app.report.soft_content import SoftSection
from app.report.verdict import Verdict, VerdictCriteria, evaluate_verdict
from app.score_document import CaseScore, ClassScore, DistanceMeans

DEFAULT_THRESHOLD = 0.80
SHA256_SHORT = 12
# The verdict names at most this many failing classes (worst first); the table shades them all.
VERDICT_MAX_LISTED = 10

CONVENTIONS = (
    "Dice = 2TP / (2TP + FP + FN) per class, over voxels. A class absent from both the ground truth and "
    "the prediction has an undefined Dice (shown as \u2014) and is left out of every mean; a class absent "
    "from the ground truth but predicted scores 0. The headline is the mean over foreground classes "
    "(background, label 0, excluded) with a defined Dice. Volumes are voxel counts \u00d7 voxel volume "
    "(1 ml = 1000 mm\u00b3). This is a quality-assurance comparison of two segmentations, not a diagnosis."
)
DISTANCE_CONVENTIONS = (
    "Surface distances (MONAI's definitions), in mm between the centres of surface voxels (voxels of a class "
    "with a face neighbour outside it), with the image spacing: HD95 = the larger of the two directed 95th "
    "percentiles of surface distances (ground truth to prediction, prediction to ground truth); ASSD = the "
    "mean of both directions' surface distances pooled. Undefined (\u2014) when the class is absent from "
    "the ground truth or from the prediction (never 0, which would read as a perfect boundary); not "
    "computed for the background. Means are over the foreground classes where they are defined."
)


@dataclass(frozen=True)
class InputLine:
    """One input file in the header: ``role`` ("ground truth", ...), file name, short sha256."""

    role: str
    name: str
    sha256_short: str


@dataclass(frozen=True)
class Header:
    """Who, what, when and with what the report was made."""

    case_name: str
    inputs: tuple[InputLine, ...]
    created: str
    reviewer: str
    version: str
    device: str
    geometry_text: str
    dicom_fields: tuple[tuple[str, str], ...] = ()
    """Identifying DICOM header fields (``("Patient ID", ...)``...); empty unless the caller asks for them."""


@dataclass(frozen=True)
class Summary:
    """The headline and the QA verdict.

    Attributes
    ----------
    dice_mean_foreground : float or None
        Mean Dice over foreground classes with a defined Dice (None when there is none).
    n_foreground_defined, n_undefined : int
        Foreground classes in the mean; classes left out because their Dice is undefined.
    distances_mean_foreground : DistanceMeans or None
        The score's ``distances_mean_foreground`` (``hausdorff95_mm``, ``assd_mm``..., ``n_defined``,
        ``n_undefined``) when it was scored with surface distances.
    threshold : float
        The Dice every foreground class must reach.
    below_threshold : tuple of str
        ``"name (0.712)"`` for each foreground class below the threshold, worst first.
    meets_threshold : bool
        True when every foreground class with a defined Dice reaches the threshold.
    criteria : Verdict or None
        The verdict's stated criteria, checked (:mod:`app.report.verdict`); when given, the verdict is
        theirs and the threshold only shades the table.
    """

    dice_mean_foreground: float | None
    dice_micro_foreground: float | None
    dice_loss_hard: float | None
    n_foreground_defined: int
    n_undefined: int
    threshold: float
    below_threshold: tuple[str, ...]
    meets_threshold: bool
    distances_mean_foreground: DistanceMeans | None = None
    criteria: Verdict | None = None

    @property
    def passes(self) -> bool:
        """Whether the verdict is a pass: every criterion holds, or (without criteria) the threshold is met."""
        return self.criteria.passes if self.criteria is not None else self.meets_threshold

    @property
    def verdict(self) -> str:
        """The verdict sentence, worded as a QA check against the criteria or threshold, not as a diagnosis."""
        if self.criteria is not None:
            return self.criteria.sentence
        limit = f"{self.threshold:.2f}"
        if self.n_foreground_defined == 0:
            return f"No verdict: no foreground class has a defined Dice (threshold {limit})."
        if self.meets_threshold:
            return f"Meets threshold: every foreground class has Dice \u2265 {limit}."
        listed = self.below_threshold[:VERDICT_MAX_LISTED]
        more = len(self.below_threshold) - len(listed)
        tail = f", and {more} more (shaded in the table)" if more else ""
        count = len(self.below_threshold)
        plural = "class" if count == 1 else "classes"
        return f"Below threshold ({limit}) for {count} {plural}: " + ", ".join(listed) + tail + "."


@dataclass(frozen=True)
class ClassRow:
    """One row of the per-class table (None = undefined, drawn as an em dash)."""

    index: int
    name: str
    color: tuple[int, int, int]
    dice: float | None
    iou: float | None
    gt_volume_ml: float | None
    pred_volume_ml: float | None
    volume_difference_percent: float | None
    fp: int
    fn: int
    below_threshold: bool
    hausdorff95_mm: float | None = None
    assd_mm: float | None = None


@dataclass(frozen=True)
class EditRecord:
    """One entry of the review's edit list, as the GUI passes it in (:mod:`app.report.review`).

    Attributes
    ----------
    mask : str
        ``"pred"`` or ``"gt"``: which mask was edited.
    voxels_changed : int
        Voxels whose label changed.
    dice_before, dice_after : float or None
        Mean foreground Dice before and after the edit (None when undefined or not known).
    description : str
        What was done, e.g. ``"brush, label 3 liver, slice 41"`` (drawn as plain text).
    kind : str
        ``"edit"``, ``"undo"``, ``"redo"``, ``"recovered"`` (replayed from a crash journal of an
        earlier session), ``"saved"`` (the mask was written; ``description`` names the file) or
        ``"unsaved"`` (closing entry: the mask had unsaved edits when the report was made).
    """

    mask: str
    voxels_changed: int
    dice_before: float | None
    dice_after: float | None
    description: str = ""
    kind: str = "edit"


@dataclass(frozen=True)
class CaseReport:
    """Everything a case report shows, in reading order."""

    header: Header
    summary: Summary
    rows: tuple[ClassRow, ...]
    confusion: ConfusionFigure
    slice_series: SliceSeries | None
    key_slices: tuple[KeySlice, ...]
    edits: tuple[EditRecord, ...] = ()
    notes: str = ""
    messages: tuple[str, ...] = ()
    conventions: str = CONVENTIONS
    has_distances: bool = False
    key_slice_choice: KeySliceChoice | None = None
    masks: tuple[ScoredMask, ...] = ()
    soft: SoftSection | None = None
    objects: CaseObjects | None = None
    """The score's object counts, missed and false objects (drawn as the object table)."""
    object_slices: tuple[KeySlice, ...] = ()
    """Snapshots of the largest missed and false objects (:mod:`app.report.object_slices`)."""

    def mask(self, which: str) -> ScoredMask | None:
        """The scored ``"gt"`` or ``"pred"`` mask's checksum and edit state (None when not given)."""
        return next((mask for mask in self.masks if mask.which == which), None)

    @property
    def edit_statement(self) -> str:
        """Which masks were edited during the review and whether the edits are saved ("" when none)."""
        parts = [f"the {_MASK_NAMES[m.which]} ({m.edit_state})" for m in self.masks if m.edit_state]
        if not parts:
            return ""
        text = "Edited during this review: " + " and ".join(parts) + ". The scores compare the masks as edited."
        if any(m.unsaved for m in self.masks):
            text += " Unsaved masks are identified by the checksum of the scored array, not by a file."
        return text


def build_case_report(score: CaseScore, *, case_name: str, labels, key_slices: Sequence[KeySlice] = (),
                      slice_series: SliceSeries | None = None, reviewer: str = "", notes: str = "",
                      threshold: float = DEFAULT_THRESHOLD, edits: Sequence[EditRecord] = (),
                      device: str = "", messages: Sequence[str] = (),
                      created: _dt.datetime | None = None,
                      key_slice_choice: KeySliceChoice | None = None,
                      masks: Sequence[ScoredMask] = (),
                      dicom_fields: Sequence[tuple[str, str]] = (),
                      criteria: VerdictCriteria | None = None,
                      object_slices: Sequence[KeySlice] = ()) -> CaseReport:
    """Assemble a :class:`CaseReport` from a score document and the per-slice selections.

    Parameters
    ----------
    score : CaseScore
        The score document of the case (undefined values are None).
    case_name : str
        Name shown as the report's title.
    labels : app.io.LabelTable
        Supplies class colours (names come from ``score``).
    key_slices, slice_series
        From :func:`app.report.keyslices.key_slices_for_case` / ``slice_series_for_case``.
    threshold : float
        Dice every foreground class must reach for "meets threshold"; in [0, 1].
    edits : sequence of EditRecord
        Review edits, when exported from the GUI.
    key_slice_choice : KeySliceChoice, optional
        Which classes have key slices and why (:func:`app.report.selection.choose_key_slice_classes`).
    masks : sequence of ScoredMask
        Checksums and edit state of the scored arrays (:func:`app.report.provenance.scored_masks`).
    dicom_fields : sequence of (str, str)
        Patient ID / study date / series description to print (:func:`app.io.dicom_objects.dicom_header_fields`);
        empty (the default, and always in batch reports) prints none.
    criteria : VerdictCriteria, optional
        The verdict's criteria (:mod:`app.report.verdict`); without them the verdict compares each
        foreground class's Dice with ``threshold``.
    object_slices : sequence of KeySlice
        Snapshots of missed and false objects (:func:`app.report.object_slices.object_key_slices`).
    """
    rows = class_rows(score, labels, threshold)
    classes = score.classes
    has_distances = score.distances_mean_foreground is not None
    created = created or _dt.datetime.now().astimezone()
    header = Header(
        case_name=case_name,
        inputs=_input_lines(score.inputs),
        created=created.strftime("%Y-%m-%d %H:%M %Z").strip(),
        reviewer=reviewer.strip(),
        version=__version__,
        device=device,
        geometry_text=_geometry_text(score.geometry),
        dicom_fields=tuple(dicom_fields),
    )
    summary = _summary(score, rows, threshold)
    if criteria is not None:
        summary = replace(summary, criteria=evaluate_verdict(score, criteria))
    return CaseReport(
        header=header,
        summary=summary,
        rows=rows,
        confusion=confusion_figure(score.confusion_matrix, [c.name for c in classes]),
        slice_series=slice_series,
        key_slices=tuple(key_slices),
        edits=tuple(edits),
        notes=notes,
        messages=tuple(messages),
        conventions=CONVENTIONS + (" " + DISTANCE_CONVENTIONS if has_distances else "")
        + (" " + OBJECT_CONVENTIONS if score.objects is not None else ""),
        has_distances=has_distances,
        key_slice_choice=key_slice_choice,
        masks=tuple(masks),
        objects=score.objects,
        object_slices=tuple(object_slices),
    )


def class_rows(score: CaseScore, labels, threshold: float = DEFAULT_THRESHOLD) -> tuple[ClassRow, ...]:
    """The per-class table rows of a score document (``labels`` supplies colours; ``threshold`` in [0, 1])."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    return tuple(_class_row(entry, labels, threshold) for entry in score.classes)


def case_name_from_path(path: str | Path) -> str:
    """A case name from a file or directory name without its image extension(s)."""
    name = Path(path).name
    for suffix in READABLE_ENDINGS:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _class_row(entry: ClassScore, labels, threshold: float) -> ClassRow:
    index = int(entry.index)
    dice = entry.dice
    return ClassRow(
        index=index,
        name=str(entry.name or f"label {index}"),
        color=tuple(labels.color(index)),
        dice=dice,
        iou=entry.iou,
        gt_volume_ml=entry.gt_volume_ml,
        pred_volume_ml=entry.pred_volume_ml,
        volume_difference_percent=_volume_difference_percent(entry),
        fp=int(entry.fp),
        fn=int(entry.fn),
        below_threshold=index != 0 and dice is not None and dice < threshold,
        hausdorff95_mm=entry.distances.hausdorff95_mm if entry.distances else None,
        assd_mm=entry.distances.assd_mm if entry.distances else None,
    )


def _volume_difference_percent(entry: ClassScore) -> float | None:
    """Predicted minus GT volume as a percentage of the GT volume (None when the GT volume is 0)."""
    difference, gt_volume = entry.volume_difference_ml, entry.gt_volume_ml
    if difference is None or not gt_volume:
        return None
    return 100.0 * difference / gt_volume


def _summary(score: CaseScore, rows: Sequence[ClassRow], threshold: float) -> Summary:
    foreground = [row for row in rows if row.index != 0 and row.dice is not None]
    below = sorted((row for row in foreground if row.dice < threshold), key=lambda row: row.dice)
    undefined = [index for index in score.undefined_classes if index != 0]
    return Summary(
        dice_mean_foreground=score.dice_mean_foreground,
        dice_micro_foreground=score.dice_micro_foreground,
        dice_loss_hard=score.dice_loss.hard,
        n_foreground_defined=len(foreground),
        n_undefined=len(undefined),
        threshold=threshold,
        below_threshold=tuple(f"{row.name} ({row.dice:.3f})" for row in below),
        meets_threshold=bool(foreground) and not below,
        distances_mean_foreground=score.distances_mean_foreground,
    )


_MASK_NAMES = {"gt": "ground truth", "pred": "prediction"}
_ROLE_NAMES = {"image": "image", "gt": "ground truth", "pred": "prediction", "labels": "label table",
               "scores": "class scores", "probs": "probabilities", "logits": "logits"}


def _input_lines(inputs: dict) -> tuple[InputLine, ...]:
    lines = []
    for role, info in inputs.items():
        if not info:
            continue
        path = info.get("path", "") if isinstance(info, dict) else str(info)
        sha = (info.get("sha256") or "") if isinstance(info, dict) else ""
        lines.append(InputLine(_ROLE_NAMES.get(role, role), Path(path).name or str(path), sha[:SHA256_SHORT]))
    order = list(_ROLE_NAMES.values())
    return tuple(sorted(lines, key=lambda line: order.index(line.role) if line.role in order else 99))


def _geometry_text(geometry: dict) -> str:
    size, spacing = geometry.get("size"), geometry.get("spacing")
    if not size or not spacing:
        return ""
    return (" \u00d7 ".join(str(int(v)) for v in size) + " voxels, spacing "
            + " \u00d7 ".join(f"{float(v):.3g}" for v in spacing) + " mm")
