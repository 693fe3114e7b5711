"""While the soft lane computes the curves and the uncertainty, the curve dock says that they are being computed
(with the share of the pass done), the uncertainty overlay's actions and the per-slice toggle say so too; when
the load fails, they say why; without model output the dock says how to open it."""

import threading

from app.errors import InputError
from app.io import load_case
from app.qt import soft_controller, soft_worker
from app.qt.slice_uncertainty import PENDING_TEXT, TOGGLE_TEXT
from app.qt.soft_worker import CurvesRequest
from app.qt.threshold_curve import CURVES_FAILED, CURVES_PENDING, NO_MODEL_OUTPUT
from app.qt.uncertainty_overlay import FAILED_TOOLTIP, NEXT_TEXT, PENDING_SUFFIX
from app.qt.uncertainty_overlay import TOGGLE_TEXT as OVERLAY_TEXT
from tests.app.qt.editing_cases import open_window, write_case
from tests.app.qt.test_model_output_window import write_probabilities


def _open_held(qtbot, tmp_path, monkeypatch, curves_job):
    """A window whose soft lane runs ``curves_job(state, request)`` for the curves stage (every other job as usual),
    with the editing case and its probabilities opened."""
    paths = write_case(tmp_path)
    probs, _ = write_probabilities(tmp_path, load_case(paths["gt"], paths["pred"]).gt)
    window = open_window(qtbot, tmp_path, paths, synchronous=False)

    def process(state, request):
        if isinstance(request, CurvesRequest):
            return curves_job(state, request)
        return soft_worker.process(state, request)

    monkeypatch.setattr(soft_controller, "process", process)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"], probs=probs)
    return window


def test_pending_curves_and_uncertainty_say_so_with_progress_then_draw(qtbot, tmp_path, monkeypatch):
    started, release = threading.Event(), threading.Event()

    def held(state, request):   # a quarter of the pass done, then wait for the test
        request.progress.total, request.progress.done = 8, 2
        started.set()
        release.wait(20)
        return soft_worker.process(state, request)

    window = _open_held(qtbot, tmp_path, monkeypatch, held)
    panel, overlay, toggle = window.threshold_curve, window.uncertainty, window.slice_uncertainty.toggle
    qtbot.waitUntil(started.is_set, timeout=30_000)
    qtbot.waitUntil(lambda: panel.title_label.text() == f"{CURVES_PENDING} 25%", timeout=5_000)
    assert window.soft_metrics.last_update.result is not None   # the soft columns came first
    assert overlay.actions["show_uncertainty"].text() == OVERLAY_TEXT + PENDING_SUFFIX
    assert overlay.actions["next_uncertain_slice"].text() == NEXT_TEXT + PENDING_SUFFIX
    assert not overlay.actions["show_uncertainty"].isEnabled()
    assert not toggle.isHidden() and not toggle.isEnabled() and toggle.text() == PENDING_TEXT
    release.set()
    qtbot.waitUntil(lambda: window.soft_metrics.ready and window.uncertainty.available, timeout=30_000)
    assert panel.shown_curve is not None and CURVES_PENDING not in panel.title_label.text()
    shown = overlay.actions["show_uncertainty"]
    assert shown.text() == OVERLAY_TEXT and shown.isEnabled()
    assert toggle.isEnabled() and toggle.text() == TOGGLE_TEXT
    window.answers.answer = "discard"
    window.close()


def test_a_failed_load_says_why_in_the_dock_and_the_uncertainty_tooltips(qtbot, tmp_path, monkeypatch):
    def fails(_state, _request):
        raise InputError("the class scores <do not> fit the ground truth.")

    window = _open_held(qtbot, tmp_path, monkeypatch, fails)
    panel, overlay, toggle = window.threshold_curve, window.uncertainty, window.slice_uncertainty.toggle
    reason = "the class scores <do not> fit the ground truth."
    qtbot.waitUntil(lambda: window.soft_metrics.load_status() is not None
                    and window.soft_metrics.load_status().failure != "", timeout=30_000)
    assert reason in window.soft_metrics.load_status().failure
    assert panel.title_label.text().replace("&lt;", "<").replace("&gt;", ">") == \
        CURVES_FAILED.format(reason=window.soft_metrics.load_status().failure)
    assert overlay.actions["show_uncertainty"].text() == OVERLAY_TEXT
    assert overlay.actions["show_uncertainty"].toolTip() == \
        FAILED_TOOLTIP.format(reason=window.soft_metrics.load_status().failure)
    assert toggle.isHidden()
    window.answers.answer = "discard"
    window.close()


def test_without_model_output_nothing_is_pending(window):
    assert window.soft_metrics.load_status() is None
    assert window.threshold_curve.title_label.text() == NO_MODEL_OUTPUT
    assert window.uncertainty.actions["show_uncertainty"].text() == OVERLAY_TEXT
    assert window.slice_uncertainty.toggle.isHidden()
