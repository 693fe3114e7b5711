"""nonzero_box: the box around non-zero voxels, for any dtype, layout and shape."""

import numpy as np
import pytest

from dice_engine._surface import nonzero_box


def expected_box(labels):
    found = np.argwhere(labels)
    if found.size == 0:
        return None
    return tuple(slice(int(low), int(high) + 1) for low, high in zip(found.min(0), found.max(0), strict=True))


@pytest.mark.parametrize("shape", [(5, 7, 9), (1, 4, 4), (6, 8), (3, 5, 16), (2, 3), (4, 1, 1)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.uint16])
def test_box_matches_argwhere_for_contiguous_and_strided_maps(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    for _ in range(50):
        labels = ((rng.random(shape) < 0.05) * rng.integers(1, 5)).astype(dtype)
        assert nonzero_box(labels) == expected_box(labels)
        flipped = labels[..., ::-1]  # not C-contiguous
        assert nonzero_box(flipped) == expected_box(flipped)


def test_all_background_and_empty_maps_have_no_box():
    assert nonzero_box(np.zeros((3, 8, 8), np.uint8)) is None
    assert nonzero_box(np.zeros((0, 4), np.int64)) is None
