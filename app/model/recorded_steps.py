"""Steps of an :class:`~app.model.edit_session.EditSession` that write given values instead of painting.

A mixin of :class:`~app.model.edit_session.EditSession` (its one job: prepared replacements such as the
threshold step, docs/architecture.md §8a, with the kept boxes of their undo/redo, and the journal records
replayed at crash recovery, §3).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.model.delta import Delta, check_which
from app.model.history import bounding_region, make_step
from app.model.journal import JournalRecord
from app.model.replacement import KeptBoxes, Replacement, prepare_replacement
from app.model.review_log import ReviewEvent


class RecordedSteps:
    """Replacements and journal replay of :class:`~app.model.edit_session.EditSession` (a mixin: it uses the
    session's masks, history, journal and listeners)."""

    def replace_values(self, which: str, values: np.ndarray, description: str) -> Delta | None:
        """Make mask ``which`` equal to ``values`` as one undo step (journalled), e.g. the prediction
        re-derived from the model output at another threshold (docs/architecture.md §8a).

        Compares the whole volume on the calling thread; the window prepares the comparison off the GUI
        thread instead (:func:`app.model.replacement.prepare_replacement`, :meth:`apply_replacement`).
        Locks, "background only" and the intensity range do not apply: the values are not painted by a
        tool. Returns the delta (kind ``"replace"``, the box of the changed voxels); None when nothing differs.
        """
        self.end_stroke()
        which = check_which(which)
        return self.apply_replacement(
            prepare_replacement(self._masks[which], values, which, self.revision(which), self.num_classes), description)

    def apply_replacement(self, replacement: Replacement, description: str) -> Delta | None:
        """Write a :class:`~app.model.replacement.Replacement` as one undo step (journalled), as
        :meth:`replace_values` would: only the changed voxels are written here.

        When the mask changed since the replacement was prepared (another revision), the voxels that
        change are found again here, so the result is exact either way. Returns the delta (kind
        ``"replace"``); None when nothing differs.
        """
        self.end_stroke()
        which = replacement.which
        if replacement.revision != self._revisions[which]:
            replacement = prepare_replacement(self._masks[which], replacement.values, which, self._revisions[which],
                                              self.num_classes)
        if replacement.step is None:
            return None
        step = replace(replacement.step, id=self._next_id, description=description)
        self._next_id += 1
        before_state = self.history.state_id(which)
        self._flat[which][step.indices] = step.new_values
        self._revisions[which] += 1
        delta = Delta(which, step.region, replacement.old_box, replacement.new_box, "replace",
                      known_changed=step.voxel_count, known_labels=replacement.labels)   # every index changes
        self.history.push(step)
        self._kept_boxes[which] = KeptBoxes.of(step.id, before_state, replacement)
        self._forget_kept_boxes()
        self.review_log.append(ReviewEvent("edit", which, step.voxel_count, description))
        self._append_to_journal(JournalRecord("step", step.id, which, step.indices, step.old_values,
                                              step.new_values, description))
        self.painted.emit(delta)
        self.history_changed.emit()
        return delta

    def replay(self, records: list[JournalRecord]) -> tuple[int, list[str]]:
        """Apply journal records to the masks and rebuild the undo history (crash recovery).

        Every record writes its recorded values (emitting a ``"recover"`` delta), so the masks
        end exactly as they were after the last journalled event. Records are not journalled again.

        Returns
        -------
        tuple of (int, list of str)
            Records applied, and warnings (a record that does not fit this case stops the replay).
        """
        self.end_stroke()
        applied = 0
        for record in records:
            problem = record.problem(self.shape, self.num_classes)
            if problem is not None:
                return applied, [f"journal record {applied + 1} ({record.kind}) does not fit this case "
                                 f"({problem}); it and the {len(records) - applied - 1} records after it "
                                 "were not replayed."]
            self._replay_one(record)
            applied += 1
        self._forget_kept_boxes()
        if applied:
            self.history_changed.emit()
        return applied, []

    def _replay_one(self, record: JournalRecord) -> None:
        if record.kind == "clear_redo":
            self.history.clear_redo()
            return
        region = bounding_region(record.indices, self.shape)
        values = record.new_values.astype(self._masks[record.which].dtype)
        self.painted.emit(self._write_values(record.which, region, record.indices, values, "recover"))
        description = record.description if record.kind == "step" else f"{record.kind} {record.description}"
        self.review_log.append(ReviewEvent("recovered", record.which, int(record.indices.size), description))
        if record.kind == "step":
            self.history.push(make_step(record.step_id, record.which, self.shape, record.indices,
                                        record.old_values, values, record.description))
        elif record.kind == "undo" and self.history.undo_steps and self.history.undo_steps[-1].id == record.step_id:
            self.history.take_undo()
        elif record.kind == "redo" and self.history.redo_steps and self.history.redo_steps[-1].id == record.step_id:
            self.history.take_redo()
        self._next_id = max(self._next_id, record.step_id + 1)

    def _forget_kept_boxes(self) -> None:
        """Let go of kept replacement boxes whose step left the history (a later step cleared the redo steps,
        or the memory budget dropped it): they can never be used again."""
        alive = {step.id for step in self.history.undo_steps + self.history.redo_steps}
        for which in [which for which, kept in self._kept_boxes.items() if kept.step_id not in alive]:
            del self._kept_boxes[which]
