"""Leaving review mode puts the window back as it was before (app/qt/worklist_hooks.py): its own reader,
save questions and save target, no Review menu or keys, no worklist dock."""

from app.qt.case_loader import read_case
from app.qt.worklist_controller import WorklistController
from app.review.folder import ReviewFolder
from tests.app.qt.test_review_session import dataset, plain_window  # noqa: F401 (the fixture)


def window_hooks(window) -> dict:
    panels = next(entry.menu() for top in window.menuBar().actions() if top.text() == "&View"
                  for entry in top.menu().actions() if entry.text() == "&Panels")
    return {"reader": window.case_loader.reader, "engine": window.controller.prepared_source,
            "masks": window.controller.prepared_masks_source, "redirect": window.edits.save_redirect,
            "questions": sorted(set(window.__dict__) & {"ask_replace_input", "ask_save_path"}),
            "menus": [action.text() for action in window.menuBar().actions()],
            "actions": len(window.actions()), "panels": [action.text() for action in panels.actions()],
            "docks": sorted(window.docks), "review": window.review}


def test_detach_undoes_every_hook_of_review_mode(qtbot, tmp_path, dataset):  # noqa: F811
    gt_dir, pred_dir, root = dataset
    folder = ReviewFolder.create(gt_dir, pred_dir, root)
    window = plain_window(qtbot, tmp_path)
    before = window_hooks(window)
    assert before["reader"] is read_case
    review = WorklistController(window, folder, "carol", score=False, bookkeeping=False)
    during = window_hooks(window)
    assert during["reader"] == review.prefetcher.read and during["redirect"] == review.target.redirect
    assert during["questions"] == ["ask_replace_input", "ask_save_path"] and "&Review" in during["menus"]
    assert "worklist" in during["docks"] and "Worklist" in during["panels"] and during["review"] is review
    review.detach()
    assert window_hooks(window) == before
    window.close()
