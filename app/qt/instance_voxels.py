"""``view --instances``: the voxel lanes score what ``score --instances`` scores (docs/architecture.md §5d).

The masks on screen hold instance ids, and the brush paints ids; the objects lane counts the ids. The voxel
lanes (the engine: Dice table, confusion matrix, per-slice counts; the surface distances) get instead the
case :func:`app.object_scoring.foreground_case` or :func:`~app.object_scoring.semantic_case` makes of it,
and every edit translated by :mod:`app.model.instance_delta`. The panels name the rows after that case
(``ReviewState.scored_case``).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.errors import InputError
from app.model.instance_delta import InstanceEdit, SemanticTranslation, foreground_delta, foreground_values


class InstanceVoxels:
    """The voxel case of an instance case, and the translation of its edits; one per window.

    Parameters
    ----------
    state : app.qt.review_state.ReviewState
        Its selected class is the class of a new instance (semantic masks).
    semantic_paths : tuple of str, optional
        ``(--semantic-gt, --semantic-pred)`` of the case at ``instance_paths``.
    instance_paths : tuple of str, optional
        ``(--gt, --pred)`` the semantic masks belong to; other cases opened later are scored as foreground.
    labels : str, optional
        The label table naming the semantic classes.
    max_voxels : int, optional
        As :func:`app.io.load_case`.
    """

    def __init__(self, state, semantic_paths: tuple[str, str] | None = None,
                 instance_paths: tuple[str, str] | None = None, labels: str | None = None,
                 max_voxels: int | None = None) -> None:
        self._state = state
        self._semantic_paths = semantic_paths
        self._instance_paths = None if instance_paths is None else tuple(_same_file(p) for p in instance_paths)
        self._labels = labels
        self._max_voxels = max_voxels
        self._read: dict[int, tuple] = {}   # id(case) -> (SemanticMasks, SemanticTranslation), from the open lane
        self.recovered = None
        """Optional ``() -> list of JournalRecord``: the records of a crash journal replayed into the case's masks
        after reading; the semantic copies are given the classes those edits gave when they were painted."""
        self._lock = threading.Lock()
        self._case = None
        self._scored = None
        self._translation: SemanticTranslation | None = None
        self._last: tuple | None = None   # (instance delta, its translation): asked by two lanes, translated once

    def read(self, case):
        """Check ``case`` for instance mode and read its semantic masks, if any (the open lane, or the screenshot
        path before the window shows it); returns ``case``.

        Raises
        ------
        InputError
            Class scores with instances, semantic masks that cannot be read or do not lie on the case's grid,
            an instance lying entirely on semantic background, or copies of the semantic masks that would not
            fit in memory (:func:`app.io.limits.semantic_copies_memory_problem`).
        """
        from app.io.limits import semantic_copies_memory_problem
        from app.object_scoring import foreground_case, load_semantic_masks

        foreground_case(case)   # its refusals (class scores) before anything is read
        paths = tuple(_same_file(case.sources[role].path) for role in ("gt", "pred") if role in case.sources)
        if self._semantic_paths is not None and paths == self._instance_paths:
            semantic = load_semantic_masks(case, *self._semantic_paths, labels=self._labels,
                                           max_voxels=self._max_voxels)
            names = tuple(f"{option} '{path}'" for option, path in zip(("--semantic-gt", "--semantic-pred"),
                                                                      self._semantic_paths, strict=True))
            problem = semantic_copies_memory_problem(semantic.gt, semantic.pred, names, self._max_voxels)
            if problem is not None:
                raise InputError(problem)
            translation = SemanticTranslation({"gt": case.gt, "pred": case.pred},
                                              {"gt": semantic.gt, "pred": semantic.pred},   # read here: ours
                                              semantic.num_classes, self.new_instance_class)
            with self._lock:
                self._read[id(case)] = semantic, translation
        return case

    def wrap_reader(self, reader):
        """``reader`` (:attr:`app.qt.case_loader.CaseLoader.reader`) followed by :meth:`read`."""
        def read_instances(*args, **kwargs):
            return self.read(reader(*args, **kwargs))
        return read_instances

    def scored_case(self, case):
        """The case the voxel lanes score for instance case ``case`` (its masks as they are now, after any
        recovered edits); built once per case object, with read-only masks."""
        if case is self._case:
            return self._scored
        from app.object_scoring import foreground_case, semantic_case

        with self._lock:
            semantic, self._translation = self._read.pop(id(case), (None, None))
            self._read.clear()
        if semantic is None:
            scored = foreground_case(case)   # fresh uint8 masks: the engine's own, no further copy
            _read_only(scored.gt), _read_only(scored.pred)
        else:
            if self.recovered is not None:
                self._translation.replay(self.recovered())
            masks = self._translation.masks
            scored = semantic_case(case, replace(semantic, gt=_read_only(np.array(masks["gt"])),
                                                 pred=_read_only(np.array(masks["pred"]))))
        self._case, self._scored = case, scored
        return scored

    def translate(self, delta):
        """The voxel case's edit of instance edit ``delta`` (:mod:`app.model.instance_delta`); asking again for
        the same delta (the engine and the objects lane both do) returns the same translation."""
        if self._translation is None:
            return foreground_delta(delta)
        if self._last is None or self._last[0] is not delta:
            self._last = delta, self._translation.translate(delta)
        return self._last[1]

    def scored_slices(self, gt_ids: np.ndarray, pred_ids: np.ndarray, take) -> tuple[np.ndarray, np.ndarray]:
        """The scored classes on a slice shown (``ReviewState.scored_slices_source``), as edited so far.

        Parameters
        ----------
        gt_ids, pred_ids : (H, W) integer
            The slice's instance ids as on screen.
        take : callable
            ``(z, y, x) volume -> the same slice as on screen`` (a view).

        Returns
        -------
        tuple of (H, W) uint8 or the semantic masks' dtype
            Foreground (id not 0), or views of the semantic working copies, which every edit's translation
            writes before the view redraws it.
        """
        if self._translation is None:
            return foreground_values(gt_ids), foreground_values(pred_ids)
        return take(self._translation.masks["gt"]), take(self._translation.masks["pred"])

    def object_masks(self, case):
        """``(gt classes, pred classes, C)`` the objects lane classes instances by (read-only snapshots as of the
        load), or None without semantic masks."""
        scored = self.scored_case(case)
        return None if self._translation is None else (scored.gt, scored.pred, scored.num_classes)

    def object_delta(self, delta):
        """What the objects lane applies for instance edit ``delta``: ``delta`` itself, or with semantic masks an
        :class:`~app.model.instance_delta.InstanceEdit` carrying the classes it gave."""
        if self._translation is None:
            return delta
        return InstanceEdit(delta.which, delta.region, delta.new_values, self.translate(delta).new_values)

    def new_instance_class(self) -> int:
        """A new instance's class: the class selected in the Dice table (1 when background is selected)."""
        return max(int(self._state.selected_class), 1)


def install(window, instances: bool, semantic_paths: tuple[str, str] | None = None,
            instance_paths: tuple[str, str] | None = None, labels: str | None = None,
            max_voxels: int | None = None) -> InstanceVoxels | None:
    """Make ``window`` (:class:`app.qt.main_window.MainWindow`) score instance cases voxel by voxel as
    ``score --instances`` does; None (nothing changed) without ``instances``."""
    window.objects.instances = instances
    if not instances:
        return None
    voxels = InstanceVoxels(window.state, semantic_paths, instance_paths, labels, max_voxels)
    voxels.recovered = lambda: [] if window.edits.editor is None else window.edits.editor.recovered_records
    if semantic_paths is not None:
        window.edits.new_instance_class = voxels.new_instance_class   # journalled: recovery classes as painting
    window.state.scored_case_source = voxels.scored_case
    window.state.scored_slices_source = voxels.scored_slices
    window.controller.voxel_view = voxels
    window.objects.voxel_view = voxels
    window.case_loader.reader = voxels.wrap_reader(window.case_loader.reader)
    return voxels


def _read_only(values: np.ndarray) -> np.ndarray:
    values.setflags(write=False)
    return values


def _same_file(path) -> str:
    return str(Path(path).expanduser().resolve())
