"""Review mode on DICOM SEG and RTSTRUCT cases: corrections land in R/corrected/, originals untouched."""

import csv
from unittest.mock import patch

import highdicom as hd
import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QSettings, Qt

from app.io import load_case
from app.qt.main_window import MainWindow
from app.qt.worklist_controller import WorklistController
from app.review.export import export_review, review_summary
from app.review.folder import ReviewFolder
from tests.app.io.dicom_builders import ORIGIN, SPACING
from tests.app.qt.editing_cases import drag
from tests.app.qt.test_review_window import ReviewAnswers, digests, key
from tests.app.review.dicom_review_cases import RT_CASE, SEG_CASE, write_dicom_review_dataset


def mean_dice(gt, pred):
    values = []
    for label in range(1, int(max(gt.max(), pred.max())) + 1):
        a, b = gt == label, pred == label
        if a.any() or b.any():
            values.append(2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b)))
    return float(np.mean(values))


@pytest.fixture
def dicom_review(qtbot, tmp_path):
    gt_dir, pred_dir, image_dir = write_dicom_review_dataset(tmp_path / "data")
    folder = ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R", image_dir=image_dir)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    with patch("app.qt.main_window.apply_theme"):
        window = MainWindow(settings=settings, synchronous=True, edit_data_dir=tmp_path / "userdata")
    answers = window.answers = ReviewAnswers()
    answers.save_answer = "always"
    window.show_error = answers.errors.append
    window.ask_unsaved_changes = answers.ask_unsaved_changes
    window.ask_recovery = answers.ask_recovery
    window.ask_replace_input = answers.ask_replace_input

    def no_dialog(which, current):
        raise AssertionError("review mode asked for a DICOM SEG file")

    window.edits.ask_dicom_seg_target = no_dialog
    qtbot.addWidget(window)
    controller = WorklistController(window, folder, "alice")
    controller.verdicts.ask_comment = answers.ask_comment
    controller.verdicts.ask_save_edits = answers.ask_save_edits
    window.resize(1400, 900)
    window.show()
    controller.open_case(controller.first_case())
    qtbot.waitUntil(lambda: window.controller.last_result is not None, timeout=30_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    yield window, controller, (gt_dir, pred_dir, image_dir)
    answers.answer = "discard"
    window.close()
    folder.close()


def open_and_wait(qtbot, window, controller, case):
    controller.open_case(case)
    qtbot.waitUntil(lambda: controller.current == case and window.controller.last_result is not None
                    and window.controller.last_result.generation == window.controller.generation, timeout=30_000)


def paint(window):
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    drag(window, [(3, 3), (3, 20), (10, 20)])
    assert window.isWindowModified()


def test_corrections_of_seg_and_rtstruct_cases_land_in_corrected_and_reopen(qtbot, dicom_review, tmp_path):
    window, controller, inputs = dicom_review
    folder = controller.folder
    before = digests(*inputs[:2], *(inputs[2] / case for case in (SEG_CASE, RT_CASE)))
    written = {}
    for case in (SEG_CASE, RT_CASE):
        open_and_wait(qtbot, window, controller, case)
        paint(window)
        edited = window.state.case.pred.copy()
        key(window, Qt.Key.Key_A)                   # the verdict saves the correction first
        assert not window.answers.errors and not window.isWindowModified()
        verdict = folder.store.verdicts()[case]
        assert verdict.status == "corrected"
        written[case] = (verdict.corrected_path, edited)
        assert "(corrected" in window.windowTitle()
    seg_path, seg_pred = written[SEG_CASE]
    assert seg_path == str(folder.root / "corrected" / f"{SEG_CASE}.dcm")    # a SEG stays a DICOM SEG
    seg = hd.seg.segread(seg_path)
    assert seg.SeriesDescription == "DiceLens corrected" and str(seg.ContentCreatorName) == "alice^"
    files = folder.original_files(SEG_CASE)
    np.testing.assert_array_equal(load_case(files.gt, seg_path, image=files.image).pred, seg_pred)
    rt_path, rt_pred = written[RT_CASE]
    assert rt_path == str(folder.root / "corrected" / f"{RT_CASE}.nii.gz")   # no RTSTRUCT writer: NIfTI
    image = sitk.ReadImage(rt_path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), rt_pred)
    assert image.GetSpacing() == pytest.approx(SPACING) and image.GetOrigin() == pytest.approx(ORIGIN)
    assert digests(*inputs[:2], *(inputs[2] / case for case in (SEG_CASE, RT_CASE))) == before

    for case in (SEG_CASE, RT_CASE):                # reopening shows the corrected mask
        open_and_wait(qtbot, window, controller, RT_CASE if case == SEG_CASE else SEG_CASE)
        open_and_wait(qtbot, window, controller, case)
        np.testing.assert_array_equal(window.state.case.pred, written[case][1])
        assert "(corrected" in window.windowTitle()
        gt = window.state.case.gt
        expected = mean_dice(gt, written[case][1])
        assert mean_dice(gt, written[case][1]) != pytest.approx(controller.panel.model.row_of(case).mean_dice)
        assert folder.store.verdicts()[case].dice_after is not None
        row = controller.panel.model.row_of(case)
        assert row.dice_after == pytest.approx(expected)
    csv_path, _ = export_review(folder)
    highlighted = {reviewed.case: reviewed for reviewed in review_summary(folder).highlighted}
    for case in (SEG_CASE, RT_CASE):                # the PDF draws before and after from the DICOM inputs
        assert highlighted[case].note == "" and len(highlighted[case].snapshots) == 2
    records = {record["case"]: record for record in csv.DictReader(csv_path.open())}
    for case in (SEG_CASE, RT_CASE):
        gt = load_case(*(getattr(folder.original_files(case), role) for role in ("gt", "pred")),
                       image=folder.original_files(case).image).gt
        assert float(records[case]["dice_after"]) == pytest.approx(mean_dice(gt, written[case][1]), abs=5e-4)
        assert records[case]["corrected_path"] == written[case][0]


def test_save_in_review_mode_writes_the_corrected_file_without_a_dialog(qtbot, dicom_review):
    window, controller, _ = dicom_review
    for case, ending in ((SEG_CASE, ".dcm"), (RT_CASE, ".nii.gz")):
        open_and_wait(qtbot, window, controller, case)
        paint(window)
        window.edits.file_actions["save_pred"].trigger()      # Ctrl+S
        assert not window.answers.errors and not window.isWindowModified()
        assert (controller.folder.root / "corrected" / f"{case}{ending}").is_file()
        assert "(corrected" in window.windowTitle()
