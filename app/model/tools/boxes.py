"""Bounding boxes that keep the image filters of the tools fast: only the box an edit can affect is read.

Boxes are :data:`~app.model.brush.Region` tuples of three step-1 slices ``(z, y, x)``.
"""

from __future__ import annotations

import numpy as np

from app.model.brush import Footprint, Region


def label_box(labels: np.ndarray, label: int, pad_voxels=(0, 0, 0)) -> Region | None:
    """Bounding box of the voxels of ``labels`` equal to ``label``, grown by ``pad_voxels`` per axis.

    Parameters
    ----------
    labels : np.ndarray
        ``(z, y, x)`` integer label map.
    label : int
        The label looked for.
    pad_voxels : sequence of 3 int
        Margin added on both sides of each axis (clipped to the volume).

    Returns
    -------
    tuple of 3 slice or None
        The box; None when the label is absent.
    """
    present = labels == label
    bounds = []
    for axis in range(3):
        others = tuple(k for k in range(3) if k != axis)
        hits = np.flatnonzero(present.any(axis=others))
        if hits.size == 0:
            return None
        pad = int(pad_voxels[axis])
        bounds.append(slice(max(int(hits[0]) - pad, 0), min(int(hits[-1]) + 1 + pad, labels.shape[axis])))
    return (bounds[0], bounds[1], bounds[2])


def box_around(voxel, half_size_mm: float, spacing_zyx, shape_zyx) -> Region:
    """The box of voxels within ``half_size_mm`` of ``voxel`` along each axis (a cube in mm), clipped."""
    bounds = []
    for axis in range(3):
        reach = int(np.floor(half_size_mm / float(spacing_zyx[axis]) + 1e-9))
        bounds.append(slice(max(int(voxel[axis]) - reach, 0), min(int(voxel[axis]) + reach + 1, int(shape_zyx[axis]))))
    return (bounds[0], bounds[1], bounds[2])


def slice_box(shape_zyx, axis: int, index: int) -> Region:
    """The whole slice ``index`` along ``axis`` as a box."""
    bounds = [slice(0, int(size)) for size in shape_zyx]
    bounds[axis] = slice(int(index), int(index) + 1)
    return (bounds[0], bounds[1], bounds[2])


def footprint_in(region: Region, mask: np.ndarray) -> Footprint | None:
    """A :class:`~app.model.brush.Footprint` of ``mask`` (``bool``, the box's shape) cropped to its own
    bounding box; None when ``mask`` is empty."""
    if not mask.any():
        return None
    bounds = []
    for axis in range(3):
        others = tuple(k for k in range(3) if k != axis)
        hits = np.flatnonzero(mask.any(axis=others))
        bounds.append(slice(int(hits[0]), int(hits[-1]) + 1))
    inner = (bounds[0], bounds[1], bounds[2])
    outer = tuple(slice(part.start + inner_part.start, part.start + inner_part.stop)
                  for part, inner_part in zip(region, inner, strict=True))
    return Footprint((outer[0], outer[1], outer[2]), np.array(mask[inner], dtype=bool))  # a copy: sitk views die
