"""The soft lane publishes the soft Dice as soon as its sums exist, before the Dice-vs-threshold curves:
the table's soft columns appear first, the curves follow in a later update of the same case, and
ground-truth edits made meanwhile go before the next load stage (§8b)."""

import threading

import numpy as np

import dice_engine as de
from app.io import load_case
from app.model.delta import Delta
from app.qt import soft_controller, soft_worker
from app.qt.soft_columns import SOFT_COLUMNS
from app.qt.soft_worker import SoftLoadRequest
from tests.app.qt.editing_cases import open_window, write_case
from tests.app.qt.test_model_output_window import write_probabilities
from tests.app.qt.test_soft_metrics_window import shown_soft


def test_the_soft_columns_come_before_the_curves(qtbot, tmp_path):
    paths = write_case(tmp_path)
    probs, _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    window = open_window(qtbot, tmp_path, paths)
    updates, columns_shown = [], []

    def seen(update):
        updates.append(update)
        columns_shown.append(window.soft_columns.proxy.shown)

    window.soft_metrics.soft_ready.connect(seen)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"], probs=probs)
    qtbot.waitUntil(lambda: window.state.case.scores is not None and window.soft_metrics.ready, timeout=30_000)
    generation = window.soft_metrics.last_update.generation
    ours = [(update, shown) for update, shown in zip(updates, columns_shown, strict=True)
            if update.generation == generation]
    (first, first_shown), (last, _) = ours[0], ours[-1]
    assert first.result is not None and first.curves_pending and first.curves == {} and first_shown
    assert not last.curves_pending and sorted(last.curves) == [0, 1, 2, 3]
    assert list(last.result.soft_dice) == list(first.result.soft_dice)   # the same sums, no edit between
    assert shown_soft(window, SOFT_COLUMNS[0][1])[1] == first.result.of_class(1)[0]
    window.answers.answer = "discard"
    window.close()


def test_edits_made_while_the_sums_are_computed_go_before_the_curves(qtbot, tmp_path, monkeypatch):
    paths = write_case(tmp_path)
    gt = load_case(paths["gt"], paths["pred"]).gt
    probs, _ = write_probabilities(tmp_path, gt)
    window = open_window(qtbot, tmp_path, paths, synchronous=False)
    order, release = [], threading.Event()

    def held(state, request):   # the load stage waits until the edit has been made
        order.append(type(request).__name__)
        if isinstance(request, SoftLoadRequest):
            release.wait(20)
        return soft_worker.process(state, request)

    monkeypatch.setattr(soft_controller, "process", held)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"], probs=probs)
    qtbot.waitUntil(lambda: order == ["SoftLoadRequest"], timeout=30_000)
    region = (slice(1, 2), slice(4, 10), slice(5, 12))
    old = gt[region].copy()
    new = np.full_like(old, 2)
    window.soft_metrics.submit_delta(Delta("gt", region, old, new))
    release.set()
    qtbot.waitUntil(lambda: window.soft_metrics.ready and not window.soft_metrics.pending, timeout=30_000)
    assert order == ["SoftLoadRequest", "SoftEditRequest", "CurvesRequest", "UncertaintyRequest"]
    edited = gt.copy()
    edited[region] = new
    scores = window.state.case.scores
    expected = de.LiveSoftDice(target=edited, preds=de.ClassProbabilities(scores, from_logits=False), smooth=1.0,
                               include_background=False).result()
    update = window.soft_metrics.last_update
    np.testing.assert_array_equal(update.result.soft_dice, expected.soft_dice)
    scratch = de.ClassHistograms(target=edited, preds=de.ClassProbabilities(scores, from_logits=False)).curves()
    for label, curve in scratch.items():
        np.testing.assert_array_equal(update.curves[label].dice, curve.dice)
    window.answers.answer = "discard"
    window.close()
