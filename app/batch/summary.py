"""Dataset outputs built from the per-case score documents: metrics.csv, summary.json, errors.csv.

The per-case numbers are the score documents' (from :mod:`dice_engine` via :mod:`app.scoring`);
this module only tabulates them and takes order statistics over cases (mean, median, std, min).
``results`` are the cases' stored results as :func:`app.batch.worker.load_case_result` returns them:
``{"case", "files", "report", "score"}`` with ``score`` a :class:`~app.score_document.CaseScore`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app import __version__
from app.batch.object_summary import add_object_summary, object_cells
from app.csv_cells import safe_row
from app.object_document import CSV_COLUMNS as OBJECT_COLUMNS
from app.score_document import ClassScore

METRICS_COLUMNS = ("case", "index", "name", "dice", "iou", "precision", "recall", "tp", "fp", "fn",
                   "gt_volume_ml", "pred_volume_ml")
SOFT_COLUMNS = ("soft_dice", "soft_dice_loss")
"""With ``--probs-dir``: appended last, the class's soft Dice and soft Dice loss (empty without a model output)."""
DISTANCE_COLUMNS = ("hausdorff_mm", "hausdorff95_mm", "hausdorff95_pooled_mm", "assd_mm")
"""With ``--distances``: appended to :data:`METRICS_COLUMNS`, then one ``nsd_<tolerance>`` column each."""
ERRORS_COLUMNS = ("case", "gt", "pred", "message")
SUMMARY_CONVENTIONS = {
    "per_class": "statistics over the cases in which the class's Dice is defined (present in the ground "
                 "truth or the prediction); cases where it is undefined are left out and counted in "
                 "cases_undefined",
    "std": "population standard deviation (ddof = 0)",
    "worst_case": "the case with the lowest Dice (first by name on ties)",
    "per_case": "dice_mean_foreground of each case: mean of its defined foreground per-class Dice",
}
DISTANCE_SUMMARY_CONVENTIONS = {
    "per_class_distances": "hausdorff95_mm, assd_mm and nsd statistics over the cases in which the class's "
                           "surface distances are defined (the class in both masks); worst_case is the case "
                           "with the largest distance or the lowest NSD",
    "per_case_distances": "hausdorff95_mean_foreground_mm / assd_mean_foreground_mm of each case: mean over "
                          "its foreground classes with defined distances",
    "surface_distances": "definitions as in each case's score conventions (MONAI's): HD95 = larger of the two "
                         "directed 95th percentiles of surface distances, ASSD = mean of both directions' "
                         "surface distances pooled, in mm",
}


@dataclass(frozen=True)
class ClassStatistics:
    """Dice of one class over the dataset (None where no case defines it)."""

    index: int
    name: str
    cases_defined: int
    cases_undefined: int
    mean: float | None
    median: float | None
    std: float | None
    minimum: float | None
    worst_case: str | None
    quartiles: tuple[float, float, float, float, float] | None  # min, Q1, median, Q3, max (box plot)


def metrics_csv(results: Sequence[dict], nsd_tolerances: Sequence[float] | None = None, soft: bool = False,
                objects: bool = False) -> str:
    """One row per case and class with :data:`METRICS_COLUMNS`; empty cells for undefined values.

    With ``nsd_tolerances`` (a ``--distances`` run), :data:`DISTANCE_COLUMNS` and ``nsd_<tolerance>``
    columns follow, read from the score documents (which hold them at those tolerances). With ``soft``
    (a ``--probs-dir`` run), :data:`SOFT_COLUMNS` follow; with ``objects`` (a ``--objects`` run) the object
    columns ``objects_tp, objects_fp, objects_fn, objects_f1`` come last.
    """
    keys = [str(float(t)) for t in nsd_tolerances] if nsd_tolerances is not None else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = METRICS_COLUMNS if keys is None else (*METRICS_COLUMNS, *DISTANCE_COLUMNS, *(f"nsd_{key}" for key in keys))
    writer.writerow((*header, *(SOFT_COLUMNS if soft else ()), *(OBJECT_COLUMNS if objects else ())))
    for result in results:
        for entry in (c.to_json() for c in result["score"].classes):
            values = [entry[key] for key in METRICS_COLUMNS[1:]]
            if keys is not None:
                values += [entry[key] for key in DISTANCE_COLUMNS] + [entry["nsd"][key] for key in keys]
            if soft:
                values += list(_soft_values(result["score"], entry["index"]))
            if objects:
                values += object_cells(result, entry["index"])
            writer.writerow(safe_row([result["case"], *("" if value is None else value for value in values)]))
    return buffer.getvalue()


def _soft_values(score, index: int) -> tuple[float | None, float | None]:
    """``(soft Dice, soft Dice loss)`` of a class in a score document; None without model output."""
    if score.soft is None:
        return None, None
    return next(((dice, loss) for i, dice, loss in score.soft.classes if i == index), (None, None))


def errors_csv(failures: Sequence[tuple[str, str, str, str]]) -> str:
    """``case,gt,pred,message`` rows for the cases that could not be scored."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ERRORS_COLUMNS)
    writer.writerows(safe_row(failure) for failure in failures)
    return buffer.getvalue()


def class_statistics(results: Sequence[dict]) -> list[ClassStatistics]:
    """Per-class Dice statistics over the cases, for every class index any case has."""
    names: dict[int, str] = {}
    values: dict[int, list[tuple[float, str]]] = {}
    for result in results:
        for entry in result["score"].classes:
            index = int(entry.index)
            names.setdefault(index, entry.name)
            values.setdefault(index, [])
            if entry.dice is not None:
                values[index].append((float(entry.dice), result["case"]))
    return [_statistics(index, names[index], values[index], len(results) - len(values[index]))
            for index in sorted(names)]


def _statistics(index: int, name: str, pairs: list[tuple[float, str]], undefined: int) -> ClassStatistics:
    if not pairs:
        return ClassStatistics(index, name, 0, undefined, None, None, None, None, None, None)
    dice = np.array([value for value, _ in pairs], dtype=np.float64)
    worst_value, worst_case = min(pairs, key=lambda pair: (pair[0], pair[1]))
    quartiles = tuple(float(q) for q in np.percentile(dice, [0, 25, 50, 75, 100]))
    return ClassStatistics(index, name, len(pairs), undefined, float(dice.mean()), float(np.median(dice)),
                           float(dice.std()), float(worst_value), worst_case, quartiles)


def per_case_table(results: Sequence[dict]) -> list[dict]:
    """``[{"case", "dice_mean_foreground", "worst_class", "worst_class_dice"}, ...]`` in case order."""
    table = []
    for result in results:
        foreground = [e for e in result["score"].classes if e.index != 0 and e.dice is not None]
        worst = min(foreground, key=lambda e: e.dice) if foreground else None
        table.append({"case": result["case"], "dice_mean_foreground": result["score"].dice_mean_foreground,
                      "worst_class": None if worst is None else worst.name,
                      "worst_class_dice": None if worst is None else worst.dice})
    return table


def summary_document(results: Sequence[dict], failures: Sequence[tuple[str, str, str, str]],
                     unmatched: dict[str, list[str]], threshold: float,
                     nsd_tolerances: Sequence[float] | None = None, objects: bool = False,
                     soft: bool = False) -> dict:
    """The ``summary.json`` document (undefined values are None).

    With ``nsd_tolerances`` (a ``--distances`` run) each class also gets ``hausdorff95_mm``,
    ``assd_mm`` and ``nsd`` statistics over the cases, each case its mean foreground HD95 and ASSD,
    and the document ``distances_mean_foreground`` over the cases. With ``objects`` each class also gets
    its object totals and each case its missed and false objects (:mod:`app.batch.object_summary`). With
    ``soft`` (a ``--probs-dir`` run) each case also gets its soft Dice and soft Dice loss (foreground means;
    None without a model output) and the document ``soft_dice_loss_mean_foreground`` over the cases.
    """
    statistics = class_statistics(results)
    cases = per_case_table(results)
    means = [(c["dice_mean_foreground"], c["case"]) for c in cases if c["dice_mean_foreground"] is not None]
    document = {
        "dicelens_version": __version__,
        "cases_scored": len(results),
        "cases_failed": len(failures),
        "failed": [{"case": case, "message": message} for case, _, _, message in failures],
        "unmatched": unmatched,
        "threshold": threshold,
        "dice_mean_foreground": _overall(means),
        "classes": [{"index": s.index, "name": s.name, "cases_defined": s.cases_defined,
                     "cases_undefined": s.cases_undefined,
                     "dice": {"mean": s.mean, "median": s.median, "std": s.std, "min": s.minimum,
                              "worst_case": s.worst_case}} for s in statistics],
        "cases": cases,
        "conventions": SUMMARY_CONVENTIONS,
    }
    if nsd_tolerances is not None:
        _add_distance_summary(document, results, [str(float(t)) for t in nsd_tolerances])
    if objects:
        add_object_summary(document, results)
    if soft:
        _add_soft_summary(document, results)
    return document


def _add_soft_summary(document: dict, results: Sequence[dict]) -> None:
    """Each case's soft Dice and soft Dice loss (the loss a network trains on) and the loss over the cases."""
    by_case = {result["case"]: result["score"].soft for result in results}
    for row in document["cases"]:
        soft = by_case.get(row["case"])
        row["soft_dice_mean_foreground"] = None if soft is None else soft.soft_dice_mean_foreground
        row["soft_dice_loss_mean_foreground"] = None if soft is None else soft.soft_dice_loss_mean_foreground
    document["soft_dice_loss_mean_foreground"] = _order_statistics(
        [(row["soft_dice_loss_mean_foreground"], row["case"]) for row in document["cases"]
         if row["soft_dice_loss_mean_foreground"] is not None], worst_is_largest=True)


def _add_distance_summary(document: dict, results: Sequence[dict], nsd_keys: list[str]) -> None:
    """Per-class distance statistics over the cases, per-case means and the dataset means."""
    for entry in document["classes"]:
        index = entry["index"]
        per_case = [(result["case"], _class_entry(result, index)) for result in results]
        per_case = [(case, e.distances) for case, e in per_case
                    if e is not None and e.distances is not None and e.distances.hausdorff95_mm is not None]
        entry["cases_distances_defined"] = len(per_case)
        for key in ("hausdorff95_mm", "assd_mm"):
            entry[key] = _order_statistics([(getattr(d, key), case) for case, d in per_case], worst_is_largest=True)
        entry["nsd"] = {tolerance: _order_statistics([(d.nsd[tolerance], case) for case, d in per_case
                                                      if d.nsd[tolerance] is not None], worst_is_largest=False)
                        for tolerance in nsd_keys}
    by_case = {result["case"]: result["score"].distances_mean_foreground for result in results}
    for row in document["cases"]:
        means = by_case.get(row["case"])
        row["hausdorff95_mean_foreground_mm"] = None if means is None else means.hausdorff95_mm
        row["assd_mean_foreground_mm"] = None if means is None else means.assd_mm
    document["distances_mean_foreground"] = {
        key: _order_statistics([(row[f"{key}_mean_foreground_mm"], row["case"]) for row in document["cases"]
                                if row[f"{key}_mean_foreground_mm"] is not None], worst_is_largest=True)
        for key in ("hausdorff95", "assd")
    }
    document["conventions"] = {**document["conventions"], **DISTANCE_SUMMARY_CONVENTIONS}


def _class_entry(result: dict, index: int) -> ClassScore | None:
    classes = result["score"].classes
    return classes[index] if index < len(classes) and classes[index].index == index else None


def _order_statistics(pairs: list[tuple[float, str]], worst_is_largest: bool) -> dict:
    """Mean, median, std (ddof 0), the worst value and its case (first by name on ties); None when empty."""
    if not pairs:
        return {"mean": None, "median": None, "std": None, "worst": None, "worst_case": None}
    values = np.array([value for value, _ in pairs], dtype=np.float64)
    sign = -1.0 if worst_is_largest else 1.0
    worst_value, worst_case = min(pairs, key=lambda pair: (sign * pair[0], pair[1]))
    return {"mean": float(values.mean()), "median": float(np.median(values)), "std": float(values.std()),
            "worst": float(worst_value), "worst_case": worst_case}


def _overall(pairs: list[tuple[float, str]]) -> dict:
    """Mean, median, std, min and worst case of the per-case mean foreground Dice."""
    if not pairs:
        return {"mean": None, "median": None, "std": None, "min": None, "worst_case": None}
    values = np.array([value for value, _ in pairs], dtype=np.float64)
    worst_value, worst_case = min(pairs, key=lambda pair: (pair[0], pair[1]))
    return {"mean": float(values.mean()), "median": float(np.median(values)), "std": float(values.std()),
            "min": float(worst_value), "worst_case": worst_case}
