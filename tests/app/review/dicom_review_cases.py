"""A review dataset of DICOM objects: one case whose masks are DICOM SEG, one whose masks are RTSTRUCT,
each on its own CT series (built in code by :mod:`tests.app.io.dicom_builders`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.app.io.dicom_builders import pixel_polygon, write_ct_series, write_rtstruct, write_seg

SHAPE = (4, 24, 30)
SEG_CASE, RT_CASE = "seg_case", "rt_case"


def seg_masks() -> tuple[np.ndarray, np.ndarray]:
    """``(gt, pred)`` ``(z, y, x) uint8`` of the SEG case: two boxes; the prediction shifted 2 voxels in x."""
    gt = np.zeros(SHAPE, np.uint8)
    gt[:, 4:14, 5:15] = 1
    gt[:, 12:20, 16:26] = 2
    return gt, np.roll(gt, 2, axis=2)


def _square(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def write_dicom_review_dataset(root: Path) -> tuple[Path, Path, Path]:
    """Write ``root/gt``, ``root/pred`` (``<case>.dcm``) and ``root/images/<case>/`` (CT series) for
    :data:`SEG_CASE` and :data:`RT_CASE`; returns the three folders."""
    gt_dir, pred_dir, image_dir = root / "gt", root / "pred", root / "images"
    for folder in (gt_dir, pred_dir, image_dir):
        folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    seg_series = write_ct_series(image_dir / SEG_CASE, rng.integers(-500, 500, SHAPE),
                                 series_uid="1.2.826.0.1.3680043.10.511.31")
    gt, pred = seg_masks()
    write_seg(gt_dir / f"{SEG_CASE}.dcm", seg_series, np.stack([gt == 1, gt == 2]), ["liver", "spleen"])
    write_seg(pred_dir / f"{SEG_CASE}.dcm", seg_series, np.stack([pred == 1, pred == 2]), ["liver", "spleen"])
    rt_series = write_ct_series(image_dir / RT_CASE, rng.integers(-500, 500, SHAPE),
                                series_uid="1.2.826.0.1.3680043.10.511.32")
    slices = range(SHAPE[0])
    write_rtstruct(gt_dir / f"{RT_CASE}.dcm", rt_series,
                   [("GTV", [pixel_polygon(_square(3, 3, 12, 12), z) for z in slices]),
                    ("Cord", [pixel_polygon(_square(16, 5, 25, 15), z) for z in slices])])
    write_rtstruct(pred_dir / f"{RT_CASE}.dcm", rt_series,
                   [("GTV", [pixel_polygon(_square(6, 3, 15, 12), z) for z in slices]),
                    ("Cord", [pixel_polygon(_square(16, 8, 25, 18), z) for z in slices])])
    return gt_dir, pred_dir, image_dir
