"""The soft Dice of the model output in the Dice table: columns and headline equal ``dicelens score``,
follow ground-truth edits exactly (during a drag, on the ``soft`` lane), ignore prediction edits."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import dice_engine as de
from app.io import load_case
from app.model.delta import Delta
from app.qt.soft_columns import EDITED_NOTE, SOFT_COLUMNS
from app.qt.soft_worker import SoftEditRequest, SoftLoadRequest, SoftWorkerState, process
from app.qt.table_model import COLUMNS
from app.scoring import score_case, soft_scores
from tests.app.qt.editing_cases import drag, open_window, viewport_point, write_case
from tests.app.qt.test_model_output_window import write_probabilities


@pytest.fixture
def model_window(qtbot, tmp_path, request):
    """The editing case opened with its probabilities (and its shifted prediction), soft figures published."""
    synchronous = getattr(request, "param", True)
    paths = write_case(tmp_path)
    probs, _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    window = open_window(qtbot, tmp_path, paths, synchronous=synchronous)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"], probs=probs)
    qtbot.waitUntil(lambda: window.state.case.scores is not None and window.soft_metrics.ready
                    and window.soft_metrics.last_update.result is not None, timeout=30_000)
    yield window
    window.answers.answer = "discard"
    window.close()


def shown_soft(window, field):
    """The soft column ``field`` as shown, by label."""
    proxy = window.soft_columns.proxy
    return [proxy.value(label, field) for label in range(proxy.rowCount())]


def expected_soft(case):
    """Per-class soft Dice and loss of ``case``'s current masks, computed from scratch as ``score`` does."""
    soft = soft_scores(case, None)
    return {index: (dice, loss) for index, dice, loss in soft.classes}, soft.soft_dice_loss_mean_foreground


def assert_table_equals_scratch(window):
    classes, mean = expected_soft(window.state.case)
    for label, (dice, loss) in classes.items():
        assert shown_soft(window, "soft_dice")[label] == pytest.approx(dice, abs=1e-9)
        assert shown_soft(window, "soft_loss")[label] == pytest.approx(loss, abs=1e-9)
    assert window.soft_metrics.last_update.result.loss_mean == pytest.approx(mean, abs=1e-9)
    assert f"{mean:.4f}" in window.soft_columns.headline.text()


def test_soft_columns_and_headline_equal_score(model_window):
    window = model_window
    table = window.dice_table
    base = window.dice_table.model.columnCount()
    headers = [table.proxy.headerData(column, Qt.Orientation.Horizontal) for column in range(base, base + 2)]
    assert headers == [header for header, _, _ in SOFT_COLUMNS]
    document = score_case(window.state.case)   # what `dicelens score --probs` reports for these inputs
    for index, dice, loss in document.soft.classes:
        assert shown_soft(window, "soft_dice")[index] == pytest.approx(dice, abs=1e-9)
        assert shown_soft(window, "soft_loss")[index] == pytest.approx(loss, abs=1e-9)
    assert window.soft_metrics.last_update.result.loss_mean == pytest.approx(document.dice_loss.soft, abs=1e-9)
    assert window.soft_columns.headline.isVisibleTo(window)
    assert "(2Σp·y+1)/(Σp+Σy+1)" in window.soft_columns.headline.text()
    # the cells the table view shows come through the sorting proxy, sortable by the soft figures
    loss_column = base + 1
    table.proxy.sort(loss_column, Qt.SortOrder.AscendingOrder)
    shown = [table.proxy.index(row, loss_column).data(Qt.ItemDataRole.UserRole) for row in range(4)]
    assert shown == sorted(shown)
    texts = [table.proxy.index(row, loss_column).data() for row in range(4)]
    assert texts == [f"{value:.4f}" for value in shown]


def test_a_ground_truth_brush_drag_updates_the_soft_loss_exactly(model_window, qtbot):
    window = model_window
    before = window.soft_metrics.last_update.result.loss_mean
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_target("gt")
    window.edit_toolbar.set_label(3)
    drag(window, [(6, col) for col in range(2, 26, 4)])
    qtbot.waitUntil(lambda: not window.soft_metrics.pending, timeout=10_000)
    assert window.soft_metrics.last_update.result.loss_mean != before
    assert_table_equals_scratch(window)
    assert EDITED_NOTE not in window.soft_columns.headline.text()


@pytest.mark.parametrize("model_window", [False], indirect=True, ids=["threaded"])
def test_the_soft_loss_follows_during_the_drag_on_its_own_lane(model_window, qtbot):
    window = model_window
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_target("gt")
    window.edit_toolbar.set_label(2)
    viewport = window.slice_view.graphics.viewport()
    points = [viewport_point(window, 3, col) for col in range(2, 26, 5)]
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for point in points[1:]:
        QTest.mouseMove(viewport, point)
        qtbot.waitUntil(lambda: not window.soft_metrics.pending, timeout=10_000)
        assert_table_equals_scratch(window)   # while the button is down
    assert window.edits.editor.session.stroke_active
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def test_a_prediction_edit_leaves_the_soft_figures_and_says_what_they_describe(model_window, qtbot):
    window = model_window
    before = shown_soft(window, "soft_loss")
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_target("pred")
    window.edit_toolbar.set_label(1)
    drag(window, [(8, col) for col in range(2, 26, 4)])
    qtbot.waitUntil(lambda: EDITED_NOTE in window.soft_columns.headline.text(), timeout=10_000)
    assert shown_soft(window, "soft_loss") == before
    assert window.soft_metrics.last_update.prediction_edited


def test_a_case_without_model_output_has_no_soft_columns(model_window, tmp_path):
    window = model_window
    case = load_case(str(tmp_path / "gt.nii.gz"), str(tmp_path / "pred.nii.gz"))
    window.show_case(case, title="pred vs gt")
    assert not window.soft_columns.proxy.shown
    assert window.dice_table.proxy.columnCount() == window.dice_table.model.columnCount()
    assert not window.soft_columns.headline.isVisibleTo(window)


def test_worker_edits_equal_recomputing_from_scratch():
    rng = np.random.default_rng(7)
    shape = (3, 9, 8)
    gt = rng.integers(0, 3, size=shape).astype(np.uint8)
    probabilities = rng.dirichlet(np.ones(3), size=shape).transpose(3, 0, 1, 2).astype(np.float16)
    probabilities = (probabilities / probabilities.sum(axis=0, dtype=np.float32)).astype(np.float16)
    state = SoftWorkerState()
    process(state, SoftLoadRequest(1, gt.copy(), probabilities, False))
    for _ in range(6):
        z0, y0, x0 = rng.integers(0, 2), rng.integers(0, 6), rng.integers(0, 5)
        region = (slice(z0, z0 + 1), slice(y0, y0 + 3), slice(x0, x0 + 3))
        old = gt[region].copy()
        new = rng.integers(0, 3, size=old.shape).astype(np.uint8)
        gt[region] = new
        reply = process(state, SoftEditRequest(1, (Delta("gt", region, old, new),)))
    scratch = de.LiveSoftDice(target=gt, preds=de.ClassProbabilities(probabilities, from_logits=False),
                              include_background=False)
    assert [a.tolist() for a in state.live.sums()] == [a.tolist() for a in scratch.sums()]
    assert reply.result.loss_mean == scratch.result().loss_mean


def test_the_soft_columns_are_shown_beside_dice_in_view_at_the_default_width(model_window):
    window = model_window
    table = window.dice_table.table
    header = table.horizontalHeader()
    base = window.dice_table.model.columnCount()
    dice = next(number for number, column in enumerate(COLUMNS) if column.field == "dice")
    assert [header.visualIndex(base), header.visualIndex(base + 1)] == [dice + 1, dice + 2]
    assert header.visualIndex(dice + 1) == dice + 3           # IoU follows them
    for width, height in ((1600, 1000), (1280, 800)):
        window.resize(width, height)
        window._size_right_column()
        QApplication.processEvents()
        for column in (base, base + 1):
            assert table.columnViewportPosition(column) + table.columnWidth(column) <= table.viewport().width()
        assert window.soft_columns.headline.isVisible()
        assert window.soft_columns.headline.visibleRegion().boundingRect().width() > 0
    case = load_case(window.case_paths["gt"], window.case_paths["pred"])
    window.show_case(case, title="without model output")            # columns removed
    assert header.count() == base
    window.show_case(load_case(window.case_paths["gt"], window.case_paths["pred"], probs=window.case_paths["probs"]))
    assert [header.visualIndex(base), header.visualIndex(base + 1)] == [dice + 1, dice + 2]   # and back beside Dice


def test_the_disagreement_warning_stays_under_the_soft_headline(model_window):
    window = model_window
    label = window.soft_columns.warning_label
    (warning,) = [message for message in window.state.case.messages if message.startswith("warning: ")]
    assert "disagrees with --probs" in warning and "voxels where the model is decisive" in warning
    assert label.isVisibleTo(window) and label.full_text == warning   # kept, not gone with the status bar's
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text().startswith("warning: ") and label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
    assert label.sizeHint().height() < 2 * label.fontMetrics().lineSpacing()   # one line: the table keeps its rows
    assert "disagrees with --probs" in label.toolTip()
    window.statusBar().clearMessage()
    assert label.isVisibleTo(window)
    window.show_case(load_case(window.case_paths["gt"], window.case_paths["pred"]), title="without model output")
    assert not label.isVisibleTo(window)
