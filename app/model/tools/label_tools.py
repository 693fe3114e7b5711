"""Tools that reshape one label with SimpleITK filters: islands, margin (3D), interpolation between slices.

Each is an :data:`~app.model.tools.spec.Operation` acting on the active label of the edited mask
(the island under the cursor: on the clicked voxel's label), and reads only the bounding box of that
label, grown by what the operation can reach, so it stays fast on large volumes.
"""

from __future__ import annotations

import itertools

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
        ranked = sitk.GetArrayFromImage(sitk.RelabelComponent(components, sortByObjectSize=True))
        removed = ranked > 1
        what = "keep largest island"
    elif mode == "remove small":
        minimum = int(given.params.get("min_voxels", 1))
        kept = sitk.GetArrayFromImage(sitk.RelabelComponent(components, minimumObjectSize=minimum))
        removed = present & (kept == 0)
        what = f"remove islands under {minimum} voxels"
    else:
        ids = sitk.GetArrayFromImage(components)
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
    distance_image = sitk.SignedMaurerDistanceMap(to_sitk(source.astype(np.uint8), given.spacing_zyx),
                                                  insideIsPositive=False, squaredDistance=False, useImageSpacing=True)
    distance = sitk.GetArrayViewFromImage(distance_image)  # valid while distance_image lives
    within = distance <= abs(margin) + 1e-6
    if margin > 0:
        changed, label, what = within & ~present, given.label, f"margin +{margin:g} mm"
    else:
        changed, label, what = within & present, 0, f"margin -{abs(margin):g} mm"
    footprint = footprint_in(region, np.asarray(changed, dtype=bool))
    return None if footprint is None else ToolChange(footprint, label, f"{what} {given.label}", given.axis)


def interpolate_operation(given: ToolInput) -> ToolChange | None:
    """Fill the slices between slices painted with the active label (along the axis shown).

    Shape-based interpolation: for each run of empty slices between two slices holding the label, the
    label's signed distance maps on those two slices (SimpleITK's signed Maurer distance, in mm with the
    in-plane spacing) are blended linearly by position, and a voxel gets the label where the blend is
    <= 0. Identical outlines give the same outline between them; different ones morph. (SimpleITK's
    ``MorphologicalContourInterpolator`` is not in every SimpleITK build, so it is not relied on.)
    """
    if given.label == 0:
        return None
    axis = given.axis
    pad = [1, 1, 1]
    pad[axis] = 0  # one ring of background in-plane keeps the inside distances exact
    region = label_box(given.labels, given.label, pad)
    if region is None:
        return None
    present = given.labels[region] == given.label
    painted = np.flatnonzero(present.any(axis=tuple(k for k in range(3) if k != axis)))
    in_plane_spacing = [s for k, s in enumerate(given.spacing_zyx) if k != axis]
    filled = np.zeros_like(present)
    for first, last in itertools.pairwise(painted):
        if last - first < 2:
            continue
        d_first = _slice_distance(np.take(present, first, axis=axis), in_plane_spacing)
        d_last = _slice_distance(np.take(present, last, axis=axis), in_plane_spacing)
        for index in range(first + 1, last):
            t = (index - first) / (last - first)
            inside = (1.0 - t) * d_first + t * d_last <= 0.0
            target = [slice(None)] * 3
            target[axis] = index
            filled[tuple(target)] = inside
    footprint = footprint_in(region, filled & ~present)
    return None if footprint is None else ToolChange(footprint, given.label, f"interpolate {given.label}", axis)


def _slice_distance(mask_2d: np.ndarray, spacing_2d) -> np.ndarray:
    """Signed distance (mm, ``float64``, negative inside) of a 2D ``bool`` mask to its outline."""
    image = sitk.GetImageFromArray(mask_2d.astype(np.uint8))
    image.SetSpacing(tuple(float(s) for s in reversed(spacing_2d)))
    distance = sitk.SignedMaurerDistanceMap(image, insideIsPositive=False, squaredDistance=False, useImageSpacing=True)
    return sitk.GetArrayFromImage(distance).astype(np.float64)
