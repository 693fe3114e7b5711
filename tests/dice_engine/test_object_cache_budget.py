"""The score cache's memory hook: face_boundary_voxels counts exactly the boundary points the cache keeps,
and score_cache_bytes turns them (or the non-zero voxels, an upper bound) into bytes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from dice_engine import _object_cache
from dice_engine._object_cache import BOUNDARY_VOXEL_BYTES, face_boundary_voxels
from dice_engine.live_objects import LiveObjects, score_cache_bytes


def kept_points(live: LiveObjects) -> int:
    """Boundary points the cache of ``live`` holds once every object is described."""
    live.scores()
    return sum(len(found["boundary"]) for found in live._score_cache._geometry.values())


def brute_force(labels: np.ndarray) -> int:
    """Face-boundary voxels object by object: each value's face-connected components, eroded (scipy)."""
    face = ndimage.generate_binary_structure(labels.ndim, 1)
    total = 0
    for value in np.unique(labels[labels != 0]):
        inside = labels == value
        total += int(np.count_nonzero(inside & ~ndimage.binary_erosion(inside, structure=face, border_value=0)))
    return total


def test_hand_counted():
    labels = np.zeros((1, 5, 6), np.uint8)
    labels[0, 1:4, 1:5] = 1   # 3 x 4 block: every voxel is on the face boundary (one slice thick)
    assert face_boundary_voxels(labels) == 12
    cube = np.zeros((5, 5, 5), np.uint16)
    cube[1:4, 1:4, 1:4] = 7   # 27 voxels, only the centre is inside
    assert face_boundary_voxels(cube) == 26
    cube[2, 2, 2] = 8         # another id in the middle: the centre is an object of its own, all boundary
    assert face_boundary_voxels(cube) == 27
    full = np.ones((4, 4, 4), np.int32)   # the volume's edge counts as outside
    assert face_boundary_voxels(full) == 64 - 8
    assert face_boundary_voxels(np.zeros((3, 3), np.uint8)) == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(12, 9), (5, 8, 7), (9, 6, 5)]), st.booleans(),
       st.integers(1, 200))
def test_equals_the_cache_and_a_brute_force_count(seed, shape, instances, slab_voxels):
    rng = np.random.default_rng(seed)
    gt, pred = (ndimage.median_filter(rng.integers(0, 4, size=shape), size=2).astype(np.uint16) for _ in range(2))
    live = LiveObjects(target=gt, preds=pred, num_classes=4, instances=instances)
    saved = _object_cache.SLAB_VOXELS
    _object_cache.SLAB_VOXELS = slab_voxels   # slabs of one slice and more: their seams must not count
    try:
        counted = face_boundary_voxels(gt) + face_boundary_voxels(pred)
    finally:
        _object_cache.SLAB_VOXELS = saved
    assert counted == brute_force(gt) + brute_force(pred) == kept_points(live)
    assert score_cache_bytes(target=gt, preds=pred) == BOUNDARY_VOXEL_BYTES * counted
    upper = score_cache_bytes(target=gt, preds=pred, exact=False)
    nonzero = np.count_nonzero(gt) + np.count_nonzero(pred)
    assert upper == BOUNDARY_VOXEL_BYTES * nonzero >= BOUNDARY_VOXEL_BYTES * counted


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_lesion_mode_at_every_connectivity(connectivity):
    rng = np.random.default_rng(connectivity)
    gt, pred = (ndimage.median_filter(rng.integers(0, 3, size=(7, 9, 8)), size=2).astype(np.uint8) for _ in range(2))
    live = LiveObjects(target=gt, preds=pred, num_classes=3, connectivity=connectivity)
    assert face_boundary_voxels(gt) + face_boundary_voxels(pred) == kept_points(live)
