"""Per-object geometry: centroid, largest slice per axis, surface points and nearest-object distances.

Distances between two objects are the smallest Euclidean distance in mm between their voxel centres.
The nearest pair of two disjoint voxel sets always lies on both sets' face boundaries (a voxel with
all face neighbours inside could step one voxel towards the other set and come strictly closer), so
only boundary voxels are put in the k-d tree.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree


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


class NearestObjects:
    """Distance from any voxel set to the nearest of a fixed group of objects (k-d tree of boundaries).

    Parameters
    ----------
    point_sets : list of numpy.ndarray
        Boundary points in mm of each object of the group (:func:`boundary_points_mm`).
    """

    def __init__(self, point_sets: list[np.ndarray]) -> None:
        points = [p for p in point_sets if len(p)]
        self._tree = cKDTree(np.concatenate(points)) if points else None

    def distance_mm(self, points: np.ndarray) -> float:
        """Smallest distance in mm from ``points`` to the group; NaN when the group is empty."""
        if self._tree is None or len(points) == 0:
            return float("nan")
        distances, _ = self._tree.query(points, k=1)
        return float(np.min(distances))
