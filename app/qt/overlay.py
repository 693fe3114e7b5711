"""Mask overlays of one slice as RGBA pixels: filled labels, contours, the error map, the highlighted cell.

Everything here is a lookup (label -> colour table indexed by the integer label slice) or a few
whole-array comparisons, so a 512 x 512 slice renders in a few milliseconds. Qt-free (numpy only);
the slice view hands the results to pyqtgraph.

Overlay modes
-------------
``filled``
    The prediction filled in its label colours at the chosen opacity, the ground truth as solid
    outlines on top (either alone is filled when the other is switched off).
``contours``
    Ground truth as solid outlines, the prediction as dotted, lighter outlines.
``errors``
    For the selected class (or all classes): true positives, false positives and false negatives in
    the colours of :data:`ERROR_COLORS` (colour-blind safe). Both masks are used whatever their switches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OVERLAY_MODES = ("filled", "contours", "errors")

ERROR_COLORS: dict[str, tuple[int, int, int, int]] = {
    "true positive": (0, 158, 115, 90),
    "false positive": (230, 159, 0, 230),
    "false negative": (86, 180, 233, 230),
    "wrong class": (204, 121, 167, 230),
}
"""RGBA of each error-map category (Okabe-Ito colours). "wrong class": both masks foreground but
different (all-classes map only)."""

HIGHLIGHT_RGBA = (255, 0, 255, 235)
"""Voxels of the highlighted confusion-matrix cell."""

CONTOUR_ALPHA = 255


@dataclass(frozen=True)
class OverlaySettings:
    """What the overlay shows.

    Attributes
    ----------
    mode : str
        One of :data:`OVERLAY_MODES`.
    show_gt, show_pred : bool
        Whether the ground truth / prediction is drawn (filled and contour modes).
    opacity : float
        Opacity of filled labels, 0 to 1.
    errors_of_all_classes : bool
        Error map of every foreground class at once instead of the selected class.
    """

    mode: str = "filled"
    show_gt: bool = True
    show_pred: bool = True
    opacity: float = 0.45
    errors_of_all_classes: bool = False

    def __post_init__(self) -> None:
        if self.mode not in OVERLAY_MODES:
            raise ValueError(f"overlay mode must be one of {', '.join(OVERLAY_MODES)}, got {self.mode!r}")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"opacity must lie in [0, 1], got {self.opacity}")


def label_colors(labels, num_classes: int) -> np.ndarray:
    """``(num_classes, 3) uint8`` colour of every label from a label table (``labels.color(i)``)."""
    colors = np.zeros((max(num_classes, 1), 3), dtype=np.uint8)
    for index in range(1, num_classes):
        colors[index] = labels.color(index)
    return colors


def boundary(label_slice: np.ndarray) -> np.ndarray:
    """``(H, W) bool``: foreground pixels with a 4-neighbour of another label (a one-pixel outline)."""
    edge = np.zeros(label_slice.shape, dtype=bool)
    vertical = label_slice[1:] != label_slice[:-1]
    edge[1:] |= vertical
    edge[:-1] |= vertical
    horizontal = label_slice[:, 1:] != label_slice[:, :-1]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    return edge & (label_slice != 0)


def _dotted(shape: tuple[int, int]) -> np.ndarray:
    """``(H, W) bool`` checkerboard of 2 x 2 blocks, for dotted outlines."""
    rows = (np.arange(shape[0]) // 2)[:, None]
    cols = (np.arange(shape[1]) // 2)[None, :]
    return (rows + cols) % 2 == 0


def _paint(rgba: np.ndarray, where: np.ndarray, colors: np.ndarray, labels: np.ndarray, alpha: int) -> None:
    """Set ``rgba[where]`` to the colours of ``labels[where]`` with ``alpha``, in place."""
    rgba[where, :3] = colors[labels[where]]
    rgba[where, 3] = alpha


def compose(gt: np.ndarray, pred: np.ndarray, settings: OverlaySettings, colors: np.ndarray,
            selected_class: int) -> np.ndarray:
    """The overlay of one slice.

    Parameters
    ----------
    gt, pred : (H, W) integer
        Label slices as laid out on screen.
    settings : OverlaySettings
    colors : (C, 3) uint8
        Label colours (:func:`label_colors`).
    selected_class : int
        Class of the error map when ``settings.errors_of_all_classes`` is false.

    Returns
    -------
    (H, W, 4) uint8
        RGBA, alpha 0 where nothing is drawn.
    """
    rgba = np.zeros((*gt.shape, 4), dtype=np.uint8)
    if settings.mode == "errors":
        _paint_errors(rgba, gt, pred, None if settings.errors_of_all_classes else selected_class)
        return rgba
    fill_alpha = round(settings.opacity * 255)
    if settings.mode == "filled":
        if settings.show_pred:
            _paint(rgba, pred != 0, colors, pred, fill_alpha)
        if settings.show_gt and settings.show_pred:
            _paint(rgba, boundary(gt), colors, gt, CONTOUR_ALPHA)
        elif settings.show_gt:
            _paint(rgba, gt != 0, colors, gt, fill_alpha)
        return rgba
    if settings.show_pred:
        lighter = ((colors.astype(np.uint16) + 255) // 2).astype(np.uint8)
        _paint(rgba, boundary(pred) & _dotted(pred.shape), lighter, pred, CONTOUR_ALPHA)
    if settings.show_gt:
        _paint(rgba, boundary(gt), colors, gt, CONTOUR_ALPHA)
    return rgba


def _paint_errors(rgba: np.ndarray, gt: np.ndarray, pred: np.ndarray, label: int | None) -> None:
    """Error map of class ``label`` (or all foreground classes when None) into ``rgba``, in place."""
    if label is None:
        gt_in, pred_in = gt != 0, pred != 0
        agree = gt == pred
        categories = {
            "true positive": gt_in & agree,
            "false positive": pred_in & ~gt_in,
            "false negative": gt_in & ~pred_in,
            "wrong class": gt_in & pred_in & ~agree,
        }
    else:
        gt_in, pred_in = gt == label, pred == label
        categories = {
            "true positive": gt_in & pred_in,
            "false positive": pred_in & ~gt_in,
            "false negative": gt_in & ~pred_in,
        }
    for name, where in categories.items():
        rgba[where] = ERROR_COLORS[name]


def highlight(gt: np.ndarray, pred: np.ndarray, cell: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Voxels of confusion-matrix cell ``(gt_label, pred_label)`` on one slice.

    Returns
    -------
    mask : (H, W) bool
        Where ``gt == gt_label`` and ``pred == pred_label``.
    rgba : (H, W, 4) uint8
        :data:`HIGHLIGHT_RGBA` on ``mask``, transparent elsewhere.
    """
    mask = (gt == cell[0]) & (pred == cell[1])
    rgba = np.zeros((*gt.shape, 4), dtype=np.uint8)
    rgba[mask] = HIGHLIGHT_RGBA
    return mask, rgba
