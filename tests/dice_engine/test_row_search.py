"""The row search behind surface distances: complete row lists, exact squared distances, table refreshes."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from dice_engine import _row_search
from dice_engine._row_search import RowGaps, nearest_squared, row_offsets
from dice_engine.distances import surface_distances

from ._distance_reference import blobs, brute_force_figures


def forget_row_lists():
    row_offsets.cache_clear()
    _row_search._row_plan.cache_clear()


SPACINGS = [(5.0, 0.7, 0.7), (1.0, 1.0, 1.0), (0.6, 2.5, 1.3), (None, 0.78, 1.3)]


@pytest.mark.parametrize("spacing", SPACINGS)
def test_row_list_is_every_row_nearer_than_its_limit_nearest_first(spacing):
    slice_step, row_step, _ = spacing
    dz, dy, base, limit = row_offsets(slice_step, row_step)
    assert np.all(np.diff(base) >= 0) and base[-1] <= limit
    if slice_step is None:
        assert not dz.any()
        grid_z = np.zeros(1, dtype=np.int64)
    else:
        grid_z = np.arange(-200, 201)
    gz, gy = (a.ravel() for a in np.meshgrid(grid_z, np.arange(-200, 201), indexing="ij"))
    all_base = (gy * row_step) ** 2 if slice_step is None else (gz * slice_step) ** 2 + (gy * row_step) ** 2
    wanted = {(int(a), int(b)) for a, b in zip(gz[all_base < limit], gy[all_base < limit], strict=True)}
    assert wanted <= set(zip(dz.tolist(), dy.tolist(), strict=True))
    assert len(base) <= _row_search.ROW_COUNT


def random_voxels(rng, count, shape):
    flat = np.unique(rng.integers(0, int(np.prod(shape)), count))
    return np.unravel_index(flat, shape)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_squared_distances_equal_brute_force(spacing):
    rng = np.random.default_rng(3)
    shape = (1, 40, 37) if spacing[0] is None else (12, 30, 28)
    surface = tuple(c.astype(np.int64) for c in random_voxels(rng, 40, shape))
    queries = tuple(c.astype(np.int64) for c in random_voxels(rng, 300, shape))
    low = np.array([min(a.min(), b.min()) for a, b in zip(surface, queries, strict=True)])
    high = np.array([max(a.max(), b.max()) + 1 for a, b in zip(surface, queries, strict=True)])
    steps = np.array([1.0 if spacing[0] is None else spacing[0], *spacing[1:]])
    got = nearest_squared(RowGaps(low, high, *surface), *queries, spacing)
    expected = cdist(np.column_stack(queries) * steps, np.column_stack(surface) * steps).min(axis=1) ** 2
    _, _, _, limit = row_offsets(spacing[0], spacing[1])
    reached = expected <= limit * (1 - 1e-12)
    assert reached.mean() > 0.9
    np.testing.assert_allclose(got[reached], expected[reached], rtol=1e-12, atol=1e-12)
    assert np.all(np.isinf(got[expected > limit * (1 + 1e-12)]))


def test_refreshed_rows_equal_a_table_built_from_scratch():
    rng = np.random.default_rng(5)
    shape = (6, 20, 25)
    surface = random_voxels(rng, 120, shape)
    low, high = np.zeros(3, dtype=np.int64), np.array(shape)
    table = RowGaps(low, high, *surface)
    changed = np.zeros(shape, dtype=bool)
    changed[surface] = True
    changed[2:4, 5:9] = rng.random((2, 4, 25)) < 0.2  # rows (2..3, 5..8) get new surface voxels
    inside = np.argwhere(changed[2:4, 5:9]).T
    table.refresh(2, 4, 5, 9, inside[0] + 2, inside[1] + 5, inside[2])
    fresh = RowGaps(low, high, *np.nonzero(changed))
    np.testing.assert_array_equal(table.gaps, fresh.gaps)


def test_voxels_beyond_the_row_list_are_measured_exactly_through_the_k_d_tree(monkeypatch):
    # With a list of a few rows, most distances fall back to the tree: still exact.
    monkeypatch.setattr(_row_search, "ROW_REACH_VOXELS", 2)
    forget_row_lists()
    try:
        rng = np.random.default_rng(8)
        gt, pred = blobs((6, 24, 22), 3, rng), blobs((6, 24, 22), 3, rng)
        pred[0, :3, :3] = 2  # a far-away island
        spacing = (2.5, 0.9, 0.6)
        ours = surface_distances(target=gt, preds=pred, spacing=spacing, nsd_tolerances=(1.0,))
        for c in (1, 2):
            expected = brute_force_figures(gt == c, pred == c, spacing, (1.0,))
            assert ours.hausdorff[c] == pytest.approx(expected["hausdorff"], abs=1e-9)
            assert ours.assd[c] == pytest.approx(expected["assd"], abs=1e-9)
    finally:
        forget_row_lists()


def test_a_table_swept_in_slabs_equals_one_swept_at_once(monkeypatch):
    rng = np.random.default_rng(9)
    shape = (9, 14, 30)
    surface = random_voxels(rng, 200, shape)
    low, high = np.zeros(3, dtype=np.int64), np.array(shape)
    whole = RowGaps(low, high, *surface)
    monkeypatch.setattr(_row_search, "_SWEEP_ENTRIES", 14 * 30 * 2)  # two slices per sweep
    np.testing.assert_array_equal(RowGaps(low, high, *surface).gaps, whole.gaps)


def test_edits_match_from_scratch_when_no_table_is_kept_between_them(monkeypatch):
    from dice_engine import _surface_pair
    from dice_engine.distance_state import SurfaceDistanceState

    monkeypatch.setattr(_surface_pair, "KEPT_TABLE_ENTRIES", 0)
    rng = np.random.default_rng(12)
    shape, spacing = (7, 20, 18), (5.0, 0.7, 0.7)
    gt, pred = blobs(shape, 4, rng), blobs(shape, 4, rng)
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=spacing, num_classes=4)
    state.results()
    for _ in range(6):
        region = tuple(slice(int(a), int(a) + 4) for a in rng.integers(0, 3, 3))
        state.apply_edit(region, int(rng.integers(0, 4)), which="pred")
        pred[region] = state.mask("pred")[region]
        expected = surface_distances(target=gt, preds=pred, spacing=spacing, num_classes=4)
        np.testing.assert_allclose(state.results().assd, expected.assd, rtol=1e-12, atol=1e-12)
