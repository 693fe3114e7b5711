"""Window/level: which intensities map to black and white. Qt-free (numpy only): the review window and
the report's key slices open an image with the same window (:func:`initial_window`).

A window is ``(width, level)``: intensities ``level - width/2`` and below are black, ``level + width/2``
and above white. CT images (Hounsfield units, values far below 0) start on the soft-tissue preset;
other images (MR, microscopy) on a percentile window that ignores the darkest and brightest voxels.
Right-dragging changes the window as in 3D Slicer and ITK-SNAP: horizontally its width, vertically
its level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.image_memo import per_image

CT_PRESETS: dict[str, tuple[float, float]] = {
    "Brain": (80.0, 40.0),
    "Soft tissue": (400.0, 40.0),
    "Lung": (1500.0, -600.0),
    "Bone": (1800.0, 400.0),
}
"""Name -> (width, level) in Hounsfield units."""

DEFAULT_CT_PRESET = "Soft tissue"
AUTO_PERCENTILES = (1.0, 99.5)
"""Percentiles of the automatic window (of voxels above the image minimum, so air does not dominate)."""

CT_MINIMUM_BELOW = -500.0
"""An integer image whose minimum lies below this is taken as CT in Hounsfield units."""

_SAMPLE_SIZE = 1_000_000
_MINIMUM_WIDTH = 1e-6


@dataclass(frozen=True)
class Window:
    """A display window: intensities in ``[level - width/2, level + width/2]`` span black to white."""

    width: float
    level: float

    @property
    def levels(self) -> tuple[float, float]:
        """``(black, white)`` intensities."""
        return (self.level - self.width / 2.0, self.level + self.width / 2.0)

    def dragged(self, dx_pixels: float, dy_pixels: float, value_range: float) -> Window:
        """The window after a right-drag of ``(dx, dy)`` screen pixels (right widens, down raises level
        as in 3D Slicer; one pixel moves ``value_range / 500``)."""
        step = max(value_range, _MINIMUM_WIDTH) / 500.0
        return Window(width=max(self.width + dx_pixels * step, _MINIMUM_WIDTH),
                      level=self.level + dy_pixels * step)


def is_ct(image: np.ndarray) -> bool:
    """Whether ``image`` looks like CT in Hounsfield units (signed integers reaching below -500)."""
    return bool(np.issubdtype(image.dtype, np.signedinteger) and image.size
                and float(image.min()) < CT_MINIMUM_BELOW)


def _sample(image: np.ndarray) -> np.ndarray:
    """At most about a million voxels of ``image`` taken at a regular stride (flattened)."""
    flat = image.reshape(-1)
    return flat[:: max(1, flat.size // _SAMPLE_SIZE)]


def auto_window(image: np.ndarray) -> Window:
    """Percentile window of a scalar image (:data:`AUTO_PERCENTILES` of voxels above the minimum)."""
    sample = _sample(image).astype(np.float64)
    if sample.size == 0:
        return Window(1.0, 0.5)
    above_minimum = sample[sample > sample.min()]
    values = above_minimum if above_minimum.size else sample
    low, high = np.percentile(values, AUTO_PERCENTILES)
    if high <= low:
        low, high = float(values.min()), float(values.max())
    width = max(float(high - low), 1.0 if np.issubdtype(image.dtype, np.integer) else _MINIMUM_WIDTH)
    return Window(width=width, level=float(low) + width / 2.0)


@per_image
def initial_window(image: np.ndarray) -> Window:
    """The window an image opens with: the soft-tissue preset for CT, else :func:`auto_window` (computed once
    per image object, :mod:`app.image_memo`)."""
    if is_ct(image):
        return Window(*CT_PRESETS[DEFAULT_CT_PRESET])
    return auto_window(image)


@per_image
def value_range(image: np.ndarray) -> float:
    """Spread of the image's intensities (max - min of a sample), the scale of window drags (computed once
    per image object, :mod:`app.image_memo`)."""
    sample = _sample(image)
    return float(sample.max()) - float(sample.min()) if sample.size else 1.0
