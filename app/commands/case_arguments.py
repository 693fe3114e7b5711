"""Command-line options shared by the scoring commands (``score``, ``report``, ``batch``).

One definition per option keeps their names, help texts and defaults the same in every command.
"""

from __future__ import annotations

import argparse

RESAMPLE_HELP = "resample the prediction onto the ground-truth grid (nearest neighbour) when they differ"


def add_case_arguments(parser: argparse.ArgumentParser, *, image_help: str, labels_help: str,
                       resample_help: str = RESAMPLE_HELP) -> None:
    """Add the options naming one case and how to read it.

    ``--gt`` and ``--pred`` (required), ``--image``, ``--labels``, ``--ignore-index`` and ``--resample``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    image_help, labels_help : str
        What the command does with the image and the label table.
    resample_help : str
        Help of ``--resample``.
    """
    parser.add_argument("--gt", required=True, metavar="GT", help="ground-truth mask")
    parser.add_argument("--pred", required=True, metavar="PRED", help="predicted mask")
    parser.add_argument("--image", metavar="IMG", help=image_help)
    parser.add_argument("--labels", metavar="TABLE", help=labels_help)
    parser.add_argument("--ignore-index", type=int, metavar="K",
                        help="ground-truth label meaning 'not annotated', left out of every count")
    parser.add_argument("--resample", action="store_true", help=resample_help)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--device`` (engine device, default: best available) and ``--debug`` (full tracebacks).

    ``--debug`` defaults to ``argparse.SUPPRESS``: absent from the namespace unless given, so the
    top-level ``dicelens --debug`` is not overwritten by the sub-command's default.
    """
    parser.add_argument("--device", metavar="DEV", help="cpu, cuda, cuda:1 or mps (default: best available)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
