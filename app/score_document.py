"""The score document of one case, typed: what :func:`app.scoring.score_case` returns and what the
``score`` command, the report and the batch read.

Frozen dataclasses, read by attribute. :meth:`CaseScore.to_json` gives exactly the JSON document of
``dicelens score --json`` (field names and order; optional fields only when they apply) and
:meth:`CaseScore.from_json` reads one back (``batch --resume`` reuses stored documents), so
``CaseScore.from_json(doc).to_json() == doc``. Undefined values are ``None`` (JSON ``null``), never
NaN. No torch, no Qt: the report and the batch summaries import this without the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from app.object_document import CaseObjects

CLASS_FIELDS = ("index", "name", "dice", "iou", "precision", "recall", "specificity", "tp", "fp", "fn",
                "gt_voxels", "pred_voxels", "gt_volume_ml", "pred_volume_ml", "volume_difference_ml")
"""Per-class fields, in the order of the JSON ``classes`` entries and of the CSV columns."""

DISTANCE_FIELDS = ("hausdorff_mm", "hausdorff95_mm", "hausdorff95_pooled_mm", "assd_mm")
"""Per-class surface-distance fields in mm (with ``--distances``), before the ``nsd`` dict."""


def _plain(value: Any) -> Any:
    """A JSON-ready copy: mappings become dicts, tuples and lists become lists, recursively."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _frozen(value: Any) -> Any:
    """The inverse of :func:`_plain` for sequences: lists become tuples, recursively (mappings stay)."""
    if isinstance(value, Mapping):
        return {key: _frozen(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    return value


@dataclass(frozen=True)
class SurfaceDistances:
    """Surface-distance figures in mm (of one class, or their foreground means); None = undefined.

    Attributes
    ----------
    hausdorff_mm, hausdorff95_mm, hausdorff95_pooled_mm, assd_mm : float or None
        See :data:`dice_engine.SURFACE_DISTANCE_CONVENTIONS`.
    nsd : Mapping[str, float or None]
        Normalised surface Dice keyed by tolerance in mm as text, e.g. ``{"1.0": 0.94}``.
    """

    hausdorff_mm: float | None
    hausdorff95_mm: float | None
    hausdorff95_pooled_mm: float | None
    assd_mm: float | None
    nsd: Mapping[str, float | None]

    def to_json(self) -> dict:
        """``{"hausdorff_mm", "hausdorff95_mm", "hausdorff95_pooled_mm", "assd_mm", "nsd"}``."""
        return {**{name: getattr(self, name) for name in DISTANCE_FIELDS}, "nsd": dict(self.nsd)}

    @classmethod
    def from_json(cls, record: Mapping) -> SurfaceDistances:
        """Read the fields of :meth:`to_json` from ``record`` (other keys are ignored)."""
        return cls(*(record[name] for name in DISTANCE_FIELDS), nsd=dict(record["nsd"]))


@dataclass(frozen=True)
class DistanceMeans(SurfaceDistances):
    """Foreground means of the surface distances, over ``n_defined`` classes (``n_undefined`` left out)."""

    n_defined: int = 0
    n_undefined: int = 0

    def to_json(self) -> dict:
        """:meth:`SurfaceDistances.to_json` plus ``n_defined`` and ``n_undefined``."""
        return {**super().to_json(), "n_defined": self.n_defined, "n_undefined": self.n_undefined}

    @classmethod
    def from_json(cls, record: Mapping) -> DistanceMeans:
        """Read the fields of :meth:`to_json`."""
        base = SurfaceDistances.from_json(record)
        return cls(**{f.name: getattr(base, f.name) for f in fields(SurfaceDistances)},
                   n_defined=int(record["n_defined"]), n_undefined=int(record["n_undefined"]))


@dataclass(frozen=True)
class ClassScore:
    """Scores of one class (:data:`CLASS_FIELDS`); ``distances`` only when scored with distances.

    Dice, IoU, precision, recall and specificity are None where undefined (0/0); counts are voxel
    counts; volumes in ml, None when the voxel volume is unknown.
    """

    index: int
    name: str
    dice: float | None
    iou: float | None
    precision: float | None
    recall: float | None
    specificity: float | None
    tp: int
    fp: int
    fn: int
    gt_voxels: int
    pred_voxels: int
    gt_volume_ml: float | None
    pred_volume_ml: float | None
    volume_difference_ml: float | None
    distances: SurfaceDistances | None = None

    def to_json(self) -> dict:
        """The JSON ``classes`` entry: :data:`CLASS_FIELDS`, then the distance fields when scored."""
        entry = {name: getattr(self, name) for name in CLASS_FIELDS}
        if self.distances is not None:
            entry.update(self.distances.to_json())
        return entry

    @classmethod
    def from_json(cls, entry: Mapping) -> ClassScore:
        """Read a JSON ``classes`` entry (with distances when it has ``nsd``)."""
        distances = SurfaceDistances.from_json(entry) if "nsd" in entry else None
        return cls(*(entry[name] for name in CLASS_FIELDS), distances=distances)


@dataclass(frozen=True)
class DiceLossScore:
    """The foreground Dice loss: ``hard`` from the masks, ``soft`` from class scores (``soft_from``)."""

    hard: float | None
    soft: float | None
    soft_from: str | None
    smooth: float
    include_background: bool

    def to_json(self) -> dict:
        """``{"hard", "soft", "soft_from", "smooth", "include_background"}``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, record: Mapping) -> DiceLossScore:
        """Read the fields of :meth:`to_json`."""
        return cls(**{f.name: record[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class SoftScores:
    """Soft Dice of the model's probabilities (with ``--probs`` / ``--logits``), per class and headline.

    Attributes
    ----------
    formula : str
        ``soft Dice = (2Σp·y + s) / (Σp + Σy + s); loss = 1 − soft Dice``.
    smooth : float
        ``s``.
    source : {"probs", "logits"}
    prediction : str
        Where the hard prediction came from: ``"mask"`` (``--pred``), ``"argmax"`` or
        ``"threshold"`` (one channel, ``p >= threshold``).
    threshold : float or None
        The one-channel foreground threshold of a derived prediction; None otherwise.
    soft_dice_mean_foreground, soft_dice_loss_mean_foreground : float or None
        Means over the foreground classes (the loss mean is ``dice_loss.soft``).
    classes : tuple of (int, float or None, float or None)
        ``(index, soft Dice, soft Dice loss)`` of every scored class (one channel: class 1 only).
    """

    formula: str
    smooth: float
    source: str
    prediction: str
    threshold: float | None
    soft_dice_mean_foreground: float | None
    soft_dice_loss_mean_foreground: float | None
    classes: tuple[tuple[int, float | None, float | None], ...]

    def to_json(self) -> dict:
        """The JSON ``soft`` record; ``classes`` as ``{"index", "soft_dice", "soft_dice_loss"}`` entries."""
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "classes"}
        record["classes"] = [{"index": index, "soft_dice": dice, "soft_dice_loss": loss}
                             for index, dice, loss in self.classes]
        return record

    @classmethod
    def from_json(cls, record: Mapping) -> SoftScores:
        """Read the record of :meth:`to_json`."""
        values = {f.name: record[f.name] for f in fields(cls) if f.name != "classes"}
        classes = tuple((int(e["index"]), e["soft_dice"], e["soft_dice_loss"]) for e in record["classes"])
        return cls(**values, classes=classes)


_OPTIONAL_GROUPS = (("headline_undefined",), ("ignore_index", "ignored_voxels"))
"""Optional top-level fields before the distances, in document order; each group only when it applies."""


@dataclass(frozen=True)
class CaseScore:
    """The score document of one case (``dicelens score --json``), typed.

    Attributes
    ----------
    dicelens_version : str
    num_classes : int
        ``C``; ``classes`` holds one :class:`ClassScore` per index ``0..C-1``.
    classes : tuple of ClassScore
    confusion_matrix : tuple of tuple of int
        ``C x C`` voxel counts, rows = ground truth, columns = prediction.
    dice_mean_foreground, dice_micro_foreground : float or None
        The headline: macro and micro Dice over classes ``1..C-1``; None when undefined.
    dice_loss : DiceLossScore
    undefined_classes : tuple of int
        Classes absent from both masks (Dice undefined).
    conventions : Mapping
        Definitions of every figure, as text.
    geometry, inputs : Mapping
        The case's grid, and path / sha256 / format of each input.
    device : str
        Where the confusion matrix was computed.
    messages : tuple of str
        Notes for the user.
    headline_undefined : str or None
        Why the headline is None when neither mask holds a foreground voxel; else None (absent).
    ignore_index, ignored_voxels : int or None
        The ground-truth label left out and how many voxels had it (present only when given).
    nsd_tolerances_mm : tuple of float or None
        With surface distances: the NSD tolerances; None (absent) without them.
    distances_mean_foreground : DistanceMeans or None
        With surface distances: their foreground means.
    soft : SoftScores or None
        With class scores: the soft Dice per class and its means; None (absent) without them.
    objects : CaseObjects or None
        With object scores (``--objects``): lesion or instance counts per class; None (absent) without.
    """

    dicelens_version: str
    num_classes: int
    classes: tuple[ClassScore, ...]
    confusion_matrix: tuple[tuple[int, ...], ...]
    dice_mean_foreground: float | None
    dice_micro_foreground: float | None
    dice_loss: DiceLossScore
    undefined_classes: tuple[int, ...]
    conventions: Mapping[str, Any]
    geometry: Mapping[str, Any]
    inputs: Mapping[str, Any]
    device: str
    messages: tuple[str, ...]
    headline_undefined: str | None = None
    ignore_index: int | None = None
    ignored_voxels: int | None = None
    nsd_tolerances_mm: tuple[float, ...] | None = None
    distances_mean_foreground: DistanceMeans | None = None
    soft: SoftScores | None = None
    objects: CaseObjects | None = None

    @property
    def has_distances(self) -> bool:
        """True when scored with surface distances."""
        return self.nsd_tolerances_mm is not None

    @property
    def nsd_keys(self) -> list[str]:
        """The keys of the ``nsd`` mappings (tolerances in mm as text), [] without distances."""
        return [str(float(t)) for t in self.nsd_tolerances_mm or ()]

    def to_json(self) -> dict:
        """The JSON document, field for field and in order as ``dicelens score --json`` writes it."""
        document = {
            "dicelens_version": self.dicelens_version,
            "num_classes": self.num_classes,
            "classes": [entry.to_json() for entry in self.classes],
            "confusion_matrix": _plain(self.confusion_matrix),
            "dice_mean_foreground": self.dice_mean_foreground,
            "dice_micro_foreground": self.dice_micro_foreground,
            "dice_loss": self.dice_loss.to_json(),
            "undefined_classes": list(self.undefined_classes),
        }
        for group in _OPTIONAL_GROUPS:
            if getattr(self, group[0]) is not None:
                document.update({name: _plain(getattr(self, name)) for name in group})
        if self.nsd_tolerances_mm is not None:
            document["nsd_tolerances_mm"] = list(self.nsd_tolerances_mm)
        if self.distances_mean_foreground is not None:
            document["distances_mean_foreground"] = self.distances_mean_foreground.to_json()
        if self.soft is not None:
            document["soft"] = self.soft.to_json()
        if self.objects is not None:
            document["objects"] = self.objects.to_json()
        document.update({
            "conventions": _plain(self.conventions),
            "geometry": _plain(self.geometry),
            "inputs": _plain(self.inputs),
            "device": self.device,
            "messages": list(self.messages),
        })
        return document

    @classmethod
    def from_json(cls, document: Mapping) -> CaseScore:
        """Read a document written by :meth:`to_json`.

        Raises
        ------
        KeyError, TypeError, ValueError
            ``document`` is not a complete score document.
        """
        means = document.get("distances_mean_foreground")
        tolerances = document.get("nsd_tolerances_mm")
        return cls(
            dicelens_version=str(document["dicelens_version"]),
            num_classes=int(document["num_classes"]),
            classes=tuple(ClassScore.from_json(entry) for entry in document["classes"]),
            confusion_matrix=_frozen(document["confusion_matrix"]),
            dice_mean_foreground=document["dice_mean_foreground"],
            dice_micro_foreground=document["dice_micro_foreground"],
            dice_loss=DiceLossScore.from_json(document["dice_loss"]),
            undefined_classes=tuple(document["undefined_classes"]),
            conventions=dict(document["conventions"]),
            geometry=dict(document["geometry"]),
            inputs=dict(document["inputs"]),
            device=str(document["device"]),
            messages=tuple(document["messages"]),
            headline_undefined=document.get("headline_undefined"),
            ignore_index=document.get("ignore_index"),
            ignored_voxels=document.get("ignored_voxels"),
            nsd_tolerances_mm=None if tolerances is None else tuple(tolerances),
            distances_mean_foreground=None if means is None else DistanceMeans.from_json(means),
            soft=None if document.get("soft") is None else SoftScores.from_json(document["soft"]),
            objects=None if document.get("objects") is None else CaseObjects.from_json(document["objects"]),
        )
