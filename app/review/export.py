"""Export a review: ``R/review.csv`` (one row per case, worklist order) and ``R/review.pdf`` (the summary).

CSV columns: :data:`CSV_COLUMNS`. Dice is the mean foreground Dice with 3 decimals: ``dice_before``
from the case's stored scores (the score document's ``dice_mean_foreground``), or from the verdict's
per-class figures when the case has no stored scores; ``dice_after`` from the verdict's per-class
figures after a correction. Cells that do not apply are empty; a case never opened has status
``to review`` and only its ``dice_before``. Every text cell passes :mod:`app.csv_cells`. Both files
are written atomically.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter
from pathlib import Path

from app.csv_cells import safe_row
from app.errors import InputError
from app.io import write_text_atomic
from app.report.review_summary import GRADES, CaseSnapshot, ReviewedCase, ReviewSummary
from app.review.folder import EXPORT_NAMES, ReviewFolder
from app.review.store import STATUSES, Verdict
from app.review.worklist import WorklistRow, mean_foreground, worklist_rows

CSV_COLUMNS = ("case", "status", "grade", "reviewer", "reviewed_at", "seconds", "comment", "dice_before",
               "dice_after", "voxels_changed", "corrected_path")
HIGHLIGHTED_STATUSES = ("rejected", "corrected")
KIND_MOST_CORRECTED = "most voxels corrected"
"""Why a corrected case's key slice was chosen: the slice where the correction changed most voxels."""
SLICED_CASES_MAX = 12
"""Rejected and corrected cases drawn with key slices (each is read from disk); later ones are listed only."""


def review_table(folder: ReviewFolder, rows: list[WorklistRow] | None = None) -> list[dict[str, object]]:
    """One record per case in worklist order (``rows``, default :func:`worklist_rows`), keyed by :data:`CSV_COLUMNS`.

    Values are plain (numbers unrounded, None where not applicable); :func:`review_csv` formats them.
    """
    rows = worklist_rows(folder) if rows is None else rows
    verdicts = folder.store.verdicts()
    spent = folder.store.seconds_spent()
    table = []
    for row in rows:
        verdict = verdicts.get(row.case)
        result = folder.case_result(row.case)
        before = result["score"].dice_mean_foreground if result is not None else (
            mean_foreground(verdict.dice_before) if verdict is not None else None)
        seconds = spent.get(row.case, verdict.seconds if verdict is not None else None)
        table.append({
            "case": row.case, "status": row.status,
            "grade": None if verdict is None else verdict.grade,
            "reviewer": row.reviewer,
            "reviewed_at": None if verdict is None else verdict.reviewed_at,
            "seconds": seconds,
            "comment": None if verdict is None else verdict.comment,
            "dice_before": before,
            "dice_after": None if verdict is None else mean_foreground(verdict.dice_after),
            "voxels_changed": None if verdict is None else verdict.voxels_changed,
            "corrected_path": _corrected_path(folder, row.case, verdict),
        })
    return table


def review_csv(table: list[dict[str, object]]) -> str:
    """The text of ``review.csv`` for :func:`review_table`'s records."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in table:
        writer.writerow(safe_row(_cell(column, record[column]) for column in CSV_COLUMNS))
    return buffer.getvalue()


def review_summary(folder: ReviewFolder, table: list[dict[str, object]] | None = None, *, created: str = "",
                   device: str | None = None, max_voxels: int | None = None) -> ReviewSummary:
    """The content of ``review.pdf``: counts, grades, Dice pairs, and the rejected and corrected cases
    (the first :data:`SLICED_CASES_MAX` with key slices of their worst class)."""
    table = review_table(folder) if table is None else table
    verdicts = folder.store.verdicts()
    statuses = Counter(record["status"] for record in table)
    decided = [verdicts[record["case"]] for record in table if record["case"] in verdicts]
    grades = Counter(verdict.grade for verdict in decided)
    pairs = tuple((record["case"], record["dice_before"], record["dice_after"]) for record in table
                  if record["status"] == "corrected" and record["dice_before"] is not None
                  and record["dice_after"] is not None)
    highlighted = []
    for record in table:
        if record["status"] not in HIGHLIGHTED_STATUSES:
            continue
        draw = len(highlighted) < SLICED_CASES_MAX
        highlighted.append(_reviewed_case(folder, record, verdicts[record["case"]], draw, device, max_voxels))
    source = f"ground truth {folder.gt_dir} vs prediction {folder.pred_dir}"
    return ReviewSummary(
        source=source, created=created, total_cases=len(table),
        scored_cases=sum(1 for name in folder.case_names() if folder.case_result(name) is not None),
        status_counts=tuple((status, statuses.get(status, 0)) for status in STATUSES),
        grade_counts=tuple((grade, grades.get(grade, 0)) for grade in GRADES),
        ungraded=grades.get(None, 0),
        reviewers=tuple(sorted({verdict.reviewer for verdict in decided})),
        dice_pairs=pairs, highlighted=tuple(highlighted), unmatched=tuple(folder.unmatched.lines()))


def export_review(folder: ReviewFolder, *, paper: str = "a4", device: str | None = None,
                  max_voxels: int | None = None) -> tuple[Path, Path]:
    """Write ``R/review.csv`` and ``R/review.pdf`` (each atomically) and return their paths.

    Raises
    ------
    InputError
        The review folder is not writable (nothing half-written is left).
    """
    from app.report.review_summary_pdf import write_review_summary

    table = review_table(folder)
    csv_path, pdf_path = (folder.root / name for name in EXPORT_NAMES)
    write_text_atomic(csv_path, review_csv(table))
    created = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    summary = review_summary(folder, table, created=created, device=device, max_voxels=max_voxels)
    try:
        write_review_summary(summary, pdf_path, paper=paper)
    except OSError as error:
        raise InputError(f"could not write '{pdf_path}' ({error}); check that the review folder is writable.") \
            from None
    return csv_path, pdf_path


def _cell(column: str, value: object) -> object:
    if value is None:
        return ""
    if column in ("dice_before", "dice_after"):
        return f"{value:.3f}"
    if column == "seconds":
        return f"{value:.1f}"
    return value


def _corrected_path(folder: ReviewFolder, case: str, verdict: Verdict | None) -> str | None:
    if verdict is not None and verdict.corrected_path:
        return verdict.corrected_path
    for role in ("pred", "gt"):
        path = folder.corrected_path(case, role)
        if path.exists():
            return str(path)
    return None


def _reviewed_case(folder: ReviewFolder, record: dict, verdict: Verdict, draw: bool, device: str | None,
                   max_voxels: int | None) -> ReviewedCase:
    snapshots: tuple[CaseSnapshot, ...] = ()
    note = "" if draw else f"Key slices are drawn for the first {SLICED_CASES_MAX} cases only."
    if draw:
        try:
            snapshots = _snapshots(folder, record["case"], record["status"] == "corrected", device, max_voxels)
        except Exception as error:   # the summary still lists the case; it says why there is no picture
            note = f"No key slice: {error}"
    return ReviewedCase(case=record["case"], status=record["status"], grade=verdict.grade,
                        reviewer=verdict.reviewer, reviewed_at=verdict.reviewed_at, comment=verdict.comment,
                        dice_before=record["dice_before"], dice_after=record["dice_after"],
                        voxels_changed=verdict.voxels_changed, corrected_path=record["corrected_path"],
                        snapshots=snapshots, note=note)


def _snapshots(folder: ReviewFolder, case: str, corrected: bool, device: str | None,
               max_voxels: int | None) -> tuple[CaseSnapshot, ...]:
    """The worst-Dice slice of the case's worst class (from its stored scores); for a corrected case, the
    slice where the correction changed most voxels instead, before and after (same slice and crop)."""
    result = folder.case_result(case)
    if result is None:
        raise ValueError("the case has not been scored yet")
    defined = [entry for entry in result["score"].classes if entry.index > 0 and entry.dice is not None]
    if not defined:
        raise ValueError("no foreground class in either mask")
    class_index = min(defined, key=lambda entry: entry.dice).index
    original, results = _load(folder, folder.original_files(case), device, max_voxels)
    names = [original.labels.name(index) for index in range(original.num_classes)]
    from app.report.keyslices import key_slices_for_case

    chosen = key_slices_for_case(original, results, names, [class_index])
    if not chosen:
        return ()
    before = chosen[0]
    if corrected and folder.is_corrected(case):
        after, after_results = _load(folder, folder.case_files(case), device, max_voxels)
        if after.gt.shape == original.gt.shape:
            before = _most_corrected_view(before, original, results, after, names) or before
            if before.class_index < after.num_classes:
                return (CaseSnapshot("before", before),
                        CaseSnapshot("after correction", _same_view(before, after, after_results)))
    return (CaseSnapshot("before", before),)


def _most_corrected_view(template, original, results, after, names):
    """The original masks on the slice where the correction changed most voxels, showing the class changed
    most there, cropped around the change (``template``: a key slice of the case, for the layout); None
    when the correction changed nothing."""
    from dataclasses import replace

    import numpy as np

    from app.orientation import display_frame
    from app.report.keyslices import SLICE_AXIS, crop_box, intensity_window, screen_slice

    changed = (original.pred != after.pred) | (original.gt != after.gt)
    per_slice = np.count_nonzero(changed.reshape(changed.shape[SLICE_AXIS], -1), axis=1)
    if not per_slice.any():
        return None
    index = int(np.argmax(per_slice))
    geometry = original.geometry
    frame = display_frame(geometry.direction, geometry.spacing_zyx, SLICE_AXIS)
    moved = screen_slice(changed, index, frame)
    labels = np.concatenate([screen_slice(volume, index, frame)[moved]
                             for volume in (original.pred, after.pred, original.gt, after.gt)]).astype(np.int64)
    labels = labels[(labels > 0) & (labels < min(original.num_classes, after.num_classes))]
    if labels.size == 0:
        return None
    label = int(np.argmax(np.bincount(labels)))
    gt, pred = screen_slice(original.gt, index, frame) == label, screen_slice(original.pred, index, frame) == label
    rows, cols = crop_box(gt | pred | moved, (frame.row_mm, frame.col_mm))
    image = None if original.image is None else screen_slice(original.image, index, frame)[rows, cols]
    if image is not None and image.ndim == 2:   # scalar intensities, windowed as the key slices are
        low, high = intensity_window(original.image)
        image = np.clip((image.astype(np.float32) - low) / (high - low), 0.0, 1.0)
    elif image is not None:                     # RGB, as it is
        image = np.ascontiguousarray(image, dtype=np.uint8)
    dice = results.dice[index, label]
    return replace(template, class_index=label, class_name=names[label], color=tuple(original.labels.color(label)),
                   kinds=(KIND_MOST_CORRECTED,), slice_index=index, dice=None if np.isnan(dice) else float(dice),
                   fp=int(results.counts[index, label, 1]), fn=int(results.counts[index, label, 2]), image=image,
                   gt=gt[rows, cols], pred=pred[rows, cols], crop=(rows, cols))


def _load(folder: ReviewFolder, files, device: str | None, max_voxels: int | None):
    """The case read from ``files`` and its per-slice engine results along the key-slice axis."""
    from app.io import load_case
    from app.report.keyslices import per_slice_results

    case = load_case(files.gt, files.pred, image=files.image, labels=folder.labels, max_voxels=max_voxels)
    return case, per_slice_results(case.gt, case.pred, case.num_classes, device=device)


def _same_view(before, case, results):
    """``before``'s slice, class and crop drawn from ``case`` (the corrected masks), with that slice's figures."""
    from dataclasses import replace

    import numpy as np

    from app.orientation import display_frame
    from app.report.keyslices import SLICE_AXIS, screen_slice

    geometry = case.geometry
    frame = display_frame(geometry.direction, geometry.spacing_zyx, SLICE_AXIS)
    rows, cols = before.crop
    index, label = before.slice_index, before.class_index
    dice = results.dice[index, label]
    return replace(before, kinds=("same slice as before",),
                   gt=(screen_slice(case.gt, index, frame) == label)[rows, cols],
                   pred=(screen_slice(case.pred, index, frame) == label)[rows, cols],
                   dice=None if np.isnan(dice) else float(dice), fp=int(results.counts[index, label, 1]),
                   fn=int(results.counts[index, label, 2]))
