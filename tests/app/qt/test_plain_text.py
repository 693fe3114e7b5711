"""User-supplied strings (class and file names) are shown literally in every widget, never as HTML.

A class named ``<h1>X</h1><img src='/etc/passwd'>`` used to render as a heading, and load a local file, in
the per-slice plot's title.
"""


import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QMessageBox, QToolTip

from app.qt.plain_text import plain_tooltip
from app.qt.table_model import NAME_COLUMN
from tests.app.qt.editing_cases import drag, open_window

HOSTILE = "<h1>X</h1><img src='/etc/passwd'>"


def shown_text(text: str, text_format) -> str:
    """What Qt draws for ``text`` in ``text_format`` (rich text is laid out as a document)."""
    rich = text_format == Qt.TextFormat.RichText or (
        text_format == Qt.TextFormat.AutoText and GuiQt.mightBeRichText(text))
    if not rich:
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def assert_literal(text: str, text_format=Qt.TextFormat.AutoText) -> None:
    drawn = shown_text(text, text_format)
    assert "\ufffc" not in drawn, f"an image is drawn in {text!r}"   # an <img> becomes an object character
    if "X" in drawn:
        assert HOSTILE in drawn, f"the name is interpreted as HTML in {text!r}"


@pytest.fixture
def window(qtbot, tmp_path):
    gt = np.zeros((6, 20, 24), np.uint8)
    gt[1:5, 4:14, 4:16] = 1
    pred = np.roll(gt, 2, axis=2)
    paths = {}
    for role, array in (("image", gt.astype(np.int16) * 100), ("gt", gt), ("pred", pred)):
        paths[role] = str(tmp_path / f"{role}.nii.gz")
        sitk.WriteImage(sitk.GetImageFromArray(array), paths[role])
    paths["labels"] = str(tmp_path / "labels.txt")
    (tmp_path / "labels.txt").write_text(f"0 background\n1 {HOSTILE}\n")
    win = open_window(qtbot, tmp_path, paths)
    yield win
    win.answers.answer = "discard"
    win.close()


def test_the_hostile_name_is_read_as_written(window):
    assert window.state.case.labels.name(1) == HOSTILE


def test_every_label_shows_a_hostile_class_name_literally(window, qtbot):
    window.state.select_class(1)
    window.slice_view.set_overlay_settings(
        type(window.slice_view.settings)(mode="errors"))            # the legend names the class
    window.slice_view._update_readout(8, 8)                           # a voxel of class 1
    assert HOSTILE in window.slice_view.readout_text
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    drag(window, [(2, 2), (2, 6)])                                    # the history caption names the edit
    qtbot.waitUntil(lambda: len(window.dice_history.points) > 1, timeout=5000)
    window.confusion_panel._on_mouse_moved(window.confusion_panel.cell_center_in_scene(1, 0))
    assert "X" in window.slice_plot.title_label.text()
    checked = 0
    for label in window.findChildren(QLabel):
        text = getattr(label, "full_text", label.text())   # the readout elides what does not fit
        assert_literal(text, label.textFormat())
        checked += "X" in text
    assert checked >= 4   # plot title, readout, legend, matrix line (at least)


def test_tooltips_with_a_hostile_name_show_it_literally(window):
    model = window.dice_table.model
    assert_literal(model.data(model.index(1, NAME_COLUMN), Qt.ItemDataRole.ToolTipRole))
    panel = window.confusion_panel
    panel._on_mouse_moved(panel.cell_center_in_scene(1, 1))
    assert_literal(plain_tooltip(panel.describe_cell(1, 1)))
    assert QToolTip.text() == "" or HOSTILE in shown_text(QToolTip.text(), Qt.TextFormat.AutoText)
    assert plain_tooltip("liver") == "liver"


def record_message_boxes(monkeypatch) -> list[tuple[str, Qt.TextFormat]]:
    """Message boxes record their text and its format instead of blocking; the list of what was shown."""
    shown: list[tuple[str, Qt.TextFormat]] = []

    def record(box):
        shown.append((box.text(), box.textFormat()))
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "exec", record)
    return shown


def test_error_dialog_shows_messages_as_plain_text(window, monkeypatch):
    shown = record_message_boxes(monkeypatch)
    message = f"label table names {HOSTILE}"
    type(window).show_error(window, message)
    assert shown == [(message, Qt.TextFormat.PlainText)]


def test_every_question_and_warning_dialog_shows_its_text_literally(qtbot, monkeypatch):
    """The editing questions and the export failure quote file and class names: plain text, never HTML."""
    from PySide6.QtWidgets import QWidget

    from app.qt.edit_questions import EditQuestions
    from app.qt.report_dialog import ReportExporter, _ExportFeedback

    shown = record_message_boxes(monkeypatch)

    class Asker(QWidget, EditQuestions):
        pass

    asker = Asker()
    qtbot.addWidget(asker)
    asker.ask_unsaved_changes(f"Save the edits of {HOSTILE}?")
    asker.ask_recovery(f"Recover {HOSTILE}?")
    asker.ask_replace_input("pred", f"/tmp/{HOSTILE}.nii.gz")
    _ExportFeedback(asker, ReportExporter(asker)).on_failed(f"could not write '{HOSTILE}.pdf'")

    assert len(shown) == 4
    for text, text_format in shown:
        assert HOSTILE in text
        assert_literal(text, text_format)
