"""``view --semantic-gt/--semantic-pred`` after a crash (docs/architecture.md §5d): the strokes recovered from the
journal give the semantic working copies and the table the classes painting gave them."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
from PySide6.QtCore import QSettings

from app.io import load_case
from app.qt.instance_voxels import install
from app.qt.main_window import MainWindow
from tests.app.qt.editing_cases import Answers, confusion_of
from tests.app.qt.test_instance_window import files, keep_style_sheet, strokes  # noqa: F401 (fixtures)


def open_semantic(qtbot, tmp_path, files):   # noqa: F811
    """A synchronous semantic instance window that accepts crash recovery, showing the nuclei case."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    with patch("app.qt.main_window.apply_theme"):
        window = MainWindow(settings=settings, synchronous=True, edit_data_dir=tmp_path / "userdata")
    answers = window.answers = Answers(recover=True)
    window.show_error = answers.errors.append
    window.ask_unsaved_changes = answers.ask_unsaved_changes
    window.ask_recovery = answers.ask_recovery
    qtbot.addWidget(window)
    voxels = install(window, True, (files["gt_types"], files["pred_types"]), (files["gt"], files["pred"]))
    case = voxels.read(load_case(files["gt"], files["pred"]))
    window.show_case(case, title="nuclei")
    qtbot.waitUntil(lambda: window.controller.last_result is not None, timeout=20_000)
    return window, voxels, case


def test_recovered_strokes_give_the_semantic_classes_painting_gave(qtbot, tmp_path, files):   # noqa: F811
    first, voxels, case = open_semantic(qtbot, tmp_path, files)
    first.state.select_class(2)   # new instances take class 2
    strokes(first, case)
    painted = {which: mask.copy() for which, mask in voxels._translation.masks.items()}
    ids = case.pred.copy()
    inputs = load_case(files["gt_types"], files["pred_types"])
    assert not np.array_equal(painted["pred"], inputs.pred)
    first.edits.editor.close()   # as after a crash: the journal stays, nothing saved
    first.edits.editor = None
    first.close()

    second, voxels, case = open_semantic(qtbot, tmp_path, files)   # class 1 selected now
    assert second.answers.recovery_questions and not second.answers.errors
    assert np.array_equal(case.pred, ids)
    for which in ("gt", "pred"):
        assert np.array_equal(voxels._translation.masks[which], painted[which]), which
    semantic = type("Voxels", (), {"gt": painted["gt"], "pred": painted["pred"], "num_classes": 3})
    assert np.array_equal(second.controller.last_result.confusion, confusion_of(semantic))
    second.answers.answer = "discard"
    second.close()
