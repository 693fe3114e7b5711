"""Make the bundled demo case: a real T1 MR head with its tissue classes and a flawed "model" prediction.

Two steps, both deterministic (no random numbers):

1. ``--derive-from DATA_DIR`` (only needed to rebuild the image and ground truth from the source package):
   reads ``KmeansTest_T1UCharRaw.nii.gz`` and ``KmeansTest_T1KmeansPrelimSegmentation.nii.gz`` from the
   ``examples/Data`` folder of Debian's ``insighttoolkit5-examples`` package, relabels the k-means classes
   (see :data:`KMEANS_TO_DEMO`), reorients both to LPS (identity direction, so "axial" slices are axial),
   and writes ``resources/demo/image.nii.gz`` (uint8) and ``resources/demo/gt.nii.gz`` (uint8).
2. Always: reads the ground truth and writes ``resources/demo/pred.nii.gz``, the ground truth with three
   errors a real model makes, so the review has something to find:

   * **missed structure**: the lateral ventricles (the largest piece of CSF deep inside the brain) are
     labelled white matter;
   * **boundary shift**: in the left hemisphere (x index above the middle) the white matter is dilated
     by one voxel into the grey matter, an over-segmentation that lowers grey-matter Dice slice by slice;
   * **false-positive blob**: a 5-voxel-radius ball of "grey matter" in the neck muscles below the brain
     (a hallucinated structure the ground truth does not have there).

Usage::

    python scripts/make_demo_prediction.py          # prediction only (from gt.nii.gz)
    python scripts/make_demo_prediction.py --derive-from DATA_DIR
    # DATA_DIR: usr/share/doc/insighttoolkit5-examples/examples/Data of the package unpacked with dpkg -x
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

DEMO_DIR = Path(__file__).resolve().parent.parent / "resources" / "demo"

BACKGROUND, CSF, GREY_MATTER, WHITE_MATTER, EXTRACEREBRAL_DARK, EXTRACEREBRAL_BRIGHT = range(6)

KMEANS_TO_DEMO = {
    0: BACKGROUND,  # 126 voxels of the k-means map carry 0 (a marker, not a tissue)
    1: BACKGROUND,  # air
    2: EXTRACEREBRAL_DARK,  # mean T1 intensity 43: skull, muscle, dark extra-cerebral tissue
    3: EXTRACEREBRAL_BRIGHT,  # mean 80 with wide spread: scalp fat, marrow
    4: CSF,  # mean 48 inside the brain
    5: GREY_MATTER,  # mean 76
    6: WHITE_MATTER,  # mean 101 (T1: white matter is brightest)
}
"""k-means class of ``KmeansTest_T1KmeansPrelimSegmentation.nii.gz`` -> demo label."""

FALSE_POSITIVE_RADIUS_VOXELS = 5
VENTRICLE_SEED_DEPTH_MM = 20.0
VENTRICLE_MIN_DEPTH_MM = 10.0
VENTRICLE_GROWTH_VOXELS = 4


def derive_image_and_ground_truth(data_dir: Path, out_dir: Path) -> None:
    """Write ``image.nii.gz`` and ``gt.nii.gz`` in ``out_dir`` from the ITK examples' k-means test data."""
    image = sitk.ReadImage(str(data_dir / "KmeansTest_T1UCharRaw.nii.gz"))
    kmeans = sitk.ReadImage(str(data_dir / "KmeansTest_T1KmeansPrelimSegmentation.nii.gz"))
    kmeans_array = sitk.GetArrayFromImage(kmeans)
    lookup = np.zeros(int(kmeans_array.max()) + 1, dtype=np.uint8)
    for kmeans_class, demo_label in KMEANS_TO_DEMO.items():
        lookup[kmeans_class] = demo_label
    gt = sitk.GetImageFromArray(lookup[kmeans_array])
    gt.CopyInformation(kmeans)
    image = sitk.Cast(sitk.Clamp(image, lowerBound=0, upperBound=255), sitk.sitkUInt8)
    _write(sitk.DICOMOrient(image, "LPS"), out_dir / "image.nii.gz")
    _write(sitk.DICOMOrient(gt, "LPS"), out_dir / "gt.nii.gz")


def make_prediction(gt: np.ndarray, spacing_zyx: tuple[float, float, float]) -> np.ndarray:
    """The ground truth with a missed structure, a boundary shift and a false-positive blob.

    Parameters
    ----------
    gt : (z, y, x) uint8
        Demo ground truth (labels as in :data:`KMEANS_TO_DEMO`), LPS-oriented.
    spacing_zyx : tuple of 3 float
        Voxel spacing in millimetres, array order.

    Returns
    -------
    (z, y, x) uint8
        The prediction; ``gt`` is not modified.
    """
    pred = gt.copy()
    brain = ndimage.binary_fill_holes(np.isin(gt, (CSF, GREY_MATTER, WHITE_MATTER)))
    depth_mm = ndimage.distance_transform_edt(brain, sampling=spacing_zyx)

    # Missed structure: the lateral ventricles become white matter. They are the largest connected piece
    # of CSF lying deeper than VENTRICLE_SEED_DEPTH_MM inside the brain, grown back (within CSF deeper
    # than VENTRICLE_MIN_DEPTH_MM) to their full extent.
    seeds, count = ndimage.label((gt == CSF) & (depth_mm > VENTRICLE_SEED_DEPTH_MM))
    if count:
        largest = seeds == 1 + int(np.argmax(np.bincount(seeds.ravel())[1:]))
        ventricles = ndimage.binary_dilation(largest, iterations=VENTRICLE_GROWTH_VOXELS,
                                             mask=(gt == CSF) & (depth_mm > VENTRICLE_MIN_DEPTH_MM))
        pred[ventricles] = WHITE_MATTER

    # Boundary shift: white matter grows one voxel into grey matter in the left hemisphere (LPS: +x is left).
    left_hemisphere = np.zeros(gt.shape, dtype=bool)
    left_hemisphere[:, :, gt.shape[2] // 2:] = True
    grown = ndimage.binary_dilation(pred == WHITE_MATTER)
    pred[grown & (gt == GREY_MATTER) & left_hemisphere] = WHITE_MATTER

    # False-positive blob: a ball of grey matter centred on the extra-cerebral voxel farthest from any
    # other tissue (in the neck muscles below the brain), kept inside the extra-cerebral tissue.
    extracerebral = np.isin(gt, (EXTRACEREBRAL_DARK, EXTRACEREBRAL_BRIGHT))
    inside_mm = ndimage.distance_transform_edt(extracerebral, sampling=spacing_zyx)
    centre = np.unravel_index(int(np.argmax(inside_mm)), gt.shape)
    zz, yy, xx = np.ogrid[: gt.shape[0], : gt.shape[1], : gt.shape[2]]
    ball = ((zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2
            <= FALSE_POSITIVE_RADIUS_VOXELS**2)
    pred[ball & extracerebral] = GREY_MATTER
    return pred


def _write(image: sitk.Image, path: Path) -> None:
    """Write ``image`` compressed, atomically (temporary file in the same folder, then rename)."""
    descriptor, temporary = tempfile.mkstemp(suffix=".nii.gz", dir=path.parent)
    os.close(descriptor)
    try:
        sitk.WriteImage(image, temporary, useCompression=True)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main() -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--derive-from", type=Path, metavar="DATA_DIR",
                        help="rebuild image.nii.gz and gt.nii.gz from insighttoolkit5-examples' "
                             "examples/Data folder")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="demo folder (default: resources/demo)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.derive_from is not None:
        derive_image_and_ground_truth(args.derive_from, args.out)
    gt_image = sitk.ReadImage(str(args.out / "gt.nii.gz"))
    prediction = make_prediction(sitk.GetArrayFromImage(gt_image), gt_image.GetSpacing()[::-1])
    pred_image = sitk.GetImageFromArray(prediction)
    pred_image.CopyInformation(gt_image)
    _write(pred_image, args.out / "pred.nii.gz")


if __name__ == "__main__":
    main()
