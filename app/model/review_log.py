"""The review's edit log: every change of a mask in the order it happened, never trimmed (Qt-free).

The undo history forgets steps beyond its memory budget and the journal drops what was saved; the
report must still list every edit of the review, with the ones recovered from a crash journal and
the saves in between. :class:`~app.model.edit_session.EditSession` appends a :class:`ReviewEvent`
for each committed step, undo, redo, replayed journal record and save (a few bytes each).
"""

from __future__ import annotations

from dataclasses import dataclass

EVENT_KINDS = ("edit", "undo", "redo", "recovered", "saved")
"""``edit``: a stroke, fill or polygon; ``undo`` / ``redo``; ``recovered``: a journal record of an
earlier session replayed at opening; ``saved``: the mask was written to disk."""


@dataclass(frozen=True)
class ReviewEvent:
    """One entry of the review's edit log.

    Attributes
    ----------
    kind : str
        One of :data:`EVENT_KINDS`.
    which : {"pred", "gt"}
        The mask concerned.
    voxels : int
        Voxels changed (0 for a save).
    description : str
        The model's description (``"brush 3"``, ``"undo fill 2"``; for a save, the file name).
    """

    kind: str
    which: str
    voxels: int
    description: str = ""
