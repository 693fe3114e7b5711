"""``dicelens review``: review a whole dataset in the window, worst case first, every verdict recorded.

``dicelens review --gt-dir G --pred-dir P [--image-dir I] [--labels T] [--out R]`` pairs the cases as
``batch`` does (files left unpaired are listed on stderr) and starts or reopens the review folder
``R`` (default ``./dicelens-review``); ``dicelens review R`` reopens one. ``--export`` scores the cases
not scored yet, then writes ``R/review.csv`` and ``R/review.pdf`` without a window;
``--screenshot OUT.png`` renders the window (worklist filled, worst case open) without a display.
Bad input: one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys

from app.commands.case_arguments import add_max_voxels_argument
from app.errors import InputError
from app.output_paths import check_output_files


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``review`` and its options."""
    parser = subparsers.add_parser(
        "review", help="review a dataset case by case in the window, worst Dice first",
        description="Pair ground-truth and prediction folders as 'batch' does and review the cases in the "
                    "window: a worklist sorted by Dice (worst first), keys for verdicts and grades, corrected "
                    "masks written to R/corrected/ (never over an input). Everything is kept in the review "
                    "folder R: 'dicelens review R' reopens it, after a crash too.")
    parser.add_argument("folder", nargs="?", metavar="R", help="a review folder to reopen")
    parser.add_argument("--gt-dir", metavar="DIR", help="folder of ground-truth masks (starts a review)")
    parser.add_argument("--pred-dir", metavar="DIR", help="folder of predicted masks")
    parser.add_argument("--image-dir", metavar="DIR", help="folder of images (NAME.ext or NAME_0000.ext)")
    parser.add_argument("--labels", metavar="TABLE", help="label table used for every case")
    parser.add_argument("--out", metavar="R", help="review folder to create or reopen (default ./dicelens-review)")
    parser.add_argument("--reviewer", metavar="NAME", help="your name, stored with every verdict (remembered; "
                        "asked once when not given)")
    parser.add_argument("--export", action="store_true",
                        help="write R/review.csv and R/review.pdf and exit (no window)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the review window (worklist filled, worst case open) to this PNG and exit")
    add_max_voxels_argument(parser)
    parser.set_defaults(func=run)
    return parser


def open_review_folder(args: argparse.Namespace):
    """The :class:`app.review.folder.ReviewFolder` the arguments name (created when starting one)."""
    from app.review.folder import DEFAULT_OUT, ReviewFolder

    starting = args.gt_dir is not None or args.pred_dir is not None
    if args.folder is not None:
        if starting or args.image_dir is not None or args.labels is not None or args.out is not None:
            raise InputError(f"give either a review folder ('{args.folder}') or --gt-dir and --pred-dir "
                             "(with --image-dir, --labels, --out), not both.")
        return ReviewFolder.open(args.folder)
    if args.gt_dir is None or args.pred_dir is None:
        raise InputError("give a review folder R to reopen, or --gt-dir and --pred-dir to start a review.")
    return ReviewFolder.create(args.gt_dir, args.pred_dir, args.out or DEFAULT_OUT, image_dir=args.image_dir,
                               labels=args.labels)


def review_inputs(folder) -> dict[str, object]:
    """What an output of ``review`` must never replace: the dataset's folders and label table, and what the
    review itself keeps in ``R`` (database, scores, corrected masks)."""
    from app.batch.worker import CASES_FOLDER
    from app.review.folder import CORRECTED_FOLDER
    from app.review.store import DATABASE_NAME

    return {"--gt-dir": folder.gt_dir, "--pred-dir": folder.pred_dir, "--image-dir": folder.image_dir,
            "--labels": folder.labels, "the review database": folder.root / DATABASE_NAME,
            "the review's scores": folder.root / CASES_FOLDER, "the corrected masks": folder.root / CORRECTED_FOLDER}


def run(args: argparse.Namespace) -> int:
    """Open (or start) the review, then export, render or run the window; returns the exit code."""
    if args.export and args.screenshot is not None:
        raise InputError("--export and --screenshot are separate runs; give one of them.")
    if args.screenshot is not None:   # before a new review folder is made
        check_output_files({"--screenshot": args.screenshot},
                           {"--gt-dir": args.gt_dir, "--pred-dir": args.pred_dir, "--image-dir": args.image_dir,
                            "--labels": args.labels})
    folder = open_review_folder(args)
    try:
        if args.screenshot is not None:   # a reopened review's inputs are known only now
            check_output_files({"--screenshot": args.screenshot}, review_inputs(folder))
        for line in folder.unmatched.lines():
            print(f"dicelens: not paired: {line}", file=sys.stderr)
        if args.export:
            from app.review.export import export_review
            from app.review.scoring import score_pending

            # Cases never scored (a review exported before any window opened it) get their dice_before and
            # their place in the worklist order, as --screenshot scores them before its picture.
            for case, result in score_pending(folder, max_voxels=args.max_voxels):
                if isinstance(result, str):
                    print(f"dicelens: warning: {case} could not be scored: {result}", file=sys.stderr)
            for path in export_review(folder, max_voxels=args.max_voxels):
                print(path)
            return 0
        from app.qt.worklist_runner import run_review

        return run_review(folder, reviewer=args.reviewer, screenshot=args.screenshot, max_voxels=args.max_voxels)
    finally:
        folder.close()
