"""Checks that a file really holds all the pixel data its header promises.

Some readers fill a truncated file's missing voxels silently (SimpleITK's NIfTI reader does so for a
cut ``.nii.gz``; its JPEG reader for a cut ``.jpg``; its TIFF reader drops missing pages). A mask read
that way would give plausible, wrong Dice values, so every format with a known payload size is checked
here against the header before the numbers are trusted:

* NIfTI: ``vox_offset + voxel bytes`` against the file size; a ``.nii.gz`` is decompressed end to end
  (:mod:`app.io.streams`), which checks every gzip member's CRC-32 and length;
* NRRD / ``.nhdr``: the attached or detached payload against the header's sizes and type, per encoding
  (gzip and bzip2 payloads decompressed end to end, checksums checked);
* MetaImage: the payload against ``DimSize``/``ElementType``; compressed data must sit exactly in its
  ``CompressedDataSize`` bytes and inflate to exactly the voxels (ITK reads past a stream that holds
  more, from uninitialised memory);
* TIFF: the page chain and every strip/tile lies inside the file; JPEG: the end-of-image marker;
  BMP: the header's file size. PNG (CRC per chunk) and DICOM are checked by their libraries.

Only the headers are parsed here; pixels are always decoded by SimpleITK.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path

from app.errors import InputError
from app.io.streams import DamagedStream, verify_bzip2, verify_gzip, verify_zlib


class IncompleteFile(Exception):
    """Internal: the payload is shorter than promised or damaged (becomes an InputError)."""


def verify_complete(path: Path, format_name: str, expected_bytes: int, vox_offset: int | None = None,
                    name: str | None = None, on_data: Callable[[bytes], None] | None = None) -> None:
    """Raise :class:`InputError` when ``path`` holds less pixel data than its header promises.

    Parameters
    ----------
    path : Path
        The image file (for ``.nhdr``/``.mhd``: the header; the data file is found from it).
    format_name : str
        ``"NIfTI"``, ``"NRRD"``, ``"MetaImage"``, ``"TIFF"``, ``"JPEG"``, ``"BMP"``; others pass.
    expected_bytes : int
        Uncompressed pixel bytes the header describes (voxels x components x bytes per component).
    vox_offset : int, optional
        NIfTI only: where the voxels start in the (uncompressed) file.
    name : str, optional
        How messages name the file (default: its path in quotes).
    on_data : callable, optional
        NIfTI ``.nii.gz`` only: called with each decompressed chunk of the file, in order.
    """
    name = name or f"'{path}'"
    checks = {"NIfTI": lambda: _verify_nifti(path, expected_bytes, vox_offset or 0, on_data),
              "NRRD": lambda: _verify_nrrd(path, expected_bytes),
              "MetaImage": lambda: _verify_metaimage(path, expected_bytes),
              "TIFF": lambda: _verify_tiff(path),
              "JPEG": lambda: _verify_jpeg(path),
              "BMP": lambda: _verify_bmp(path)}
    check = checks.get(format_name)
    if check is None:
        return
    try:
        check()
    except (IncompleteFile, DamagedStream) as problem:
        raise InputError(f"{name} is damaged or incomplete: {problem}. DiceLens does not score partial "
                         "data; export or copy the file again.") from None
    except (OSError, struct.error, ValueError) as error:
        raise InputError(f"{name} could not be checked as a {format_name} file ({error}); it is "
                         "probably damaged: export or copy it again.") from None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise IncompleteFile(message)


def _verify_nifti(path: Path, voxel_bytes: int, vox_offset: int, on_data) -> None:
    promised = vox_offset + voxel_bytes
    if path.name.lower().endswith(".gz"):
        verify_gzip(path, 0, promised, on_data=on_data)
    else:
        size = path.stat().st_size
        _require(size >= promised, f"the header promises {promised} bytes (voxels from byte {vox_offset}) "
                                   f"but the file has {size}")


def _read_text_header(path: Path, is_end) -> tuple[list[str], int]:
    """Header lines up to and including the line ``is_end`` accepts, and the byte offset after it."""
    lines: list[str] = []
    offset = 0
    with path.open("rb") as stream:
        for raw in stream:
            offset += len(raw)
            line = raw.decode("latin-1").rstrip("\r\n")
            lines.append(line)
            if is_end(line) or offset > 1 << 20:
                break
    return lines, offset


def _data_file(header_path: Path, name: str) -> Path:
    _require(not name.upper().startswith("LIST") and " " not in name.strip() and "%" not in name,
             f"its pixel data is split over several files ('{name}'); save it as one file")
    data_path = header_path.parent / name.strip()
    _require(data_path.exists(), f"its data file '{data_path}' does not exist")
    _require(data_path.is_file(), f"its data file '{data_path}' is not a regular file (a pipe, device or folder)")
    return data_path


def _verify_nrrd(path: Path, voxel_bytes: int) -> None:
    lines, header_end = _read_text_header(path, lambda line: line.strip() == "")
    fields = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[key.strip().lower()] = value.lstrip("=").strip()
    encoding = fields.get("encoding", "raw").lower()
    data_name = fields.get("data file") or fields.get("datafile")
    byte_skip = int(fields.get("byte skip", "0"))
    _require(int(fields.get("line skip", "0")) == 0 or data_name is not None, "unsupported 'line skip'")
    if data_name is None:
        data_path, start = path, header_end
    else:
        data_path, start = _data_file(path, data_name), 0
    if encoding == "raw":
        available = data_path.stat().st_size - start - max(byte_skip, 0)
        _require(available >= voxel_bytes, f"the header promises {voxel_bytes} bytes of raw data "
                                           f"but the file holds {available}")
    elif encoding in ("gzip", "gz"):
        verify_gzip(data_path, start, voxel_bytes + max(byte_skip, 0))
    elif encoding in ("bzip2", "bz2"):
        verify_bzip2(data_path, start, voxel_bytes + max(byte_skip, 0))
    else:
        _require(encoding in ("ascii", "text", "txt", "hex"), f"unknown NRRD encoding '{encoding}'")


def _verify_metaimage(path: Path, voxel_bytes: int) -> None:
    lines, header_end = _read_text_header(path, lambda line: line.lower().startswith("elementdatafile"))
    fields = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip().lower()] = value.strip()
    data_name = fields.get("elementdatafile", "LOCAL")
    if data_name.upper() == "LOCAL":
        data_path, start = path, header_end
    else:
        data_path, start = _data_file(path, data_name), 0
    available = data_path.stat().st_size - start
    if fields.get("compresseddata", "false").lower() == "true":
        compressed_size = fields.get("compresseddatasize")
        length = int(compressed_size) if compressed_size is not None else None
        if length is not None:
            _require(available >= length, f"the header promises {length} bytes of compressed data but the "
                                          f"file holds {available}")
            _require(available == length, f"the header gives {length} bytes of compressed data but the file "
                                          f"holds {available} (extra bytes after the data)")
        verify_zlib(data_path, start, length, voxel_bytes)
    else:
        _require(available >= voxel_bytes, f"the header promises {voxel_bytes} bytes of data "
                                           f"but the file holds {available}")


_TIFF_OFFSET_TAGS = {273: 279, 324: 325}  # StripOffsets -> StripByteCounts, TileOffsets -> TileByteCounts
_TIFF_TYPE_SIZES = {1: 1, 3: 2, 4: 4, 16: 8}


def _verify_tiff(path: Path) -> None:
    """Walk the page (IFD) chain; every page and every strip or tile must lie inside the file."""
    data = path.read_bytes()
    size = len(data)
    _require(size >= 8 and data[:2] in (b"II", b"MM"), "it does not start with a TIFF header")
    order = "<" if data[:2] == b"II" else ">"
    version = struct.unpack(order + "H", data[2:4])[0]
    if version == 43:  # BigTIFF: left to libtiff
        return
    _require(version == 42, "it does not start with a TIFF header")
    offset = struct.unpack(order + "I", data[4:8])[0]
    seen: set[int] = set()
    while offset:
        _require(offset + 2 <= size and offset not in seen,
                 f"page {len(seen) + 1} starts at byte {offset}, beyond the end of the file ({size} bytes)")
        seen.add(offset)
        count = struct.unpack(order + "H", data[offset:offset + 2])[0]
        end = offset + 2 + 12 * count
        _require(end + 4 <= size, f"page {len(seen)} is cut off at the end of the file")
        tags = {}
        for entry in range(count):
            at = offset + 2 + 12 * entry
            tag, kind, n = struct.unpack(order + "HHI", data[at:at + 8])
            tags[tag] = (kind, n, at + 8)
        for offsets_tag, counts_tag in _TIFF_OFFSET_TAGS.items():
            if offsets_tag in tags and counts_tag in tags:
                starts = _tiff_values(data, order, *tags[offsets_tag])
                lengths = _tiff_values(data, order, *tags[counts_tag])
                furthest = max((s + n for s, n in zip(starts, lengths, strict=False)), default=0)
                _require(furthest <= size, f"page {len(seen)} needs data up to byte {furthest} "
                                           f"but the file has {size}")
        offset = struct.unpack(order + "I", data[end:end + 4])[0]


def _tiff_values(data: bytes, order: str, kind: int, count: int, value_at: int) -> list[int]:
    item = _TIFF_TYPE_SIZES.get(kind)
    _require(item is not None, f"unexpected TIFF field type {kind}")
    code = {1: "B", 3: "H", 4: "I", 16: "Q"}[kind]
    if item * count > 4:
        value_at = struct.unpack(order + "I", data[value_at:value_at + 4])[0]
    _require(value_at + item * count <= len(data), "a page's strip table lies beyond the end of the file")
    return list(struct.unpack(f"{order}{count}{code}", data[value_at:value_at + item * count]))


def _verify_jpeg(path: Path) -> None:
    data = path.read_bytes()
    _require(data[:2] == b"\xff\xd8", "it does not start with a JPEG marker")
    _require(re.search(rb"\xff\xd9[\x00\s]*$", data[-64:]) is not None,
             "the end-of-image marker is missing (the file was cut short)")


def _verify_bmp(path: Path) -> None:
    with path.open("rb") as stream:
        header = stream.read(14)
    _require(len(header) == 14 and header[:2] == b"BM", "it does not start with a BMP header")
    promised, _, _, pixel_offset = struct.unpack("<IHHI", header[2:])
    size = path.stat().st_size
    _require(size >= promised and size > pixel_offset,
             f"the header promises {promised} bytes but the file has {size}")
