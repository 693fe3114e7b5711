"""``dicelens view``: screenshot mode renders the full window offscreen; bad arguments exit 2."""

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from app import cli
from app.qt.app_runner import SCREENSHOT_SIZE


@pytest.fixture
def case_files(tmp_path):
    rng = np.random.default_rng(3)
    shape = (5, 12, 10)
    gt = rng.integers(0, 3, size=shape, dtype=np.uint8)
    pred = np.where(rng.random(shape) < 0.2, 0, gt).astype(np.uint8)
    paths = {}
    for role, array in (("gt", gt), ("pred", pred), ("image", rng.normal(size=shape).astype(np.float32))):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((0.78, 0.78, 6.5))
        paths[role] = str(tmp_path / f"{role}.nii.gz")
        sitk.WriteImage(image, paths[role])
    return paths


@pytest.fixture(autouse=True)
def keep_style_sheet(qapp):
    """Screenshot mode applies the dark theme to the shared QApplication: undo it after each test."""
    before = qapp.styleSheet()
    yield
    qapp.setStyleSheet(before)


def test_no_arguments_runs_view():
    assert cli._default_command() == ["view"]
    assert "app.commands.view" in cli.COMMAND_MODULES


def test_screenshot_writes_the_full_window(case_files, tmp_path):
    out = tmp_path / "shot.png"
    code = cli.main(["view", "--gt", case_files["gt"], "--pred", case_files["pred"], "--image",
                     case_files["image"], "--axis", "coronal", "--slice", "7", "--screenshot", str(out)])
    assert code == 0
    picture = QImage(str(out))
    assert (picture.width(), picture.height()) == SCREENSHOT_SIZE
    assert not [widget for widget in QApplication.topLevelWidgets() if widget.isVisible()]


def test_demo_case_screenshot(tmp_path):
    out = tmp_path / "demo.png"
    assert cli.main(["view", "--screenshot", str(out)]) == 0
    assert QImage(str(out)).width() == SCREENSHOT_SIZE[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--slice", "12"], "--slice 12 is outside the volume: this view has slices 0 to 4"),
        (["--screenshot", "/no/such/folder/x.png"], "the folder '/no/such/folder' does not exist"),
    ],
)
def test_bad_view_arguments_exit_2_with_a_message(case_files, capsys, extra, message):
    code = cli.main(["view", "--gt", case_files["gt"], "--pred", case_files["pred"], *extra,
                     *([] if "--screenshot" in extra else ["--screenshot", "/tmp/unused.png"])])
    assert code == 2
    assert message in capsys.readouterr().err


def test_gt_without_pred_is_refused(case_files, capsys):
    assert cli.main(["view", "--gt", case_files["gt"]]) == 2
    assert "give both --gt and --pred" in capsys.readouterr().err


def test_unreadable_file_exits_2_without_opening_a_window(case_files, tmp_path, capsys):
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    assert cli.main(["view", "--gt", case_files["gt"], "--pred", str(broken), "--screenshot",
                     str(tmp_path / "x.png")]) == 2
    assert "broken.nii.gz" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("mode", ["contours", "errors"])
def test_overlay_option_starts_the_view_in_that_mode(case_files, tmp_path, monkeypatch, mode):
    seen = []
    monkeypatch.setattr("app.qt.app_runner.save_screenshot",
                        lambda window, path: seen.append(window.slice_view.settings))
    code = cli.main(["view", "--gt", case_files["gt"], "--pred", case_files["pred"], "--overlay", mode,
                     "--screenshot", str(tmp_path / "shot.png")])
    assert code == 0 and seen[0].mode == mode
    assert seen[0].errors_of_all_classes == (mode == "errors")


def test_screenshot_is_written_through_a_hidden_temporary_file(qtbot, tmp_path, monkeypatch):
    """A kill during the write may leave only a hidden ``.<name>.*.tmp``, never a visible stray PNG."""
    import os

    from PySide6.QtWidgets import QLabel

    from app.qt import app_runner

    renames = []
    real_replace = os.replace

    def recording_replace(source, destination):
        renames.append(os.path.basename(source))
        real_replace(source, destination)

    monkeypatch.setattr(app_runner.os, "replace", recording_replace)
    label = QLabel("shot")
    qtbot.addWidget(label)
    label.resize(40, 20)
    app_runner.save_screenshot(label, tmp_path / "shot.png")
    assert len(renames) == 1 and renames[0].startswith(".shot.png.") and renames[0].endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["shot.png"]
    assert not QImage(str(tmp_path / "shot.png")).isNull()


def test_max_voxels_limits_what_the_window_reads(case_files, tmp_path, capsys, monkeypatch):
    from app.io import limits

    monkeypatch.setenv(limits.MAX_VOXELS_VARIABLE, "")  # no machine-wide default in this test
    assert cli.main(["view", "--gt", case_files["gt"], "--pred", case_files["pred"], "--max-voxels", "100",
                     "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "the limit set with --max-voxels is 100 voxels" in capsys.readouterr().err


@pytest.mark.parametrize(("layout", "linked"), [("three", True), ("single", False)])
def test_layout_option_starts_the_window_in_that_layout(case_files, tmp_path, monkeypatch, layout, linked):
    seen = []
    monkeypatch.setattr("app.qt.app_runner.save_screenshot",
                        lambda window, path: seen.append((window.views.linked,
                                                          [view.isVisible() for view in window.views.views])))
    code = cli.main(["view", "--gt", case_files["gt"], "--pred", case_files["pred"], "--layout", layout,
                     "--screenshot", str(tmp_path / "shot.png")])
    assert code == 0 and seen == [(linked, [True, linked, linked])]


def test_an_unknown_layout_exits_2(case_files, capsys):
    with pytest.raises(SystemExit) as exit_info:   # argparse's usage error
        cli.main(["view", "--gt", case_files["gt"], "--pred", case_files["pred"], "--layout", "four"])
    assert exit_info.value.code == 2
    assert "argument --layout: invalid choice: 'four'" in capsys.readouterr().err
