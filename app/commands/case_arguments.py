"""Command-line options shared by the scoring commands (``score``, ``report``, ``batch``).

One definition per option keeps their names, help texts and defaults the same in every command.
"""

from __future__ import annotations

import argparse
import re

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N (N = 0, 1, ...), mps"
_DEVICE_PATTERN = re.compile(r"(cpu|cuda|cuda:\d+|mps)")

RESAMPLE_HELP = "resample the prediction onto the ground-truth grid (nearest neighbour) when they differ"


def add_case_arguments(parser: argparse.ArgumentParser, *, image_help: str, labels_help: str,
                       resample_help: str = RESAMPLE_HELP) -> None:
    """Add the options naming one case and how to read it.

    ``--gt`` (required), ``--pred`` (required unless model output is given), ``--image``, ``--labels``,
    ``--ignore-index``, ``--resample`` and
    ``--seg-threshold`` (fractional DICOM SEG).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    image_help, labels_help : str
        What the command does with the image and the label table.
    resample_help : str
        Help of ``--resample``.
    """
    parser.add_argument("--gt", required=True, metavar="GT", help="ground-truth mask")
    parser.add_argument("--pred", metavar="PRED",
                        help="predicted mask (optional with --probs/--logits: the model's argmax is then scored)")
    parser.add_argument("--image", metavar="IMG", help=image_help)
    parser.add_argument("--labels", metavar="TABLE", help=labels_help)
    parser.add_argument("--ignore-index", type=label_value, metavar="K",
                        help="ground-truth label meaning 'not annotated', left out of every count")
    parser.add_argument("--resample", action="store_true", help=resample_help)
    parser.add_argument("--seg-threshold", type=_fraction, default=0.5, metavar="T",
                        help="a fractional DICOM SEG voxel belongs to a segment when its value (0..1) is >= T "
                             "(default 0.5)")


def _fraction(text: str) -> float:
    """A threshold in (0, 1] for ``--seg-threshold``."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got '{text}'")
    return value


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--device`` (engine device, default: best available), ``--debug`` (full tracebacks), ``--max-voxels``.

    ``--debug`` defaults to ``argparse.SUPPRESS``: absent from the namespace unless given, so the
    top-level ``dicelens --debug`` is not overwritten by the sub-command's default.
    """
    parser.add_argument("--device", type=device_argument, metavar="DEV",
                        help="cpu, cuda, cuda:1, mps or auto (default auto: best available)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    add_max_voxels_argument(parser)


def max_voxels_argument(text: str) -> int:
    """``argparse`` type of ``--max-voxels``: a positive voxel count (see :mod:`app.io.limits`).

    Raises
    ------
    argparse.ArgumentTypeError
        Not a positive whole number.
    """
    from app.errors import InputError
    from app.io.limits import parse_max_voxels

    try:
        return parse_max_voxels(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_max_voxels_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-voxels N``: the largest volume (voxels) read, instead of what available memory allows."""
    parser.add_argument("--max-voxels", metavar="N", type=max_voxels_argument,
                        help="read volumes of up to N voxels (default: what available memory allows; larger "
                             "inputs are refused from their header before reading)")


def label_value(text: str) -> int:
    """``argparse`` type of ``--ignore-index``: an integer that fits int64 (the sign is checked when scoring).

    Raises
    ------
    argparse.ArgumentTypeError
        Not an integer, or beyond int64 (no mask can hold such a label).
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer label value") from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise argparse.ArgumentTypeError(f"{text} is beyond the label values a mask can hold "
                                         f"(64-bit integers, at most {INT64_MAX})")
    return value


def device_argument(text: str) -> str | None:
    """``argparse`` type of ``--device``: one of :data:`DEVICE_CHOICES`; ``auto`` becomes None (best available).

    Whether the device exists on this machine is checked when scoring starts.

    Raises
    ------
    argparse.ArgumentTypeError
        Anything else (``''``, ``meta``, a typo).
    """
    name = text.strip().lower()
    if name == "auto":
        return None
    if not _DEVICE_PATTERN.fullmatch(name):
        raise argparse.ArgumentTypeError(f"'{text}' is not a device DiceLens computes on; use one of {DEVICE_CHOICES}")
    return name


def case_inputs(args: argparse.Namespace) -> dict[str, str | None]:
    """``{option: path}`` of every input file a case command was given (for :mod:`app.output_paths`)."""
    names = ("gt", "pred", "image", "labels", "probs", "logits")
    return {f"--{name}": getattr(args, name) for name in names if getattr(args, name, None) is not None}
