"""One call from a loaded case and its score document to a :class:`~app.report.content.CaseReport`
(Qt-free; the command line, the batch and the GUI's export dialog all use it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.report.content import DEFAULT_THRESHOLD, CaseReport, EditRecord, build_case_report, class_rows
from app.report.keyslices import key_slices_for_case, per_slice_results, slice_series
from app.report.object_slices import object_key_slices
from app.report.provenance import ARRAY_HASH_VERSION, scored_masks
from app.report.selection import choose_key_slice_classes
from app.report.verdict import VerdictCriteria
from app.score_document import CaseScore


def make_case_report(case, score: CaseScore, *, case_name: str, reviewer: str = "", notes: str = "",
                     threshold: float = DEFAULT_THRESHOLD, edits: Sequence[EditRecord] = (),
                     device=None, ignore_index: int | None = None,
                     hd95_limit_mm: float | None = None,
                     dicom_fields: Sequence[tuple[str, str]] = (),
                     criteria: VerdictCriteria | None = None) -> CaseReport:
    """Build the report of ``case`` scored as ``score``.

    Parameters
    ----------
    case : app.io.Case
        The loaded case (``gt``, ``pred``, ``image``, ``geometry``, ``labels``, ``num_classes``,
        ``messages``).
    score : CaseScore
        Its score document (:func:`app.scoring.score_case`).
    device : str or torch.device, optional
        Compute device for the per-slice results (default: the engine's choice).
    ignore_index : int, optional
        The ground-truth value that was excluded when scoring, if any.
    hd95_limit_mm : float, optional
        Classes whose HD95 exceeds it get key slices too (see :mod:`app.report.selection`).
    dicom_fields : sequence of (str, str)
        Identifying DICOM header fields to print (``dicelens report`` without ``--deidentify``); none by default.
    criteria : VerdictCriteria, optional
        The verdict's criteria (:mod:`app.report.verdict`); None: the per-class Dice threshold verdict.
    """
    classes = score.classes
    if len(classes) != case.num_classes:
        raise ValueError(f"the score document has {len(classes)} classes but the case has {case.num_classes}")
    names = [entry.name for entry in classes]
    results = per_slice_results(case.gt, case.pred, case.num_classes, device=device,
                                ignore_index=ignore_index)
    series = slice_series(results, [entry.dice for entry in classes], names,
                          [case.labels.color(i) for i in range(case.num_classes)])
    choice = choose_key_slice_classes(class_rows(score, case.labels, threshold), results.counts.sum(axis=0),
                                      threshold, hd95_limit_mm)
    return build_case_report(
        score,
        case_name=case_name,
        labels=case.labels,
        key_slices=key_slices_for_case(case, results, names, choice.classes),
        key_slice_choice=choice,
        masks=scored_masks(case, edits),
        slice_series=series,
        reviewer=reviewer,
        notes=notes,
        threshold=threshold,
        edits=edits,
        device=results.device,
        messages=tuple(getattr(case, "messages", ()) or ()),
        dicom_fields=dicom_fields,
        criteria=criteria,
        object_slices=object_key_slices(case, score.objects),
    )


def report_document(report: CaseReport, score: CaseScore, pdf_path: str | Path | None = None) -> dict:
    """The report as JSON-ready data: what the PDF states (verdict, key slices...) plus the score.

    Returns
    -------
    dict
        ``{"report": {...}, "score": score.to_json()}``; undefined values are None.
    """
    summary, choice = report.summary, report.key_slice_choice
    return {
        "report": {
            "case": report.header.case_name,
            "pdf": None if pdf_path is None else str(pdf_path),
            "created": report.header.created,
            "reviewer": report.header.reviewer,
            **({"dicom": dict(report.header.dicom_fields)} if report.header.dicom_fields else {}),
            "notes": report.notes,
            "dicelens_version": report.header.version,
            "device": report.header.device,
            "threshold": summary.threshold,
            "meets_threshold": summary.meets_threshold,
            "verdict": summary.verdict,
            **({"passes": summary.passes,
                "criteria": [{"statement": c.statement, "holds": c.holds, "finding": c.finding}
                             for c in summary.criteria.checks]} if summary.criteria is not None else {}),
            "object_slices": [{"index": k.class_index, "name": k.class_name, "kind": k.kinds[0], "axis": "z",
                               "plane": k.plane, "slice": k.slice_index} for k in report.object_slices],
            "below_threshold": [{"index": row.index, "name": row.name, "dice": row.dice}
                                for row in report.rows if row.below_threshold],
            "key_slices": [{"index": k.class_index, "name": k.class_name, "axis": "z",
                            "plane": k.plane, "slice": k.slice_index, "kinds": list(k.kinds), "dice": k.dice,
                            "fp": k.fp, "fn": k.fn} for k in report.key_slices],
            "key_slice_classes": None if choice is None else {
                "classes": list(choice.classes), "failing": choice.failing,
                "reasons": {str(index): list(why) for index, why in choice.reasons.items()},
                "hd95_limit_mm": choice.hd95_limit_mm, "explanation": choice.explanation},
            "edits": [{"mask": e.mask, "kind": e.kind, "voxels_changed": e.voxels_changed,
                       "dice_before": e.dice_before, "dice_after": e.dice_after, "description": e.description}
                      for e in report.edits],
            "masks": [{"mask": m.which, "array_sha256": m.array_sha256, "array_hash": ARRAY_HASH_VERSION,
                       "dtype": m.dtype, "shape": list(m.shape), "edited": m.edited, "unsaved": m.unsaved}
                      for m in report.masks],
        },
        "score": score.to_json(),
    }
