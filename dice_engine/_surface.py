"""Surface voxels of every class of a label map, as sorted flat indices.

A surface voxel of class ``c`` is a voxel labelled ``c`` with at least one face neighbour
(6-connectivity in 3D, 4 in 2D) that is not ``c`` or lies outside the image. This is exactly
MONAI's ``get_mask_edges`` (``mask ^ scipy.ndimage.binary_erosion(mask)`` with the default
cross-shaped structuring element, on a crop padded with zeros), so a class touching the image
border has its border voxels on its surface.

All classes come out of one pass: a voxel is on its own class's surface exactly when it differs
from a face neighbour (or touches the border), so one "label changes here" map, grouped by
label, gives every class's surface at once, with work proportional to the volume scanned plus
the number of surface voxels, never one mask per class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[slice, ...]


def nonzero_box(labels: np.ndarray) -> Box | None:
    """Smallest box holding every non-zero voxel, or ``None`` when all voxels are 0.

    One pass over the image finds the occupied slices (each slice read as 64-bit words where
    its bytes allow), then one over those slices projects them onto the other axes.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(y, x)`` or ``(z, y, x)`` integer label map.

    Returns
    -------
    tuple of slice or None
        One ``slice(start, stop)`` per axis.
    """
    if labels.size == 0:
        return None
    rows = labels.reshape(labels.shape[0], -1)
    if labels.flags.c_contiguous and rows.shape[1] * rows.itemsize % 8 == 0:
        rows = rows.view(np.uint64)
    occupied = np.flatnonzero(np.bitwise_or.reduce(rows, axis=1))
    if occupied.size == 0:
        return None
    box = [slice(int(occupied[0]), int(occupied[-1]) + 1)]
    projection = np.bitwise_or.reduce(labels[box[0]], axis=0)
    for axis in range(projection.ndim):
        others = tuple(a for a in range(projection.ndim) if a != axis)
        occupied = np.flatnonzero(np.bitwise_or.reduce(projection, axis=others) if others else projection)
        box.append(slice(int(occupied[0]), int(occupied[-1]) + 1))
    return tuple(box)


def union_box(first: Box | None, second: Box | None) -> Box | None:
    """Smallest box holding both boxes (``None`` stands for an empty box)."""
    if first is None:
        return second
    if second is None:
        return first
    return tuple(slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in zip(first, second, strict=True))


def grow_box(box: Box, margin: int, shape: Sequence[int]) -> Box:
    """``box`` widened by ``margin`` voxels on every side, clipped to an image of ``shape``."""
    return tuple(slice(max(s.start - margin, 0), min(s.stop + margin, n)) for s, n in zip(box, shape, strict=True))


def label_boundary(labels: np.ndarray, box: Box) -> np.ndarray:
    """Voxels of ``labels[box]`` that differ from a face neighbour or touch the image border.

    The neighbours looked at are taken from ``labels`` itself, so the result is exact for every
    voxel of ``box`` whose neighbours lie in ``box`` or outside the image; callers pass a box one
    voxel wider than the voxels they read the result for.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(y, x)`` or ``(z, y, x)`` integer label map (the whole image).
    box : tuple of slice
        The block to compute, one ``slice(start, stop)`` per axis, inside the image.

    Returns
    -------
    numpy.ndarray
        Boolean array of ``labels[box]``'s shape; True on label changes and on image-border faces.
    """
    block = labels[box]
    boundary = np.zeros(block.shape, dtype=bool)
    for axis, (span, size) in enumerate(zip(box, labels.shape, strict=True)):
        before = [slice(None)] * block.ndim
        after = [slice(None)] * block.ndim
        before[axis] = slice(None, -1)
        after[axis] = slice(1, None)
        changes = block[tuple(before)] != block[tuple(after)]
        boundary[tuple(before)] |= changes
        boundary[tuple(after)] |= changes
        face = [slice(None)] * block.ndim
        if span.start == 0:
            face[axis] = 0
            boundary[tuple(face)] = True
        if span.stop == size:
            face[axis] = -1
            boundary[tuple(face)] = True
    return boundary


def surfaces_in_box(labels: np.ndarray, box: Box, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """Surface voxels of the wanted classes that lie in ``box``, grouped by class.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(y, x)`` or ``(z, y, x)`` integer label map (the whole image).
    box : tuple of slice
        Where to look. Voxels outside it are not reported.
    wanted : numpy.ndarray
        ``(C,)`` bool, True for the classes to report; labels must be ``< C``.

    Returns
    -------
    dict of int to numpy.ndarray
        For each wanted class present on a surface in ``box``: ``(n,)`` int64 flat indices into
        ``labels`` (C order), ascending.
    """
    read_box = grow_box(box, 1, labels.shape)
    boundary = label_boundary(labels, read_box)
    inner = tuple(slice(b.start - r.start, b.stop - r.start) for b, r in zip(box, read_box, strict=True))
    boundary = boundary[inner]
    block = labels[box]
    local = np.flatnonzero(boundary)
    classes = block[boundary].astype(np.intp, copy=False)
    keep = wanted[classes]
    local, classes = local[keep], classes[keep]
    coords = np.unravel_index(local, boundary.shape)
    offsets = [b.start for b in box]
    flat = np.ravel_multi_index(tuple(c + o for c, o in zip(coords, offsets, strict=True)), labels.shape).astype(
        np.int64, copy=False
    )
    # A stable sort of small integers is a radix sort in numpy: group by class in linear time.
    keys = classes.astype(np.uint16) if wanted.size <= 1 << 16 else classes
    order = np.argsort(keys, kind="stable")
    flat, classes = flat[order], classes[order]
    if classes.size == 0:
        return {}
    starts = np.flatnonzero(np.diff(classes, prepend=-1))
    stops = np.append(starts[1:], classes.size)
    return {int(classes[a]): flat[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True)}


def class_surfaces(labels: np.ndarray, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """Surface voxels of every wanted class of ``labels``, from one pass over the image.

    Only the box around non-zero voxels is scanned unless class 0 (background) is wanted.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(y, x)`` or ``(z, y, x)`` integer label map.
    wanted : numpy.ndarray
        ``(C,)`` bool, True for the classes to report.

    Returns
    -------
    dict of int to numpy.ndarray
        As :func:`surfaces_in_box`; classes without voxels are absent.
    """
    box = tuple(slice(0, n) for n in labels.shape) if wanted[0] else nonzero_box(labels)
    if box is None:
        return {}
    return surfaces_in_box(labels, box, wanted)


def outside_box(flat: np.ndarray, box: Box, shape: Sequence[int]) -> np.ndarray:
    """``(n,)`` bool: which flat indices of an image of ``shape`` lie outside ``box``."""
    coords = np.unravel_index(flat, tuple(shape))
    inside = np.ones(flat.shape, dtype=bool)
    for c, span in zip(coords, box, strict=True):
        inside &= (c >= span.start) & (c < span.stop)
    return ~inside


def distance_to_box(flat: np.ndarray, box: Box, shape: Sequence[int], spacing: np.ndarray) -> np.ndarray:
    """``(n,)`` float64: Euclidean distance in mm from each voxel centre to the voxel centres of ``box``."""
    coords = np.unravel_index(flat, tuple(shape))
    squared = np.zeros(flat.shape, dtype=np.float64)
    for c, span, step in zip(coords, box, spacing, strict=True):
        gap = np.maximum(np.maximum(span.start - c, c - (span.stop - 1)), 0)
        squared += (gap * step) ** 2
    return np.sqrt(squared)
