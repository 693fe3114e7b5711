"""Small synthetic cases written as NIfTI files for the report and batch tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

SPACING_XYZ = (0.8, 0.7, 2.5)


def synthetic_masks(num_classes: int, shape=(10, 48, 48), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(gt, pred)`` ``(z, y, x) uint8``: one blob per foreground class; the prediction is shifted
    and one class (the last) is missing from it, so Dice values differ between classes."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]]
    gt = np.zeros(shape, np.uint8)
    cells = int(np.ceil(np.sqrt(num_classes - 1))) if num_classes > 1 else 1
    step_y, step_x = shape[1] / cells, shape[2] / cells
    for label in range(1, num_classes):
        cy, cx = ((label - 1) // cells + 0.5) * step_y, ((label - 1) % cells + 0.5) * step_x
        radius = max(1.5, min(step_y, step_x) * rng.uniform(0.25, 0.45))
        cz = shape[0] / 2
        gt[((z - cz) / max(shape[0] / 3, 1)) ** 2 + ((y - cy) / radius) ** 2 + ((x - cx) / radius) ** 2 < 1] = label
    pred = np.roll(gt, 1, axis=2)
    pred[:, : shape[1] // 3, :][pred[:, : shape[1] // 3, :] == 1] = 0
    if num_classes > 2:
        pred[pred == num_classes - 1] = 0
    return gt, pred


def write_volume(array: np.ndarray, path: Path, spacing=SPACING_XYZ) -> Path:
    """Write ``(z, y, x)`` ``array`` with ``spacing`` (x, y, z) and an identity direction."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return path


def write_case(folder: Path, name: str = "case", num_classes: int = 4, shape=(10, 48, 48), seed: int = 0,
               image: bool = True) -> dict[str, Path]:
    """Write ``<name>_gt.nii.gz``, ``<name>_pred.nii.gz`` (and ``<name>_img.nii.gz``) into ``folder``."""
    gt, pred = synthetic_masks(num_classes, shape, seed)
    paths = {"gt": write_volume(gt, folder / f"{name}_gt.nii.gz"),
             "pred": write_volume(pred, folder / f"{name}_pred.nii.gz")}
    if image:
        noise = np.random.default_rng(seed + 100).normal(0, 15, shape)
        paths["image"] = write_volume((gt * 30 + 100 + noise).astype(np.int16), folder / f"{name}_img.nii.gz")
    return paths


def poppler(tool: str) -> str:
    """Path of a poppler-utils tool, or skip the test saying how to install it."""
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} (poppler-utils) is not installed: apt-get install poppler-utils")
    return found


def pdf_text(path: Path, layout: bool = False) -> str:
    """The PDF's text as pdftotext extracts it (reading order; ``layout``: table rows stay on one line)."""
    options = ["-layout"] if layout else []
    return subprocess.run([poppler("pdftotext"), *options, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_pages(path: Path) -> int:
    """Page count from pdfinfo."""
    info = subprocess.run([poppler("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_page_size(path: Path) -> str:
    """pdfinfo's "Page size" value, e.g. ``"595.276 x 841.89 pts (A4)"``."""
    info = subprocess.run([poppler("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Page size:"))


def pdf_images(path: Path) -> list[list[str]]:
    """Rows of ``pdfimages -list`` (page, num, type, width, height, colour, comp, bpc, enc, ...)."""
    listing = subprocess.run([poppler("pdfimages"), "-list", str(path)], capture_output=True, text=True,
                             check=True).stdout
    return [line.split() for line in listing.splitlines()[2:] if line.strip()]
