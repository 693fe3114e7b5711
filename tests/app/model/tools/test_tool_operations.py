"""Each registered tool on tiny hand-made arrays: the exact mask it writes, locks, intensity range, undo."""

from __future__ import annotations

import numpy as np
import pytest

from app.model.edit_session import EditSession
from app.model.tools import TOOL_SPECS, TOOLS, tool_spec


def session_of(pred, image=None, spacing=(1.0, 1.0, 1.0), num_classes=4) -> EditSession:
    pred = np.ascontiguousarray(pred, dtype=np.uint8)
    session = EditSession(np.zeros_like(pred), pred, spacing, num_classes)
    session.image = None if image is None else np.asarray(image, dtype=np.float32)
    return session


def test_registry_describes_every_tool_once():
    assert TOOLS[:5] == ("navigate", "brush", "eraser", "fill", "polygon")   # the tools that existed, first
    assert len(set(TOOLS)) == len(TOOLS)
    keys = [spec.key for spec in TOOL_SPECS]
    assert len(set(keys)) == len(keys)
    assert all((spec.operation is None) == (spec.gesture in ("none", "stroke")) for spec in TOOL_SPECS)
    with pytest.raises(ValueError, match="tool must be one of"):
        tool_spec("magic wand")


def test_fill_with_tolerance_keeps_to_similar_intensities():
    image = np.array([[[10, 12, 30, 11],
                       [11, 14, 31, 10],
                       [10, 10, 10, 10]]], dtype=np.float32)
    session = session_of(np.zeros((1, 3, 4)), image)
    session.run_tool("fill", (0, 0, 0), 0, {"tolerance": 2.0})
    expected = np.array([[[1, 1, 0, 1],      # 12 is within 2 of 10; 14 and 30, 31 are not
                          [1, 0, 0, 1],
                          [1, 1, 1, 1]]])
    np.testing.assert_array_equal(session.mask("pred"), expected)


def test_fill_without_tolerance_fills_the_label_region():
    pred = np.zeros((1, 3, 4))
    pred[0, :, 2] = 2
    session = session_of(pred, np.arange(12).reshape(1, 3, 4))
    session.run_tool("fill", (0, 1, 3), 0, {"tolerance": 0.0})
    np.testing.assert_array_equal(session.mask("pred")[0], [[0, 0, 2, 1], [0, 0, 2, 1], [0, 0, 2, 1]])


def test_fill_over_a_quarter_of_the_slice_asks_first():
    session = session_of(np.zeros((1, 4, 4)))
    asked = []
    assert session.run_tool("fill", (0, 0, 0), 0, confirm=lambda n: asked.append(n) or False) is None
    assert asked == [16] and not session.mask("pred").any() and not session.can_undo
    assert session.run_tool("fill", (0, 0, 0), 0, confirm=lambda n: True) is not None
    assert session.mask("pred").all()


def test_small_fill_does_not_ask():
    pred = np.full((1, 4, 4), 2)
    pred[0, 0, :3] = 0                         # 3 of 16 voxels: under a quarter
    session = session_of(pred)
    session.run_tool("fill", (0, 0, 0), 0, confirm=lambda n: pytest.fail("asked"))
    assert (session.mask("pred") == 1).sum() == 3


def test_intensity_range_limits_brush_fill_and_lasso_not_the_eraser():
    image = np.tile(np.arange(6, dtype=np.float32), (1, 6, 1))   # intensity = column
    session = session_of(np.zeros((1, 6, 6)), image)
    session.intensity_range = (2.0, 3.0)
    session.brush_radius_mm = 10.0
    session.begin_stroke((0, 2, 2), 0)
    session.end_stroke()
    expected = np.zeros((1, 6, 6), dtype=np.uint8)
    expected[0, :, 2:4] = 1
    np.testing.assert_array_equal(session.mask("pred"), expected)
    session.active_label = 2
    session.run_tool("polygon", [(0, -1, -1), (0, -1, 6), (0, 6, 6), (0, 6, -1)], 0)
    np.testing.assert_array_equal(session.mask("pred"), expected * 2)
    session.active_label = 3
    session.run_tool("fill", (0, 0, 0), 0, {"tolerance": 0.0})   # region of label 0: columns 0-1, 4-5
    assert not (session.mask("pred") == 3).any()                 # none of them in range
    session.begin_stroke((0, 2, 2), 0, erase=True)
    session.end_stroke()
    assert not session.mask("pred").any()                         # the eraser ignores the range


def test_threshold_in_the_slice_and_in_a_box():
    image = np.zeros((3, 3, 3), dtype=np.float32)
    image[:, 1, 1] = 50
    image[1, 0, 0] = 60
    image[1, 2, 2] = 500
    session = session_of(np.zeros((3, 3, 3)), image)
    session.run_tool("threshold", (1, 0, 2), 0, {"low": 40, "high": 100, "box_mm": 0.0})
    expected = np.zeros((3, 3, 3), dtype=np.uint8)
    expected[1, 1, 1] = expected[1, 0, 0] = 1
    np.testing.assert_array_equal(session.mask("pred"), expected)
    session.run_tool("threshold", (0, 1, 1), 2, {"low": 40, "high": 100, "box_mm": 1.0})  # z 0-1, y 0-2, x 0-2
    expected[0, 1, 1] = 1
    np.testing.assert_array_equal(session.mask("pred"), expected)


def test_grow_from_seed_fills_the_alike_region_in_its_box():
    image = np.zeros((7, 9, 9), dtype=np.float32)
    image[1:6, 2:7, 2:7] = 100.0
    image[3, 4, 8] = 100.0                       # alike but not connected
    session = session_of(np.zeros((7, 9, 9)), image)
    change = session.plan_tool("grow", (3, 4, 4), 0, {"multiplier": 2.5, "box_mm": 10.0})
    assert not session.mask("pred").any()        # a plan writes nothing (the preview)
    session.apply_change(change)
    expected = image == 100.0
    expected[3, 4, 8] = False                    # alike but not connected to the seed
    np.testing.assert_array_equal(session.mask("pred") == 1, expected)


def test_interpolate_fills_the_slices_between():
    pred = np.zeros((5, 6, 6))
    pred[0, 1:5, 1:5] = 1
    pred[4, 1:5, 1:5] = 1
    pred[2, 0, 0] = 2                            # another label between: untouched (not in the square)
    session = session_of(pred)
    session.run_tool("interpolate", (0, 0, 0), 0)
    expected = np.zeros((5, 6, 6), dtype=np.uint8)
    expected[:, 1:5, 1:5] = 1
    expected[2, 0, 0] = 2
    np.testing.assert_array_equal(session.mask("pred"), expected)


def islands_case() -> np.ndarray:
    pred = np.zeros((1, 6, 9))
    pred[0, 0:3, 0:3] = 1                        # 9 voxels
    pred[0, 5, 5:7] = 1                          # 2 voxels
    pred[0, 0, 8] = 1                            # 1 voxel
    pred[0, 4, 0] = 2
    return pred


@pytest.mark.parametrize(("mode", "min_voxels", "point", "kept"), [
    (0, 1, (0, 5, 8), "largest"),
    (1, 2, (0, 5, 8), "two biggest"),
    (2, 1, (0, 5, 6), "clicked"),
])
def test_islands(mode, min_voxels, point, kept):
    session = session_of(islands_case())
    session.run_tool("islands", point, 0, {"islands": mode, "min_voxels": min_voxels})
    expected = islands_case()
    if kept in ("largest", "two biggest"):
        expected[0, 0, 8] = 0
    if kept in ("largest", "clicked"):
        expected[0, 5, 5:7] = 0 if kept == "largest" else 1
    if kept == "clicked":
        expected[0, 0:3, 0:3] = 0
        expected[0, 0, 8] = 0
    np.testing.assert_array_equal(session.mask("pred"), expected)


def brute_force_margin(mask: np.ndarray, spacing, margin: float) -> np.ndarray:
    """Voxels within ``|margin|`` mm of a voxel of ``mask`` (grow) / of a voxel outside it (shrink): all pairs."""
    points = np.argwhere(np.ones(mask.shape, dtype=bool)).astype(float) * np.asarray(spacing)
    flat = mask.reshape(-1)
    sources = points[flat] if margin > 0 else points[~flat]
    if len(sources) == 0:
        return mask.copy()
    distance = np.sqrt(((points[:, None, :] - sources[None, :, :]) ** 2).sum(-1)).min(axis=1)
    near = (distance <= abs(margin) + 1e-6).reshape(mask.shape)
    return mask | near if margin > 0 else mask & ~near


@pytest.mark.parametrize("margin", [2.0, 3.5, -1.0, -2.5])
def test_margin_equals_brute_force_distances_on_anisotropic_voxels(margin):
    rng = np.random.default_rng(7)
    spacing = (2.0, 0.7, 1.1)
    pred = np.zeros((7, 14, 12))
    pred[2:5, 3:11, 2:10] = 1
    pred[rng.random(pred.shape) < 0.05] = 1      # ragged edges and islands
    pred[0, 0, 0] = 2                            # another label: grown over unless locked
    session = session_of(pred, spacing=spacing)
    session.run_tool("margin", (3, 5, 5), 0, {"margin_mm": margin})
    expected_one = brute_force_margin(pred == 1, spacing, margin)
    np.testing.assert_array_equal(session.mask("pred") == 1, expected_one)


def test_margin_by_hand():
    pred = np.zeros((3, 5, 5))
    pred[1, 2, 2] = 1
    session = session_of(pred, spacing=(2.0, 1.0, 1.0))
    session.run_tool("margin", (1, 2, 2), 0, {"margin_mm": 2.0})
    expected = np.zeros((3, 5, 5), dtype=np.uint8)
    expected[1, 2, 0:5] = expected[1, 0:5, 2] = 1       # ±2 voxels of 1 mm in-plane
    expected[1, 1:4, 1:4] = 1                           # diagonal: sqrt(2) mm
    expected[0, 2, 2] = expected[2, 2, 2] = 1           # one slice of 2 mm
    np.testing.assert_array_equal(session.mask("pred"), expected)
    session.run_tool("margin", (1, 2, 2), 0, {"margin_mm": -1.0})
    shrunk = np.zeros((3, 5, 5), dtype=np.uint8)   # within 1 mm of background: all but the centre and its
    shrunk[1, 1:4, 2] = shrunk[1, 2, 1:4] = 1      # in-plane neighbours (their nearest background: sqrt(2) mm)
    np.testing.assert_array_equal(session.mask("pred"), shrunk)


RUNS = [("fill", (0, 0, 0), {"tolerance": 0.0}), ("threshold", (2, 5, 5), {"low": 50, "high": 150, "box_mm": 0}),
        ("grow", (2, 5, 5), {"multiplier": 2.5, "box_mm": 20}), ("interpolate", (1, 1, 1), {}),
        ("islands", (0, 0, 0), {"islands": 0, "min_voxels": 1}), ("margin", (1, 1, 1), {"margin_mm": 2.0}),
        ("margin", (1, 1, 1), {"margin_mm": -1.0}),
        ("polygon", [(2, -1, -1), (2, -1, 20), (2, 20, 20), (2, 20, -1)], {})]


def small_case() -> tuple[np.ndarray, np.ndarray]:
    pred = np.zeros((5, 12, 12))
    pred[0, 3:8, 3:8] = 1
    pred[4, 3:8, 3:8] = 1
    pred[0, 0, 11] = 1
    pred[2, 9:12, 0:3] = 2
    image = np.zeros((5, 12, 12), dtype=np.float32)
    image[1:4, 3:9, 3:9] = 100.0
    return pred, image


@pytest.mark.parametrize(("name", "point", "params"), RUNS, ids=[f"{r[0]}{r[2].get('margin_mm', '')}" for r in RUNS])
def test_locked_labels_are_never_changed_and_undo_restores(name, point, params):
    pred, image = small_case()
    session = session_of(pred, image)
    session.protected_labels = [1, 2]
    session.active_label = 3 if name not in ("interpolate", "islands", "margin") else 1
    before = session.mask("pred").copy()
    session.run_tool(name, point, 0, params, confirm=lambda n: True)
    after = session.mask("pred")
    assert np.array_equal(after[np.isin(before, [1, 2])], before[np.isin(before, [1, 2])])
    session.protected_labels = []
    session.run_tool(name, point, 0, params, confirm=lambda n: True)
    assert not np.array_equal(session.mask("pred"), before)          # unlocked, the tool does change something
    while session.can_undo:
        session.undo()
    np.testing.assert_array_equal(session.mask("pred"), before)


def test_background_only_and_the_ground_truth_target():
    pred, image = small_case()
    session = session_of(pred, image)
    session.target = "gt"
    session.run_tool("threshold", (2, 5, 5), 0, {"low": 50, "high": 150, "box_mm": 0})
    assert (session.mask("gt")[2] == 1).sum() == 36 and np.array_equal(session.mask("pred"), pred)
    session.target = "pred"
    session.background_only = True
    session.active_label = 3
    session.run_tool("margin", (0, 0, 0), 0, {"margin_mm": 1.0})   # label 3 absent: nothing to grow
    session.active_label = 2
    session.run_tool("margin", (0, 0, 0), 0, {"margin_mm": 5.0})
    grown = session.mask("pred")
    assert np.array_equal(grown[pred != 0], pred[pred != 0])        # only background was written


@pytest.mark.parametrize("margin", [2.5, -1.5])
def test_margin_of_far_apart_parts_equals_brute_force(margin):
    pred = np.zeros((4, 30, 40))
    pred[1:3, 2:6, 2:7] = 1                      # parts far apart: done one box at a time
    pred[1:4, 22:27, 30:36] = 1
    pred[0, 15, 20] = 1
    spacing = (1.5, 0.8, 0.8)
    session = session_of(pred, spacing=spacing)
    session.run_tool("margin", (0, 0, 0), 0, {"margin_mm": margin})
    np.testing.assert_array_equal(session.mask("pred") == 1, brute_force_margin(pred == 1, spacing, margin))
