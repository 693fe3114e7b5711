"""``view --instances`` (and ``--semantic-gt/--semantic-pred``): the Dice table, matrix and distances score the
voxel case of ``score --instances`` (foreground, or the semantic classes), not one class per instance id, and
follow id edits exactly; bad semantic masks are one message."""

from __future__ import annotations

import json
from unittest.mock import patch

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app import cli
from app.io import load_case
from app.qt.instance_voxels import install
from app.qt.main_window import MainWindow
from dice_engine.objects import instance_scores
from tests.app.io.conftest import write_volume
from tests.app.qt.editing_cases import Answers, confusion_of
from tests.app.qt.test_view_table import HARD_KEYS, close


def nuclei(seed=0, size=48, count=14):
    """A 2D nuclei-like instance pair ``(gt, pred, gt classes, pred classes)``: discs with distinct ids (the
    prediction's ids differ from the ground truth's, some are shifted or missing, two are false), each of
    class 1 or 2."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    gt, pred = np.zeros((size, size), np.uint16), np.zeros((size, size), np.uint16)
    gt_types, pred_types = np.zeros((size, size), np.uint8), np.zeros((size, size), np.uint8)
    for number in range(1, count + 1):
        cy, cx, radius = *rng.integers(4, size - 4, 2), int(rng.integers(2, 5))
        kind = 1 + number % 2
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
        gt[disc], gt_types[disc] = number, kind
        if number % 5:
            shifted = (yy - cy - number % 3 + 1) ** 2 + (xx - cx) ** 2 <= radius ** 2
            pred[shifted], pred_types[shifted] = 100 + number, kind if number % 7 else 3 - kind
    for number in range(2):
        cy, cx = rng.integers(4, size - 4, 2)
        false = (yy - cy) ** 2 + (xx - cx) ** 2 <= 4
        pred[false], pred_types[false] = 200 + number, 1
    return gt, pred, gt_types, pred_types


@pytest.fixture
def files(tmp_path):
    names = ("gt", "pred", "gt_types", "pred_types")
    return {name: str(write_volume(tmp_path / f"{name}.png", array)) for name, array in zip(names, nuclei(),
                                                                                             strict=True)}


@pytest.fixture(autouse=True)
def keep_style_sheet(qapp):
    """Screenshot mode applies the dark theme to the shared QApplication: undo it after each test."""
    before = qapp.styleSheet()
    yield
    qapp.setStyleSheet(before)


def table_and_score(tmp_path, capsys, arguments):
    table, scored = tmp_path / "table.json", tmp_path / "score.json"
    assert cli.main(["view", *arguments, "--screenshot", str(tmp_path / "shot.png"), "--table", str(table)]) == 0
    assert cli.main(["score", *arguments, "--distances", "--json", str(scored)]) == 0
    capsys.readouterr()
    return json.loads(table.read_text()), json.loads(scored.read_text())


def assert_same_numbers(table, scored):
    assert [row["name"] for row in table["classes"]] == [row["name"] for row in scored["classes"]]
    for shown, expected in zip(table["classes"], scored["classes"], strict=True):
        for key in (*HARD_KEYS, "hausdorff95_mm", "assd_mm"):
            assert close(shown[key], expected[key]), key
    assert close(table["dice_mean_foreground"], scored["dice_mean_foreground"])
    assert close(table["dice_loss"]["hard"], scored["dice_loss"]["hard"])


def test_the_table_scores_foreground_as_score_instances(tmp_path, capsys, files):
    arguments = ["--gt", files["gt"], "--pred", files["pred"], "--instances"]
    table, scored = table_and_score(tmp_path, capsys, arguments)
    assert [row["name"] for row in table["classes"]] == ["background", "instances (foreground)"]
    assert_same_numbers(table, scored)


def test_the_table_scores_the_semantic_classes_as_score(tmp_path, capsys, files):
    arguments = ["--gt", files["gt"], "--pred", files["pred"], "--semantic-gt", files["gt_types"],
                 "--semantic-pred", files["pred_types"]]
    table, scored = table_and_score(tmp_path, capsys, arguments)
    assert len(table["classes"]) == 3
    assert_same_numbers(table, scored)


@pytest.mark.parametrize(("bad", "message"), [
    ("shape", "has shape (1, 40, 48) (z, y, x) but the instance images"),
    ("float", "float.nii.gz' holds non"),
    ("alone", "--semantic-gt needs --semantic-pred as well"),
])
def test_bad_semantic_masks_are_one_message(tmp_path, capsys, files, bad, message):
    semantic_gt, semantic_pred = files["gt_types"], files["pred_types"]
    if bad == "shape":
        semantic_gt = str(write_volume(tmp_path / "short.png", nuclei()[2][:40]))
        semantic_pred = str(write_volume(tmp_path / "short_pred.png", nuclei()[3][:40]))
    elif bad == "float":
        semantic_gt = str(write_volume(tmp_path / "float.nii.gz", nuclei()[2][None].astype(np.float32) + 0.5))
        semantic_pred = str(write_volume(tmp_path / "float_pred.nii.gz", nuclei()[3][None].astype(np.float32)))
    arguments = ["view", "--gt", files["gt"], "--pred", files["pred"], "--semantic-gt", semantic_gt,
                 "--screenshot", str(tmp_path / "shot.png")]
    if bad != "alone":
        arguments += ["--semantic-pred", semantic_pred]
    assert cli.main(arguments) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "shot.png").exists()
    # the refused window was closed: none left with running lanes for the collector to destroy later
    assert all(widget.jobs.stopped for widget in QApplication.topLevelWidgets() if isinstance(widget, MainWindow))


def open_instances(qtbot, tmp_path, files, semantic: bool):
    """A synchronous window in instance mode (as ``view`` sets it up) showing the nuclei case."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    with patch("app.qt.main_window.apply_theme"):
        window = MainWindow(settings=settings, synchronous=True, edit_data_dir=tmp_path / "userdata")
    window.answers = Answers(recover=False)
    window.show_error = window.answers.errors.append
    window.ask_unsaved_changes = window.answers.ask_unsaved_changes
    qtbot.addWidget(window)
    voxels = install(window, True, (files["gt_types"], files["pred_types"]) if semantic else None,
                     (files["gt"], files["pred"]) if semantic else None)
    case = voxels.read(load_case(files["gt"], files["pred"]))
    window.show_case(case, title="nuclei")
    qtbot.waitUntil(lambda: window.controller.last_result is not None, timeout=20_000)
    return window, voxels, case


def stroke(window, label, points, erase=False):
    session = window.edits.bridge.session
    session.target, session.active_label = "pred", label
    window.edits.bridge.begin_stroke((0.0, *points[0]), 0, erase=erase)
    for point in points[1:]:
        window.edits.bridge.paint_segment((0.0, *point))
    window.edits.bridge.end_stroke()


def strokes(window, case):
    """Paint an existing id elsewhere, a new id on background, erase part of an instance, undo once."""
    existing = int(case.pred[case.pred > 0][0])
    stroke(window, existing, [(5, 5), (5, 20)])
    stroke(window, 150, [(40, 40), (44, 44)])
    stroke(window, 0, [(20, 10), (30, 30)], erase=True)
    stroke(window, existing, [(10, 30), (12, 40)])
    window.edits.bridge.undo()


def test_foreground_follows_id_edits_exactly(qtbot, tmp_path, files):
    window, _, case = open_instances(qtbot, tmp_path, files, semantic=False)
    assert window.dice_table.model.rowCount() == 2 and window.controller.last_result.num_classes == 2
    before = case.pred.copy()
    strokes(window, case)
    assert not np.array_equal(before, case.pred)
    foreground = type("Voxels", (), {"gt": (case.gt > 0).astype(np.uint8), "pred": (case.pred > 0).astype(np.uint8),
                                     "num_classes": 2})
    assert np.array_equal(window.controller.last_result.confusion, confusion_of(foreground))
    assert window.objects.instances   # the objects lane still counts the ids
    assert "instances (foreground)" in window.dice_history.legend_label.text()   # the class scored, not id 1
    window.answers.answer = "discard"
    window.close()


def test_semantic_classes_follow_id_edits_exactly(qtbot, tmp_path, files):
    window, voxels, case = open_instances(qtbot, tmp_path, files, semantic=True)
    inputs = load_case(files["gt_types"], files["pred_types"])
    window.state.select_class(2)   # new instances take the selected class
    strokes(window, case)
    masks = voxels._translation.masks
    assert np.array_equal(masks["gt"], inputs.gt)   # only the prediction was edited
    new = case.pred == 150
    assert new.any() and (masks["pred"][new] == 2).all()
    erased = (inputs.pred > 0) & (case.pred == 0) & (load_case(files["gt"], files["pred"]).pred > 0)
    assert erased.any() and (masks["pred"][erased] == 0).all()
    semantic = type("Voxels", (), {"gt": masks["gt"], "pred": masks["pred"], "num_classes": 3})
    assert np.array_equal(window.controller.last_result.confusion, confusion_of(semantic))
    # the objects lane counts instances per semantic class, following the same edits
    window.objects.flush()
    qtbot.waitUntil(lambda: window.objects.last_update is not None and not window.objects.pending, timeout=20_000)
    shown = window.objects.last_update.scores
    expected = instance_scores(target=case.gt, preds=case.pred, target_semantic=masks["gt"],
                               preds_semantic=masks["pred"], num_classes=3, spacing=case.geometry.spacing_zyx)
    assert [c.class_index for c in shown.classes] == [1, 2]
    assert [vars(c.counts) for c in shown.classes] == [vars(c.counts) for c in expected.classes]
    # the inputs are never written over
    assert np.array_equal(load_case(files["gt_types"], files["pred_types"]).pred, inputs.pred)
    window.answers.answer = "discard"
    window.close()


def test_help_states_what_class_a_painted_instance_voxel_takes():
    from app.qt.shortcuts_help import MOUSE_BINDINGS

    text = " ".join(what for _, what in MOUSE_BINDINGS if "instance" in what)
    assert "its id's class" in text and "class selected in the Dice table" in text and "never written" in text
