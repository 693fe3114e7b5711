"""The surface-distance options of ``score``, ``batch`` and ``report``, checked without importing torch.

Kept apart from :mod:`app.scoring` (which loads the engine and torch, seconds) so that a bad
``--nsd-tolerance`` is answered at once, before any file is read.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable

from app.errors import InputError

DEFAULT_NSD_TOLERANCES = (1.0,)
"""NSD tolerances in mm when none are given."""


def check_nsd_tolerances(tolerances: Iterable[float], option: str = "--nsd-tolerance") -> tuple[float, ...]:
    """The NSD tolerances as floats in mm, duplicates dropped (first order kept).

    Raises
    ------
    InputError
        A tolerance that is not a finite number > 0, or none at all.
    """
    values: list[float] = []
    for tolerance in tolerances:
        try:
            value = float(tolerance)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{option} must be a distance in mm greater than 0, got {tolerance!r}; "
                             "for example --nsd-tolerance 1 --nsd-tolerance 2.5.")
        if value not in values:
            values.append(value)
    if not values:
        raise InputError(f"{option}: give at least one NSD tolerance in mm.")
    return tuple(values)


def add_distance_arguments(parser: argparse.ArgumentParser, *, default_on: bool = False) -> None:
    """Add ``--distances`` (or ``--no-distances`` when ``default_on``) and ``--nsd-tolerance MM``."""
    what = ("surface distances per class in mm (Hausdorff, HD95, pooled HD95, average symmetric surface "
            "distance, normalised surface Dice; MONAI's definitions; about a second per CT)")
    if default_on:
        parser.add_argument("--no-distances", dest="distances", action="store_false",
                            help=f"leave out the {what}")
    else:
        parser.add_argument("--distances", action="store_true", help=f"also compute the {what}")
    implied = "" if default_on else "; implies --distances"
    parser.add_argument("--nsd-tolerance", type=float, action="append", metavar="MM",
                        help=f"tolerance in mm of the normalised surface Dice (default 1; repeat for several){implied}")
    parser.set_defaults(distances=default_on, distances_by_default=default_on)


def distance_options(args: argparse.Namespace) -> tuple[bool, tuple[float, ...]]:
    """``(distances wanted, NSD tolerances in mm)`` from the parsed arguments.

    An ``--nsd-tolerance`` implies ``--distances`` where distances are opt-in.

    Raises
    ------
    InputError
        A tolerance that is not a finite number > 0, or one given together with ``--no-distances``.
    """
    given = getattr(args, "nsd_tolerance", None)
    tolerances = check_nsd_tolerances(given) if given else DEFAULT_NSD_TOLERANCES
    wanted = bool(getattr(args, "distances", False))
    if given and not wanted:
        if getattr(args, "distances_by_default", False):
            raise InputError("--nsd-tolerance asks for surface distances but --no-distances leaves them out; "
                             "drop one of the two.")
        wanted = True
    return wanted, tolerances
