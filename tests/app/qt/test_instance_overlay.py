"""``view --instances``: the overlay's "show only selected" filter, its per-class error map and the highlighted
matrix cell follow the table's classes (foreground, or the semantic classes as edited), not the instance ids
(docs/architecture.md §5d), also where a stroke redraws only its tile."""

from __future__ import annotations

import numpy as np
import pytest

from app.qt.overlay import ERROR_COLORS, OverlaySettings, compose, label_colors
from tests.app.qt.test_instance_window import files, keep_style_sheet, open_instances, stroke  # noqa: F401


def packed(rgba: np.ndarray) -> np.ndarray:
    return rgba.view(np.uint32)[..., 0]


def colour(name: str) -> int:
    return int(np.array(ERROR_COLORS[name], dtype=np.uint8).view("<u4")[0])


def scored(window, voxels, case, semantic: bool):
    """The table's classes on the slice shown, from the masks (foreground here; the semantic working copies)."""
    view = window.slice_view
    if semantic:
        masks = voxels._translation.masks
        return view._slice_of(masks["gt"]), view._slice_of(masks["pred"])
    return view._slice_of((case.gt != 0).astype(np.uint8)), view._slice_of((case.pred != 0).astype(np.uint8))


def check_overlay(window, voxels, case, semantic: bool, selected: int) -> None:
    view = window.slice_view
    gt_classes, pred_classes = scored(window, voxels, case, semantic)
    view.set_overlay_settings(OverlaySettings(mode="filled", show_gt=False, only_selected=True))
    drawn = view._overlay_rgba[..., 3] > 0
    assert drawn.any() and np.array_equal(drawn, pred_classes == selected)
    name = window.state.scored_case.labels.name(selected)   # the legend names the table's class
    assert f"only {name}" in view.legend_label.text()
    view.set_overlay_settings(OverlaySettings(mode="errors"))
    assert f"Errors of <b>{name}</b>" in view.legend_label.text()
    pixels = packed(view._overlay_rgba)
    both, gt_only = (gt_classes == selected) & (pred_classes == selected), (gt_classes == selected) & (
        pred_classes != selected)
    assert both.any() and np.array_equal(pixels == colour("true positive"), both)
    assert np.array_equal(pixels == colour("false negative"), gt_only)
    view.set_overlay_settings(OverlaySettings(mode="errors", errors_of_all_classes=True))
    wrong = (gt_classes != 0) & (pred_classes != 0) & (gt_classes != pred_classes)
    assert np.array_equal(packed(view._overlay_rgba) == colour("wrong class"), wrong)
    window.state.highlight_cell((selected, selected))   # the matrix cell of the selected class's agreement
    assert np.array_equal(view.highlight_mask, both)
    window.state.highlight_cell(None)


@pytest.mark.parametrize("semantic", [False, True])
def test_only_selected_and_the_error_map_follow_the_scored_classes(qtbot, tmp_path, files, semantic):   # noqa: F811
    window, voxels, case = open_instances(qtbot, tmp_path, files, semantic)
    selected = 2 if semantic else 1
    window.state.select_class(selected)
    check_overlay(window, voxels, case, semantic, selected)
    # a stroke redraws its tile only: a new instance (the selected class) and an erased part
    window.slice_view.set_overlay_settings(OverlaySettings(mode="filled", show_gt=False, only_selected=True))
    renders = window.slice_view.overlay_renders
    stroke(window, 150, [(40, 40), (44, 44)])
    stroke(window, 0, [(20, 10), (30, 30)], erase=True)
    assert window.slice_view.overlay_renders == renders   # the tile path, not a whole-slice render
    pred_classes = scored(window, voxels, case, semantic)[1]
    drawn = window.slice_view._overlay_rgba[..., 3] > 0
    assert np.array_equal(drawn, pred_classes == selected)
    check_overlay(window, voxels, case, semantic, selected)
    window.answers.answer = "discard"
    window.close()


def test_compose_with_classes_keeps_the_ids_colours_of_the_selected_class_only():
    ids = np.array([[0, 3, 3, 7, 7, 9]], dtype=np.uint16)
    classes = np.array([[0, 1, 1, 2, 2, 1]], dtype=np.uint8)
    colors = label_colors(_Colours(), 10)
    settings = OverlaySettings(mode="filled", show_gt=False, only_selected=True, opacity=1.0)
    rgba = compose(ids, ids, settings, colors, 1, (classes, classes))
    assert (rgba[0, :, 3] > 0).tolist() == [False, True, True, False, False, True]
    assert np.array_equal(rgba[0, 1, :3], colors[3]) and np.array_equal(rgba[0, 5, :3], colors[9])
    errors = compose(ids, np.zeros_like(ids), OverlaySettings(mode="errors"), colors, 2, (classes, 0 * classes))
    assert (packed(errors)[0] == colour("false negative")).tolist() == [False, False, False, True, True, False]


class _Colours:
    """A label table's colours, one per id."""

    def color(self, index):
        return (index * 20 % 256, 255 - index * 20 % 256, 100)
