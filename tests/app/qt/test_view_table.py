"""``dicelens view --screenshot OUT.png --table OUT.json``: the Dice table's numbers equal ``dicelens score --json``."""

import json

import pytest

from app import cli
from app.io import load_case
from tests.app.qt.editing_cases import write_case
from tests.app.qt.test_model_output_window import write_probabilities

HARD_KEYS = ("dice", "iou", "gt_volume_ml", "pred_volume_ml", "volume_difference_ml", "fp", "fn")


@pytest.fixture(autouse=True)
def keep_style_sheet(qapp):
    """Screenshot mode applies the dark theme to the shared QApplication: undo it after each test."""
    before = qapp.styleSheet()
    yield
    qapp.setStyleSheet(before)


@pytest.fixture
def case_paths(tmp_path):
    paths = write_case(tmp_path)
    paths["probs"], _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    return paths


def close(a, b):
    return (a is None and b is None) or a == pytest.approx(b, abs=1e-9)


def run_both(tmp_path, capsys, files):
    table, scored = tmp_path / "table.json", tmp_path / "score.json"
    assert cli.main(["view", *files, "--screenshot", str(tmp_path / "shot.png"), "--table", str(table)]) == 0
    assert cli.main(["score", *files, "--distances", "--json", str(scored)]) == 0
    capsys.readouterr()
    return json.loads(table.read_text()), json.loads(scored.read_text())


def test_the_table_equals_score_with_probabilities(tmp_path, capsys, case_paths):
    files = [item for role, path in case_paths.items() for item in (f"--{role}", path)]
    table, scored = run_both(tmp_path, capsys, files)

    assert [row["index"] for row in table["classes"]] == [row["index"] for row in scored["classes"]]
    for shown, expected in zip(table["classes"], scored["classes"], strict=True):
        assert shown["name"] == expected["name"]
        for key in HARD_KEYS:
            assert close(shown[key], expected[key]), key
        for key in ("hausdorff95_mm", "assd_mm"):
            assert close(shown[key], expected[key]), key
    soft_rows = {entry["index"]: entry for entry in scored["soft"]["classes"]}
    for shown in table["classes"]:
        assert close(shown["soft_dice"], soft_rows[shown["index"]]["soft_dice"])
        assert close(shown["soft_dice_loss"], soft_rows[shown["index"]]["soft_dice_loss"])
    assert close(table["dice_mean_foreground"], scored["dice_mean_foreground"])
    assert close(table["dice_loss"]["hard"], scored["dice_loss"]["hard"])
    assert close(table["dice_loss"]["soft"], scored["dice_loss"]["soft"])
    assert table["dice_loss"]["soft_from"] == scored["dice_loss"]["soft_from"] == "probs"
    for key in ("hausdorff95_mm", "assd_mm", "n_undefined"):
        assert close(table["distances_mean_foreground"][key], scored["distances_mean_foreground"][key]), key


def test_without_model_output_the_table_has_no_soft_figures(tmp_path, capsys, case_paths):
    files = ["--gt", case_paths["gt"], "--pred", case_paths["pred"], "--labels", case_paths["labels"]]
    table, scored = run_both(tmp_path, capsys, files)
    assert table["soft"] is None and "soft" not in table["dice_loss"]
    assert all("soft_dice" not in row for row in table["classes"])
    assert [row["dice"] for row in table["classes"]] == pytest.approx([row["dice"] for row in scored["classes"]])


@pytest.mark.parametrize(("extra", "message"), [
    (["--table", "TABLE"], "give --screenshot OUT.png too"),
    (["--screenshot", "SHOT", "--table", "GT"], "--table"),
    (["--screenshot", "SHOT", "--table", "/no/such/folder/t.json"], "'/no/such/folder"),
], ids=["without-screenshot", "over-an-input", "missing-folder"])
def test_bad_table_arguments_exit_2(tmp_path, capsys, case_paths, extra, message):
    names = {"TABLE": str(tmp_path / "t.json"), "SHOT": str(tmp_path / "s.png"), "GT": case_paths["gt"]}
    code = cli.main(["view", "--gt", case_paths["gt"], "--pred", case_paths["pred"],
                     *[names.get(item, item) for item in extra]])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "t.json").exists() and not (tmp_path / "s.png").exists()
