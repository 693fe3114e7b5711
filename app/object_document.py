"""The ``objects`` block of the score document, typed: object counts per class and the missed and false
objects (docs/architecture.md §5, "Objects").

Frozen dataclasses like :mod:`app.score_document`, which holds one :class:`CaseObjects` as
``CaseScore.objects``; ``CaseObjects.from_json(block).to_json() == block``. Undefined values are
``None``. No torch, no Qt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

COUNT_FIELDS = ("tp", "fp", "fn", "precision", "recall", "f1", "pq", "sq", "rq")
"""Per-class object figures, in JSON order."""

ITEM_FIELDS = ("kind", "voxels", "volume_ml", "centroid_voxel_zyx", "centroid_mm", "key_slice_zyx", "iou", "dice",
               "distance_mm")
"""Fields of one missed or false object, in JSON order."""

CSV_COLUMNS = ("objects_tp", "objects_fp", "objects_fn", "objects_f1")
"""Per-class CSV columns of ``score --csv`` and ``batch``'s metrics.csv with ``--objects``."""


@dataclass(frozen=True)
class ObjectItem:
    """One missed (ground-truth, unmatched), false (predicted, unmatched) or matched ground-truth object.

    Attributes
    ----------
    kind : {"missed", "false", "matched"}
    voxels : int
    volume_ml : float or None
        None for images without a physical pixel size.
    centroid_voxel_zyx : tuple of float
        Mean voxel index (z, y, x).
    centroid_mm : tuple of float
        Centroid in LPS mm (x, y, z).
    key_slice_zyx : tuple of int
        Per axis, the slice holding most of its voxels (the report's key slice).
    iou, dice : float
        Missed or false: with the most-overlapping object of the other mask (below τ, or that object was
        matched to another); 0 when it overlaps none. Matched: with the predicted object it matched.
    distance_mm : float or None
        Distance between voxel centres to the nearest object of the other mask of its class; None when
        there is none.
    """

    kind: str
    voxels: int
    volume_ml: float | None
    centroid_voxel_zyx: tuple[float, ...]
    centroid_mm: tuple[float, ...]
    key_slice_zyx: tuple[int, ...]
    iou: float
    dice: float
    distance_mm: float | None

    def to_json(self) -> dict:
        """The item's fields (:data:`ITEM_FIELDS`)."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in ((n, getattr(self, n)) for n in ITEM_FIELDS)}

    @classmethod
    def from_json(cls, record: Mapping) -> ObjectItem:
        """Read :meth:`to_json`."""
        values = {name: record[name] for name in ITEM_FIELDS}
        for name in ("centroid_voxel_zyx", "centroid_mm", "key_slice_zyx"):
            values[name] = tuple(values[name])
        return cls(**values)


@dataclass(frozen=True)
class ClassObjectScore:
    """Object counts of one class, its missed and false objects (largest first), in instance mode F1 and PQ
    at further thresholds (``{"0.5": {"f1": .., "pq": ..}, ...}``), and its matched ground-truth objects
    (``matched``: kind ``"matched"``, IoU and Dice with the predicted object each matched; by anchor, i.e.
    C order of their first voxel; empty in documents written before they were recorded)."""

    index: int
    name: str
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    pq: float | None
    sq: float | None
    rq: float | None
    gt_objects: int
    pred_objects: int
    gt_left_out: int
    pred_left_out: int
    items: tuple[ObjectItem, ...]
    at_thresholds: Mapping[str, Mapping[str, float | None]] | None = None
    matched: tuple[ObjectItem, ...] = ()

    @property
    def missed(self) -> tuple[ObjectItem, ...]:
        """The missed objects, largest first."""
        return tuple(item for item in self.items if item.kind == "missed")

    @property
    def false(self) -> tuple[ObjectItem, ...]:
        """The false objects, largest first."""
        return tuple(item for item in self.items if item.kind == "false")

    def to_json(self) -> dict:
        """``index, name``, :data:`COUNT_FIELDS`, object numbers, ``at_thresholds`` (instance mode), ``items``,
        ``matched``."""
        entry = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _LISTS}
        if self.at_thresholds is not None:
            entry["at_thresholds"] = {key: dict(value) for key, value in self.at_thresholds.items()}
        entry["items"] = [item.to_json() for item in self.items]
        entry["matched"] = [item.to_json() for item in self.matched]
        return entry

    @classmethod
    def from_json(cls, entry: Mapping) -> ClassObjectScore:
        """Read :meth:`to_json` (``matched`` may be absent: documents written before it was recorded)."""
        names = [f.name for f in fields(cls) if f.name not in _LISTS]
        at = entry.get("at_thresholds")
        return cls(**{name: entry[name] for name in names},
                   items=tuple(ObjectItem.from_json(item) for item in entry["items"]),
                   at_thresholds=None if at is None else {key: dict(value) for key, value in at.items()},
                   matched=tuple(ObjectItem.from_json(item) for item in entry.get("matched", ())))


_LISTS = ("items", "at_thresholds", "matched")
"""Fields of :class:`ClassObjectScore` written and read on their own."""


@dataclass(frozen=True)
class CaseObjects:
    """Object scores of one case: the definitions used and one :class:`ClassObjectScore` per foreground class.

    Attributes
    ----------
    mode : {"lesion", "instance"}
    iou_threshold : float
        τ (0 = any overlap).
    connectivity : int or None
        Neighbour count used in lesion mode; None in instance mode.
    min_size_voxels : int
        Objects with fewer voxels were left out.
    min_size_ml : float or None
        The ``--min-size`` volume the voxel limit came from, when given in mL.
    conventions : Mapping
        The definitions, as text.
    classes : tuple of ClassObjectScore
    voxel_ml : float or None
        Volume of one voxel in mL; None for images without a physical pixel size (and in documents
        written before it was recorded). States a size limit given in voxels as a volume too, and tells
        the verdict whether objects left out could reach its missed-object limit.
    """

    mode: str
    iou_threshold: float
    connectivity: int | None
    min_size_voxels: int
    min_size_ml: float | None
    conventions: Mapping[str, Any]
    classes: tuple[ClassObjectScore, ...]
    voxel_ml: float | None = None

    @property
    def largest_left_out_ml(self) -> float | None:
        """The largest volume an object left out by the size limit can have (``min_size_voxels - 1`` voxels);
        0 without a limit, None when the voxel volume is unknown."""
        if self.min_size_voxels <= 1:
            return 0.0
        return None if self.voxel_ml is None else (self.min_size_voxels - 1) * self.voxel_ml

    def to_json(self) -> dict:
        """The ``objects`` block of ``score --json``."""
        return {"mode": self.mode, "iou_threshold": self.iou_threshold, "connectivity": self.connectivity,
                "min_size_voxels": self.min_size_voxels, "min_size_ml": self.min_size_ml, "voxel_ml": self.voxel_ml,
                "classes": [entry.to_json() for entry in self.classes], "conventions": dict(self.conventions)}

    @classmethod
    def from_json(cls, block: Mapping) -> CaseObjects:
        """Read :meth:`to_json` (``voxel_ml`` may be absent: documents written before it was recorded)."""
        return cls(mode=block["mode"], iou_threshold=block["iou_threshold"], connectivity=block["connectivity"],
                   min_size_voxels=block["min_size_voxels"], min_size_ml=block["min_size_ml"],
                   conventions=dict(block["conventions"]),
                   classes=tuple(ClassObjectScore.from_json(entry) for entry in block["classes"]),
                   voxel_ml=block.get("voxel_ml"))

    def entry(self, index: int) -> ClassObjectScore | None:
        """The entry of class ``index``, None when that class was not scored."""
        return next((entry for entry in self.classes if entry.index == index), None)
