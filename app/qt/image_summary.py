"""What opening a case asks of its image alone, computed off the GUI thread ahead of the window. Qt-free.

Showing a case, the slice views ask for the image's window and value range and the edit toolbar for its
window and intensity histogram: full passes over the volume (percentiles, a histogram), 0.1-0.2 s on the
GUI thread for the demo case, just before its first picture. :func:`summarise_image` asks the same
questions wherever the case was read (``dicelens view``'s early read, :mod:`app.qt.early_start`; the
``open`` lane, :func:`app.qt.case_loader.read_case`; the review's read-ahead,
:mod:`app.qt.worklist_prefetch`); the answers are remembered per image object (:mod:`app.image_memo`), so
the window finds them ready (docs/architecture.md §10).

Neither this module nor what it imports loads Qt or pyqtgraph: the early read runs before Qt is imported.
"""

from __future__ import annotations

import numpy as np

from app.image_memo import per_image
from app.window_level import initial_window, value_range

HISTOGRAM_SAMPLE_VOXELS = 1 << 20
"""The intensity histogram counts a regular sample of about this many voxels."""
HISTOGRAM_BINS = 128


@per_image
def histogram_of(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(edges (BINS + 1,) float64, log1p counts (BINS,) float64)`` of a regular sample of ``image`` (computed
    once per image object, :mod:`app.image_memo`; read-only). The edit toolbar's intensity histogram
    (:mod:`app.qt.range_histogram`)."""
    flat = image.reshape(-1)
    sample = flat[:: max(1, flat.size // HISTOGRAM_SAMPLE_VOXELS)].astype(np.float64)
    low, high = float(sample.min()), float(sample.max())
    counts, edges = np.histogram(sample, bins=HISTOGRAM_BINS, range=(low, high if high > low else low + 1.0))
    log_counts = np.log1p(counts)
    for array in (edges, log_counts):
        array.setflags(write=False)   # shared by every call for this image
    return edges, log_counts


def summarise_image(case) -> None:
    """Compute and remember what showing ``case`` asks of its image (nothing without an image).

    Parameters
    ----------
    case : app.io.Case
        Its ``image`` (``(z, y, x)`` scalar or ``(z, y, x, 3)`` colour, any dtype, never written) is
        summarised as the slice views (a colour picture has a fixed window) and the edit toolbar (only
        for an image on the masks' grid, ``case.gt`` ``(z, y, x)``) will ask.
    """
    image = case.image
    if image is None:
        return
    if image.ndim != 4:
        initial_window(image)
    value_range(image)
    if image.shape == case.gt.shape:
        initial_window(image)
        histogram_of(image)
