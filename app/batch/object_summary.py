"""Object counts in the dataset outputs of ``batch --objects``: metrics.csv cells and summary.json totals
(which summary.pdf shows, :mod:`app.report.dataset_pdf_objects`).

The per-case counts are the score documents' ``objects`` blocks (:mod:`app.object_scoring`); this module
only adds them up over cases. Definitions: docs/architecture.md §5, "Objects".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.object_document import CSV_COLUMNS
from app.object_text import definition_line

OBJECT_SUMMARY_CONVENTIONS = {
    "objects": "per class over the cases: tp, fp (false objects) and fn (missed objects) summed; f1_pooled = "
               "2Σtp/(2Σtp+Σfp+Σfn); f1 statistics over the cases where the class's F1 is defined (worst = lowest); "
               "cases_with_missed = cases with at least one missed object of the class",
    "objects_pooled": "precision_pooled = Σtp/(Σtp+Σfp), recall_pooled = Σtp/(Σtp+Σfn), pq_pooled = Σ(matched "
                      "IoU)/(Σtp+Σfp/2+Σfn/2) with each case's matched IoU sum = sq × tp; pq statistics over the "
                      "cases where the class's PQ is defined (worst = lowest); null when a denominator is 0",
    "objects_definitions": "the distinct object definitions of the cases (one unless a size limit in mL gives "
                           "different voxel counts)",
    "per_case_objects": "objects_missed / objects_false of each case: missed and false objects of all its classes",
}


def object_cells(result: dict, index: int) -> list:
    """The :data:`~app.object_document.CSV_COLUMNS` cells of one case and class (empty when not scored)."""
    objects = result["score"].objects
    entry = None if objects is None else objects.entry(index)
    if entry is None:
        return [""] * len(CSV_COLUMNS)
    return [entry.tp, entry.fp, entry.fn, "" if entry.f1 is None else entry.f1]


def add_object_summary(document: dict, results: Sequence[dict]) -> None:
    """Add each class's ``objects`` totals, each case's missed and false counts, and their conventions."""
    for class_entry in document["classes"]:
        entries = [(result["case"], result["score"].objects.entry(class_entry["index"])) for result in results
                   if result["score"].objects is not None]
        entries = [(case, entry) for case, entry in entries if entry is not None]
        if not entries:
            continue
        tp, fp, fn = (sum(getattr(entry, key) for _, entry in entries) for key in ("tp", "fp", "fn"))
        f1 = [(entry.f1, case) for case, entry in entries if entry.f1 is not None]
        matched_iou = sum(entry.sq * entry.tp for _, entry in entries if entry.tp)
        class_entry["objects"] = {
            "cases": len(entries), "tp": tp, "fp": fp, "fn": fn,
            "f1_pooled": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
            "f1": _statistics(f1),
            "cases_with_missed": sum(1 for _, entry in entries if entry.fn > 0),
            "precision_pooled": tp / (tp + fp) if tp + fp else None,
            "recall_pooled": tp / (tp + fn) if tp + fn else None,
            "pq_pooled": matched_iou / (tp + fp / 2 + fn / 2) if tp + fp + fn else None,
            "pq": _statistics([(entry.pq, case) for case, entry in entries if entry.pq is not None]),
        }
    by_case = {result["case"]: result["score"].objects for result in results}
    for row in document["cases"]:
        objects = by_case.get(row["case"])
        row["objects_missed"] = None if objects is None else sum(entry.fn for entry in objects.classes)
        row["objects_false"] = None if objects is None else sum(entry.fp for entry in objects.classes)
    document["objects_definitions"] = sorted({definition_line(result["score"].objects).removesuffix(":")
                                              for result in results if result["score"].objects is not None})
    document["conventions"] = {**document["conventions"], **OBJECT_SUMMARY_CONVENTIONS}


def _statistics(pairs: list[tuple[float, str]]) -> dict:
    """Mean, median, std (ddof 0), the lowest value and its case (first by name on ties); None when empty."""
    if not pairs:
        return {"mean": None, "median": None, "std": None, "worst": None, "worst_case": None}
    values = np.array([value for value, _ in pairs], dtype=np.float64)
    worst_value, worst_case = min(pairs, key=lambda pair: (pair[0], pair[1]))
    return {"mean": float(values.mean()), "median": float(np.median(values)), "std": float(values.std()),
            "worst": float(worst_value), "worst_case": worst_case}
