"""3D Slicer segmentations (``.seg.nrrd``): segment names and colours from the NRRD header.

Slicer stores each segment as ``Segment{N}_Name``, ``Segment{N}_Color`` (three floats 0..1),
``Segment{N}_LabelValue`` and ``Segment{N}_Layer``. Segments that share layer 0 form one label map,
which is what DiceLens scores; a segmentation with overlapping segments is saved in several layers
(a 4D array) and cannot be one label map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.errors import InputError
from app.io.labels import LabelEntry, LabelTable

_SEGMENT_KEY = re.compile(r"^Segment(\d+)_(Name|Color|LabelValue|Layer)$")
SLICER_FORMAT = "3D Slicer segmentation"


def segments_of(metadata: Mapping[str, str]) -> dict[int, dict[str, str]]:
    """``{segment number: {"Name": ..., "Color": ..., "LabelValue": ..., "Layer": ...}}`` from the header."""
    segments: dict[int, dict[str, str]] = {}
    for key, value in metadata.items():
        match = _SEGMENT_KEY.match(key)
        if match:
            segments.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    return dict(sorted(segments.items()))


def segment_label_table(metadata: Mapping[str, str], path: str, components: int,
                        dimension: int) -> LabelTable:
    """The label table a single-layer ``.seg.nrrd`` describes.

    Parameters
    ----------
    metadata : mapping of str to str
        The NRRD header keys as SimpleITK reports them.
    path : str
        The file, for messages.
    components, dimension : int
        Values per voxel and image dimension as read (multi-layer files have several of either).

    Raises
    ------
    InputError
        The segmentation has several layers (overlapping segments), or a segment's label value or
        colour cannot be read.
    """
    segments = segments_of(metadata)
    layers = {int(float(s.get("Layer", "0"))) for s in segments.values()}
    if components > 1 or dimension > 3 or len(layers) > 1:
        count = max(len(layers), components)
        raise InputError(
            f"'{path}' is a 3D Slicer segmentation with {count} layers (some segments overlap), so it is not "
            "one label per voxel. In 3D Slicer, open the Segmentations module and export the segments to "
            "a labelmap volume (or remove the overlaps and use 'Collapse segments to as few layers as "
            "possible'), save that as .nrrd or .nii.gz, and pass it instead.")
    entries = []
    for number, fields in segments.items():
        try:
            label = int(float(fields.get("LabelValue", number + 1)))
        except ValueError:
            raise InputError(f"'{path}': Segment{number}_LabelValue is not a number "
                             f"({fields.get('LabelValue')!r}).") from None
        entries.append(LabelEntry(label, fields.get("Name", ""), _color(fields.get("Color"), path, number)))
    try:
        return LabelTable(entries, SLICER_FORMAT)
    except ValueError as error:
        raise InputError(f"'{path}': the segment table is inconsistent ({error}).") from None


def _color(text: str | None, path: str, number: int) -> tuple[int, int, int] | None:
    if not text:
        return None
    try:
        parts = [float(v) for v in text.split()[:3]]
    except ValueError:
        raise InputError(f"'{path}': Segment{number}_Color is not three numbers ({text!r}).") from None
    if len(parts) != 3:
        return None
    return tuple(max(0, min(255, round(v * 255))) for v in parts)
