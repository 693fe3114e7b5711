"""``dicelens report``: a PDF quality report of one case that a clinician can read and sign."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import sys
from pathlib import Path

from app.commands.case_arguments import add_case_arguments, add_run_arguments, case_inputs
from app.distance_options import add_distance_arguments, distance_options
from app.errors import InputError
from app.io import load_case, write_text_atomic
from app.io.dicom_objects import dicom_header_fields
from app.object_options import (
    ObjectOptions,
    add_object_arguments,
    add_semantic_arguments,
    object_options,
    semantic_inputs,
)
from app.output_paths import check_output_files
from app.report.case_name import report_case_name
from app.report.content import DEFAULT_THRESHOLD
from app.report.verdict import add_verdict_arguments, verdict_criteria


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``report`` and its options."""
    parser = subparsers.add_parser(
        "report",
        help="write a PDF quality report of one case (table, verdict, confusion matrix, key slices)",
        description="Score a predicted mask against the ground truth and write a PDF report: header with "
                    "input checksums, mean foreground Dice and a verdict against stated criteria (mean Dice, "
                    "HD95, volume difference, no missed lesion above a size), per-class "
                    "table (with HD95 and ASSD surface distances unless --no-distances), confusion matrix, "
                    "Dice per slice, key-slice snapshots, missed and false objects (lesions), notes and a "
                    "signature line. Runs headless.",
    )
    add_case_arguments(parser, image_help="the image, shown under the key-slice contours",
                       labels_help="label table (names and colours)",
                       resample_help="resample the prediction onto the ground-truth grid when they differ")
    scores = parser.add_mutually_exclusive_group()
    scores.add_argument("--probs", metavar="F", help="the model's class probabilities (nnU-Net .npz, .npy, or 4D "
                                                     "NIfTI/NRRD): adds the soft Dice loss and Dice-vs-threshold "
                                                     "curves; without --pred the model's argmax is scored")
    scores.add_argument("--logits", metavar="F", help="the model's class logits (as --probs; softmax, or sigmoid "
                                                      "for one channel)")
    parser.add_argument("--out", required=True, metavar="REPORT.pdf", help="the PDF to write")
    parser.add_argument("--case", metavar="NAME",
                        help="case name in the title (default: the dataset case id shared by the GT and prediction "
                             "file names, e.g. case_0001, else their common stem, else the GT's folder)")
    parser.add_argument("--reviewer", default="", metavar="NAME",
                        help="reviewer's name, printed in the header")
    parser.add_argument("--notes", default="", metavar="TEXT", help="reviewer's notes (plain text)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="T",
                        help="classes with a Dice below T are shaded in the table and get key slices (default 0.8)")
    parser.add_argument("--hd95-limit", type=float, metavar="MM",
                        help="classes whose HD95 exceeds MM millimetres also get key slices (as do classes "
                             "below the threshold and missed or invented structures)")
    parser.add_argument("--deidentify", action="store_true",
                        help="leave out the Patient ID, study date and series description that a report on DICOM "
                             "inputs otherwise prints from their headers")
    parser.add_argument("--paper", choices=("a4", "letter"), default="a4", help="paper size (default a4)")
    parser.add_argument("--json", metavar="OUT", help="also write the report's data (verdict, key slices, "
                                                      "score) as JSON")
    add_distance_arguments(parser, default_on=True)
    add_verdict_arguments(parser)
    add_object_arguments(parser, always_on=True)
    add_semantic_arguments(parser)
    add_run_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Load, score and write the report (and JSON); errors raise InputError and leave no file behind."""
    if not 0.0 <= args.threshold <= 1.0:
        raise InputError(f"--threshold must be a Dice value between 0 and 1, got {args.threshold}.")
    distances, tolerances = distance_options(args)
    criteria = verdict_criteria(args)
    objects = object_options(args) or ObjectOptions()
    if args.hd95_limit is not None and not (math.isfinite(args.hd95_limit) and args.hd95_limit > 0):
        raise InputError(f"--hd95-limit must be a positive number of millimetres, got {args.hd95_limit}.")
    if args.hd95_limit is not None and not distances:
        raise InputError("--hd95-limit needs the surface distances; leave out --no-distances.")
    out = Path(args.out)
    check_output_files({"--out": args.out, "--json": args.json}, {**case_inputs(args), **semantic_inputs(args)})
    case = load_case(args.gt, args.pred, image=args.image, labels=args.labels, resample=args.resample,
                     ignore_index=args.ignore_index, seg_threshold=args.seg_threshold,
                     max_voxels=args.max_voxels, probs=args.probs, logits=args.logits)
    # Imported only now: they load torch (seconds), which `dicelens --help` or a bad input need not wait for.
    from app.report.assemble import make_case_report, report_document
    from app.scoring import score_case

    semantic = None
    if objects.semantic:
        from app.object_scoring import load_semantic_masks

        semantic = load_semantic_masks(case, args.semantic_gt, args.semantic_pred, labels=args.labels,
                                       max_voxels=args.max_voxels)
    score = score_case(case, ignore_index=args.ignore_index, device=args.device, distances=distances,
                       nsd_tolerances=tolerances, objects=objects, semantic=semantic)
    for message in score.messages:
        print(f"dicelens: note: {message}", file=sys.stderr)
    if objects.instances:
        from app.object_scoring import foreground_case, semantic_case

        # the report's table and key slices: foreground against background, or the semantic masks' classes
        case = foreground_case(case) if semantic is None else semantic_case(case, semantic)
    report = make_case_report(case, score, case_name=args.case or report_case_name(args.gt, args.pred, args.image),
                              reviewer=args.reviewer, notes=args.notes, threshold=args.threshold,
                              device=args.device, ignore_index=args.ignore_index, hd95_limit_mm=args.hd95_limit,
                              dicom_fields=() if args.deidentify else dicom_header_fields(case.sources),
                              criteria=criteria)
    if case.scores is not None:
        from app.report.soft_content import soft_section

        report = dataclasses.replace(report, soft=soft_section(case, score, ignore_index=args.ignore_index))
    from app.report.pdf import write_case_report  # Qt is loaded only once there is a report to draw

    write_case_report(report, out, paper=args.paper)
    if args.json:
        document = report_document(report, score, out)
        if report.soft is not None:
            document["report"]["soft"] = report.soft.to_json()
        text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
        try:
            write_text_atomic(args.json, text + "\n")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                out.unlink()
            raise
    print(f"report written to {out}: mean foreground Dice {_fixed(report.summary.dice_mean_foreground)}; "
          f"{report.summary.verdict}")
    return 0


def _fixed(value: float | None) -> str:
    return "\u2014" if value is None else f"{value:.3f}"
