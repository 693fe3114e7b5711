"""The ``dicelens`` command line: one sub-command per module in :mod:`app.commands`.

Each command module exposes ``add_parser(subparsers)`` (registering its arguments and setting
``func`` to its ``run(args) -> int``). Errors the user can fix are :class:`app.errors.InputError`:
printed as one clear message on stderr with exit code 2, the traceback only with ``--debug``.
Ctrl-C ends with one line and exit code 130 (``batch`` says how far it got).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from app import __version__
from app.errors import InputError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

# Sub-command modules, in the order ``dicelens --help`` lists them.
COMMAND_MODULES: list[str] = ["app.commands.score", "app.commands.report", "app.commands.batch", "app.commands.view",
                             "app.commands.review"]


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command registered."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="dicelens",
        description="Review segmentations with exact, live per-class Dice, Dice loss and confusion matrix.",
    )
    parser.add_argument("--version", action="version", version=f"DiceLens {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``dicelens`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), *_default_command()])
    try:
        return int(args.func(args) or EXIT_OK)
    except InputError as error:
        if args.debug:
            traceback.print_exc()
        print(f"dicelens: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print("dicelens: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _default_command() -> list[str]:
    """The sub-command run when none is given: the review window on the demo case once it exists."""
    return ["view"]
