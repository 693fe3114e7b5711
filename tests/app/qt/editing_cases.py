"""Shared helpers of the editing tests: a small case on disk, a window editing it, drags, the table's numbers."""

from unittest.mock import patch

import numpy as np
import SimpleITK as sitk
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtTest import QTest

from app.io import load_case
from app.qt.main_window import MainWindow
from app.qt.table_model import FIRST_VALUE_COLUMN, SORT_ROLE

LABEL_TABLE = "0 background\n1 liver\n2 tumour\n3 kidney\n"
SHAPE = (5, 24, 30)
SPACING_XYZ = (1.0, 1.0, 2.5)


def write_case(folder, seed=0, shape=SHAPE):
    """Image, gt, pred (NIfTI uint8 masks, anisotropic) and a 4-label table; returns their paths."""
    rng = np.random.default_rng(seed)
    gt = np.zeros(shape, np.uint8)
    gt[:, 4:14, 5:15] = 1
    gt[:, 12:20, 16:26] = 2
    gt[1:4, 2:6, 20:28] = 3
    pred = np.roll(gt, 2, axis=2)
    pred[rng.random(shape) < 0.03] = 3
    image = rng.integers(0, 1000, size=shape).astype(np.int16)
    return write_nifti_case(folder, image, gt, pred, SPACING_XYZ, LABEL_TABLE)


def write_nifti_case(folder, image, gt, pred, spacing_xyz, label_table: str) -> dict[str, str]:
    """``image.nii.gz``, ``gt.nii.gz``, ``pred.nii.gz`` (``(z, y, x)`` arrays) and ``labels.txt``; their paths."""
    paths = {}
    for role, array in (("image", image), ("gt", gt), ("pred", pred)):
        itk_image = sitk.GetImageFromArray(array)
        itk_image.SetSpacing(spacing_xyz)
        paths[role] = str(folder / f"{role}.nii.gz")
        sitk.WriteImage(itk_image, paths[role])
    paths["labels"] = str(folder / "labels.txt")
    (folder / "labels.txt").write_text(label_table)
    return paths


class Answers:
    """What a test answers to the window's questions, and what it was asked (kept off the window: closures
    over the window would make reference cycles, collected later from any thread, which crashes Qt)."""

    def __init__(self, recover: bool) -> None:
        self.errors, self.questions, self.recovery_questions = [], [], []
        self.answer, self.recover_answer = "cancel", recover
        self.replace_questions, self.replace_answer = [], "replace"   # Save over the opened file: Replace
        self.large_change_questions, self.large_change_answer = [], True  # a fill of over 1/4 slice: go on

    def ask_large_change(self, voxels):
        self.large_change_questions.append(voxels)
        return self.large_change_answer

    def ask_unsaved_changes(self, message):
        self.questions.append(message)
        return self.answer

    def ask_recovery(self, message):
        self.recovery_questions.append(message)
        return self.recover_answer

    def ask_replace_input(self, which, path):
        self.replace_questions.append((which, path))
        return self.replace_answer


def open_window(qtbot, folder, paths, synchronous=True, recover=True):
    """A window (own settings and journal folder) showing the case at ``paths``; questions go to ``window.answers``."""
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    with patch("app.qt.main_window.apply_theme"):   # style sheets make every test slow; not what is tested
        window = MainWindow(settings=settings, synchronous=synchronous, edit_data_dir=folder / "userdata")
    answers = window.answers = Answers(recover)
    window.show_error = answers.errors.append
    window.ask_unsaved_changes = answers.ask_unsaved_changes
    window.ask_recovery = answers.ask_recovery
    window.ask_replace_input = answers.ask_replace_input
    window.ask_large_change = answers.ask_large_change
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    case = load_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    window.show_case(case, title="pred vs gt")
    qtbot.waitUntil(lambda: window.controller.last_result is not None, timeout=20_000)
    return window


def viewport_point(window, row, col):
    """Viewport pixel of the centre of screen pixel ``(row, col)`` of the slice shown."""
    view = window.slice_view
    frame = view.frame
    scene = view.view_box.mapViewToScene(QPointF((col + 0.5) * frame.col_mm, (row + 0.5) * frame.row_mm))
    return view.graphics.mapFromScene(scene)


def drag(window, pixels, after_each=None, modifiers=Qt.KeyboardModifier.NoModifier):
    """Left-drag through screen pixels ``[(row, col), ...]`` with QTest events on the slice view's viewport."""
    viewport = window.slice_view.graphics.viewport()
    points = [viewport_point(window, r, c) for r, c in pixels]
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, modifiers, points[0])
    if after_each is not None:
        after_each(0)
    for number, point in enumerate(points[1:], start=1):
        QTest.mouseMove(viewport, point)
        if after_each is not None:
            after_each(number)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, modifiers, points[-1])


def click(window, row, col, modifiers=Qt.KeyboardModifier.NoModifier):
    """Left click on screen pixel ``(row, col)``."""
    point: QPoint = viewport_point(window, row, col)
    QTest.mouseClick(window.slice_view.graphics.viewport(), Qt.MouseButton.LeftButton, modifiers, point)


def table_values(window, field_column):
    """Raw values shown in one value column of the Dice table (None where undefined), by label."""
    model = window.dice_table.model
    return [model.data(model.index(row, field_column), SORT_ROLE) for row in range(model.rowCount())]


DICE_COLUMN = FIRST_VALUE_COLUMN
FP_COLUMN, FN_COLUMN = 7, 8


def confusion_of(case):
    """``(C, C) int64`` confusion matrix of the case's current masks, rows = GT (numpy reference)."""
    c = case.num_classes
    return np.bincount(case.gt.ravel().astype(np.int64) * c + case.pred.ravel(), minlength=c * c).reshape(c, c)
