"""Model output in the window: ``view --probs/--logits`` and File → Open model output (read on the open lane
with the case; without a predicted mask the model's argmax is shown; disagreements and bad files are said)."""

import numpy as np
import pytest

from app import cli
from app.qt import model_output_dialog
from tests.app.qt.editing_cases import open_window, write_case

CLASSES = 4


def write_probabilities(folder, gt, name="probs.npz", seed=0, shape=None):
    """Probabilities ``(4, z, y, x)`` float32 that favour ``gt`` (a noisy one-hot, normalised); their path."""
    rng = np.random.default_rng(seed)
    shape = gt.shape if shape is None else shape
    logits = rng.normal(size=(CLASSES, *shape)) + 3.0 * np.eye(CLASSES)[gt].transpose(3, 0, 1, 2)[:, :shape[0]]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=0)
    path = folder / name
    np.savez_compressed(path, probabilities=probabilities.astype(np.float32))
    return str(path), probabilities


@pytest.fixture
def model_case(tmp_path):
    paths = write_case(tmp_path)
    from app.io import load_case

    gt = load_case(paths["gt"], paths["pred"]).gt
    probs, probabilities = write_probabilities(tmp_path, gt)
    return paths, probs, probabilities


def test_a_case_with_probabilities_and_no_prediction_shows_the_models_argmax(qtbot, tmp_path, model_case):
    paths, probs, probabilities = model_case
    window = open_window(qtbot, tmp_path, paths)
    window.open_case(paths["gt"], None, image=paths["image"], labels=paths["labels"], probs=probs)
    qtbot.waitUntil(lambda: window.state.case.scores is not None, timeout=20_000)

    case = window.state.case
    np.testing.assert_array_equal(case.pred, probabilities.argmax(axis=0))
    assert case.scores_kind == "probs" and case.prediction_from == "argmax"
    assert window.case_paths["probs"] == probs and window.case_paths["pred"] is None
    assert "probs.npz vs gt.nii.gz" in window.windowTitle()
    assert "no predicted mask given" in window.statusBar().currentMessage()
    assert window.answers.errors == []
    window.close()


def test_a_prediction_disagreeing_with_the_probabilities_is_warned_about(qtbot, tmp_path, model_case):
    paths, probs, _ = model_case
    window = open_window(qtbot, tmp_path, paths)
    window.case_paths = dict(paths)
    window.open_model_output(probs, "probs")   # File → Open model output on the case shown (its pred is shifted)
    qtbot.waitUntil(lambda: window.state.case.scores is not None, timeout=20_000)

    assert "disagrees with --probs" in window.statusBar().currentMessage()
    assert window.case_paths["pred"] == paths["pred"] and window.case_paths["probs"] == probs
    window.close()


def test_model_output_not_fitting_the_case_is_a_dialog_and_the_case_stays(qtbot, tmp_path, model_case):
    paths, _, _ = model_case
    window = open_window(qtbot, tmp_path, paths)
    window.case_paths = dict(paths)
    shown = window.state.case
    bad, _ = write_probabilities(tmp_path, np.zeros((2, 3, 4), np.int64), name="small.npz")
    window.open_model_output(bad, "probs")

    assert len(window.answers.errors) == 1 and "small.npz" in window.answers.errors[0]
    assert window.state.case is shown and window.state.case.scores is None
    window.close()


def test_the_dialog_chooses_logits_by_its_filter(qtbot, tmp_path, model_case, monkeypatch):
    paths, _, probabilities = model_case
    logits_path = tmp_path / "logits.npy"
    np.save(logits_path, np.log(probabilities).astype(np.float32))
    window = open_window(qtbot, tmp_path, paths)
    window.case_paths = dict(paths)
    logits_filter = next(name for name, kind in model_output_dialog.FILTERS.items() if kind == "logits")
    monkeypatch.setattr(model_output_dialog.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args: (str(logits_path), logits_filter)))
    window.open_model_output_dialog()
    qtbot.waitUntil(lambda: window.state.case.scores is not None, timeout=20_000)

    assert window.state.case.scores_kind == "logits" and window.case_paths["logits"] == str(logits_path)
    window.close()


def test_without_a_case_open_model_output_asks_for_one_first(qtbot, tmp_path, model_case):
    paths, probs, _ = model_case
    window = open_window(qtbot, tmp_path, paths)
    window.case_paths = None
    window.open_model_output(probs, "probs")
    assert window.answers.errors == ["Open a case first: the model output is checked against its masks."]
    window.close()


def test_view_screenshot_with_probabilities_and_no_prediction(tmp_path, model_case, qapp):
    paths, probs, _ = model_case
    before = qapp.styleSheet()
    try:
        code = cli.main(["view", "--gt", paths["gt"], "--probs", probs, "--image", paths["image"],
                         "--labels", paths["labels"], "--screenshot", str(tmp_path / "shot.png")])
    finally:
        qapp.setStyleSheet(before)
    assert code == 0 and (tmp_path / "shot.png").stat().st_size > 0


@pytest.mark.parametrize(("argv", "message"), [
    (lambda p, probs: ["--probs", probs], "give both --gt and --pred (or --gt and --probs / --logits)"),
    (lambda p, probs: ["--gt", p["gt"], "--probs", str(probs)[:-4] + "_x.npz"], "_x.npz"),
], ids=["probs-without-gt", "missing-file"])
def test_bad_model_output_arguments_exit_2(tmp_path, model_case, capsys, argv, message):
    paths, probs, _ = model_case
    code = cli.main(["view", *argv(paths, probs), "--screenshot", str(tmp_path / "x.png")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_probs_and_logits_together_are_refused(model_case, capsys):
    paths, probs, _ = model_case
    with pytest.raises(SystemExit) as stop:
        cli.main(["view", "--gt", paths["gt"], "--probs", probs, "--logits", probs])
    assert stop.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
