"""DiceLens' metric engine: exact Dice, Dice loss and confusion matrices on CPU or GPU.

Pure compute on torch and numpy (never Qt, SimpleITK or the app). The functional core
(:func:`confusion_matrix`, :func:`dice_from_confusion`, :func:`class_metrics`, ...) is stateless;
:class:`LiveDice` holds a confusion matrix and per-slice counts and updates them exactly per edit.
Conventions are those of docs/architecture.md §5 (rows = ground truth; Dice undefined — NaN — for a
class absent from both masks, 0 for a class predicted but absent from the ground truth). Surface
distances (:func:`surface_distances`, :class:`SurfaceDistanceState`) follow MONAI's definitions,
in millimetres, undefined when either mask of a class is empty. Object scores (:func:`object_scores`,
:func:`instance_scores`) count the lesions or instances detected, missed and invented;
:class:`LiveObjects` keeps them up to date edit by edit.

Argument rule, one for the whole API: every function or class that takes a ground-truth / prediction
pair takes both **by keyword only**, ``target=`` (ground truth) and ``preds=`` (prediction, label
map or class scores), and every argument after them is keyword-only too::

    confusion_matrix(target=gt, preds=pred, num_classes=C)
    dice_score(target=gt, preds=pred, average="macro")
    dice_loss(target=gt, preds=logits)
    LiveDice(target=gt, preds=pred, num_classes=C)
    surface_distances(target=gt, preds=pred, spacing=(z, y, x))

A positional call raises ``TypeError``: a swapped pair would silently transpose the confusion
matrix and exchange false positives with false negatives, so the engine never guesses the order.
Functions of one confusion matrix (``dice_from_confusion(cm)``, ``class_metrics(cm)``, ...) take it
positionally.

Model output (:mod:`dice_engine.soft`, ``soft_probabilities``, ``soft_threshold``, ``soft_uncertainty``):
:class:`ClassProbabilities` derives probabilities per slab from scores kept in their own dtype;
:class:`LiveSoftDice` keeps the soft Dice sums and follows ground-truth edits exactly;
:class:`ClassHistograms` / :class:`ThresholdConfusion` give Dice-vs-threshold curves and the confusion
matrix at any threshold, exact at the 1/1024 bin edges.

Threads: large CPU counts run on a small thread pool owned by :mod:`dice_engine.confusion`, kept
between calls; :func:`shutdown_workers` stops it (also registered with :mod:`atexit`).
"""

import importlib
import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # imported on first use (see _LAZY), spelled out here for type checkers
    from dice_engine.confusion import confusion_matrix, shutdown_workers
    from dice_engine.device import DeviceFallbackWarning, device_name, select_device
    from dice_engine.distance_state import SurfaceDistanceState
    from dice_engine.distances import SURFACE_DISTANCE_CONVENTIONS, SurfaceDistanceResult, surface_distances
    from dice_engine.instance_classes import UnclassifiedInstance
    from dice_engine.live import LiveDice
    from dice_engine.live_objects import LiveObjects
    from dice_engine.loss import dice_loss, hard_dice_loss
    from dice_engine.matrix_scores import ClassMetrics
    from dice_engine.metrics import average_dice, class_metrics, dice_from_confusion, dice_from_counts, dice_score
    from dice_engine.objects import ClassObjects, ObjectScores, SegmentObject, instance_scores, object_scores
    from dice_engine.per_slice import slice_counts
    from dice_engine.soft import LiveSoftDice, SoftDiceResult
    from dice_engine.soft_probabilities import ClassProbabilities
    from dice_engine.soft_threshold import ClassHistograms, DiceCurve, ThresholdConfusion

_LAZY = {
    "confusion_matrix": "confusion",
    "shutdown_workers": "confusion",
    "slice_counts": "per_slice",
    "DeviceFallbackWarning": "device",
    "device_name": "device",
    "select_device": "device",
    "UnclassifiedInstance": "instance_classes",
    "LiveDice": "live",
    "dice_loss": "loss",
    "hard_dice_loss": "loss",
    "ClassMetrics": "matrix_scores",
    "average_dice": "metrics",
    "class_metrics": "metrics",
    "dice_from_confusion": "metrics",
    "dice_from_counts": "metrics",
    "dice_score": "metrics",
    "LiveSoftDice": "soft",
    "SoftDiceResult": "soft",
    "ClassProbabilities": "soft_probabilities",
    "ClassHistograms": "soft_threshold",
    "DiceCurve": "soft_threshold",
    "ThresholdConfusion": "soft_threshold",
    "SurfaceDistanceState": "distance_state",
    "SURFACE_DISTANCE_CONVENTIONS": "distances",
    "SurfaceDistanceResult": "distances",
    "surface_distances": "distances",
    "LiveObjects": "live_objects",
    "ClassObjects": "objects",
    "ObjectScores": "objects",
    "SegmentObject": "objects",
    "instance_scores": "objects",
    "object_scores": "objects",
}
"""Public name -> the module that defines it, imported on first access (PEP 562 ``__getattr__``), so that
``import dice_engine`` costs nothing: most modules import torch (about 2-3 s on 2 cores), which the
window's first table does not need (:mod:`dice_engine.numpy_confusion`, :mod:`dice_engine.matrix_scores`:
numpy only), and the distance and object modules import scipy.spatial and scipy.ndimage (about 1 s),
which the engine's first table does not need either (docs/architecture.md §10)."""


def __getattr__(name: str) -> object:
    """Import the module of a public name (see :data:`_LAZY`) and return the name's object; a submodule's
    name returns the submodule (as after an eager ``import dice_engine``)."""
    module_name = _LAZY.get(name)
    if module_name is None:
        if name.startswith("__") or importlib.util.find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return importlib.import_module(f"{__name__}.{name}")   # a submodule, e.g. ``dice_engine.soft``
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value   # later accesses skip this function
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy ones included before their first use."""
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "SURFACE_DISTANCE_CONVENTIONS",
    "ClassHistograms",
    "ClassMetrics",
    "ClassObjects",
    "ClassProbabilities",
    "DeviceFallbackWarning",
    "DiceCurve",
    "LiveDice",
    "LiveObjects",
    "LiveSoftDice",
    "ObjectScores",
    "SegmentObject",
    "SoftDiceResult",
    "SurfaceDistanceResult",
    "SurfaceDistanceState",
    "ThresholdConfusion",
    "UnclassifiedInstance",
    "average_dice",
    "class_metrics",
    "confusion_matrix",
    "device_name",
    "dice_from_confusion",
    "dice_from_counts",
    "dice_loss",
    "dice_score",
    "hard_dice_loss",
    "instance_scores",
    "object_scores",
    "select_device",
    "shutdown_workers",
    "slice_counts",
    "surface_distances",
]
