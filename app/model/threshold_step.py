"""A prediction re-derived at a threshold is one undo step of the prediction; its description says which.

The window writes the prediction derived at threshold ``index / 1024`` of class ``label`` with
:meth:`app.model.edit_session.EditSession.apply_replacement` (prepared off the GUI thread), described by
:func:`describe`. The description
travels with the step into the undo history, the review log and the crash journal, so after an undo,
a redo or a recovered journal :func:`applied_threshold` reads back from the history which threshold the
prediction shown uses, and :func:`prediction_edited` whether the prediction holds hand edits made after
it (docs/architecture.md §8a). Qt-free.
"""

from __future__ import annotations

import re
from dataclasses import replace

STEPS = 1024
"""Thresholds are the edges ``k / 1024`` at which the Dice-vs-threshold curves are exact."""
FROM_SLIDER = "slider"
"""``Case.prediction_from`` of a prediction re-derived in the window at a threshold (:func:`as_reported`)."""
_PATTERN = re.compile(r"^threshold (\d+) at (\d+)/1024: p >= [0-9.]+$")


def describe(label: int, index: int) -> str:
    """The step description of the prediction derived at threshold ``index / 1024`` of class ``label``.

    Examples
    --------
    >>> describe(2, 700)
    'threshold 2 at 700/1024: p >= 0.6836'
    """
    if not 0 <= int(index) <= STEPS:
        raise ValueError(f"a threshold index must lie in 0..{STEPS}, got {index!r}")
    return f"threshold {int(label)} at {int(index)}/{STEPS}: p >= {int(index) / STEPS:.4f}"


def parse(description: str) -> tuple[int, int] | None:
    """``(label, index)`` of a :func:`describe` description; None for any other step."""
    match = _PATTERN.match(description)
    if match is None or int(match.group(2)) > STEPS:
        return None
    return int(match.group(1)), int(match.group(2))


def applied_threshold(history) -> tuple[int, int] | None:
    """``(label, index)`` of the newest threshold step applied to the prediction, or None.

    Parameters
    ----------
    history : app.model.history.History
        The session's undo history (steps undone are not applied).
    """
    for step in reversed(history.undo_steps):
        if step.which == "pred":
            found = parse(step.description)
            if found is not None:
                return found
    return None


def prediction_edited(history) -> bool:
    """Whether the prediction shown holds hand edits: its newest applied step is not a threshold step.

    A threshold step replaces every voxel, so hand edits before it no longer count. When the history
    dropped the prediction's applied steps (memory budget), they may have been hand edits: True.
    """
    for step in reversed(history.undo_steps):
        if step.which == "pred":
            return parse(step.description) is None
    return history.state_id("pred") is not None


def as_reported(case, history):
    """``case`` as a report should describe its prediction: ``prediction_from`` :data:`FROM_SLIDER` when a
    threshold step of the window is applied to it (hand edits may follow; the report's edit list names the
    threshold and class), else ``case`` itself. The arrays are the case's own (nothing is copied)."""
    if case.scores is None or applied_threshold(history) is None:
        return case
    return replace(case, prediction_from=FROM_SLIDER)
