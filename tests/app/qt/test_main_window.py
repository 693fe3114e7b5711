"""The main window: opening cases (dialog-free), bad files, recent cases, drops, theme, shortcuts help."""

import json

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from app.errors import InputError
from app.io import load_case
from app.qt.main_window import MainWindow
from app.qt.open_case_dialog import assign_roles
from app.qt.opening_slice import opening_slice

LABEL_TABLE = "0 background\n1 liver\n2 tumour\n"


def write_case(folder, seed=0, shape=(6, 8, 9)):
    """Write image, gt, pred (NIfTI, anisotropic) and a label table; return their paths."""
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 3, size=shape, dtype=np.uint8)
    pred = np.where(rng.random(shape) < 0.25, rng.integers(0, 3, size=shape), gt).astype(np.uint8)
    image = rng.integers(0, 1000, size=shape).astype(np.int16)
    paths = {}
    for role, array in (("image", image), ("gt", gt), ("pred", pred)):
        itk_image = sitk.GetImageFromArray(array)
        itk_image.SetSpacing((0.8, 0.8, 3.0))
        paths[role] = str(folder / f"{role}.nii.gz")
        sitk.WriteImage(itk_image, paths[role])
    paths["labels"] = str(folder / "labels.txt")
    (folder / "labels.txt").write_text(LABEL_TABLE)
    return paths


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_window(qtbot, settings):
    main_window = MainWindow(settings=settings, synchronous=True)
    main_window.errors = []
    main_window.show_error = main_window.errors.append
    qtbot.addWidget(main_window)
    return main_window


@pytest.fixture
def window(qtbot, settings, monkeypatch):
    """A window whose theme changes are recorded, not applied (style sheets make every test slow)."""
    themes = []
    monkeypatch.setattr("app.qt.main_window.apply_theme", lambda app, theme: themes.append(theme))
    main_window = make_window(qtbot, settings)
    main_window.themes_applied = themes
    yield main_window
    main_window.close()


def test_opening_a_case_shows_it_and_fills_the_panels(window, tmp_path):
    paths = write_case(tmp_path)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    case = window.state.case
    assert case.gt.shape == (6, 8, 9) and case.labels.name(2) == "tumour"
    result = window.controller.last_result
    assert result is not None
    expected = np.zeros((3, 3), dtype=np.int64)
    np.add.at(expected, (case.gt.ravel(), case.pred.ravel()), 1)
    np.testing.assert_array_equal(result.confusion, expected)
    assert window.device_label.text() == f"Engine: {result.device_name}"
    assert window.compute_label.text().startswith("last computation")
    assert not window.busy_bar.isVisible()
    assert "pred.nii.gz vs gt.nii.gz" in window.windowTitle()
    opening = opening_slice(window.controller.slice_counts)   # where the first class with errors has most voxels
    assert window.state.slice_index == opening
    np.testing.assert_array_equal(window.slice_view.image_item.image, case.image[opening])


def test_bad_file_reports_the_cli_message_and_keeps_the_previous_case(window, tmp_path):
    paths = write_case(tmp_path)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"])
    previous = window.state.case
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"this is not a NIfTI file at all")
    with pytest.raises(InputError) as cli_error:
        load_case(paths["gt"], str(broken))
    window.open_case(paths["gt"], str(broken))
    assert window.errors == [str(cli_error.value)]
    assert window.state.case is previous
    assert window.case_paths["pred"] == paths["pred"]
    assert window.controller.last_result.generation == window.controller.generation
    assert not window.busy_bar.isVisibleTo(window)


def test_class_selection_and_matrix_cell_highlight_and_jump(window, tmp_path):
    paths = write_case(tmp_path)
    window.open_case(paths["gt"], paths["pred"], labels=paths["labels"])
    case = window.state.case
    window.state.select_class(2)
    window.slice_view.view_actions.modes["errors"].trigger()
    assert "tumour" in window.slice_view.legend_label.text()
    window.state.highlight_cell((1, 2))
    window.controller.locate_cell(1, 2, window.state.axis)
    counts = ((case.gt == 1) & (case.pred == 2)).sum(axis=(1, 2))
    assert window.state.slice_index == int(np.argmax(counts))
    index = window.state.slice_index
    np.testing.assert_array_equal(window.slice_view.highlight_mask,
                                  (case.gt[index] == 1) & (case.pred[index] == 2))


def test_recent_cases_are_remembered_across_windows(window, tmp_path, settings, qtbot):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    paths_a, paths_b = write_case(first), write_case(second, seed=1)
    window.open_case(paths_a["gt"], paths_a["pred"])
    window.open_case(paths_b["gt"], paths_b["pred"], labels=paths_b["labels"])
    recent = json.loads(settings.value("files/recent_cases"))
    assert [entry["gt"] for entry in recent] == [paths_b["gt"], paths_a["gt"]]
    assert settings.value("files/last_directory") == str(second)
    window.close()
    reopened = make_window(qtbot, settings)
    actions = reopened.recent_menu.actions()
    assert len(actions) == 2
    reopened.recent_menu.triggered.emit(actions[1])
    assert reopened.case_paths["gt"] == paths_a["gt"]
    reopened.close()


def test_dropped_files_with_clear_names_open_directly(window, tmp_path):
    paths = write_case(tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(paths[role]) for role in ("pred", "image", "gt", "labels")])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.case_paths == {"image": paths["image"], "gt": paths["gt"], "pred": paths["pred"],
                                 "labels": paths["labels"]}


def test_ambiguous_drop_asks_with_the_dialog_prefilled(window, monkeypatch):
    asked = []
    monkeypatch.setattr(window, "open_case_dialog", lambda prefilled=None: asked.append(prefilled))
    window.open_dropped_files(["/data/case1_seg.nii.gz", "/data/case1_other.nii.gz", "/data/scan.nii.gz"])
    assert asked == [{"gt": "/data/case1_seg.nii.gz"}]


@pytest.mark.parametrize(
    ("names", "roles", "unclear"),
    [
        (["t1.nii.gz", "t1_gt.nii.gz", "t1_pred.nii.gz"],
         {"image": "t1.nii.gz", "gt": "t1_gt.nii.gz", "pred": "t1_pred.nii.gz"}, []),
        (["liver_labels.nrrd", "liver_prediction.nrrd", "names.txt"],
         {"gt": "liver_labels.nrrd", "pred": "liver_prediction.nrrd", "labels": "names.txt"}, []),
        (["case01seg.png", "case01pred.png"], {"gt": "case01seg.png", "pred": "case01pred.png"}, []),
        (["mask_a.png", "mask_b.png", "pred.png"], {"pred": "pred.png"}, ["mask_a.png", "mask_b.png"]),
        (["one.nii", "two.nii"], {}, ["one.nii", "two.nii"]),
    ],
)
def test_file_roles_from_names(names, roles, unclear):
    assert assign_roles(names) == (roles, unclear)


def test_dark_theme_by_default(window):
    assert window.themes_applied == ["dark"]
    assert window.theme_actions["dark"].isChecked()


def test_theme_switch_is_applied_and_remembered(qtbot, settings):
    app = QApplication.instance()
    style_before = app.styleSheet()
    settings.setValue("view/theme", "light")
    window = make_window(qtbot, settings)
    assert window.theme_actions["light"].isChecked()
    light_sheet = app.styleSheet()
    assert light_sheet
    window.theme_actions["dark"].trigger()
    assert settings.value("view/theme") == "dark"
    assert QApplication.instance().styleSheet() != light_sheet
    window.close()
    app.setStyleSheet(style_before)


def test_reset_layout_shows_every_panel_again(window):
    window.docks["confusion"].hide()
    window.reset_layout()
    assert all(not dock.isHidden() for dock in window.docks.values())


def test_keyboard_shortcuts_help_lists_keys_and_mouse(window):
    shown = []
    window.show_info = lambda title, html: shown.append((title, html))
    window.show_shortcuts()
    title, html = shown[0]
    assert title == "Keyboard shortcuts"
    for text in ("PgDown", "Error map", "Right drag", "Ctrl+2"):
        assert text in html


def test_view_menu_switches_plane_by_anatomy(window, tmp_path):
    paths = write_case(tmp_path)
    window.open_case(paths["gt"], paths["pred"])
    window.slice_view.view_actions.planes["sagittal"].trigger()
    assert window.state.axis == 2
    assert window.state.slice_index == 9 // 2  # no voxel hovered yet: the middle slice
    assert window.slice_view.view_actions.planes["sagittal"].isChecked()
    window.slice_view._update_readout(2, 5)  # hover screen pixel (row 2, column 5) of that slice
    z, y, _x = window.slice_view.cursor_index
    window.slice_view.view_actions.planes["coronal"].trigger()
    assert (window.state.axis, window.state.slice_index) == (1, y)
    window.slice_view.view_actions.planes["axial"].trigger()
    assert (window.state.axis, window.state.slice_index) == (0, z)


def test_2d_png_case_hides_the_per_slice_plot_until_a_volume_opens(window, tmp_path):
    rng = np.random.default_rng(5)
    gt = rng.integers(0, 3, size=(12, 16), dtype=np.uint8)
    rgb = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(gt), str(tmp_path / "cells_gt.png"))
    sitk.WriteImage(sitk.GetImageFromArray(np.roll(gt, 1, axis=1)), str(tmp_path / "cells_pred.png"))
    sitk.WriteImage(sitk.GetImageFromArray(rgb, isVector=True), str(tmp_path / "cells.png"))
    window.open_case(str(tmp_path / "cells_gt.png"), str(tmp_path / "cells_pred.png"),
                     image=str(tmp_path / "cells.png"))
    assert window.state.case.image.shape == (1, 12, 16, 3)
    assert window.docks["slices"].isHidden()
    assert window.slice_view.image_item.image.shape == (12, 16, 3)
    volume = tmp_path / "volume"
    volume.mkdir()
    paths = write_case(volume)
    window.open_case(paths["gt"], paths["pred"])
    assert not window.docks["slices"].isHidden()
    window.slice_view.view_actions.planes["sagittal"].trigger()
    window.open_case(str(tmp_path / "cells_gt.png"), str(tmp_path / "cells_pred.png"))
    assert window.state.axis == 0  # a 2D image is shown as its one slice, whatever the previous plane
    assert window.slice_view.overlay_item.image.shape[:2] == (12, 16)


def test_case_loads_in_the_background_and_only_the_latest_open_is_shown(qtbot, settings, tmp_path, monkeypatch):
    monkeypatch.setattr("app.qt.main_window.apply_theme", lambda app, theme: None)
    window = MainWindow(settings=settings)  # real background loading and engine thread
    qtbot.addWidget(window)
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    paths_a, paths_b = write_case(first), write_case(second, seed=1)
    window.open_case(paths_a["gt"], paths_a["pred"])
    window.open_case(paths_b["gt"], paths_b["pred"])  # supersedes the first
    assert window.busy_bar.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.case_paths is not None and window.controller.last_result is not None
                    and window.controller.last_result.generation == window.controller.generation, timeout=30000)
    assert window.case_paths["gt"] == paths_b["gt"]
    np.testing.assert_array_equal(window.state.case.gt, load_case(paths_b["gt"], paths_b["pred"]).gt)
    qtbot.waitUntil(lambda: not window.busy_bar.isVisibleTo(window), timeout=30000)
    window.close()


def test_layout_is_remembered_between_sessions(window, settings, qtbot):
    window.show()
    window.docks["confusion"].hide()
    window.close()
    assert settings.value("window/state") is not None
    reopened = make_window(qtbot, settings)
    reopened.show()
    assert reopened.docks["confusion"].isHidden()
    assert not reopened.docks["dice"].isHidden()
    reopened.close()


def test_open_case_dialog_needs_gt_and_pred_and_returns_the_fields(qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    from app.qt.open_case_dialog import OpenCaseDialog

    dialog = OpenCaseDialog("/data", {"gt": "/data/gt.nii.gz"})
    qtbot.addWidget(dialog)
    open_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Open)
    assert not open_button.isEnabled()
    dialog.fields["pred"].setText("  /data/pred.nii.gz ")
    assert open_button.isEnabled()
    assert dialog.paths() == {"image": None, "gt": "/data/gt.nii.gz", "pred": "/data/pred.nii.gz", "labels": None}


def write_2d_case(folder):
    rng = np.random.default_rng(5)
    gt = rng.integers(0, 3, size=(12, 16), dtype=np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(gt), str(folder / "cells_gt.png"))
    sitk.WriteImage(sitk.GetImageFromArray(np.roll(gt, 1, axis=1)), str(folder / "cells_pred.png"))
    return str(folder / "cells_gt.png"), str(folder / "cells_pred.png")


def test_per_slice_plot_comes_back_for_a_volume_in_the_next_session_after_a_2d_case(qtbot, settings, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setattr("app.qt.main_window.apply_theme", lambda app, theme: None)
    first = make_window(qtbot, settings)
    first.show()
    first.open_case(*write_2d_case(tmp_path))
    assert first.docks["slices"].isHidden()
    first.close()   # the layout, with the plot hidden, is remembered

    second = make_window(qtbot, settings)
    volume = tmp_path / "volume"
    volume.mkdir()
    paths = write_case(volume)
    second.open_case(paths["gt"], paths["pred"])   # before the window is shown, as `dicelens view` does
    second.show()
    assert not second.docks["slices"].isHidden()
    second.close()


def test_a_2d_case_opened_before_the_window_shows_hides_the_per_slice_plot(qtbot, settings, tmp_path, monkeypatch):
    monkeypatch.setattr("app.qt.main_window.apply_theme", lambda app, theme: None)
    window = make_window(qtbot, settings)
    window.open_case(*write_2d_case(tmp_path))
    window.show()
    assert window.docks["slices"].isHidden()
    volume = tmp_path / "volume"
    volume.mkdir()
    paths = write_case(volume)
    window.open_case(paths["gt"], paths["pred"])
    assert not window.docks["slices"].isHidden()
    window.close()
