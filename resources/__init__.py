"""Data shipped with DiceLens: the bundled demo case (``demo/``, see its SOURCE.md).

A package (rather than a bare folder) so that the demo travels inside an installed wheel too.
"""

from pathlib import Path

DEMO_DIRECTORY = Path(__file__).resolve().parent / "demo"
"""Folder of the demo case: image.nii.gz, gt.nii.gz, pred.nii.gz, labels.txt."""
