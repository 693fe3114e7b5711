"""Slice tools: flood fill (optionally within an intensity tolerance), lasso and threshold.

Each is an :data:`~app.model.tools.spec.Operation`: ``ToolInput -> ToolChange | None``.
"""

from __future__ import annotations

import numpy as np

from app.model.fill import connected_region, polygon_region
from app.model.tools.boxes import box_around, footprint_in, slice_box
from app.model.tools.spec import ToolChange, ToolInput

LARGE_FILL_FRACTION = 0.25
"""A flood fill that would change more than this fraction of the slice asks first."""


def fill_operation(given: ToolInput) -> ToolChange | None:
    """Flood-fill the clicked 4-connected region of the slice with the active label.

    The region keeps to the clicked voxel's label and, when ``params["tolerance"] > 0`` and the case
    has an image, to voxels within that intensity tolerance of the clicked voxel. Writing more than
    :data:`LARGE_FILL_FRACTION` of the slice is asked first (``ask_above``).
    """
    tolerance = float(given.params.get("tolerance", 0.0))
    use_image = given.image is not None and tolerance > 0
    footprint = connected_region(given.labels, given.point, given.axis,
                                 image=given.image if use_image else None, tolerance=tolerance if use_image else None)
    if footprint is None:
        return None
    slice_voxels = given.labels.size // given.labels.shape[given.axis]
    suffix = f" ±{tolerance:g}" if use_image else ""
    return ToolChange(footprint, given.label, f"fill{suffix} {given.label}", given.axis, intensity_limited=True,
                      ask_above=int(LARGE_FILL_FRACTION * slice_voxels))


def lasso_operation(given: ToolInput) -> ToolChange | None:
    """Fill the inside of the lasso outline (``given.points``) on the slice with the active label."""
    footprint = polygon_region(given.labels.shape, given.points, given.axis)
    if footprint is None:
        return None
    return ToolChange(footprint, given.label, f"polygon {given.label}", given.axis, intensity_limited=True)


def threshold_operation(given: ToolInput) -> ToolChange | None:
    """Write the active label where the intensity lies in the range ``[low, high]`` (inclusive).

    The range is ``params["low"]``, ``params["high"]`` (the toolbar's range, on or off), else the
    session's intensity range. Inside the clicked slice when ``params["box_mm"]`` is 0, else inside the
    cube of that half size (mm) around the clicked voxel, across slices. Needs an image and a range
    (None otherwise).
    """
    voxel = given.voxel
    if "low" in given.params and "high" in given.params:
        low, high = float(given.params["low"]), float(given.params["high"])
    elif given.intensity_range is not None:
        low, high = given.intensity_range
    else:
        return None
    if given.image is None or voxel is None:
        return None
    half_mm = float(given.params.get("box_mm", 0.0))
    if half_mm > 0:
        region = box_around(voxel, half_mm, given.spacing_zyx, given.labels.shape)
        where = f"box ±{half_mm:g} mm"
    else:
        region = slice_box(given.labels.shape, given.axis, voxel[given.axis])
        where = "slice"
    values = given.image[region]
    footprint = footprint_in(region, (values >= low) & (values <= high))
    if footprint is None:
        return None
    return ToolChange(footprint, given.label, f"threshold [{low:g}, {high:g}] {where} {given.label}", given.axis)


def intensity_mask(image: np.ndarray, region, intensity_range: tuple[float, float]) -> np.ndarray:
    """``bool`` mask of ``region`` of ``image`` where the intensity lies in ``[low, high]``."""
    values = image[region]
    return (values >= intensity_range[0]) & (values <= intensity_range[1])
