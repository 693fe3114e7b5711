"""Synthetic review cases for the engine-worker and panel tests (seeded, small, with known structure)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.io.geometry import Geometry
from app.io.labels import LabelTable

ORGAN_NAMES = {0: "background", 1: "liver", 2: "spleen", 3: "kidney", 4: "tumour", 5: "never present"}


@dataclass
class SyntheticCase:
    """The fields of ``app.io.Case`` that the controller and the panels read."""

    gt: np.ndarray
    pred: np.ndarray
    geometry: Geometry
    labels: LabelTable
    num_classes: int
    image: np.ndarray | None = None
    messages: list[str] = field(default_factory=list)
    has_physical_spacing: bool = True


def organ_case(shape=(12, 24, 20), seed: int = 0) -> SyntheticCase:
    """Boxes of labels 1-4 with model-like errors; label 5 is absent from both masks (undefined Dice).

    Label 4 is only in slices 3..5 of axis 0 in the ground truth and is also predicted in slices
    8..9 (false positives), so its per-slice Dice has gaps and zeros. Slices 11 and beyond (when
    the shape has them) hold no label at all.
    """
    rng = np.random.default_rng(seed)
    gt = np.zeros(shape, np.uint8)
    gt[1:10, 2:12, 2:10] = 1
    gt[2:8, 14:22, 3:9] = 2
    gt[4:11, 4:10, 12:18] = 3
    gt[3:6, 5:8, 4:7] = 4
    pred = gt.copy()
    pred[1:10, 2:12, 9:11] = 1  # boundary shift of the liver
    pred[4:11, 4:10, 12:14] = 0  # part of the kidney missed
    pred[8:10, 16:20, 14:17] = 4  # a false-positive tumour blob
    noise = (rng.random(shape) < 0.03) & (gt > 0)  # scattered errors inside the organs only
    pred[noise] = rng.integers(0, 5, size=int(noise.sum()), dtype=np.uint8)
    geometry = Geometry(
        size=(shape[2], shape[1], shape[0]), spacing=(0.8, 0.8, 2.5), origin=(0.0, 0.0, 0.0),
        direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
    )
    return SyntheticCase(gt, pred, geometry, LabelTable.from_names(ORGAN_NAMES), num_classes=6)


def many_label_case(num_classes: int = 116, shape=(16, 48, 48), seed: int = 1) -> SyntheticCase:
    """An atlas-like case with ``num_classes`` labels in blocks; the prediction relabels a few blocks.

    The label table names the classes like the AAL atlas does and gives no colours (generated).
    """
    rng = np.random.default_rng(seed)
    blocks = rng.integers(1, num_classes, size=(shape[0], shape[1] // 4, shape[2] // 4))
    gt = np.kron(blocks, np.ones((1, 4, 4), np.int64)).astype(np.int16)
    gt[:, :4, :] = 0
    pred = gt.copy()
    swapped = rng.random(gt.shape) < 0.08
    pred[swapped] = np.clip(gt[swapped] + rng.integers(-2, 3, size=int(swapped.sum())), 0, num_classes - 1)
    sides = ("L", "R")
    regions = ("Precentral", "Frontal_Sup", "Frontal_Mid_Orb", "Rolandic_Oper", "Supp_Motor_Area",
               "Olfactory", "Cingulum_Ant", "Hippocampus", "ParaHippocampal", "Calcarine", "Cerebelum_Crus1")
    names = {0: "background"}
    names.update(
        {i: f"{regions[(i - 1) // 2 % len(regions)]}_{(i - 1) // 22 + 1}_{sides[(i - 1) % 2]}"
         for i in range(1, num_classes)}
    )
    geometry = Geometry(
        size=(shape[2], shape[1], shape[0]), spacing=(2.0, 2.0, 2.0), origin=(0.0, 0.0, 0.0),
        direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
    )
    return SyntheticCase(gt, pred, geometry, LabelTable.from_names(names), num_classes=num_classes)


@dataclass(frozen=True)
class MaskDelta:
    """A mask edit as the edit model sends it: which mask, region, new values of the region's shape."""

    which: str
    region: tuple
    new_values: np.ndarray


def random_deltas(case: SyntheticCase, count: int, seed: int = 2) -> list[MaskDelta]:
    """``count`` seeded brush-like edits of either mask, applied to ``case`` (its arrays are updated)."""
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(count):
        starts = [int(rng.integers(0, size - 1)) for size in case.gt.shape]
        stops = [min(size, start + int(rng.integers(1, 6))) for start, size in zip(starts, case.gt.shape, strict=True)]
        region = tuple(slice(a, b) for a, b in zip(starts, stops, strict=True))
        which = "pred" if rng.random() < 0.75 else "gt"
        shape = tuple(b - a for a, b in zip(starts, stops, strict=True))
        new_values = rng.integers(0, case.num_classes, size=shape).astype(case.gt.dtype)
        getattr(case, which)[region] = new_values
        deltas.append(MaskDelta(which, region, new_values))
    return deltas
