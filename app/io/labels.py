"""Label tables: class names and colours, read from the files segmentation tools write.

Four formats are recognised from the content (not the file name):

* ITK-SNAP label description: ``IDX -R- -G- -B- -A-- VIS MSH "LABEL"`` lines, ``#`` comments;
* 3D Slicer colour table (``.ctbl`` / ``.txt``): ``index name r g b a`` lines, ``#`` comments;
* nnU-Net ``dataset.json``: ``{"labels": {"background": 0, "liver": 1}}`` (v2), or
  ``{"labels": {"0": "background", "1": "liver"}}`` (v1);
* a plain list of ``index name`` lines (``1 liver``, ``1: left lung``, ``1,liver``).

The format is decided once per file (ITK-SNAP when any line starts like one, else 3D Slicer when the
first line is one, else the plain list), and then every line must be a well-formed line of that format:
a malformed line (an unterminated quote, a missing field) is refused with its number, never read as a
name of the next simpler format. Names must be text that every output can hold (no lone surrogates
from ``\\ud800`` escapes in JSON).

Labels without a colour get a generated one (distinct, the same every time); 0 is black.
"""

from __future__ import annotations

import colorsys
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError
from app.io.paths import check_input_path

Color = tuple[int, int, int]
BACKGROUND_COLOR: Color = (0, 0, 0)
_GOLDEN_RATIO_CONJUGATE = 0.618033988749895

_ITKSNAP_LINE = re.compile(
    r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([-+\d.eE]+)\s+(\d+)\s+(\d+)\s+"(.*)"\s*$')
_SLICER_LINE = re.compile(r"^\s*(\d+)\s+(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
_PLAIN_LINE = re.compile(r"^\s*(\d+)\s*(?:[,:;=\t]|\s)\s*(.*?)\s*$")
# Seven numbers, as an ITK-SNAP line starts: such a line is ITK-SNAP or malformed, never a plain name.
_ITKSNAP_START = re.compile(r"^\s*\d+\s+\d+\s+\d+\s+\d+\s+[-+\d.eE]+\s+\d+\s+\d+(\s|$)")
MAX_TABLE_BYTES = 16 << 20
"""Largest label-table file read (the biggest atlases' tables are a few hundred kilobytes)."""
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class LabelEntry:
    """One class of a label table.

    Attributes
    ----------
    index : int
        The label value in the masks (>= 0).
    name : str
        Name shown to the user.
    color : tuple of 3 int or None
        ``(r, g, b)`` in 0..255 when the source gives one.
    """

    index: int
    name: str
    color: Color | None = None


def generated_color(index: int) -> Color:
    """A colour for ``index`` that is far from its neighbours' (golden-ratio hue steps); 0 is black."""
    if index == 0:
        return BACKGROUND_COLOR
    hue = (index * _GOLDEN_RATIO_CONJUGATE) % 1.0
    saturation = 0.55 + 0.35 * ((index * 7) % 3) / 2
    value = 0.95 - 0.2 * ((index * 5) % 2)
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return (round(r * 255), round(g * 255), round(b * 255))


class LabelTable:
    """Names and colours of the classes, by label value.

    Parameters
    ----------
    entries : iterable of LabelEntry
        The classes the source names (indices must be unique and >= 0).
    source_format : str
        What the table was read from, e.g. ``"ITK-SNAP label description"``; ``""`` when empty.
    """

    def __init__(self, entries: Iterable[LabelEntry] = (), source_format: str = "") -> None:
        by_index: dict[int, LabelEntry] = {}
        for entry in entries:
            if entry.index < 0:
                raise ValueError(f"label indices must be >= 0, got {entry.index}")
            if entry.index in by_index:
                raise ValueError(f"label {entry.index} is listed twice")
            by_index[entry.index] = entry
        self._entries = dict(sorted(by_index.items()))
        self.source_format = source_format

    @classmethod
    def from_names(cls, names: Mapping[int, str], colors: Mapping[int, Color] | None = None,
                   source_format: str = "") -> LabelTable:
        """A table from ``{index: name}`` and optional ``{index: (r, g, b)}``."""
        colors = colors or {}
        return cls((LabelEntry(i, n, colors.get(i)) for i, n in names.items()), source_format)

    def name(self, index: int) -> str:
        """The class name, or ``"label {index}"`` when the table does not name it."""
        entry = self._entries.get(index)
        return entry.name if entry is not None and entry.name else f"label {index}"

    def color(self, index: int) -> Color:
        """``(r, g, b)`` ints 0..255: the table's colour, else a generated distinct one; 0 is black."""
        entry = self._entries.get(index)
        if entry is not None and entry.color is not None:
            return entry.color
        return generated_color(index)

    def indices(self) -> list[int]:
        """The label values the table names, ascending."""
        return list(self._entries)

    def entries(self) -> list[LabelEntry]:
        """The table's entries, ascending by index."""
        return list(self._entries.values())

    @property
    def size(self) -> int:
        """Number of classes the table implies: largest index + 1 (0 for an empty table)."""
        return max(self._entries) + 1 if self._entries else 0

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"LabelTable({len(self)} labels, {self.source_format or 'no source'})"


def read_label_table(path: str | Path) -> LabelTable:
    """Read a label table in any of the four supported formats (detected from the content).

    Raises
    ------
    InputError
        When the file cannot be read or matches none of the formats (the message names the line).
    """
    path = Path(path)
    size = check_input_path(path, "label table").st_size
    if size > MAX_TABLE_BYTES:
        raise InputError(f"label table '{path}' is {size / 1e6:.0f} MB; a label table is a small text file (at "
                         f"most {MAX_TABLE_BYTES // (1 << 20)} MB here): check that this is the right file.")
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise InputError(f"label table '{path}': line {line} is not valid UTF-8 text (byte "
                         f"{raw[error.start:error.start + 1]!r}); save the table as UTF-8.") from None
    except OSError as error:
        raise InputError(f"label table '{path}' could not be read as text ({error}); pass an ITK-SNAP "
                         "label file, a 3D Slicer colour table, an nnU-Net dataset.json or an "
                         "'index name' list.") from None
    try:
        if text.lstrip().startswith("{"):
            return _parse_dataset_json(text)
        return _parse_text_table(text)
    except ValueError as error:
        raise InputError(f"label table '{path}': {error}") from None


def _parse_dataset_json(text: str) -> LabelTable:
    """nnU-Net ``dataset.json``: v2 ``{"name": index}`` or v1 ``{"index": "name"}`` under ``labels``."""
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be a label table (a dataset.json has a flat "
                         '"labels" object); check that this is the right file') from None
    labels = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(labels, dict) or not labels:
        raise ValueError('a JSON label table must have a "labels" object, as nnU-Net\'s dataset.json: '
                         '{"labels": {"background": 0, "liver": 1}}')
    names: dict[int, str] = {}
    for key, value in labels.items():
        if isinstance(value, list):
            raise ValueError(
                f'label "{key}" maps to the list {value}: that is an nnU-Net region-based (overlapping) '
                "label set, which one label map cannot hold; score each region as its own binary mask, "
                "or pass a table with one integer per name.")
        if isinstance(value, int) and not isinstance(value, bool):
            index, name = value, key
        elif isinstance(value, str) and key.strip().isdigit():
            index, name = int(key), value
        else:
            raise ValueError(f'label "{key}": {value!r} is not an integer label value')
        if index < 0:
            raise ValueError(f'label "{name}" has the negative value {index}')
        if index in names:
            raise ValueError(f'label value {index} is given to both "{names[index]}" and "{name}"')
        _require_text(name, f"line {_line_of(text, key)}: label {index}")
        names[index] = name
    return LabelTable.from_names(names, source_format="nnU-Net dataset.json")


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """``json.loads`` hook: a key given twice would silently keep only the last value."""
    document: dict = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f'the key "{key}" appears twice in one object; only one of its values can be right')
        document[key] = value
    return document


def _line_of(text: str, key: str) -> int:
    """1-based line of the first occurrence of ``"key"`` (as JSON writes it) in ``text``, else 1."""
    at = text.find(json.dumps(key))
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _require_text(name: str, where: str) -> None:
    """Refuse a name holding lone surrogates (no JSON, CSV or PDF output could hold it)."""
    if _SURROGATES.search(name):
        raise ValueError(f"{where}: the name {name!a} contains an invalid character (a lone UTF-16 "
                         "surrogate, from a \\ud800-style escape); fix the name in the table")


def _content_lines(text: str) -> list[tuple[int, str]]:
    """Non-empty, non-comment lines with their 1-based line numbers."""
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")]


def _parse_text_table(text: str) -> LabelTable:
    lines = _content_lines(text)
    if not lines:
        raise ValueError("the file has no label lines")
    if any(_ITKSNAP_START.match(line) for _, line in lines):
        return _build(lines, _ITKSNAP_LINE, _itksnap_entry, "ITK-SNAP label description",
                      'ITK-SNAP \'IDX R G B A VIS MSH "LABEL"\' (the name in double quotes)')
    if _SLICER_LINE.match(lines[0][1]):
        return _build(lines, _SLICER_LINE, _slicer_entry, "3D Slicer colour table",
                      "3D Slicer 'index name r g b a'")
    return _build(lines, _PLAIN_LINE, _plain_entry, "index-name list", "'index name'")


def _build(lines, pattern: re.Pattern, make_entry, source_format: str, expected: str) -> LabelTable:
    entries: dict[int, LabelEntry] = {}
    for number, line in lines:
        match = pattern.match(line)
        if match is None or (pattern is _PLAIN_LINE and not _plain_name_ok(match.group(2))):
            raise ValueError(
                f"line {number} ({line.strip()[:80]!r}) is not a label line of the {source_format} this file "
                f"reads as; its lines are {expected}. Fix or remove that line.")
        entry = make_entry(match)
        if entry.index in entries:
            raise ValueError(f"line {number}: label {entry.index} is listed twice")
        if entry.color is not None and any(c > 255 for c in entry.color):
            raise ValueError(f"line {number}: colour components must be 0..255, got {entry.color}")
        entries[entry.index] = entry
    return LabelTable(entries.values(), source_format)


def _plain_name_ok(name: str) -> bool:
    """A plain list's name: not empty, and quoted on both sides or on neither."""
    return bool(name) and name.startswith('"') == name.endswith('"') and name != '"'


def _itksnap_entry(match: re.Match) -> LabelEntry:
    index, r, g, b = (int(match.group(k)) for k in (1, 2, 3, 4))
    return LabelEntry(index, match.group(8).replace('\\"', '"'), (r, g, b))


def _slicer_entry(match: re.Match) -> LabelEntry:
    index, r, g, b = (int(match.group(k)) for k in (1, 3, 4, 5))
    return LabelEntry(index, match.group(2).strip('"'), (r, g, b))


def _plain_entry(match: re.Match) -> LabelEntry:
    return LabelEntry(int(match.group(1)), match.group(2).strip('"'))
