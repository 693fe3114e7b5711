"""Mask overlays of one slice as RGBA pixels: filled labels, contours, the error map, the highlighted cell.

Everything here is a lookup (packed-RGBA table indexed by the integer label slice) or a few
whole-array comparisons, so a 512 x 512 slice renders in about a millisecond per layer. Qt-free (numpy only);
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

Per label (filled and contour modes): a label can be hidden, drawn with its own opacity (a factor of the
overall opacity) or, with "show only selected", every label but the selected class hidden. Hidden labels
leave the pixels under them as they would be without them (an outline of a hidden ground-truth label does
not erase the prediction's fill). The error map is about the selected class (or all) and ignores these.

With ``view --instances`` the masks hold instance ids (drawn in their colours) while the table's classes are
the voxel case's (docs/architecture.md §5d): :func:`compose` then takes the slices of those classes, and "show
only selected" keeps the voxels of the selected class and the error map compares classes, not ids.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

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

_PIXEL = np.dtype("<u4")
"""Packed RGBA pixel: little-endian uint32 whose bytes are R, G, B, A (viewed as ``(H, W, 4) uint8``)."""


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
    hidden_labels : frozenset of int
        Labels not drawn (filled and contour modes).
    label_opacity : tuple of (int, float)
        ``(label, factor)`` pairs, factor in [0, 1]: that label's fill opacity is ``opacity * factor``
        (labels not listed: 1). Build it with :meth:`with_label_opacity`.
    only_selected : bool
        Draw only the selected class (filled and contour modes).
    """

    mode: str = "filled"
    show_gt: bool = True
    show_pred: bool = True
    opacity: float = 0.35
    errors_of_all_classes: bool = False
    hidden_labels: frozenset[int] = frozenset()
    label_opacity: tuple[tuple[int, float], ...] = ()
    only_selected: bool = False

    def __post_init__(self) -> None:
        if self.mode not in OVERLAY_MODES:
            raise ValueError(f"overlay mode must be one of {', '.join(OVERLAY_MODES)}, got {self.mode!r}")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"opacity must lie in [0, 1], got {self.opacity}")
        for label, factor in self.label_opacity:
            if not 0.0 <= factor <= 1.0:
                raise ValueError(f"opacity of label {label} must lie in [0, 1], got {factor}")

    def opacity_of(self, label: int) -> float:
        """Opacity factor of ``label`` (1 unless set with :meth:`with_label_opacity`)."""
        return dict(self.label_opacity).get(int(label), 1.0)

    def with_label_opacity(self, label: int, factor: float) -> OverlaySettings:
        """These settings with ``label``'s opacity factor set to ``factor`` (1 removes the entry)."""
        entries = {key: value for key, value in self.label_opacity if key != int(label)}
        if factor != 1.0:
            entries[int(label)] = float(factor)
        return replace(self, label_opacity=tuple(sorted(entries.items())))

    def with_label_hidden(self, label: int, hidden: bool) -> OverlaySettings:
        """These settings with ``label`` hidden or shown."""
        labels = self.hidden_labels | {int(label)} if hidden else self.hidden_labels - {int(label)}
        return replace(self, hidden_labels=frozenset(labels))

    def label_factors(self, num_labels: int, selected_class: int) -> np.ndarray:
        """``(num_labels,) float64`` opacity factor of every label: 0 when hidden, else its factor."""
        factors = np.ones(max(num_labels, 1), dtype=np.float64)
        for label, factor in self.label_opacity:
            if label < len(factors):
                factors[label] = factor
        for label in self.hidden_labels:
            if label < len(factors):
                factors[label] = 0.0
        if self.only_selected:
            keep = factors[selected_class] if 0 <= selected_class < len(factors) else 0.0
            factors[:] = 0.0
            if 0 <= selected_class < len(factors):
                factors[selected_class] = keep
        return factors


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


@functools.lru_cache(maxsize=8)
def _dotted(shape: tuple[int, int]) -> np.ndarray:
    """``(H, W) bool`` checkerboard of 2 x 2 blocks, for dotted outlines (cached per shape; read-only)."""
    rows = (np.arange(shape[0]) // 2)[:, None]
    cols = (np.arange(shape[1]) // 2)[None, :]
    pattern = (rows + cols) % 2 == 0
    pattern.flags.writeable = False
    return pattern


def _packed(rgba) -> np.ndarray:
    """RGBA rows ``(N, 4)`` (ints 0..255) as ``(N,) uint32`` whose little-endian bytes are R, G, B, A."""
    rgba = np.asarray(rgba, dtype=np.uint32).reshape(-1, 4)
    return (rgba[:, 0] | rgba[:, 1] << 8 | rgba[:, 2] << 16 | rgba[:, 3] << 24).astype(_PIXEL)


def _label_lut(colors: np.ndarray, alpha) -> np.ndarray:
    """``(C,) uint32`` packed colour of each label with ``alpha`` (an int, or ``(C,)`` per label); label 0
    transparent."""
    alphas = np.broadcast_to(np.asarray(alpha, dtype=np.uint8).reshape(-1), (len(colors),))
    rgba = np.concatenate([colors, alphas[:, None]], axis=1)
    lut = _packed(rgba)
    lut[0] = 0
    return lut


def _as_rgba(pixels: np.ndarray) -> np.ndarray:
    """``(H, W) uint32`` packed pixels as an ``(H, W, 4) uint8`` view."""
    return pixels.view(np.uint8).reshape(*pixels.shape, 4)



def compose(gt: np.ndarray, pred: np.ndarray, settings: OverlaySettings, colors: np.ndarray,
            selected_class: int, classes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The overlay of one slice.

    Every layer is a lookup of the integer label slice in a packed-RGBA table (one gather per layer),
    so the cost does not depend on how many pixels are labelled.

    Parameters
    ----------
    gt, pred : (H, W) integer
        Label slices as laid out on screen.
    settings : OverlaySettings
    colors : (C, 3) uint8
        Label colours (:func:`label_colors`).
    selected_class : int
        Class of the error map when ``settings.errors_of_all_classes`` is false.
    classes : tuple of (H, W) integer, optional
        ``(gt classes, pred classes)``: the classes the table scores, when ``gt`` / ``pred`` hold instance ids;
        the error map and "show only selected" use them (``selected_class`` is one of them).

    Returns
    -------
    (H, W, 4) uint8
        RGBA, alpha 0 where nothing is drawn.
    """
    if settings.mode == "errors":
        scored_gt, scored_pred = (gt, pred) if classes is None else classes
        return _as_rgba(_errors(scored_gt, scored_pred, None if settings.errors_of_all_classes else selected_class))
    keep_gt = keep_pred = None   # per pixel: of the selected class (instance ids drawn, classes selected)
    if classes is not None and settings.only_selected:
        keep_gt, keep_pred = classes[0] == selected_class, classes[1] == selected_class
        settings = replace(settings, only_selected=False)
    factors = settings.label_factors(len(colors), selected_class)
    shown = None if np.all(factors > 0) else factors > 0   # None: every label drawn (no extra lookup)
    outline = _label_lut(colors, np.where(factors > 0, CONTOUR_ALPHA, 0))
    pixels = np.zeros(gt.shape, dtype=_PIXEL)
    if settings.mode == "filled":
        fill = _label_lut(colors, np.rint(settings.opacity * 255 * factors))
        if settings.show_pred:
            pixels = _kept(_lookup(fill, pred), keep_pred)
            if settings.show_gt:
                _draw(pixels, _kept(_visible(boundary(gt), gt, shown), keep_gt), outline, gt)
        elif settings.show_gt:
            pixels = _kept(_lookup(fill, gt), keep_gt)
        return _as_rgba(pixels)
    if settings.show_pred:
        lighter = ((colors.astype(np.uint16) + 255) // 2).astype(np.uint8)
        lighter_outline = _label_lut(lighter, np.where(factors > 0, CONTOUR_ALPHA, 0))
        _draw(pixels, _kept(_visible(boundary(pred) & _dotted(pred.shape), pred, shown), keep_pred),
              lighter_outline, pred)
    if settings.show_gt:
        _draw(pixels, _kept(_visible(boundary(gt), gt, shown), keep_gt), outline, gt)
    return _as_rgba(pixels)


def _kept(values: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """``values`` (packed pixels, or a bool mask) zeroed where ``keep`` is false, in place; None keeps all."""
    if keep is not None:
        np.multiply(values, keep, out=values, casting="unsafe")   # dense: faster than ``values[~keep] = 0``
    return values


def _visible(where: np.ndarray, labels: np.ndarray, shown: np.ndarray | None) -> np.ndarray:
    """``where`` without the pixels of hidden labels (``shown``: ``(C,) bool`` per label, None = all)."""
    if shown is None:
        return where
    return where & np.take(shown, labels, mode="clip")


def _lookup(lut: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``lut[labels]`` (``np.take`` is about twice as fast as fancy indexing here)."""
    return np.take(lut, labels, mode="clip")


def _draw(pixels: np.ndarray, where: np.ndarray, lut: np.ndarray, labels: np.ndarray) -> None:
    """Set ``pixels[where]`` to the packed colours of ``labels[where]``, in place (sparse: outlines)."""
    pixels[where] = _lookup(lut, labels[where])


# Error-map code of a pixel: 1 GT only (false negative), 2 prediction only (false positive),
# 3 both (true positive), 7 both foreground but different classes (wrong class, all-classes map).
_ERROR_CODES = {1: "false negative", 2: "false positive", 3: "true positive", 7: "wrong class"}
_ERROR_LUT = np.zeros(8, dtype=_PIXEL)
for _code, _name in _ERROR_CODES.items():
    _ERROR_LUT[_code] = _packed(ERROR_COLORS[_name])[0]


def _errors(gt: np.ndarray, pred: np.ndarray, label: int | None) -> np.ndarray:
    """``(H, W) uint32`` packed error map of class ``label``, or of all foreground classes when None."""
    if label is None:
        gt_in, pred_in = gt != 0, pred != 0
        wrong_class = gt_in & pred_in & (gt != pred)
        code = gt_in.view(np.uint8) + 2 * pred_in.view(np.uint8) + 4 * wrong_class.view(np.uint8)
    else:
        code = (gt == label).view(np.uint8) + 2 * (pred == label).view(np.uint8)
    return _lookup(_ERROR_LUT, code)


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
    return mask, _as_rgba(np.where(mask, _packed(HIGHLIGHT_RGBA)[0], np.zeros((), dtype=_PIXEL)))
