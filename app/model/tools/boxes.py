"""Bounding boxes that keep the image filters of the tools fast: only the box an edit can affect is read.

Boxes are :data:`~app.model.brush.Region` tuples of three step-1 slices ``(z, y, x)``.
"""

from __future__ import annotations

import numpy as np

from app.model.brush import Footprint, Region

CHUNK_VOXELS = 1 << 22
"""Voxels compared at a time while looking for a label's slices (a small reused buffer, no volume-sized copy)."""


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

    Notes
    -----
    The slices holding the label are found chunk by chunk; only those slices are then compared whole.
    """
    depth = labels.shape[0]
    chunk = max(1, CHUNK_VOXELS // max(1, labels.shape[1] * labels.shape[2]))
    scratch = np.empty((min(chunk, depth), *labels.shape[1:]), dtype=bool)
    has_label = np.zeros(depth, dtype=bool)
    for start in range(0, depth, chunk):
        part = labels[start:start + chunk]
        np.equal(part, label, out=scratch[:len(part)])
        has_label[start:start + len(part)] = scratch[:len(part)].any(axis=(1, 2))
    slices = np.flatnonzero(has_label)
    if slices.size == 0:
        return None
    first, last = int(slices[0]), int(slices[-1]) + 1
    present = labels[first:last] == label
    bounds = [slice(first, last)]
    for axis in (1, 2):
        hits = np.flatnonzero(present.any(axis=tuple(k for k in range(3) if k != axis)))
        bounds.append(slice(int(hits[0]), int(hits[-1]) + 1))
    padded = [slice(max(part.start - int(pad), 0), min(part.stop + int(pad), size))
              for part, pad, size in zip(bounds, pad_voxels, labels.shape, strict=True)]
    return (padded[0], padded[1], padded[2])


def separate_boxes(present: np.ndarray, gap_voxels) -> list[Region]:
    """Tight boxes of ``present`` (``bool (z, y, x)``) split wherever an empty gap of at least
    ``gap_voxels[axis]`` planes runs across the whole array (recursively), relative to ``present``.

    Parts separated so are more than the gap apart, so a tool that reaches less than half the gap can
    treat them one by one: far-apart islands do not make one huge box.
    """
    boxes: list[Region] = []
    pending = [(slice(0, present.shape[0]), slice(0, present.shape[1]), slice(0, present.shape[2]))]
    while pending:
        box = pending.pop()
        part = present[box]
        bounds = []
        for axis in range(3):
            hits = np.flatnonzero(part.any(axis=tuple(k for k in range(3) if k != axis)))
            if hits.size == 0:
                break
            bounds.append((axis, hits))
        else:
            split = None
            for axis, hits in bounds:
                gaps = np.flatnonzero(np.diff(hits) > int(gap_voxels[axis]))
                if gaps.size:
                    split = (axis, hits, gaps[0])
                    break
            if split is None:
                boxes.append(tuple(slice(b.start + int(h[0]), b.start + int(h[-1]) + 1)
                                   for b, (_, h) in zip(box, bounds, strict=True)))
                continue
            axis, hits, gap = split
            low, high = list(box), list(box)
            low[axis] = slice(box[axis].start, box[axis].start + int(hits[gap]) + 1)
            high[axis] = slice(box[axis].start + int(hits[gap + 1]), box[axis].stop)
            pending += [tuple(low), tuple(high)]
    return boxes


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
