"""Command-line options shared by the scoring commands (``score``, ``report``, ``batch``).

One definition per option keeps their names, help texts and defaults the same in every command.
"""

from __future__ import annotations

import argparse
import os

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
    """Add ``--device`` (engine device, default: best available), ``--debug`` (full tracebacks), ``--max-voxels``.

    ``--debug`` defaults to ``argparse.SUPPRESS``: absent from the namespace unless given, so the
    top-level ``dicelens --debug`` is not overwritten by the sub-command's default.
    """
    parser.add_argument("--device", metavar="DEV", help="cpu, cuda, cuda:1 or mps (default: best available)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    add_max_voxels_argument(parser)


class _MaxVoxelsAction(argparse.Action):
    """Stores ``--max-voxels`` and puts it in the environment, where every reader looks for it.

    The environment carries it to ``batch``'s worker processes and to the window's loader thread, which
    call :func:`app.io.load_case` without the parsed arguments (see :mod:`app.io.limits`).
    """

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from app.errors import InputError
        from app.io.limits import MAX_VOXELS_VARIABLE, parse_max_voxels

        try:
            count = parse_max_voxels(values)
        except InputError as error:
            parser.error(str(error))
        os.environ[MAX_VOXELS_VARIABLE] = str(count)
        setattr(namespace, self.dest, count)


def add_max_voxels_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-voxels N``: the largest volume (voxels) read, instead of what available memory allows."""
    parser.add_argument("--max-voxels", metavar="N", action=_MaxVoxelsAction,
                        help="read volumes of up to N voxels (default: what available memory allows; larger "
                             "inputs are refused from their header before reading)")
