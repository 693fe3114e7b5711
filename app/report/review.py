"""The report's edit list from the edit model's review log (Qt-free).

The window passes its session's :attr:`~app.model.edit_session.EditSession.review_log` (every edit,
undo, redo, recovered journal record and save, in order), whether each mask is modified now, and
the Dice history's records (mean foreground Dice before and after each action the user made in
this window). The result lists every edit of the review, including those recovered from a crash
journal (made before this window opened, so without Dice figures), and ends with one
``"unsaved"`` record per mask whose edits were not saved when the report was made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.report.content import EditRecord
from app.report.provenance import UNSAVED_KIND

MASKS = ("pred", "gt")
_LIVE_KINDS = ("edit", "undo", "redo")


def review_edit_records(review_log: Sequence, is_modified: Callable[[str], bool],
                        dice_records: Sequence[EditRecord] = (),
                        label_name: Callable[[int], str] | None = None) -> list[EditRecord]:
    """Every edit of the review as :class:`EditRecord`, in order, then the unsaved-mask records.

    Parameters
    ----------
    review_log : sequence of app.model.review_log.ReviewEvent
        ``kind``, ``which``, ``voxels``, ``description`` of each event.
    is_modified : callable
        ``which -> bool``: whether that mask differs from its file now (the session's ``is_modified``).
    dice_records : sequence of EditRecord
        The Dice history's records of the actions made in this window, in order: their Dice before
        and after and their descriptions (with label names) are used for the matching log events
        (same mask and voxel count, in order); events without a match have no Dice (None).
    label_name : callable, optional
        ``label -> name``, to name the label in the other events' descriptions (``"brush 1 (liver)"``).
    """
    records = []
    pending = list(dice_records)
    for event in review_log:
        match = None
        if event.kind in _LIVE_KINDS and pending and pending[0].mask == event.which \
                and pending[0].voxels_changed == event.voxels:
            match = pending.pop(0)
        records.append(EditRecord(
            mask=event.which,
            voxels_changed=int(event.voxels),
            dice_before=None if match is None else match.dice_before,
            dice_after=None if match is None else match.dice_after,
            description=_described(event.description, label_name) if match is None else match.description,
            kind=event.kind,
        ))
    records.extend(EditRecord(mask=which, voxels_changed=0, dice_before=None, dice_after=None,
                              description="edited and not saved when this report was made", kind=UNSAVED_KIND)
                   for which in MASKS if is_modified(which))
    return records


def _described(description: str, label_name: Callable[[int], str] | None) -> str:
    """``"brush 3"`` as ``"brush 3 (kidney)"`` when ``label_name`` is given (other text unchanged)."""
    head, _, label = description.rpartition(" ")
    if label_name is None or not head or not label.isdigit():
        return description
    return f"{description} ({'background' if int(label) == 0 else label_name(int(label))})"
