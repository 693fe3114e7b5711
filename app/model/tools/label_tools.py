"""Tools that reshape one label with SimpleITK filters: islands, margin (3D), interpolation between slices.

Each is an :data:`~app.model.tools.spec.Operation` acting on the active label of the edited mask
(the island under the cursor: on the clicked voxel's label), and reads only the bounding box of that
label, grown by what the operation can reach, so it stays fast on large volumes.
"""

from __future__ import annotations

import itertools

import numpy as np
import SimpleITK as sitk

from app.model.tools.boxes import footprint_in, label_box, separate_boxes
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
    background. Distances are Euclidean in mm with the voxel spacing (anisotropy respected), computed
    exactly up to the margin by :func:`squared_distance_within`, per part of the label (parts more than
    twice the margin apart are done separately) on the part's box grown by the margin.
    """
    margin = float(given.params.get("margin_mm", 0.0))
    if margin == 0.0 or given.label == 0:
        return None
    reach = [int(np.ceil(abs(margin) / float(s))) + 1 for s in given.spacing_zyx]
    region = label_box(given.labels, given.label, reach)
    if region is None:
        return None
    present = given.labels[region] == given.label
    changed = np.zeros_like(present)
    for part in separate_boxes(present, [2 * r + 1 for r in reach]):
        box = tuple(slice(max(p.start - r, 0), min(p.stop + r, size))
                    for p, r, size in zip(part, reach, present.shape, strict=True))
        inside = present[box]
        source = inside if margin > 0 else ~inside  # distances are measured to the voxels of ``source``
        squared = squared_distance_within(source, given.spacing_zyx, abs(margin))
        within = squared <= np.float32(abs(margin) ** 2 * (1 + 1e-5) + 1e-6)  # float32 rounding of a distance == margin
        changed[box] |= within & (~inside if margin > 0 else inside)
    label, sign = (given.label, "+") if margin > 0 else (0, "-")
    footprint = footprint_in(region, changed)
    return None if footprint is None else ToolChange(footprint, label, f"margin {sign}{abs(margin):g} mm {given.label}",
                                                     given.axis)


def squared_distance_within(source: np.ndarray, spacing_zyx, reach_mm: float) -> np.ndarray:
    """Squared Euclidean distance (mm², ``float32``) from each voxel centre to the nearest True voxel of
    ``source`` (``bool (z, y, x)``): exact wherever it is at most ``reach_mm²``, larger (or inf) elsewhere.

    Separable and bounded: the exact distance along x within each row (running maxima/minima of the
    object's indices), then the minimum over the y and z offsets that can lie within ``reach_mm``
    (``D²(p) = min over dz, dy of dz²·sz² + dy²·sy² + Dx²(p + (dz, dy, 0))``). The work is a few dozen
    array passes over the box, several times faster than a full distance map when the margin is a few
    voxels, which is what a margin in mm is.
    """
    sz, sy, sx = (float(s) for s in spacing_zyx)
    index = np.arange(source.shape[2], dtype=np.float32)
    before = np.where(source, index, np.float32(-np.inf))
    np.maximum.accumulate(before, axis=2, out=before)
    after = np.where(source[..., ::-1], index[::-1], np.float32(np.inf))
    np.minimum.accumulate(after, axis=2, out=after)
    rows = np.minimum(index - before, after[..., ::-1] - index)
    rows *= sx
    rows *= rows
    del before, after
    planes = rows.copy()
    scratch = np.empty_like(rows)
    for dy in range(1, int(reach_mm // sy) + 1):
        _shifted_minimum(planes, rows, dy, 1, np.float32((dy * sy) ** 2), scratch)
    volume = planes.copy()
    for dz in range(1, int(reach_mm // sz) + 1):
        _shifted_minimum(volume, planes, dz, 0, np.float32((dz * sz) ** 2), scratch)
    return volume


def _shifted_minimum(target: np.ndarray, source: np.ndarray, shift: int, axis: int, step, scratch: np.ndarray) -> None:
    """``target = min(target, source shifted by ±shift along axis + step)``, without temporaries."""
    ahead = [slice(None)] * 3
    behind = [slice(None)] * 3
    ahead[axis], behind[axis] = slice(shift, None), slice(None, -shift)
    for low, high in ((tuple(ahead), tuple(behind)), (tuple(behind), tuple(ahead))):
        buffer = scratch[low]
        np.add(source[high], step, out=buffer)
        np.minimum(target[low], buffer, out=target[low])


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
