"""The object key: the objects lane cuts out each missed and false object's voxels; the views colour them and
highlight the object chosen in the Objects dock, on whatever slice they show, until an edit takes it away."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from scipy import ndimage

from app.orientation import to_screen
from app.qt.objects_controller import ObjectsController, ObjectsUpdate
from app.qt.objects_dock import ObjectsPanel
from app.qt.objects_key import TOGGLE_KEY, ObjectsKey, legend_html
from app.qt.objects_voxels import ObjectVoxels, unmatched_voxels
from app.qt.objects_worker import ObjectsEditRequest, ObjectsLoadRequest, ObjectsReply, ObjectsWorkerState, process
from app.qt.overlay_objects import CHOSEN_RGBA, KEY_COLORS, object_key_slice
from app.qt.review_state import ReviewState
from app.qt.view_layout import ViewLayout
from dice_engine.live_objects import LiveObjects
from tests.app.qt.panels_cases import organ_case
from tests.app.qt.test_objects_dock import FALSE_BLOB, edit


def own_voxels(case, item) -> np.ndarray:
    """Independently: the ``(z, y, x)`` bool volume of the component of ``item``'s class holding its anchor."""
    mask = getattr(case, item.mask) == item.class_index
    components, _ = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    return components == components[tuple(item.anchor)]


def unmatched(scores) -> list:
    return [o for c in scores.classes for o in (*c.missed, *c.false)]


# ------------------------------------------------------------------------------------- the lane's cut-outs
def test_each_reply_carries_every_unmatched_objects_own_voxels_after_edits_too():
    case = organ_case()
    state = ObjectsWorkerState()
    loaded = process(state, ObjectsLoadRequest(1, 1, case.gt.copy(), case.pred.copy(), case.geometry.spacing_zyx,
                                               case.num_classes))
    deltas = (edit(case, "pred", FALSE_BLOB, 2), edit(case, "gt", (slice(3, 6), slice(5, 8), slice(4, 7)), 0))
    for reply in (loaded, process(state, ObjectsEditRequest(1, 2, deltas))):
        assert isinstance(reply, ObjectsReply)
        objects = unmatched(reply.scores)
        assert sorted(v.key for v in reply.voxels) == sorted((o.mask, o.anchor) for o in objects)
        for item in reply.voxels:
            box = tuple(slice(lo, hi) for lo, hi in item.box)
            expected = own_voxels(case, item)
            assert np.array_equal(item.inside, expected[box]) and expected.sum() == item.inside.sum()
            assert not item.inside.flags.writeable
    assert any(v.status == "false" and v.class_index == 2 and v.inside.all() for v in reply.voxels)


def test_cut_outs_stay_within_the_budget_largest_first():
    gt = np.zeros((1, 10, 10), np.uint8)
    pred = np.zeros_like(gt)
    gt[0, 0:4, 0:4] = 1        # missed, box 16
    pred[0, 6:9, 6:9] = 1      # false, box 9
    pred[0, 0, 9] = 1          # false, box 1
    live = LiveObjects(target=gt, preds=pred, num_classes=2)
    scores = live.scores()
    assert [v.inside.size for v in unmatched_voxels(live, scores)] == [16, 9, 1]
    assert [v.inside.size for v in unmatched_voxels(live, scores, budget=11)] == [9, 1]   # 16 does not fit


# ------------------------------------------------------------------------------------- one slice's pixels
def test_key_pixels_of_missed_false_and_chosen_objects():
    inside = np.zeros((2, 2, 3), bool)
    inside[0] = [[True, False, False], [True, True, False]]
    inside[1] = [[False, False, True], [False, False, False]]
    missed = ObjectVoxels("gt", "missed", 1, (0, 1, 1), ((0, 2), (1, 3), (1, 4)), inside)
    false = ObjectVoxels("pred", "false", 2, (1, 4, 0), ((1, 2), (4, 5), (0, 2)), np.ones((1, 1, 2), bool))
    shape = (3, 5, 5)
    rgba = object_key_slice((missed, false), 0, 1, shape)
    expected = np.zeros((5, 5, 4), np.uint8)
    expected[1, 3] = KEY_COLORS["missed"]
    expected[4, 0:2] = KEY_COLORS["false"]
    assert np.array_equal(rgba, expected)
    chosen = object_key_slice((missed, false), 0, 0, shape, show_kinds=False, chosen=missed.key)
    expected = np.zeros((5, 5, 4), np.uint8)
    expected[1, 1] = expected[2, 1] = expected[2, 2] = CHOSEN_RGBA
    assert np.array_equal(chosen, expected)
    # A sagittal cut (axis 2) of the missed object: rows z, columns y.
    side = object_key_slice((missed,), 2, 1, shape)
    assert {tuple(p) for p in np.argwhere(side[..., 3] > 0)} == {(0, 1), (0, 2)}
    assert object_key_slice((missed, false), 0, 2, shape) is None   # nothing crosses slice 2
    assert object_key_slice((missed, false), 0, 1, shape, show_kinds=False) is None
    assert "missed object" in legend_html(True, False) and "chosen object" not in legend_html(True, False)
    assert legend_html(False, False) == ""


# ------------------------------------------------------------------------------------- the views
def key_views(qtbot):
    """A case in three-axis views with the Objects dock and the key, objects counted synchronously."""
    case = organ_case()
    state = ReviewState()
    views = ViewLayout(state)
    qtbot.addWidget(views)
    controller = ObjectsController()
    panel = ObjectsPanel(state, controller, views)
    qtbot.addWidget(panel)
    key = ObjectsKey(views, controller)
    panel.object_chosen.connect(key.choose)
    state.set_case(case)
    controller.load(case)
    return case, state, views, controller, panel, key


def drawn(key, view_index: int, color) -> np.ndarray:
    """Screen pixels of a view's key layer in ``color`` (all False when the layer is hidden)."""
    layer = key.layers[view_index]
    image = layer.image
    if not layer.isVisible() or image is None:
        return np.zeros((0, 0), bool)
    return np.all(image == np.asarray(color, np.uint8), axis=-1)


def expected_on_screen(case, item, view) -> np.ndarray:
    plane = np.take(own_voxels(case, item), view.slice_index, axis=view.frame.array_axis)
    return to_screen(plane, view.frame)


def test_clicking_a_row_highlights_exactly_that_objects_voxels_following_the_slice(qtbot):
    case, state, views, controller, panel, key = key_views(qtbot)
    row = next(r for r, o in enumerate(panel.objects) if o.box[0][1] - o.box[0][0] > 1)   # spans slices
    item = panel.objects[row]
    state.highlight_cell((1, 0))
    rect = panel.table.visualItemRect(panel.table.item(row, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not key._timer.isActive(), timeout=5_000)
    view = views.primary
    assert (state.slice_index, state.highlighted_cell) == (item.largest_slices[0], None)
    assert key.chosen == (item.mask, item.anchor) and not key.shown
    assert np.array_equal(drawn(key, 0, CHOSEN_RGBA), expected_on_screen(case, item, view))
    assert drawn(key, 0, CHOSEN_RGBA).any() and not drawn(key, 0, KEY_COLORS["missed"]).any()
    other = item.box[0][0] if item.largest_slices[0] != item.box[0][0] else item.box[0][1] - 1
    state.set_slice(other)
    qtbot.waitUntil(lambda: not key._timer.isActive(), timeout=5_000)
    assert view.slice_index == other
    assert np.array_equal(drawn(key, 0, CHOSEN_RGBA), expected_on_screen(case, item, view))
    state.set_slice(case.gt.shape[0] - 1)   # holds no object: the layer is hidden
    qtbot.waitUntil(lambda: not key._timer.isActive(), timeout=5_000)
    assert not key.layers[0].isVisible()
    state.highlight_cell((1, 0))   # a confusion cell highlighted instead: the object's highlight goes
    assert key.chosen is None
    controller.shutdown()


def test_the_highlight_disappears_when_an_edit_takes_the_object_away(qtbot):
    case, _state, _views, controller, panel, key = key_views(qtbot)
    controller.submit_delta(edit(case, "pred", FALSE_BLOB, 2))
    controller.flush()
    row = next(r for r, o in enumerate(panel.objects) if o.status == "false" and o.class_index == 2)
    panel.choose(row)
    item = panel.objects[row]
    assert key.chosen == (item.mask, item.anchor) and key.layers[0].isVisible()
    controller.submit_delta(edit(case, "pred", FALSE_BLOB, 0))   # erased again
    controller.flush()
    qtbot.waitUntil(lambda: not key._timer.isActive(), timeout=5_000)
    assert key.chosen is None
    assert not drawn(key, 0, CHOSEN_RGBA).any()
    controller.shutdown()


def test_the_key_colours_missed_and_false_voxels_on_the_views_slices(qtbot):
    case, state, views, controller, _panel, key = key_views(qtbot)
    action = key.actions["show_object_key"]
    assert action.shortcut().toString() == TOGGLE_KEY and not action.isChecked()
    views.set_layout("three")
    controller.submit_delta(edit(case, "gt", FALSE_BLOB, 2))   # a missed object on slices 0-1
    controller.flush()
    action.setChecked(True)
    objects = unmatched(controller.last_update.scores)
    seen = set()
    for z in (1, 8):   # the missed blob, the false tumour blob (slices 8-9)
        state.set_slice(z)
        views.crosshair.set_point((z, 21, 17))
        qtbot.waitUntil(lambda: not key._timer.isActive(), timeout=5_000)
        for index, view in enumerate(views.views):
            for status in ("missed", "false"):
                expected = np.zeros(to_screen(np.take(case.gt, view.slice_index, axis=view.frame.array_axis),
                                              view.frame).shape, bool)
                for item in objects:
                    if item.status == status:
                        expected |= expected_on_screen(case, item, view)
                got = drawn(key, index, KEY_COLORS[status])
                if expected.any():
                    seen.add(status)
                    assert np.array_equal(got, expected), (z, index, status)
                else:
                    assert not got.any()
            assert key.legends[index].isVisible()
    assert seen == {"missed", "false"}
    action.setChecked(False)
    qtbot.waitUntil(lambda: not key._timer.isActive(), timeout=5_000)
    assert not any(layer.isVisible() for layer in key.layers)
    controller.shutdown()


def test_window_wires_the_key_lists_it_in_the_view_menu_and_help_without_a_clash(window, qtbot):
    from PySide6.QtGui import QAction

    action = window.objects_key.actions["show_object_key"]
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert action in view_menu.actions()
    shown = []
    window.show_info = lambda title, html: shown.append(html)
    window.show_shortcuts()
    assert f"<b>{TOGGLE_KEY}</b>" in shown[0] and "Object" in shown[0]
    keys = [a.shortcut().toString() for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert keys.count(TOGGLE_KEY) == 1
    qtbot.waitUntil(lambda: window.objects.last_update is not None, timeout=10_000)
    window.objects_panel.choose(0)
    item = window.objects_panel.objects[0]
    assert window.objects_key.chosen == (item.mask, item.anchor)
    qtbot.waitUntil(lambda: not window.objects_key._timer.isActive(), timeout=5_000)
    view = window.slice_view
    assert np.array_equal(drawn(window.objects_key, 0, CHOSEN_RGBA),
                          expected_on_screen(window.state.case, item, view))


def test_a_stroke_never_redraws_the_key_only_the_objects_update_after_it_does(window, qtbot, monkeypatch):
    from tests.app.qt.editing_cases import drag

    qtbot.waitUntil(lambda: window.objects.last_update is not None, timeout=10_000)
    key = window.objects_key
    key.actions["show_object_key"].setChecked(True)
    qtbot.waitUntil(lambda: not key._timer.isActive(), timeout=5_000)
    calls = []
    layer = key.layers[0]
    original = layer.setImage
    monkeypatch.setattr(layer, "setImage", lambda *a, **k: (calls.append(1), original(*a, **k)))
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(6, col) for col in range(2, 26, 4)])
    assert window.objects.pending and calls == []   # the stroke is on screen; the key waits for the lane
    window.objects.flush()
    qtbot.waitUntil(lambda: not window.objects.pending, timeout=10_000)
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    case, view = window.state.case, window.slice_view
    expected = np.zeros(to_screen(case.gt[view.slice_index], view.frame).shape, bool)
    for item in unmatched(window.objects.last_update.scores):
        if item.status == "false":
            expected |= expected_on_screen(case, item, view)
    assert expected.any() and np.array_equal(drawn(key, 0, KEY_COLORS["false"]), expected)


def test_object_mask_names_objects_by_their_first_voxel_only():
    gt = np.zeros((1, 4, 6), np.uint8)
    gt[0, 1:3, 1:3] = 1
    gt[0, 0, 5] = 1
    live = LiveObjects(target=gt, preds=np.zeros_like(gt), num_classes=2)
    assert live.object_mask("gt", (0, 1, 1), ((0, 1), (0, 4), (0, 6))).sum() == 4   # the other object is not in it
    with pytest.raises(ValueError, match="no object of the gt mask"):
        live.object_mask("gt", (0, 0, 0), ((0, 1), (0, 1), (0, 1)))


def test_a_chosen_object_past_the_cut_out_budget_stays_chosen_until_it_goes(qtbot):
    _case, _state, _views, controller, panel, key = key_views(qtbot)
    update = controller.last_update
    panel.choose(0)
    chosen = key.chosen
    key._on_objects(ObjectsUpdate(update.generation, update.scores, False, voxels=()))   # nothing cut out
    assert key.chosen == chosen
    key._on_objects(ObjectsUpdate(update.generation, None, False, "could not count"))
    assert key.chosen is None
    controller.shutdown()
