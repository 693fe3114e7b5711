"""Tools that reshape one label in 3D with SimpleITK filters: islands, margin, interpolation between slices.

Each is an :data:`~app.model.tools.spec.Operation` acting on the active label of the edited mask
(the island under the cursor: on the clicked voxel's label), and reads only the bounding box of that
label, grown by what the operation can reach, so it stays fast on large volumes.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from app.model.tools.boxes import footprint_in, label_box
from app.model.tools.spec import ToolChange, ToolInput

ISLAND_MODES = ("keep largest", "remove small", "keep clicked")
"""``params["islands"]`` is the index of one of these."""


def to_sitk(array: np.ndarray, spacing_zyx) -> sitk.Image:
    """A SimpleITK image of the ``(z, y, x)`` array with the spacing in mm (SimpleITK order x, y, z)."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(tuple(float(s) for s in reversed(spacing_zyx)))
    return image


def islands_operation(given: ToolInput) -> ToolChange | None:
    """Remove islands (6-connected components in 3D) of a label: the largest is kept, or those of at
    least ``params["min_voxels"]``, or the one under the cursor.

    The label is the active one, except for "keep clicked", which acts on the clicked voxel's label
    (nothing happens on background). Ties for the largest keep the first in SimpleITK's order.
    """
    mode = ISLAND_MODES[int(given.params.get("islands", 0))]
    label = given.label
    voxel = given.voxel
    if mode == "keep clicked":
        if voxel is None or int(given.labels[voxel]) == 0:
            return None
        label = int(given.labels[voxel])
    if label == 0:
        return None
    region = label_box(given.labels, label)
    if region is None:
        return None
    present = given.labels[region] == label
    components = sitk.ConnectedComponent(to_sitk(present.astype(np.uint8), given.spacing_zyx), False)
    if mode == "keep largest":
        ranked = sitk.GetArrayViewFromImage(sitk.RelabelComponent(components, sortByObjectSize=True))
        removed = ranked > 1
        what = "keep largest island"
    elif mode == "remove small":
        minimum = int(given.params.get("min_voxels", 1))
        kept = sitk.GetArrayViewFromImage(sitk.RelabelComponent(components, minimumObjectSize=minimum))
        removed = present & (kept == 0)
        what = f"remove islands under {minimum} voxels"
    else:
        ids = sitk.GetArrayViewFromImage(components)
        local = tuple(v - part.start for v, part in zip(voxel, region, strict=True))
        removed = present & (ids != ids[local])
        what = "keep clicked island"
    footprint = footprint_in(region, np.asarray(removed, dtype=bool))
    return None if footprint is None else ToolChange(footprint, 0, f"{what} {label}", given.axis)


def margin_operation(given: ToolInput) -> ToolChange | None:
    """Grow (``params["margin_mm"] > 0``) or shrink (< 0) the active label by a distance in mm.

    Grow: every voxel whose centre lies within the margin of a voxel centre of the label gets the
    label. Shrink: every voxel of the label within the margin of a voxel centre outside it becomes
    background. Distances are Euclidean in mm with the voxel spacing (anisotropy respected), from
    SimpleITK's signed Maurer distance map on the label's box grown by the margin.
    """
    margin = float(given.params.get("margin_mm", 0.0))
    if margin == 0.0 or given.label == 0:
        return None
    reach = [int(np.ceil(abs(margin) / float(s))) + 1 for s in given.spacing_zyx]
    region = label_box(given.labels, given.label, reach if margin > 0 else (1, 1, 1))
    if region is None:
        return None
    present = given.labels[region] == given.label
    source = present if margin > 0 else ~present  # distances are measured to the voxels of ``source``
    distance = sitk.GetArrayViewFromImage(sitk.SignedMaurerDistanceMap(
        to_sitk(source.astype(np.uint8), given.spacing_zyx), insideIsPositive=False, squaredDistance=False,
        useImageSpacing=True))
    within = distance <= abs(margin) + 1e-6
    if margin > 0:
        changed, label, what = within & ~present, given.label, f"margin +{margin:g} mm"
    else:
        changed, label, what = within & present, 0, f"margin -{abs(margin):g} mm"
    footprint = footprint_in(region, np.asarray(changed, dtype=bool))
    return None if footprint is None else ToolChange(footprint, label, f"{what} {given.label}", given.axis)


def interpolate_operation(given: ToolInput) -> ToolChange | None:
    """Fill the slices between slices painted with the active label (along the axis shown).

    SimpleITK's ``MorphologicalContourInterpolator`` on the label's box: slices that hold the label
    are kept; the empty slices between two of them receive the interpolated shape.
    """
    if given.label == 0:
        return None
    region = label_box(given.labels, given.label)
    if region is None:
        return None
    present = given.labels[region] == given.label
    interpolator = sitk.MorphologicalContourInterpolator()
    interpolator.SetLabel(1)
    interpolator.SetAxis(2 - given.axis)  # SimpleITK axes are (x, y, z)
    filled = sitk.GetArrayViewFromImage(interpolator.Execute(to_sitk(present.astype(np.uint8), given.spacing_zyx)))
    footprint = footprint_in(region, (filled == 1) & ~present)
    return None if footprint is None else ToolChange(footprint, given.label, f"interpolate {given.label}",
                                                     given.axis)
