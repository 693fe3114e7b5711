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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command registered, or only those ``argv`` needs.

    With ``argv``, a command line naming a known sub-command registers (and imports) only that one,
    one naming none only the default command (``view``): importing every command's module cost the
    window about 0.3 s of start-up (the scoring and batch modules it never uses). ``--help``,
    ``--version`` or an unknown sub-command before or as the command register them all, so the help
    and the error list every command.
    """
    import importlib

    parser = argparse.ArgumentParser(
        prog="dicelens",
        description="Review segmentations with exact, live per-class Dice, Dice loss and confusion matrix.",
    )
    parser.add_argument("--version", action="version", version=f"DiceLens {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _modules_needed(argv):
        importlib.import_module(name).add_parser(subparsers)
    return parser


def _modules_needed(argv: list[str] | None) -> list[str]:
    """The command modules to register for ``argv`` (None: all), see :func:`build_parser`."""
    by_name = {module.rsplit(".", 1)[1]: module for module in COMMAND_MODULES}
    if argv is None:
        return list(COMMAND_MODULES)
    for token in argv:
        if token in ("-h", "--help", "--version"):
            return list(COMMAND_MODULES)
        if not token.startswith("-"):   # the top-level options take no value: this is the command
            return [by_name[token]] if token in by_name else list(COMMAND_MODULES)
    return [by_name[name] for name in _default_command()]


def main(argv: list[str] | None = None) -> int:
    """Run ``dicelens`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        args = parser.parse_args([*argv, *_default_command()])
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
