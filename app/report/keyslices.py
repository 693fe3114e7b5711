"""Key slices and the per-slice Dice series of a case, as plain data (no Qt).

Per-slice TP/FP/FN and Dice come from :class:`dice_engine.LiveDice` (``slice_counts`` /
``slice_dice`` along the first array axis, z: axial slices for a volume). This module only picks
slices from them (the worst Dice, the largest error) and cuts the 2D pictures the report draws.

The pictures are laid out exactly as the review window shows slices along that axis (radiological
convention, same edge letters): both use :func:`app.orientation.display_frame` and
:func:`app.orientation.to_screen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.orientation import display_frame, to_screen
from app.window_level import initial_window

# Slices are taken along array axis 0 (z), as the window opens a case; laid out as the window does.
SLICE_AXIS = 0
# At most this many classes get a line in the per-slice plot (the worst by overall Dice).
SERIES_MAX_CLASSES = 8
MIN_CROP_PIXELS = 48
CROP_MARGIN_FRACTION = 0.35

# The worst-Dice slice is sought among slices holding at least this share of the class's largest
# ground-truth cross-section.
SUBSTANTIAL_FRACTION = 0.1

KIND_WORST_DICE = "worst Dice"
KIND_LARGEST_ERROR = "largest error"


@dataclass(frozen=True)
class PerSliceResults:
    """Engine results along the slice axis.

    Attributes
    ----------
    counts : numpy.ndarray
        ``(S, C, 3) int64``: TP, FP, FN per slice and class.
    dice : numpy.ndarray
        ``(S, C) float64``: Dice per slice and class, NaN where the class is absent from both masks.
    device : str
        The compute device that produced them.
    """

    counts: np.ndarray
    dice: np.ndarray
    device: str


@dataclass(frozen=True)
class SliceSeries:
    """Per-slice Dice of the shown classes: ``dice`` is ``(S, K) float64``, NaN = undefined."""

    dice: np.ndarray
    indices: tuple[int, ...]
    names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...]
    total_foreground: int

    @property
    def is_subset(self) -> bool:
        """True when only the worst classes are drawn."""
        return len(self.indices) < self.total_foreground


@dataclass(frozen=True)
class KeySlice:
    """One snapshot: a class on one slice, cropped around it.

    Attributes
    ----------
    class_index, class_name, color
        The class shown and its colour ``(r, g, b)``.
    kinds : tuple of str
        Why this slice was chosen (:data:`KIND_WORST_DICE`, :data:`KIND_LARGEST_ERROR` or both).
    slice_index : int
        Index along :data:`SLICE_AXIS` (0-based, as in the GUI).
    plane : str
        Anatomical plane of the slice ("axial", "coronal", "sagittal"), as the window names it.
    dice : float or None
        The class's Dice on this slice (None = undefined).
    fp, fn : int
        False-positive / false-negative voxels of the class on this slice.
    image : numpy.ndarray or None
        ``(h, w) float32`` intensities scaled to 0..1, or ``(h, w, 3) uint8`` RGB; None without an image.
    gt, pred : numpy.ndarray
        ``(h, w) bool`` masks of the class in the crop, laid out as on screen (row 0 at the top).
    pixel_spacing : tuple of 2 float
        ``(row, column)`` spacing in mm, for the aspect ratio and the scale bar.
    orientation : dict or None
        Letters at the ``"left"``, ``"right"``, ``"top"``, ``"bottom"`` edges; None for 2D images.
    crop : tuple of 2 slice
        ``(rows, columns)`` of the crop within the whole slice as the window shows it.
    """

    class_index: int
    class_name: str
    color: tuple[int, int, int]
    kinds: tuple[str, ...]
    slice_index: int
    dice: float | None
    fp: int
    fn: int
    image: np.ndarray | None
    gt: np.ndarray
    pred: np.ndarray
    pixel_spacing: tuple[float, float]
    orientation: dict[str, str] | None
    plane: str = "axial"
    crop: tuple[slice, slice] = (slice(None), slice(None))

    @property
    def place(self) -> str:
        """``"axial slice 12"``, as captions name it; "" for a 2D image (one slice: nothing to name)."""
        return "" if self.orientation is None else f"{self.plane} slice {self.slice_index}"


def per_slice_results(gt: np.ndarray, pred: np.ndarray, num_classes: int, device=None,
                      ignore_index: int | None = None) -> PerSliceResults:
    """Per-slice TP/FP/FN and Dice along z from :func:`dice_engine.slice_counts` / ``dice_from_counts``.

    Parameters
    ----------
    gt, pred : numpy.ndarray
        ``(z, y, x)`` integer label volumes of the same shape.
    device : str or torch.device, optional
        Compute device (default: the engine's choice, GPU when there is one; CPU after a GPU
        out-of-memory error).
    """
    import torch

    import dice_engine as de
    from dice_engine.device import run_with_cpu_fallback

    def compute(target_device):
        target = torch.from_numpy(np.ascontiguousarray(gt)).to(target_device)
        preds = torch.from_numpy(np.ascontiguousarray(pred)).to(target_device)
        return de.slice_counts(target=target, preds=preds, num_classes=num_classes, axis=SLICE_AXIS,
                               ignore_index=ignore_index).cpu()

    counts, used = run_with_cpu_fallback(compute, de.select_device(device))
    dice = de.dice_from_counts(counts[..., 0], counts[..., 1], counts[..., 2])
    return PerSliceResults(counts=_to_numpy(counts).astype(np.int64, copy=False),
                           dice=_to_numpy(dice).astype(np.float64, copy=False), device=de.device_name(used))


def slice_series(results: PerSliceResults, overall_dice: Sequence[float | None], names: Sequence[str],
                 colors: Sequence[tuple[int, int, int]], max_classes: int = SERIES_MAX_CLASSES
                 ) -> SliceSeries | None:
    """The per-slice Dice of the foreground classes, or of the ``max_classes`` worst ones.

    Returns None for a single-slice (2D) case, where a per-slice plot says nothing.
    """
    if results.dice.shape[0] < 2:
        return None
    defined = [c for c in range(1, len(overall_dice)) if overall_dice[c] is not None]
    shown = sorted(sorted(defined, key=lambda c: overall_dice[c])[:max_classes])
    return SliceSeries(
        dice=results.dice[:, shown] if shown else np.zeros((results.dice.shape[0], 0)),
        indices=tuple(shown),
        names=tuple(names[c] for c in shown),
        colors=tuple(tuple(colors[c]) for c in shown),
        total_foreground=len(defined),
    )


def choose_slices(results: PerSliceResults, class_index: int) -> list[tuple[int, tuple[str, ...]]]:
    """The slices to show for one class: ``[(slice, kinds), ...]``, at most two.

    The worst-Dice slice is the slice with the lowest Dice among those where the class is
    substantial in the ground truth (at least :data:`SUBSTANTIAL_FRACTION` of its largest
    ground-truth cross-section; ties: more errors, then the lower index), so that a stray voxel on
    an edge slice does not hide the real weak spot; a class absent from the ground truth falls back
    to every slice with a defined Dice. The largest-error slice has the most FP + FN voxels (none
    when the class has no error anywhere). When both are the same slice it is listed once.
    """
    dice = results.dice[:, class_index]
    errors = results.counts[:, class_index, 1] + results.counts[:, class_index, 2]
    defined = np.flatnonzero(~np.isnan(dice))
    if defined.size == 0:
        return []
    gt_area = results.counts[:, class_index, 0] + results.counts[:, class_index, 2]
    if gt_area.max() > 0:
        defined = np.flatnonzero(gt_area >= max(1.0, SUBSTANTIAL_FRACTION * gt_area.max()))
    order = np.lexsort((defined, -errors[defined], dice[defined]))
    worst = int(defined[order[0]])
    chosen = [(worst, (KIND_WORST_DICE,))]
    if errors.max() > 0:
        largest = int(np.argmax(errors))
        if largest == worst:
            chosen = [(worst, (KIND_WORST_DICE, KIND_LARGEST_ERROR))]
        else:
            chosen.append((largest, (KIND_LARGEST_ERROR,)))
    return chosen


def key_slices_for_case(case, results: PerSliceResults, names: Sequence[str],
                        classes: Sequence[int] | None = None) -> list[KeySlice]:
    """Key slices of every foreground class (or of ``classes``), cropped around the class.

    Parameters
    ----------
    case : app.io.Case
        Supplies ``gt``, ``pred``, ``image`` (optional) and ``geometry``.
    names : sequence of str
        Class names by index.
    """
    classes = range(1, results.dice.shape[1]) if classes is None else classes
    window = intensity_window(case.image)
    geometry = case.geometry
    frame = display_frame(geometry.direction, geometry.spacing_zyx, SLICE_AXIS)
    orientation = None if case.gt.shape[SLICE_AXIS] == 1 else {
        edge: getattr(frame, edge) for edge in ("left", "right", "top", "bottom")}
    snapshots = []
    for class_index in classes:
        for slice_index, kinds in choose_slices(results, class_index):
            gt_slice = screen_slice(case.gt, slice_index, frame) == class_index
            pred_slice = screen_slice(case.pred, slice_index, frame) == class_index
            rows, cols = crop_box(gt_slice | pred_slice, (frame.row_mm, frame.col_mm))
            dice = results.dice[slice_index, class_index]
            image = None if case.image is None else screen_slice(case.image, slice_index, frame)[rows, cols]
            snapshots.append(KeySlice(
                class_index=int(class_index),
                class_name=names[class_index],
                color=tuple(case.labels.color(class_index)),
                kinds=kinds,
                slice_index=int(slice_index),
                dice=None if np.isnan(dice) else float(dice),
                fp=int(results.counts[slice_index, class_index, 1]),
                fn=int(results.counts[slice_index, class_index, 2]),
                image=_scaled(image, window),
                gt=gt_slice[rows, cols],
                pred=pred_slice[rows, cols],
                pixel_spacing=(frame.row_mm, frame.col_mm),
                orientation=orientation,
                plane=frame.plane,
                crop=(rows, cols),
            ))
    return snapshots


def screen_slice(volume: np.ndarray, slice_index: int, frame) -> np.ndarray:
    """Slice ``slice_index`` of ``volume`` (``(z, y, x)`` or ``(z, y, x, 3)``) along ``frame.array_axis``,
    laid out as the window shows it (:func:`app.orientation.to_screen`; a view, no copy)."""
    index = [slice(None)] * volume.ndim
    index[frame.array_axis] = slice_index
    return to_screen(volume[tuple(index)], frame)


def crop_box(mask: np.ndarray, pixel_spacing: Sequence[float]) -> tuple[slice, slice]:
    """Row and column slices of a square-in-mm window around ``mask``'s ``(h, w) bool`` pixels.

    The window holds the mask's bounding box plus a margin, at least :data:`MIN_CROP_PIXELS` per
    side, clipped to the slice; an empty mask gives the whole slice.
    """
    height, width = mask.shape
    if not mask.any():
        return slice(0, height), slice(0, width)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    row_mm, col_mm = float(pixel_spacing[0]), float(pixel_spacing[1])
    extent_mm = max((rows[-1] - rows[0] + 1) * row_mm, (cols[-1] - cols[0] + 1) * col_mm)
    extent_mm *= 1.0 + 2 * CROP_MARGIN_FRACTION
    return (_window(rows[0], rows[-1], max(round(extent_mm / row_mm), MIN_CROP_PIXELS), height),
            _window(cols[0], cols[-1], max(round(extent_mm / col_mm), MIN_CROP_PIXELS), width))


def _window(first: int, last: int, length: int, limit: int) -> slice:
    length = min(length, limit)
    start = round((first + last + 1) / 2 - length / 2)
    start = min(max(start, 0), limit - length)
    return slice(start, start + length)


def intensity_window(image: np.ndarray | None) -> tuple[float, float] | None:
    """Display window ``(black, white)`` of a scalar image: the one the review window opens it with
    (:func:`app.window_level.initial_window`: a CT soft-tissue preset, else a percentile window).

    None for RGB images (shown as they are) and when there is no image.
    """
    if image is None or image.ndim == 4:
        return None
    return initial_window(image).levels


def _scaled(crop: np.ndarray | None, window) -> np.ndarray | None:
    """An image crop for drawing: RGB as uint8, scalar intensities through ``window`` to 0..1 float32."""
    if crop is None:
        return None
    if crop.ndim == 3:
        return np.ascontiguousarray(crop, dtype=np.uint8)
    low, high = window
    return np.clip((crop.astype(np.float32) - low) / (high - low), 0.0, 1.0)


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
