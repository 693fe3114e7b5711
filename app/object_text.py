"""Plain-text lines of an ``objects`` block, for ``dicelens score``'s table (and any text report).

Definitions: docs/architecture.md §5, "Objects"."""

from __future__ import annotations

from app.object_document import CaseObjects, ClassObjectScore, ObjectItem

UNDEFINED = "—"
CONVENTIONS_TEXT = (
    "Objects: in lesion mode the connected components of each class in each mask; in instance mode each label "
    "id. A ground-truth and a predicted object of the same class match one-to-one when their IoU reaches the "
    "stated threshold (most matches, then the largest IoU sum). TP = matched, FN = missed ground-truth objects, "
    "FP = false predicted objects; F1 = 2TP/(2TP+FP+FN); PQ = mean matched IoU \u00d7 F1."
)
"""The object definitions in one paragraph (the report's conventions)."""
LISTED_ITEMS = 10
"""Missed and false objects listed per class; the rest are counted."""


def definition_line(objects: CaseObjects) -> str:
    """How objects were defined and matched, in one sentence."""
    if objects.mode == "instance":
        what = "instance mode: every label id is one object"
        if "instance_classes" in objects.conventions:
            what += ", of the class most of its voxels have in the semantic mask"
    else:
        what = f"lesion mode: connected components of each class, {objects.connectivity}-connectivity"
    match = "any overlap" if objects.iou_threshold == 0 else f"IoU ≥ {objects.iou_threshold:g}"
    size = f"; objects under {_size_limit(objects)} left out" if objects.min_size_voxels else ""
    return f"Objects ({what}; matched one-to-one at {match}{size}):"


def two_dimensional(geometry) -> bool:
    """Whether a score document's ``geometry`` (``{"size": [x, y, z], ...}``) is a 2D image's (one slice)."""
    size = geometry.get("size") if geometry else None
    return bool(size) and len(size) == 3 and int(size[2]) == 1


def object_lines(objects: CaseObjects, two_dimensional: bool = False) -> list[str]:
    """The object table (counts per class), the missed and false objects, and notes (``two_dimensional``: the
    case is a 2D image, :func:`describe_item`)."""
    header = ("class", "name", "GT", "pred", "TP", "FP", "FN", "precision", "recall", "F1", "PQ")
    rows = [(str(e.index), e.name, str(e.gt_objects), str(e.pred_objects), str(e.tp), str(e.fp), str(e.fn),
             _fixed(e.precision), _fixed(e.recall), _fixed(e.f1), _fixed(e.pq)) for e in objects.classes]
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]

    def line(cells) -> str:
        return "  ".join(cell.ljust(w) if k == 1 else cell.rjust(w)
                         for k, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    lines = [definition_line(objects), line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    for entry in objects.classes:
        if entry.at_thresholds:
            lines.append(thresholds_line(entry))
        if entry.gt_left_out or entry.pred_left_out:
            lines.append(left_out_line(entry))
        for kind, items in (("missed", entry.missed), ("false", entry.false)):
            for item in items[:LISTED_ITEMS]:
                lines.append(f"  {kind} {entry.name}: {describe_item(item, two_dimensional)}")
            if len(items) > LISTED_ITEMS:
                lines.append(f"  ... and {len(items) - LISTED_ITEMS} more {kind} {entry.name} object(s)")
    lines.append("TP = matched, FN = missed ground-truth objects, FP = false predicted objects; "
                 "F1 = 2TP/(2TP+FP+FN); PQ = mean matched IoU x F1.")
    return lines


def thresholds_line(entry: ClassObjectScore) -> str:
    """``instances: F1 0.925, PQ 0.733 at IoU ≥ 0.5; F1 0.750, PQ 0.611 at IoU ≥ 0.75`` (instance mode's
    further thresholds; empty when the entry has none)."""
    if not entry.at_thresholds:
        return ""
    return f"{entry.name}: " + "; ".join(f"F1 {_fixed(v['f1'])}, PQ {_fixed(v['pq'])} at IoU ≥ {k}"
                                         for k, v in entry.at_thresholds.items())


def left_out_line(entry: ClassObjectScore) -> str:
    """``metastasis: 27 ground-truth and 27 predicted object(s) under the size limit left out``."""
    return (f"{entry.name}: {entry.gt_left_out} ground-truth and {entry.pred_left_out} predicted object(s) under "
            f"the size limit left out")


def describe_item(item: ObjectItem, two_dimensional: bool = False) -> str:
    """``0.613 mL (613 vox), key slice z 78, centroid (12.5, -40.1, 88.0) mm (x, y, z), voxel (78.4, 120.2, 301.0)
    (z, y, x), IoU 0.00, 12.5 mm from the nearest`` and so on; of a 2D image (``two_dimensional``) without the
    slice, which has no other: ``12 px, centroid (5.0, 3.5) px (x, y), pixel (3.5, 5.0) (y, x), ...``."""
    size = f"{item.volume_ml:.3f} mL ({item.voxels} vox)" if item.volume_ml is not None else f"{item.voxels} px"
    unit = "mm" if item.volume_ml is not None else "px"
    distance = (f"{item.distance_mm:.1f} {unit} from the nearest" if item.distance_mm is not None
                else "none in the other mask")
    key_slice = "" if two_dimensional else f"key slice z {item.key_slice_zyx[0]}, "
    return (f"{size}, {key_slice}centroid {centroid_text(item, two_dimensional)}, "
            f"{'pixel' if two_dimensional else 'voxel'} {voxel_text(item, two_dimensional)}, IoU {item.iou:.2f}, "
            f"{distance}")


def centroid_text(item: ObjectItem, two_dimensional: bool = False, axes: bool = True) -> str:
    """``(12.5, -40.1, 88.0) mm (x, y, z)``: LPS mm, or pixels for an image without a physical size, where a 2D
    image's has no z (``(5.0, 3.5) px (x, y)``); ``axes=False`` leaves out the unit and axis names."""
    physical = item.volume_ml is not None
    values = item.centroid_mm if physical or not two_dimensional else item.centroid_mm[:2]
    text = "(" + ", ".join(f"{v:.1f}" for v in values) + ")"
    if not axes:
        return text
    return f"{text} {'mm' if physical else 'px'} ({'x, y' if len(values) == 2 else 'x, y, z'})"


def voxel_text(item: ObjectItem, two_dimensional: bool = False, axes: bool = True) -> str:
    """``(78.4, 120.2, 301.0) (z, y, x)``, the mean voxel index; of a 2D image ``(3.5, 5.0) (y, x)``."""
    values = item.centroid_voxel_zyx[1:] if two_dimensional else item.centroid_voxel_zyx
    text = "(" + ", ".join(f"{v:.1f}" for v in values) + ")"
    return f"{text} ({'y, x' if two_dimensional else 'z, y, x'})" if axes else text


def _size_limit(objects: CaseObjects) -> str:
    """The size limit as given, with its other unit: voxels for a volume, the volume of voxels when known."""
    if objects.min_size_ml is not None:
        return f"{objects.min_size_ml:g} mL ({objects.min_size_voxels} voxels)"
    if objects.voxel_ml is not None:
        return f"{objects.min_size_voxels} voxels ({objects.min_size_voxels * objects.voxel_ml:.3g} mL)"
    return f"{objects.min_size_voxels} voxels"


def _fixed(value: float | None) -> str:
    return UNDEFINED if value is None else f"{value:.3f}"
