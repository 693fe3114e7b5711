"""``dicelens score``: per-class Dice, IoU, volumes and Dice loss of one case, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import TYPE_CHECKING

from app.commands.case_arguments import add_case_arguments, add_run_arguments, case_inputs
from app.csv_cells import safe_dict_row
from app.distance_options import add_distance_arguments, distance_options
from app.io import load_case, write_text_atomic
from app.object_options import add_object_arguments, add_semantic_arguments, object_options
from app.output_paths import check_output_files

if TYPE_CHECKING:
    from app.score_document import CaseScore, DistanceMeans

UNDEFINED = "—"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``score`` and its options."""
    parser = subparsers.add_parser(
        "score",
        help="score a prediction against the ground truth (table, JSON or CSV)",
        description="Per-class Dice, IoU, precision, recall, volumes, confusion matrix and Dice loss of a "
                    "predicted mask against the ground truth. Masks: NIfTI, NRRD (incl. 3D Slicer "
                    ".seg.nrrd), MetaImage, DICOM directory (DIR::SERIES_UID picks a series), PNG, "
                    "TIFF, BMP, .npy.",
    )
    add_case_arguments(parser, image_help="the image (checked to lie on the masks' grid)",
                       labels_help="label table: ITK-SNAP, 3D Slicer colour table, nnU-Net dataset.json, "
                                   "or 'index name' lines")
    scores = parser.add_mutually_exclusive_group()
    scores.add_argument("--probs", metavar="F", help="class probabilities: nnU-Net .npz or .npy (C, z, y, x), or a 4D "
                                                     "NIfTI/NRRD with the class axis first or last; adds the soft "
                                                     "Dice; without --pred the model's argmax is scored")
    scores.add_argument("--logits", metavar="F", help="class logits, as --probs (softmax; sigmoid for one channel)")
    add_run_arguments(parser)
    add_distance_arguments(parser)
    add_object_arguments(parser)
    add_semantic_arguments(parser)
    parser.add_argument("--json", metavar="OUT", help="write the JSON document to OUT ('-' for stdout)")
    parser.add_argument("--csv", metavar="OUT", help="write one row per class to OUT ('-' for stdout)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Load, score and report one case; return the exit code (errors raise InputError)."""
    distances, tolerances = distance_options(args)
    objects = object_options(args)
    semantic_inputs = {f"--semantic-{role}": getattr(args, f"semantic_{role}") for role in ("gt", "pred")
                       if getattr(args, f"semantic_{role}") is not None}
    check_output_files({"--json": args.json, "--csv": args.csv}, {**case_inputs(args), **semantic_inputs})
    case = load_case(args.gt, args.pred, image=args.image, labels=args.labels, probs=args.probs,
                     logits=args.logits, resample=args.resample, ignore_index=args.ignore_index,
                     seg_threshold=args.seg_threshold, max_voxels=args.max_voxels)
    # Imported here, after the inputs passed their checks: the engine pulls in torch (seconds to
    # import), which a bad input should not have to wait for.
    from app.scoring import score_case

    semantic = None
    if objects is not None and objects.semantic:
        from app.object_scoring import load_semantic_masks

        semantic = load_semantic_masks(case, args.semantic_gt, args.semantic_pred, labels=args.labels,
                                       max_voxels=args.max_voxels)
    document = score_case(case, ignore_index=args.ignore_index, device=args.device, distances=distances,
                          nsd_tolerances=tolerances, objects=objects, semantic=semantic)
    for message in document.messages:
        print(f"dicelens: note: {message}", file=sys.stderr)
    outputs = []
    if args.json:
        text = json.dumps(document.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        outputs.append((args.json, text))
    if args.csv:
        outputs.append((args.csv, format_csv(document)))
    if not outputs:
        _write_stdout(format_table(document))
    for destination, text in outputs:
        if destination == "-":
            _write_stdout(text)
        else:
            write_text_atomic(destination, text)
    return 0


def _write_stdout(text: str) -> None:
    """Print ``text``; as UTF-8 bytes when the console's encoding cannot hold it (e.g. LANG=C)."""
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()


def format_csv(document: CaseScore) -> str:
    """One row per class with :data:`app.score_document.CLASS_FIELDS`; undefined values are empty cells.

    A document scored with distances gets the columns :data:`app.score_document.DISTANCE_FIELDS` and
    ``nsd_<tolerance>`` (``nsd_1.0``...) after those; one with object scores then gets
    :data:`app.object_document.CSV_COLUMNS` (empty for classes not scored, e.g. the background).
    """
    from app.object_document import CSV_COLUMNS
    from app.score_document import CLASS_FIELDS, DISTANCE_FIELDS

    tolerances = document.nsd_keys
    fields = list(CLASS_FIELDS)
    if document.has_distances:
        fields += [*DISTANCE_FIELDS, *(f"nsd_{key}" for key in tolerances)]
    if document.objects is not None:
        fields += list(CSV_COLUMNS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for entry in (c.to_json() for c in document.classes):
        row = {key: entry[key] for key in fields if key in entry}
        row.update({f"nsd_{key}": entry["nsd"][key] for key in tolerances})
        if document.objects is not None:
            row.update(object_columns(document.objects.entry(entry["index"])))
        writer.writerow(safe_dict_row({key: "" if value is None else value for key, value in row.items()}))
    return buffer.getvalue()


def format_table(document: CaseScore) -> str:
    """The aligned per-class table, the headline mean foreground Dice and the conventions line.

    A document scored with distances gets HD95 and ASSD columns, a line of their foreground means
    and a line stating their definitions.
    """
    from app.scoring import CONVENTIONS_LINE

    distances = document.has_distances
    header = ("class", "name", "Dice", "IoU", "GT ml", "pred ml", "FP", "FN")
    if distances:
        header += ("HD95 mm", "ASSD mm")
    rows = []
    for c in document.classes:
        row = (str(c.index), c.name, _fixed(c.dice, 4), _fixed(c.iou, 4),
               _fixed(c.gt_volume_ml, 3), _fixed(c.pred_volume_ml, 3), str(c.fp), str(c.fn))
        if distances:
            hd95, assd = (c.distances.hausdorff95_mm, c.distances.assd_mm) if c.distances else (None, None)
            row += (_fixed(hd95, 2), _fixed(assd, 2))
        rows.append(row)
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]
    left_aligned = {1}

    def line(cells) -> str:
        return "  ".join(cell.ljust(w) if k in left_aligned else cell.rjust(w)
                         for k, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    foreground_undefined = [i for i in document.undefined_classes if i > 0]
    defined = document.num_classes - 1 - len(foreground_undefined)
    left_out = (f"; {len(foreground_undefined)} absent from both left out" if foreground_undefined else "")
    loss = document.dice_loss
    soft = f", soft ({loss.soft_from}) {_fixed(loss.soft, 4)}" if loss.soft is not None else ""
    headline = (f"({document.headline_undefined})" if document.headline_undefined is not None else
                f"(macro over {defined} foreground class{'es' if defined != 1 else ''} with defined Dice{left_out})")
    lines = [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows), "",
             f"Mean foreground Dice: {_fixed(document.dice_mean_foreground, 4)} {headline}",
             f"Micro foreground Dice: {_fixed(document.dice_micro_foreground, 4)}   "
             f"Dice loss (foreground, smooth {loss.smooth:g}): hard {_fixed(loss.hard, 4)}{soft}"]
    if distances:
        lines.append(_distance_means_line(document.distances_mean_foreground))
    if document.ignore_index is not None:
        lines.append(f"Ignored: ground-truth label {document.ignore_index} "
                     f"({document.ignored_voxels} voxels left out of every count)")
    lines.append(CONVENTIONS_LINE)
    if distances:
        lines.append(DISTANCES_LINE)
    if document.objects is not None:
        from app.object_text import object_lines, two_dimensional

        lines += ["", *object_lines(document.objects, two_dimensional(document.geometry))]
    return "\n".join(lines) + "\n"


def object_columns(entry) -> dict:
    """The :data:`app.object_document.CSV_COLUMNS` cells of one class's object entry (None: not scored)."""
    if entry is None:
        return {}
    return {"objects_tp": entry.tp, "objects_fp": entry.fp, "objects_fn": entry.fn, "objects_f1": entry.f1}


DISTANCES_LINE = ("HD95 = larger of the two directed 95th percentiles of surface distances (MONAI); ASSD = mean "
                  "of both directions' surface distances; in mm between surface-voxel centres. Undefined (—) "
                  "when the class is absent from either mask; background not computed.")


def _distance_means_line(means: DistanceMeans) -> str:
    nsd = ", ".join(f"NSD@{float(key):g}mm {_fixed(value, 4)}" for key, value in means.nsd.items())
    left_out = f"; {means.n_undefined} absent from a mask left out" if means.n_undefined else ""
    return (f"Mean foreground surface distances: HD {_fixed(means.hausdorff_mm, 2)} mm, "
            f"HD95 {_fixed(means.hausdorff95_mm, 2)} mm, ASSD {_fixed(means.assd_mm, 2)} mm, {nsd} "
            f"(over {means.n_defined} class{'es' if means.n_defined != 1 else ''}{left_out})")


def _fixed(value: float | None, digits: int) -> str:
    return UNDEFINED if value is None else f"{value:.{digits}f}"
