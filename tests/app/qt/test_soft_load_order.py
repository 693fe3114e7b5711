"""The soft lane publishes the soft Dice as soon as its sums exist, before the Dice-vs-threshold curves:
the table's soft columns appear first, the curves follow in a later update of the same case (§8b)."""

from app.io import load_case
from app.qt.soft_columns import SOFT_COLUMNS
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
