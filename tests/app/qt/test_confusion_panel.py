"""The confusion-matrix panel: values shown, click -> highlight and slice jump, hover text, crowded axes."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QApplication

from app.qt.class_axis import ClassAxis, nice_step
from app.qt.confusion_panel import ConfusionMatrixPanel
from app.qt.engine_controller import EngineController
from app.qt.label_colors import elide_middle
from app.qt.review_state import ReviewState
from tests.app.qt.panels_cases import many_label_case, organ_case


def shown_panel(qtbot, case):
    """A shown confusion-matrix panel with ``case`` opened and counted: ``(state, controller, panel)``."""
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = ConfusionMatrixPanel(state, controller)
    qtbot.addWidget(panel)
    panel.resize(600, 500)
    panel.show()
    qtbot.waitExposed(panel)
    state.set_case(case)
    controller.load(case)
    QApplication.processEvents()
    return state, controller, panel


@pytest.fixture
def review(qtbot):
    case = organ_case()
    return (*shown_panel(qtbot, case), case)


def view_position(panel, gt_label, pred_label) -> QPoint:
    """Widget position of the centre of cell (gt_label, pred_label) in the plot's viewport."""
    return panel.plot.mapFromScene(panel.cell_center_in_scene(gt_label, pred_label))


def test_counts_and_row_percentages_are_the_matrix_values(review):
    _, controller, panel, _ = review
    confusion = controller.last_result.confusion
    panel.mode_box.setCurrentText("Counts")
    np.testing.assert_array_equal(panel.displayed_values(), confusion)
    np.testing.assert_array_equal(panel.image.image, confusion)

    panel.mode_box.setCurrentText("Row %")
    percent = panel.displayed_values()
    present = confusion.sum(axis=1) > 0
    np.testing.assert_allclose(percent[present].sum(axis=1), 100.0)
    assert np.isnan(percent[~present]).all() and (~present).sum() == 1  # "never present" has no GT row
    np.testing.assert_allclose(percent[3, 0], 100.0 * confusion[3, 0] / confusion[3].sum())

    panel.log_box.setChecked(True)
    np.testing.assert_allclose(panel.image.image, np.log10(1.0 + percent))


def test_clicking_a_cell_highlights_it_and_jumps_to_the_slice_with_most_of_its_voxels(qtbot, review):
    state, _, panel, case = review
    hits = ((case.gt == 3) & (case.pred == 0)).sum(axis=(1, 2))
    assert state.slice_index != int(np.argmax(hits))

    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_position(panel, 3, 0))

    assert state.highlighted_cell == (3, 0)
    assert state.slice_index == int(np.argmax(hits))
    assert "most on axial slice" in panel.info_label.text()


def test_the_answer_for_an_earlier_click_does_not_move_the_slice(review):
    state, controller, _, _ = review
    state.highlight_cell((1, 1))
    before = state.slice_index
    controller.cell_located.emit(3, 0, 0, before + 3)
    assert state.slice_index == before


def test_hovering_a_cell_names_both_classes_with_count_and_row_share(qtbot, review):
    _, controller, panel, _ = review
    qtbot.mouseMove(panel.plot.viewport(), view_position(panel, 3, 0))
    qtbot.waitUntil(lambda: "kidney" in panel.info_label.text(), timeout=5000)
    confusion = controller.last_result.confusion
    text = panel.info_label.text()
    assert "GT kidney (3)" in text and "predicted background (0)" in text
    assert f"{confusion[3, 0]:,} voxels" in text
    assert f"{100 * confusion[3, 0] / confusion[3].sum():.1f} % of GT row" in text


def test_the_highlight_rectangle_follows_the_state(review):
    state, _, panel, _ = review
    state.highlight_cell((2, 4))
    assert panel._highlight.isVisible() and panel._highlight.rect().topLeft().toTuple() == (4.0, 2.0)
    state.highlight_cell(None)
    assert not panel._highlight.isVisible()


def test_the_selected_class_row_and_column_are_outlined(review):
    state, _, panel, _ = review
    state.select_class(2)
    assert panel._selected_row.isVisible() and panel._selected_row.rect().getRect() == (0, 2, 6, 1)
    assert panel._selected_column.rect().getRect() == (2, 0, 1, 6)


def test_long_names_keep_their_start_and_their_side_suffix():
    assert elide_middle("ParaHippocampal_2_L", 18) == "ParaHipp…ampal_2_L"
    assert len(elide_middle("ParaHippocampal_2_L", 18)) == 18
    assert elide_middle("Precentral_L", 18) == "Precentral_L"


def test_nice_steps():
    assert [nice_step(x) for x in (0.2, 1, 1.5, 3, 7, 11, 40, 51)] == [1, 1, 2, 5, 10, 20, 50, 100]


@pytest.mark.parametrize("orientation", ["left", "bottom"])
def test_crowded_class_axes_thin_their_ticks_so_labels_do_not_overlap(qapp, orientation):
    case = many_label_case()
    names = [case.labels.name(i) for i in range(case.num_classes)]
    axis = ClassAxis(orientation)
    axis.set_names(names)
    metrics = QFontMetricsF(axis.style.get("tickFont") or qapp.font())

    [(step, values)] = axis.tickValues(0, 116, 400)
    pixels_per_tick = step * 400 / 116
    labels = axis.tickStrings(values, 1.0, step)
    needed = metrics.height()   # column names are turned to read upwards: a line each, as rows
    assert step > 1 and pixels_per_tick >= needed
    assert values[0] == 0.5 and all(v - 0.5 == int(v - 0.5) for v in values)
    assert labels == [elide_middle(names[int(v)], 18) for v in values]   # names, never bare label values

    [(zoomed_step, zoomed_values)] = axis.tickValues(20, 26, 400)  # zoomed in on six classes
    assert zoomed_step == 1 and zoomed_values == [20.5, 21.5, 22.5, 23.5, 24.5, 25.5]
    [(all_step, all_values)] = axis.tickValues(0, 116, 116 * 1.2 * metrics.height())   # room for a line each
    assert all_step == 1 and len(all_values) == 116
    everything = axis.tickStrings([label + 0.5 for label in range(116)], 1.0, 1.0)
    long_names = [i for i, name in enumerate(names) if len(name) > 18]
    assert long_names and all(everything[i] == elide_middle(names[i], 18) for i in long_names)
    assert all(everything[i] == names[i] for i in range(116) if i not in long_names)


def test_the_panel_reads_116_classes(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = ConfusionMatrixPanel(state, controller)
    qtbot.addWidget(panel)
    case = many_label_case()
    state.set_case(case)
    controller.load(case)
    assert panel.image.image.shape == (116, 116)
    assert "Frontal_Sup" in panel.describe_cell(3, 3)


def test_small_matrices_write_each_cells_value_in_it(review):
    _, controller, panel, _ = review
    confusion = controller.last_result.confusion
    texts = [text.textItem.toPlainText() for text in panel._annotations]
    assert texts[3 * 6 + 0] == f"{100 * confusion[3, 0] / confusion[3].sum():.0f}%"
    assert texts[5 * 6:] == [""] * 6  # the row of a class without GT voxels is empty, not 0 %
    panel.mode_box.setCurrentText("Counts")
    texts = [text.textItem.toPlainText() for text in panel._annotations]
    assert texts == [f"{count:,}" for count in confusion.ravel()]


def test_116_column_names_are_drawn_turned_upwards_below_the_matrix(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = ConfusionMatrixPanel(state, controller)
    qtbot.addWidget(panel)
    panel.resize(700, 700)
    panel.show()
    qtbot.waitExposed(panel)
    case = many_label_case()
    state.set_case(case)
    controller.load(case)
    qtbot.wait(50)
    axis = panel.plot.getPlotItem().getAxis("bottom")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    _, _, texts = axis.generateDrawSpecs(painter)
    painter.end()
    names = [elide_middle(case.labels.name(i), 18) for i in range(116)]
    drawn = [text for _, _, text in texts]
    assert len(drawn) >= 116 // 10 and set(drawn) <= set(names)        # names, not label values
    metrics = QFontMetricsF(axis.style["tickFont"])
    assert axis.height() >= max(metrics.horizontalAdvance(name) for name in drawn)   # room for them upright
