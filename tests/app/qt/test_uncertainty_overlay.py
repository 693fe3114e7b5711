"""The uncertainty overlay: the model's normalised entropy under the masks (computed once on the soft lane,
never re-rendered by a stroke), its key, and the "next most uncertain slice" key."""

import math

import numpy as np
import pytest

from app.qt.uncertainty_overlay import NEXT_KEY, TOGGLE_KEY, heat_lookup_table
from tests.app.qt.editing_cases import drag
from tests.app.qt.test_soft_metrics_window import model_window  # noqa: F401 (fixture)


def brute_entropy(scores):
    p = scores.astype(np.float64)
    logs = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.clip(-(p * logs).sum(axis=0) / math.log(p.shape[0]), 0, 1)


def wait_uncertainty(window, qtbot):
    qtbot.waitUntil(lambda: window.uncertainty.available, timeout=20_000)


def test_the_layer_shows_the_entropy_of_the_slice_on_screen(model_window, qtbot):  # noqa: F811
    window = model_window
    wait_uncertainty(window, qtbot)
    overlay = window.uncertainty
    assert not overlay.layers[0].isVisible()   # off until asked for
    overlay.actions["show_uncertainty"].setChecked(True)
    window.state.set_slice(2)
    layer = overlay.layers[0]
    assert layer.isVisible() and overlay.keys[0].isVisible() and "entropy" in overlay.keys[0].toHtml()
    expected = brute_entropy(window.state.case.scores)
    np.testing.assert_allclose(window.soft_metrics.uncertainty.volume, expected, atol=1e-3)  # float16 storage
    shown = layer.image
    view_slice = window.slice_view.image_item.image
    assert shown.shape == view_slice.shape
    from app.orientation import to_screen

    np.testing.assert_allclose(shown, to_screen(expected[2], window.slice_view.frame), atol=1e-3)
    assert layer.zValue() < window.slice_view.overlay_item.zValue()   # under the masks
    assert heat_lookup_table()[0, 3] == 0   # certain voxels leave the image as it is


def test_next_most_uncertain_slice_steps_by_mean_entropy(model_window, qtbot):  # noqa: F811
    window = model_window
    wait_uncertainty(window, qtbot)
    means = brute_entropy(window.state.case.scores).mean(axis=(1, 2))
    order = [int(i) for i in np.lexsort((np.arange(means.size), -means))]
    action = window.uncertainty.actions["next_uncertain_slice"]
    window.state.set_slice(order[0])
    visited = []
    for _ in range(len(order)):
        action.trigger()
        visited.append(window.state.slice_index)
    assert visited == order[1:] + order[:1]


def test_a_stroke_does_not_re_render_the_layer(model_window, qtbot, monkeypatch):  # noqa: F811
    window = model_window
    wait_uncertainty(window, qtbot)
    window.uncertainty.actions["show_uncertainty"].setChecked(True)
    calls = []
    layer = window.uncertainty.layers[0]
    original = layer.setImage
    monkeypatch.setattr(layer, "setImage", lambda *a, **k: (calls.append(1), original(*a, **k)))
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_target("gt")
    drag(window, [(6, col) for col in range(2, 26, 4)])
    qtbot.waitUntil(lambda: not window.soft_metrics.pending, timeout=10_000)
    assert calls == []


def test_the_keys_are_listed_in_the_shortcuts_help_and_do_not_clash(model_window):  # noqa: F811
    window = model_window
    shown = []
    window.show_info = lambda title, html: shown.append(html)
    window.show_shortcuts()
    assert f"<b>{TOGGLE_KEY}</b>" in shown[0] and f"<b>{NEXT_KEY}</b>" in shown[0]
    from PySide6.QtGui import QAction

    keys = [action.shortcut().toString() for action in window.findChildren(QAction) if not action.shortcut().isEmpty()]
    assert keys.count(TOGGLE_KEY) == 1 and keys.count(NEXT_KEY) == 1


def test_without_model_output_the_actions_are_disabled(window):
    assert not window.uncertainty.available
    assert not any(action.isEnabled() for action in window.uncertainty.actions.values())


@pytest.mark.parametrize("axis", [1, 2])
def test_other_planes_show_their_slice(model_window, qtbot, axis):  # noqa: F811
    window = model_window
    wait_uncertainty(window, qtbot)
    window.uncertainty.actions["show_uncertainty"].setChecked(True)
    window.state.set_axis(axis)
    assert window.uncertainty.layers[0].image.shape == window.slice_view.image_item.image.shape
