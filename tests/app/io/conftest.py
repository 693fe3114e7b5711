"""Helpers that write test inputs with SimpleITK (and by hand only where SimpleITK cannot)."""

from __future__ import annotations

import locale
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

ANISOTROPIC_SPACING = (0.7, 0.9, 2.5)  # (x, y, z) mm
ORIGIN = (-12.5, 30.0, 7.25)


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


def write_volume(path: Path, array_zyx: np.ndarray, spacing=ANISOTROPIC_SPACING, origin=ORIGIN,
                 direction=None, compress: bool = True) -> Path:
    """Write a (z, y, x) array (or (y, x) for 2D formats) with SimpleITK; return the path."""
    image = sitk.GetImageFromArray(array_zyx)
    if array_zyx.ndim == 3:
        image.SetSpacing(spacing)
        image.SetOrigin(origin)
        if direction is not None:
            image.SetDirection(direction)
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path


def write_dicom_series(directory: Path, array_zyx: np.ndarray, spacing=ANISOTROPIC_SPACING,
                       origin=ORIGIN, series_uid: str = "1.2.826.0.1.3680043.2.1125.1.1") -> Path:
    """Write one DICOM file per slice with the tags a series reader needs (SimpleITK's example)."""
    directory.mkdir(parents=True, exist_ok=True)
    volume = sitk.GetImageFromArray(array_zyx)
    volume.SetSpacing(spacing)
    volume.SetOrigin(origin)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    direction = volume.GetDirection()
    shared_tags = {
        "0008|0031": "120000", "0008|0021": "20261123", "0008|0008": "DERIVED\\SECONDARY",
        "0020|000e": series_uid, "0020|000d": "1.2.826.0.1.3680043.2.1125.1",
        "0010|0020": "TEST001", "0008|0060": "CT", "0008|103e": "test series",
        "0020|0037": "\\".join(map(str, (*direction[0:7:3], *direction[1:8:3]))),
        "0018|0050": str(spacing[2]),
    }
    # GDCM's writer leaves the process in the "C" locale (ASCII text I/O for every later test): restore it.
    saved_locale = locale.setlocale(locale.LC_ALL)
    try:
        _write_slices(writer, volume, shared_tags, directory, series_uid)
    finally:
        locale.setlocale(locale.LC_ALL, saved_locale)
    return directory


def _write_slices(writer, volume, shared_tags: dict, directory: Path, series_uid: str) -> None:
    for z in range(volume.GetDepth()):
        image_slice = volume[:, :, z]
        for tag, value in shared_tags.items():
            image_slice.SetMetaData(tag, value)
        position = volume.TransformIndexToPhysicalPoint((0, 0, z))
        image_slice.SetMetaData("0020|0032", "\\".join(map(str, position)))
        image_slice.SetMetaData("0020|0013", str(z + 1))
        image_slice.SetMetaData("0008|0018", f"{series_uid}.{z + 1}")
        writer.SetFileName(str(directory / f"slice{z:03d}.dcm"))
        writer.Execute(image_slice)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_palette_png(path: Path, indices_yx: np.ndarray, palette) -> Path:
    """An indexed-colour (type 3) PNG; SimpleITK can read but not write these, so it is built here."""
    height, width = indices_yx.shape
    raw = b"".join(b"\x00" + indices_yx[row].astype(np.uint8).tobytes() for row in range(height))
    data = (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
            + _png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).ravel()))
            + _png_chunk(b"IDAT", zlib.compress(raw))
            + _png_chunk(b"IEND", b""))
    path.write_bytes(data)
    return path


def blobs(rng, shape_zyx, num_classes: int) -> np.ndarray:
    """A label map with a few solid blobs per class (uint8), like a real segmentation."""
    labels = np.zeros(shape_zyx, np.uint8)
    grids = np.ogrid[tuple(slice(0, n) for n in shape_zyx)]
    for label in range(1, num_classes):
        centre = [rng.integers(0, n) for n in shape_zyx]
        radius = max(2, min(shape_zyx[1:]) // 5)
        distance = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True))
        labels[distance < radius**2] = label
    return labels
