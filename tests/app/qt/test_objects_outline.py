"""The slice views' object key: missed and false objects outlined on the slices they cross, following edits."""

from __future__ import annotations

import numpy as np

from app.qt.objects_outline import KIND_COLORS, screen_span


def crossing(window, view) -> list:
    """The unmatched objects whose box crosses ``view``'s slice."""
    scores = window.objects.last_update.scores
    axis, index = view.frame.array_axis, view.slice_index
    return [o for c in scores.classes for o in (*c.missed, *c.false) if o.box[axis][0] <= index < o.box[axis][1]]


def settle(window, qtbot) -> None:
    qtbot.waitUntil(lambda: not window.objects_outline._timer.isActive(), timeout=5_000)


def test_screen_span_flips():
    assert screen_span(2, 5, 10, False) == (2, 5)
    assert screen_span(2, 5, 10, True) == (5, 8)


def test_outlines_follow_the_slice_the_toggle_and_an_edit(window, qtbot):
    view = window.slice_view
    window.objects_panel.choose(0)
    settle(window, qtbot)
    outline = window.objects_outline
    expected = crossing(window, view)
    assert expected and len(outline.items[id(view)]) == len(expected)
    colors = {item.pen().color().getRgb()[:3] for item in outline.items[id(view)]}
    assert colors <= {KIND_COLORS[kind][:3] for kind in ("missed", "false")}
    # Each rectangle covers its object's in-plane box, in the view's millimetres (largest objects first).
    frame, shape = view.frame, window.state.case.gt.shape
    for item, obj in zip(outline.items[id(view)], sorted(expected, key=lambda o: -o.voxels), strict=True):
        cols = screen_span(*obj.box[frame.col_axis], shape[frame.col_axis], frame.flip_cols)
        rows = screen_span(*obj.box[frame.row_axis], shape[frame.row_axis], frame.flip_rows)
        rect = item.rect()
        assert (rect.left(), rect.width()) == (cols[0] * frame.col_mm, (cols[1] - cols[0]) * frame.col_mm)
        assert (rect.top(), rect.height()) == (rows[0] * frame.row_mm, (rows[1] - rows[0]) * frame.row_mm)
    window.objects_panel.outline_box.setChecked(False)
    assert outline.items[id(view)] == []
    window.objects_panel.outline_box.setChecked(True)
    assert len(outline.items[id(view)]) == len(expected)
    # A new false object painted on this slice gets its outline once the objects update.
    window.edits.editor.session.active_label = 1
    z = view.slice_index
    window.edits.bridge.fill_polygon(np.array([[z, 20, 0], [z, 20, 3], [z, 23, 3], [z, 23, 0]]), 0)
    window.objects.flush()
    qtbot.waitUntil(lambda: not window.objects.pending, timeout=10_000)
    settle(window, qtbot)
    assert len(outline.items[id(view)]) == len(crossing(window, view)) == len(expected) + 1
