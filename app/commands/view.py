"""``dicelens view``: the review window on a case (the bundled demo case without --gt/--pred).

``--screenshot OUT.png`` renders the whole window with every panel filled, without a display, and
exits: for the README's picture, documentation and tests; ``--table OUT.json`` also writes the numbers
its Dice table shows (:mod:`app.qt.table_export`).
"""

from __future__ import annotations

import argparse

from app.commands.case_arguments import add_max_voxels_argument
from app.errors import InputError
from app.object_options import add_semantic_arguments, object_options
from app.output_paths import check_output_files

PLANES = ("axial", "coronal", "sagittal")


def add_parser(subparsers) -> None:
    """Register ``view`` and its arguments."""
    parser = subparsers.add_parser(
        "view", help="open the review window (the demo case when no files are given)",
        description="Review a segmentation: the image with ground truth and prediction overlaid, per-class "
                    "Dice, confusion matrix and per-slice Dice. Without --gt/--pred the bundled demo case opens.")
    parser.add_argument("--image", metavar="IMAGE", help="image the masks segment (for display)")
    parser.add_argument("--gt", metavar="GT", help="ground-truth mask")
    parser.add_argument("--pred", metavar="PRED", help="predicted mask (optional with --probs/--logits: the "
                                                      "model's argmax is then shown and scored)")
    parser.add_argument("--labels", metavar="TABLE", help="label table (names and colours)")
    parser.add_argument("--resample", action="store_true",
                        help="resample the prediction onto the ground-truth grid (nearest neighbour) if they differ")
    parser.add_argument("--axis", choices=PLANES, help="plane to show (default: axial)")
    parser.add_argument("--slice", type=int, metavar="N", help="slice index along that plane, 0-based "
                        "(default: where the first class with errors has most voxels)")
    parser.add_argument("--overlay", choices=("filled", "contours", "errors"),
                        help="overlay to start with (default: filled); 'errors' is the error map (TP/FP/FN) of "
                             "every foreground class")
    parser.add_argument("--layout", choices=("single", "three"),
                        help="one slice view, or three linked views (axial, coronal, sagittal) with a crosshair "
                             "(default: as last time; a 2D image is always shown in one view)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the window with metrics computed to this PNG without a display, then exit")
    parser.add_argument("--table", metavar="OUT.json",
                        help="with --screenshot: also write the numbers the Dice table shows (one object per class "
                             "row and the headline values, soft columns included with --probs/--logits) as JSON, "
                             "with the keys of 'dicelens score --json'")
    scores = parser.add_mutually_exclusive_group()
    scores.add_argument("--probs", metavar="F", help="the model's class probabilities: nnU-Net .npz or .npy "
                                                     "(C, z, y, x), or a 4D NIfTI/NRRD with the class axis first "
                                                     "or last; adds the soft Dice and soft Dice loss")
    scores.add_argument("--logits", metavar="F", help="the model's class logits, as --probs (softmax; sigmoid for "
                                                      "one channel)")
    parser.add_argument("--instances", action="store_true",
                        help="the masks are instance images: the Objects dock counts every label id as one object "
                             "(e.g. one nucleus), matched at IoU >= 0.5, and follows edits of the ids")
    add_semantic_arguments(parser)
    add_max_voxels_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the window (or write the screenshot); returns the exit code."""
    from app.qt.demo_case import demo_case_paths
    from app.qt.startup_clock import stamp

    stamp("view")   # the interpreter has started and parsed the command line (bench/startup.py's phases)

    scores = {"probs": getattr(args, "probs", None), "logits": getattr(args, "logits", None)}
    has_scores = any(path is not None for path in scores.values())
    if (args.gt is None) != (args.pred is None and not has_scores):
        raise InputError("give both --gt and --pred (or --gt and --probs / --logits), or none of them, to open "
                         "the demo case.")
    if args.gt is None:
        if args.image is not None or args.labels is not None:
            raise InputError("--image and --labels need --gt and --pred; without them the demo case opens.")
        paths = demo_case_paths()
    else:
        paths = {"gt": args.gt, "pred": args.pred, "image": args.image, "labels": args.labels}
        paths.update({role: path for role, path in scores.items() if path is not None})
    semantic = _semantic_paths(args)
    if semantic is not None and args.gt is None:
        raise InputError("--semantic-gt and --semantic-pred need the instance images as --gt and --pred.")
    table = getattr(args, "table", None)
    if table is not None and args.screenshot is None:
        raise InputError("--table writes the numbers of the rendered window: give --screenshot OUT.png too.")
    if args.screenshot is not None:
        outputs = {"--screenshot": args.screenshot, **({"--table": table} if table is not None else {})}
        inputs = {f"--{role}": path for role, path in paths.items() if path is not None}
        check_output_files(outputs, {**inputs, **({} if semantic is None else {"--semantic-gt": semantic[0],
                                                                               "--semantic-pred": semantic[1]})})
    early_read = None
    if args.screenshot is None:   # the window: read the case while Qt loads (torch's libraries: after the picture)
        from app.qt.early_start import EarlyCaseRead

        early_read = EarlyCaseRead(paths, args.resample, args.max_voxels)
    from app.qt.app_runner import run_view

    return run_view(paths, plane=args.axis, slice_index=args.slice, screenshot=args.screenshot,
                    resample=args.resample, overlay_mode=args.overlay, max_voxels=args.max_voxels,
                    layout=args.layout, table=table, instances=args.instances or semantic is not None,
                    early_read=early_read, semantic=semantic)


def _semantic_paths(args: argparse.Namespace) -> tuple[str, str] | None:
    """``(--semantic-gt, --semantic-pred)`` or None; one without the other is refused (as ``score``)."""
    options = object_options(args)
    return None if options is None or not options.semantic else (args.semantic_gt, args.semantic_pred)
