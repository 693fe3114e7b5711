"""Child process of the tool crash test: applies every tool of :data:`TOOL_RUNS` with the journal on, then
SIGKILLs itself (no close, no flush beyond the journal's own fsync).

Run as ``python tests/app/model/tools/tool_run_script.py JOURNAL_DIR``.
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

from app.model.edit_session import EditSession
from app.model.journal import Journal

SPACING = (2.0, 0.8, 1.0)
TOOL_RUNS = [
    ("threshold", 3, (2, 6, 6), {"low": 90, "high": 110, "box_mm": 0.0}),
    ("grow", 2, (2, 6, 6), {"multiplier": 2.5, "box_mm": 8.0}),
    ("interpolate", 1, (0, 0, 0), {}),
    ("islands", 1, (0, 0, 0), {"islands": 1, "min_voxels": 2}),
    ("margin", 1, (0, 0, 0), {"margin_mm": 1.5}),
    ("margin", 2, (0, 0, 0), {"margin_mm": -0.8}),
    ("fill", 3, (1, 0, 13), {"tolerance": 30.0}),
    ("polygon", 2, [(3, 1, 1), (3, 1, 10), (3, 10, 5)], {}),
]
"""``(tool, active label, point(s), parameters)``, applied in order on axis 0."""


def initial_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gt, pred, image)`` of the test case: ``(6, 14, 14)``, labels 0-3, intensities 0-200."""
    gt = np.zeros((6, 14, 14), dtype=np.uint8)
    gt[1:5, 3:10, 3:10] = 1
    pred = np.zeros_like(gt)
    pred[0, 2:8, 2:8] = 1
    pred[4, 3:9, 3:9] = 1
    pred[0, 12, 12] = 1                       # a one-voxel island
    pred[3, 10:13, 1:4] = 2
    image = np.zeros(gt.shape, dtype=np.float32)
    image[1:5, 4:9, 4:9] = 100.0
    image[:, :, 12:] = np.linspace(0, 200, 6, dtype=np.float32)[:, None, None]
    return gt, pred, image


def make_session(journal=None) -> EditSession:
    gt, pred, image = initial_case()
    session = EditSession(gt, pred, SPACING, 4, journal=journal)
    session.image = image
    return session


def apply_all(session: EditSession, on_applied=None) -> None:
    """Apply :data:`TOOL_RUNS` (large fills confirmed); ``on_applied(i)`` after each."""
    for number, (name, label, points, params) in enumerate(TOOL_RUNS):
        session.active_label = label
        session.run_tool(name, points, 0, params, confirm=lambda voxels: True)
        if on_applied is not None:
            on_applied(number)


if __name__ == "__main__":
    journal = Journal(sys.argv[1])
    apply_all(make_session(journal))
    os.kill(os.getpid(), signal.SIGKILL)
