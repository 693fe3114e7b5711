"""Window/level: CT detection and presets, percentile window, right-drag."""

import numpy as np

from app.window_level import CT_PRESETS, Window, auto_window, initial_window, is_ct, value_range


def test_levels_span_the_window():
    assert Window(width=400, level=40).levels == (-160, 240)


def test_ct_in_hounsfield_units_opens_on_soft_tissue():
    ct = np.full((2, 8, 8), -1000, dtype=np.int16)
    ct[:, 2:6, 2:6] = 40
    assert is_ct(ct)
    assert initial_window(ct) == Window(*CT_PRESETS["Soft tissue"])


def test_mr_gets_a_percentile_window_of_voxels_above_the_background():
    rng = np.random.default_rng(0)
    mr = np.zeros((4, 50, 50), dtype=np.uint16)
    mr[:, 10:40, 10:40] = rng.integers(100, 1100, size=(4, 30, 30))
    assert not is_ct(mr)
    window = initial_window(mr)
    low, high = np.percentile(mr[mr > 0].astype(float), (1.0, 99.5))
    np.testing.assert_allclose(window.levels, (low, high))


def test_constant_image_gets_a_usable_window():
    window = auto_window(np.full((1, 4, 4), 7, dtype=np.uint8))
    assert window.width >= 1 and window.levels[0] <= 7 <= window.levels[1]


def test_right_drag_right_widens_and_down_raises_level():
    window = Window(100.0, 50.0)
    dragged = window.dragged(dx_pixels=10, dy_pixels=-5, value_range=1000.0)
    assert dragged.width == 120.0 and dragged.level == 40.0
    assert window.dragged(-10_000, 0, 1000.0).width > 0


def test_value_range_of_image():
    assert value_range(np.array([[-3, 5], [2, 9]])) == 12.0
