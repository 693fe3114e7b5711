"""Grow from a seed (level tracing): the region around a clicked voxel whose intensities are alike.

SimpleITK's ``ConfidenceConnected`` in a cube around the seed: starting from the seed's
neighbourhood, voxels whose intensity lies within ``multiplier`` standard deviations of that
neighbourhood's mean join it (connected through faces). The view previews the
result; Apply writes it (one undo step).
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from app.model.tools.boxes import box_around, footprint_in
from app.model.tools.label_tools import to_sitk
from app.model.tools.spec import ToolChange, ToolInput

GROW_ITERATIONS = 0
"""Re-estimations of the mean and spread from the grown region: each one floods the box again (~4x the
time on a 40 mm box), so the statistics come from the seed's neighbourhood only."""
SEED_NEIGHBOURHOOD_RADIUS = 1
"""Voxels around the seed (a 3 x 3 x 3 cube) that give the mean and standard deviation."""


def grow_operation(given: ToolInput) -> ToolChange | None:
    """Confidence-connected region of the clicked voxel inside the cube of half size ``params["box_mm"]``.

    ``params["multiplier"]`` sets how many standard deviations from the region's mean still join.
    Needs an image (None otherwise).
    """
    voxel = given.voxel
    if given.image is None or voxel is None:
        return None
    half_mm = float(given.params.get("box_mm", 40.0))
    region = box_around(voxel, half_mm, given.spacing_zyx, given.labels.shape)
    values = np.ascontiguousarray(given.image[region], dtype=np.float32)
    seed = tuple(int(v - part.start) for v, part in zip(reversed(voxel), reversed(region), strict=True))
    grown = sitk.ConfidenceConnected(to_sitk(values, given.spacing_zyx), seedList=[seed],
                                     numberOfIterations=GROW_ITERATIONS,
                                     multiplier=float(given.params.get("multiplier", 2.5)),
                                     initialNeighborhoodRadius=SEED_NEIGHBOURHOOD_RADIUS, replaceValue=1)
    footprint = footprint_in(region, sitk.GetArrayFromImage(grown) == 1)
    if footprint is None:
        return None
    return ToolChange(footprint, given.label, f"grow from seed {given.label}", given.axis)
