"""Per-object geometry: centroid, largest slice per axis and face-boundary points.

Distances between two objects are the smallest Euclidean distance in mm between their voxel centres.
The nearest pair of two disjoint voxel sets always lies on both sets' face boundaries (a voxel with
all face neighbours inside could step one voxel towards the other set and come strictly closer), so
only boundary voxels are searched (:mod:`dice_engine._object_cache`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def object_voxels(labels: np.ndarray, box: tuple[slice, ...], object_id: int) -> np.ndarray:
    """The object's voxels inside its box, ``bool`` of the box's shape."""
    return labels[box] == object_id


def centroid(inside: np.ndarray, box: tuple[slice, ...]) -> tuple[float, ...]:
    """Mean voxel index of the object, in array axis order (float64)."""
    return tuple(float(np.mean(axis_index)) + s.start for axis_index, s in zip(np.nonzero(inside), box, strict=True))


def largest_slices(inside: np.ndarray, box: tuple[slice, ...]) -> tuple[int, ...]:
    """Per axis, the slice index holding most of the object's voxels (the lowest on a tie)."""
    result = []
    for axis in range(inside.ndim):
        others = tuple(a for a in range(inside.ndim) if a != axis)
        per_slice = inside.sum(axis=others) if others else inside.astype(np.int64)
        result.append(int(np.argmax(per_slice)) + box[axis].start)
    return tuple(result)


def boundary_points_mm(inside: np.ndarray, box: tuple[slice, ...], spacing: np.ndarray) -> np.ndarray:
    """Centres in mm (array axis order, origin at index 0) of the object's face-boundary voxels, ``(K, ndim)``."""
    face = ndimage.generate_binary_structure(inside.ndim, 1)
    boundary = inside & ~ndimage.binary_erosion(inside, structure=face, border_value=0)
    starts = np.array([s.start for s in box], dtype=np.float64)
    return (np.argwhere(boundary).astype(np.float64) + starts) * spacing
