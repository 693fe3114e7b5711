"""Surface distances per class in millimetres: Hausdorff, HD95, ASSD and normalised surface Dice.

Definitions (MONAI's, see docs/architecture.md §5), for each class ``c`` with GT mask ``G`` and predicted
mask ``P``:

* surface voxels: voxels of the mask with a face neighbour outside it (6-connectivity in 3D,
  4 in 2D; outside the image counts as outside), exactly MONAI ``get_mask_edges``;
* ``d(x, S)``: exact Euclidean distance in mm between voxel centres, from surface voxel ``x``
  to the nearest voxel of surface ``S``, with the image spacing;
* HD: the largest distance of either direction (``compute_hausdorff_distance``);
* HD95: the larger of the two directed 95th percentiles (``compute_hausdorff_distance(
  percentile=95)``, DeepMind's surface-distance); ``hausdorff95_pooled`` is the 95th percentile
  of both directions' distances pooled (MedPy's ``hd95``). Percentiles interpolate linearly;
* ASSD: mean of both directions' distances pooled (``compute_average_surface_distance(
  symmetric=True)``);
* NSD at tolerance τ: surface voxels of either mask within τ of the other surface, divided by all
  surface voxels of both (``compute_surface_dice``, ``use_subvoxels=False``). "Within" is
  ``d <= τ + 1e-9`` mm, so a distance equal to τ on the grid counts even when the spacing
  products round it a few ulp above τ (3 × 0.1 mm = 0.30000000000000004).

Every figure is NaN ("undefined") when ``G`` or ``P`` is empty; MONAI returns inf (HD, ASSD)
or 0 (NSD) there, which would read as a real distance or a perfect/failed score. Values agree
with MONAI's to float32 rounding (MONAI casts distances to float32); ours are float64.

How it is computed, and why: one pass over the box around non-zero voxels finds the surface
voxels of every class at once (voxels differing from a face neighbour, grouped by label), so no
per-class mask or one-hot copy is made. Per class, each surface is turned into a table of gaps
along x to its nearest voxel in every grid row (a 1D distance transform over the box around
both surfaces, :mod:`dice_engine._row_search`), and every voxel of the other surface reads the
rows nearest first, ``(dz·sz)² + (dy·sy)² + (gap·sx)²`` per row, until no unread row can be
nearer: exact, and on a CT grid (thick slices) only a few rows per voxel. The rare voxels whose
nearest voxel lies beyond the row list query a k-d tree (``scipy.spatial.cKDTree``) over the
other surface's voxel centres in mm. A distance transform of the class's box (MedPy, MONAI on
GPU) costs several passes over the whole box in 3D and measured slower on both benchmark cases.
:class:`~dice_engine.distance_state.SurfaceDistanceState` keeps surfaces, row tables and
distances between edits and recomputes only what an edit can have changed (the rows it
crosses, the voxels within reach). Both take the masks by keyword only,
``surface_distances(target=gt, preds=pred, spacing=...)`` (see :mod:`dice_engine`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dice_engine._inputs import (
    ArrayLike,
    as_labels,
    check_same_shape,
    resolve_num_classes,
)
from dice_engine._surface import class_surfaces
from dice_engine._surface_pair import SurfacePair

__all__ = [
    "SURFACE_DISTANCE_CONVENTIONS",
    "SurfaceDistanceResult",
    "surface_distances",
]

SURFACE_DISTANCE_CONVENTIONS = {
    "surface": "voxels of the class with a face neighbour outside it (or on the image border); "
    "distances are exact Euclidean distances in mm between voxel centres, as in MONAI",
    "hausdorff_mm": "largest surface distance in either direction",
    "hausdorff95_mm": "larger of the two directed 95th percentiles of surface distances (MONAI, DeepMind)",
    "hausdorff95_pooled_mm": "95th percentile of both directions' surface distances pooled (MedPy hd95)",
    "assd_mm": "mean of both directions' surface distances pooled (average symmetric surface distance)",
    "nsd": "normalised surface Dice at tolerance tau mm: surface voxels of either mask within tau of "
    "the other surface / all surface voxels of both (MONAI compute_surface_dice)",
    "undefined": "every distance figure is undefined when the class is absent from the ground truth "
    "or from the prediction",
}


@dataclass(frozen=True)
class SurfaceDistanceResult:
    """Per-class surface-distance figures; NaN where undefined or not computed.

    Attributes
    ----------
    hausdorff : numpy.ndarray
        ``(C,)`` float64 Hausdorff distance in mm.
    hausdorff95 : numpy.ndarray
        ``(C,)`` float64 max of the two directed 95th percentiles, mm (MONAI/DeepMind HD95).
    hausdorff95_pooled : numpy.ndarray
        ``(C,)`` float64 95th percentile of both directions pooled, mm (MedPy hd95).
    assd : numpy.ndarray
        ``(C,)`` float64 average symmetric surface distance, mm.
    nsd : numpy.ndarray
        ``(C, T)`` float64 normalised surface Dice, column ``t`` at ``tolerances[t]``.
    tolerances : tuple of float
        The ``T`` NSD tolerances in mm.
    classes : tuple of int
        The classes that were computed; rows of other classes are NaN.
    """

    hausdorff: np.ndarray
    hausdorff95: np.ndarray
    hausdorff95_pooled: np.ndarray
    assd: np.ndarray
    nsd: np.ndarray
    tolerances: tuple[float, ...]
    classes: tuple[int, ...]

    @property
    def defined(self) -> np.ndarray:
        """``(C,)`` bool: True where the figures are defined (class computed and in both masks)."""
        return ~np.isnan(self.hausdorff)

    def class_record(self, c: int) -> dict:
        """Figures of class ``c`` as a JSON-ready dict, ``None`` where undefined.

        Returns
        -------
        dict
            ``hausdorff_mm``, ``hausdorff95_mm``, ``hausdorff95_pooled_mm``, ``assd_mm`` (float or
            None) and ``nsd``: ``{str(tolerance): float or None}``, e.g. ``{"1.0": 0.94}``.
        """
        return _record(
            self.hausdorff[c],
            self.hausdorff95[c],
            self.hausdorff95_pooled[c],
            self.assd[c],
            self.nsd[c],
            self.tolerances,
        )

    def foreground_means(self) -> dict:
        """Mean of each figure over computed foreground classes (1..C-1) where it is defined.

        Returns
        -------
        dict
            Same keys as :meth:`class_record`, plus ``n_defined`` (int) and ``n_undefined`` (int,
            computed foreground classes left out because a mask was empty).
        """
        rows = [c for c in self.classes if c != 0]
        defined = [c for c in rows if self.defined[c]]

        def mean(values: np.ndarray) -> float:
            return float(np.mean(values[defined], axis=0)) if defined else float("nan")

        nsd = np.mean(self.nsd[defined], axis=0) if defined else np.full(len(self.tolerances), np.nan)
        record = _record(
            mean(self.hausdorff),
            mean(self.hausdorff95),
            mean(self.hausdorff95_pooled),
            mean(self.assd),
            nsd,
            self.tolerances,
        )
        record["n_defined"] = len(defined)
        record["n_undefined"] = len(rows) - len(defined)
        return record


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _record(hd, hd95, hd95_pooled, assd, nsd, tolerances) -> dict:
    return {
        "hausdorff_mm": _optional(hd),
        "hausdorff95_mm": _optional(hd95),
        "hausdorff95_pooled_mm": _optional(hd95_pooled),
        "assd_mm": _optional(assd),
        "nsd": {str(float(t)): _optional(v) for t, v in zip(tolerances, nsd, strict=True)},
    }


def _check_spacing(spacing: Sequence[float], ndim: int) -> np.ndarray:
    values = np.asarray(spacing, dtype=np.float64).reshape(-1)
    if values.size != ndim:
        axes = "(z, y, x)" if ndim == 3 else "(y, x)"
        raise ValueError(f"spacing must give one value per image axis {axes}, got {values.size} for a {ndim}D image")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"spacing must be finite and > 0 mm, got {tuple(values.tolist())}")
    return values


def _check_tolerances(nsd_tolerances: float | Iterable[float]) -> tuple[float, ...]:
    values = (nsd_tolerances,) if np.isscalar(nsd_tolerances) else tuple(nsd_tolerances)
    tolerances = tuple(float(t) for t in values)
    if not all(np.isfinite(t) and t >= 0 for t in tolerances):
        raise ValueError(f"nsd_tolerances must be finite and >= 0 mm, got {tolerances}")
    return tolerances


def _check_classes(classes: Iterable[int] | None, num_classes: int, ignore_index: int | None) -> tuple[int, ...]:
    if classes is None:
        chosen = tuple(range(1, num_classes))
    else:
        chosen = tuple(sorted({int(c) for c in classes}))
        if chosen and (chosen[0] < 0 or chosen[-1] >= num_classes):
            raise ValueError(f"classes must lie in 0..{num_classes - 1}, got {chosen}")
    return tuple(c for c in chosen if c != ignore_index)


def _check_ignore_index(ignore_index: int | None) -> int | None:
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)) or ignore_index < 0:
        raise ValueError(f"ignore_index must be a label value >= 0 or None, got {ignore_index!r}")
    return int(ignore_index)


def _label_maps(
    target: ArrayLike, preds: ArrayLike, num_classes: int | None, ignore_index: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    gt, pred = as_labels(target, "target"), as_labels(preds, "preds")
    check_same_shape(gt, pred)
    if gt.ndim not in (2, 3):
        raise ValueError(f"target and preds must be 2D (y, x) or 3D (z, y, x) label maps, got shape {tuple(gt.shape)}")
    gt, pred = gt.cpu().numpy(), pred.cpu().numpy()
    annotated = gt if ignore_index is None else gt[gt != ignore_index]
    largest = {"target": int(annotated.max(initial=0)), "preds": int(pred.max(initial=0))}
    num_classes = resolve_num_classes(num_classes) if num_classes is not None else max(largest.values()) + 1
    for name, label in largest.items():
        if label >= num_classes:
            raise ValueError(
                f"{name}: found label {label}, but num_classes={num_classes} allows labels "
                f"0..{num_classes - 1}; pass a larger num_classes (or None to infer it)"
            )
    return gt, pred, num_classes


class DistanceSetup:
    """Validated inputs shared by :func:`surface_distances` and the incremental
    :class:`~dice_engine.distance_state.SurfaceDistanceState`.

    With an ``ignore_index``, voxels whose GT label is ``ignore_index`` are relabelled ``C`` (a
    value no class has) in both measured maps ``gt`` / ``pred``: they belong to no class's mask,
    as MONAI's ``ignore_index`` masking zeroes every channel there. ``raw_gt`` / ``raw_pred``
    keep the labels as given.
    """

    def __init__(self, target, preds, spacing, num_classes, classes, nsd_tolerances, ignore_index):
        self.ignore_index = _check_ignore_index(ignore_index)
        self.raw_gt, self.raw_pred, self.num_classes = _label_maps(target, preds, num_classes, self.ignore_index)
        self.spacing = _check_spacing(spacing, self.raw_gt.ndim)
        self.input_shape = self.raw_gt.shape
        # A (1, y, x) volume is a 2D image (app.io loads 2D images so): measured in 3D, every voxel
        # would touch the image border above and below, i.e. lie on the surface.
        self.single_slice = self.raw_gt.ndim == 3 and self.raw_gt.shape[0] == 1
        if self.single_slice:
            self.raw_gt, self.raw_pred, self.spacing = self.raw_gt[0], self.raw_pred[0], self.spacing[1:]
        self.classes = _check_classes(classes, self.num_classes, self.ignore_index)
        self.tolerances = _check_tolerances(nsd_tolerances)
        self.wanted = np.zeros(self.num_classes + 1, dtype=bool)  # index C: ignored voxels
        self.wanted[list(self.classes)] = True
        self.void = self.num_classes
        self.gt, self.pred = self.raw_gt, self.raw_pred
        if self.ignore_index is not None:
            ignored = self.raw_gt == self.ignore_index
            if ignored.any():
                dtype = label_dtype(self.raw_gt, self.raw_pred, self.num_classes)
                self.gt = np.where(ignored, self.void, self.raw_gt).astype(dtype, copy=False)
                self.pred = np.where(ignored, self.void, self.raw_pred).astype(dtype, copy=False)

    def pairs(self) -> dict[int, SurfacePair]:
        empty = np.zeros(0, dtype=np.int64)
        gt_surfaces = class_surfaces(self.gt, self.wanted)
        pred_surfaces = class_surfaces(self.pred, self.wanted)
        return {c: SurfacePair(gt_surfaces.get(c, empty), pred_surfaces.get(c, empty)) for c in self.classes}


def label_dtype(gt: np.ndarray, pred: np.ndarray, largest: int) -> np.dtype:
    """Integer dtype holding every label of ``gt`` and ``pred`` and the value ``largest``."""
    return np.promote_types(np.promote_types(gt.dtype, pred.dtype), np.min_scalar_type(largest))


def collect_results(pairs: dict[int, SurfacePair], num_classes: int, shape, spacing, tolerances, classes,
                    keep_search: bool = True):
    """Figures of every pair; ``keep_search=False`` frees each pair's search tables once it is done."""
    table = np.full((num_classes, 4 + len(tolerances)), np.nan)
    for c, pair in pairs.items():
        table[c] = pair.summary(shape, spacing, tolerances)
        if not keep_search:
            pair.forget_search()
    return SurfaceDistanceResult(
        hausdorff=table[:, 0].copy(),
        hausdorff95=table[:, 1].copy(),
        hausdorff95_pooled=table[:, 2].copy(),
        assd=table[:, 3].copy(),
        nsd=table[:, 4:].copy(),
        tolerances=tolerances,
        classes=classes,
    )


def surface_distances(
    *,
    target: ArrayLike,
    preds: ArrayLike,
    spacing: Sequence[float],
    num_classes: int | None = None,
    classes: Iterable[int] | None = None,
    nsd_tolerances: float | Iterable[float] = (1.0,),
    ignore_index: int | None = None,
) -> SurfaceDistanceResult:
    """Per-class HD, HD95, pooled HD95, ASSD and NSD between two label maps, in mm.

    Parameters
    ----------
    target : numpy.ndarray or torch.Tensor
        ``(y, x)`` or ``(z, y, x)`` integer label map, the ground truth. Floats holding whole
        numbers and booleans are accepted. Keyword-only, as every argument.
    preds : numpy.ndarray or torch.Tensor
        Predicted label map, same shape. Keyword-only.
    spacing : sequence of float
        Voxel size in mm per axis, in the arrays' axis order: ``(z, y, x)`` or ``(y, x)``. A
        ``(1, y, x)`` volume is measured as the 2D image it is, with spacing ``(y, x)`` (in 3D
        every voxel of a one-slice volume would lie on the surface).
    num_classes : int, optional
        ``C``; inferred as the largest label + 1 when None.
    classes : iterable of int, optional
        Classes to compute. Default: every foreground class ``1..C-1`` (as MONAI's
        ``include_background=False``); pass ``range(C)`` to include background 0.
    nsd_tolerances : float or iterable of float
        NSD tolerances ``τ`` in mm, ``T`` of them (default 1 mm).
    ignore_index : int, optional
        A GT label meaning "not annotated": voxels with this GT label belong to no class in
        either map (MONAI's ``ignore_index`` masking), and class ``ignore_index`` is not computed.

    Returns
    -------
    SurfaceDistanceResult
        ``(C,)`` float64 arrays and ``(C, T)`` NSD; NaN for classes not computed and for classes
        absent from either mask.

    Raises
    ------
    ValueError
        Shapes differ, not 2D/3D, non-integral or negative labels, labels ``>= num_classes``,
        spacing of the wrong length or not positive, negative tolerances, classes out of range.
    """
    setup = DistanceSetup(target, preds, spacing, num_classes, classes, nsd_tolerances, ignore_index)
    return collect_results(setup.pairs(), setup.num_classes, setup.gt.shape, setup.spacing, setup.tolerances,
                           setup.classes, keep_search=False)
