"""The object (lesion / instance) options of ``score``, ``batch`` and ``report``, checked without torch.

``--objects`` turns object scores on; ``--iou``, ``--connectivity``, ``--min-size`` and ``--instances``
each imply it; ``--semantic-gt`` / ``--semantic-pred`` (the class of each instance) imply ``--instances``.
Definitions: docs/architecture.md §5, "Objects".
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass

from app.errors import InputError

LESION_IOU = 0.1
"""Default τ in lesion mode."""
INSTANCE_IOU = 0.5
"""Default τ in instance mode (StarDist's)."""
INSTANCE_EXTRA_THRESHOLDS = (0.5, 0.75)
"""Instance mode also reports F1 and PQ at these τ."""
CONNECTIVITIES = (4, 6, 8, 18, 26)

_MIN_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ml|mL|vox|voxels)?\s*")


@dataclass(frozen=True)
class ObjectOptions:
    """How objects are defined and matched.

    Attributes
    ----------
    instances : bool
        Instance mode: every label id is one object of one foreground class; else lesion mode.
    iou_threshold : float
        τ: a pair matches when IoU ≥ τ (0: any overlap).
    connectivity : int or None
        Neighbour count (4/8 in 2D, 6/18/26 in 3D); None: full (8 in 2D, 26 in 3D).
    min_size_voxels : int or None
        Objects with fewer voxels are left out (None: none left out by voxels).
    min_size_ml : float or None
        Objects smaller than this volume in mL are left out.
    semantic : bool
        Instance mode: each instance takes its class from a semantic mask (``--semantic-gt`` /
        ``--semantic-pred``); else every instance is of one class.
    """

    instances: bool = False
    iou_threshold: float = LESION_IOU
    connectivity: int | None = None
    min_size_voxels: int | None = None
    min_size_ml: float | None = None
    semantic: bool = False

    @property
    def mode(self) -> str:
        """``"instance"`` or ``"lesion"``."""
        return "instance" if self.instances else "lesion"


def add_object_arguments(parser: argparse.ArgumentParser, always_on: bool = False) -> None:
    """Add ``--objects`` (unless ``always_on``: a command that always counts objects), ``--iou``,
    ``--connectivity``, ``--min-size`` and ``--instances``."""
    if not always_on:
        parser.add_argument("--objects", action="store_true",
                            help="also count objects: lesions (connected components of each class) detected, "
                                 "missed and false, with precision, recall, F1 and panoptic quality")
    implies = "" if always_on else "; implies --objects"
    parser.add_argument("--iou", metavar="T",
                        help=f"IoU a predicted object needs with a ground-truth object to detect it (default "
                             f"{LESION_IOU} for lesions, {INSTANCE_IOU} with --instances; 'any' = any overlap)"
                             f"{implies}")
    parser.add_argument("--connectivity", type=int, choices=CONNECTIVITIES, metavar="N",
                        help="neighbours that join voxels into one lesion: 4 or 8 in 2D, 6, 18 or 26 in 3D "
                             f"(default 8 / 26){implies}")
    parser.add_argument("--min-size", metavar="S",
                        help=f"leave out objects smaller than S voxels, or S mL with a unit ('0.1ml'){implies}")
    parser.add_argument("--instances", action="store_true",
                        help=f"the masks are instance images: every label id is one object (e.g. one nucleus)"
                             f"{implies}")


def add_semantic_arguments(parser: argparse.ArgumentParser, folders: bool = False) -> None:
    """Add ``--semantic-gt`` and ``--semantic-pred``: the class of each instance (files, or with ``folders``
    folders holding one file per case, named like the case's ground truth)."""
    what, metavar = ("folder of semantic masks, one per case named like its ground truth", "DIR") if folders \
        else ("semantic mask", "F")
    for role, image in (("gt", "ground-truth"), ("pred", "predicted")):
        parser.add_argument(f"--semantic-{role}", metavar=metavar,
                            help=f"{what} of the {image} instance image (same grid): each instance is one object "
                                 f"of the class most of its voxels have there (semantic background does not vote; a "
                                 f"tie goes to the smaller class), and objects are counted per class; give both; "
                                 f"implies --instances")


def semantic_inputs(args: argparse.Namespace) -> dict[str, str]:
    """``{option: path}`` of the semantic masks given (inputs, for :mod:`app.output_paths`)."""
    return {f"--semantic-{role}": path for role in ("gt", "pred")
            if (path := getattr(args, f"semantic_{role}", None)) is not None}


def object_options(args: argparse.Namespace) -> ObjectOptions | None:
    """The object options of the parsed arguments; None when no object option was given.

    Raises
    ------
    InputError
        An ``--iou`` outside [0, 1], a ``--min-size`` that is not a size, or only one of
        ``--semantic-gt`` / ``--semantic-pred``.
    """
    semantic_gt, semantic_pred = getattr(args, "semantic_gt", None), getattr(args, "semantic_pred", None)
    if (semantic_gt is None) != (semantic_pred is None):
        given, missing = ("--semantic-gt", "--semantic-pred") if semantic_pred is None else \
            ("--semantic-pred", "--semantic-gt")
        raise InputError(f"{given} needs {missing} as well: give the semantic masks of both instance images.")
    semantic = semantic_gt is not None
    instances = bool(getattr(args, "instances", False)) or semantic
    iou, connectivity, min_size = (getattr(args, name, None) for name in ("iou", "connectivity", "min_size"))
    if not (getattr(args, "objects", False) or instances or iou is not None or connectivity is not None
            or min_size is not None):
        return None
    voxels, ml = parse_min_size(min_size) if min_size is not None else (None, None)
    return ObjectOptions(instances=instances, iou_threshold=parse_iou(iou, instances), connectivity=connectivity,
                         min_size_voxels=voxels, min_size_ml=ml, semantic=semantic)


def parse_iou(text: str | None, instances: bool = False) -> float:
    """τ from ``--iou`` text (``any`` = 0); the mode's default when None."""
    if text is None:
        return INSTANCE_IOU if instances else LESION_IOU
    if text.strip().lower() == "any":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise InputError(f"--iou must be an IoU between 0 and 1 or 'any', got '{text}'; for example --iou 0.5.")
    return value


def parse_min_size(text: str) -> tuple[int | None, float | None]:
    """``(voxels, None)`` or ``(None, mL)`` from ``--min-size`` text such as ``10`` or ``0.1ml``."""
    match = _MIN_SIZE.fullmatch(text)
    if match is None:
        raise InputError(f"--min-size must be a number of voxels or a volume in mL, got '{text}'; "
                         "for example --min-size 10 or --min-size 0.1ml.")
    number, unit = match.groups()
    if unit in ("ml", "mL"):
        return None, float(number)
    if float(number) != int(float(number)):
        raise InputError(f"--min-size {text}: a number of voxels must be whole; add 'ml' for a volume.")
    return int(float(number)), None
