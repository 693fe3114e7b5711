"""``dicelens batch``: score every case of a dataset, with progress, CSV/JSON/PDF summaries and resume."""

from __future__ import annotations

import argparse

from app.batch import BatchOptions, run_batch
from app.commands.case_arguments import add_run_arguments
from app.distance_options import add_distance_arguments, distance_options
from app.object_options import ObjectOptions, add_object_arguments, add_semantic_arguments, object_options
from app.report.content import DEFAULT_THRESHOLD
from app.report.verdict import add_verdict_arguments, verdict_criteria


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``batch`` and its options."""
    parser = subparsers.add_parser(
        "batch",
        help="score a dataset: GT and prediction folders paired by file name",
        description="Pair ground-truth and prediction files by identical file name (images also as "
                    "nnU-Net's NAME_0000.ext), score every case and write OUTDIR/metrics.csv, "
                    "summary.json, summary.pdf (and errors.csv for cases that failed; exit code 3). "
                    "--resume skips cases already scored from identical files; Ctrl-C stops with exit "
                    "code 130. --distances adds surface distances per class (about a second per CT "
                    "case, so off by default).",
    )
    parser.add_argument("--gt-dir", required=True, metavar="DIR", help="folder of ground-truth masks")
    parser.add_argument("--pred-dir", required=True, metavar="DIR", help="folder of predicted masks")
    parser.add_argument("--image-dir", metavar="DIR", help="folder of images (NAME.ext or NAME_0000.ext)")
    parser.add_argument("--labels", metavar="TABLE", help="label table used for every case")
    parser.add_argument("--probs-dir", metavar="DIR",
                        help="folder of the model's probabilities, one per case named like it (case_001.npz, .npy "
                             "or 4D .nii.gz/.nrrd): adds soft_dice and soft_dice_loss columns to metrics.csv")
    parser.add_argument("--out", required=True, metavar="OUTDIR", help="output folder (created if needed)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="parallel worker processes (default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="score on a Dask cluster instead: tcp://HOST:PORT of a running scheduler whose "
                             "workers share the input (and ideally the output) folders at the same paths, or "
                             "local:N to start N worker processes here; needs pip install 'dicelens[distributed]'")
    parser.add_argument("--scheduler-timeout", type=float, default=30.0, metavar="S",
                        help="seconds to wait for the scheduler and a first worker (default 30)")
    parser.add_argument("--reports", action="store_true", help="also write OUTDIR/reports/<case>.pdf")
    parser.add_argument("--resume", action="store_true",
                        help="skip cases whose result OUTDIR/cases/<case>.json is complete and was scored "
                             "from the same input files (SHA-256 of GT, prediction, image and label table)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="T",
                        help="classes with a Dice below T are shaded in the reports and get key slices (default 0.8)")
    parser.add_argument("--paper", choices=("a4", "letter"), default="a4", help="paper size of the PDFs")
    add_distance_arguments(parser)
    add_object_arguments(parser)
    add_semantic_arguments(parser, folders=True)
    add_verdict_arguments(parser)
    add_run_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the batch; 0 when every case was scored, 3 when some failed (bad arguments raise InputError)."""
    distances, tolerances = distance_options(args)
    criteria = verdict_criteria(args)
    # The reports' verdict checks for missed lesions, so reports count objects even without --objects.
    requested = object_options(args)
    objects = requested or (ObjectOptions() if args.reports else None)
    return run_batch(BatchOptions(gt_dir=args.gt_dir, pred_dir=args.pred_dir, out_dir=args.out,
                                  image_dir=args.image_dir, labels=args.labels, jobs=args.jobs,
                                  reports=args.reports, resume=args.resume, threshold=args.threshold,
                                  paper=args.paper, device=args.device,
                                  nsd_tolerances=tolerances if distances else None,
                                  scheduler=args.scheduler, scheduler_timeout=args.scheduler_timeout,
                                  max_voxels=args.max_voxels, probs_dir=args.probs_dir, objects=objects,
                                  criteria=criteria, object_columns=requested is not None,
                                  semantic_dirs=None if args.semantic_gt is None else
                                  (args.semantic_gt, args.semantic_pred)))
