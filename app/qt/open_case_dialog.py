"""File → Open case: a dialog with image, ground truth, prediction and label table fields.

:func:`assign_roles` guesses which dropped file is which from its name (``*gt*``, ``*label*``, ``*seg*``
are ground truth; ``*pred*`` prediction; ``.txt``/``.ctbl``/``.json`` label tables; the rest the image);
when the guess is incomplete the main window opens this dialog pre-filled so the user decides.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ROLES = ("image", "gt", "pred", "labels")
ROLE_TITLES = {"image": "Image (optional)", "gt": "Ground truth", "pred": "Prediction",
               "labels": "Label table (optional)"}
_ROLE_FILTERS = {
    "image": "Images (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd *.png *.tif *.tiff *.jpg *.jpeg *.bmp);;All files (*)",
    "gt": "Masks (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd *.png *.tif *.tiff *.bmp *.npy);;All files (*)",
    "pred": "Masks (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd *.png *.tif *.tiff *.bmp *.npy);;All files (*)",
    "labels": "Label tables (*.txt *.ctbl *.json *.lut);;All files (*)",
}
_LABEL_TABLE_SUFFIXES = (".txt", ".ctbl", ".json", ".lut")
_PRED_WORDS = ("pred", "prediction", "predicted", "output", "inference", "infer", "auto", "model")
_GT_WORDS = ("gt", "label", "labels", "seg", "segmentation", "mask", "truth", "groundtruth", "manual",
             "reference", "ref", "annotation")


def _words(path: str) -> list[str]:
    name = Path(path).name.lower()
    for suffix in (".nii.gz", ".seg.nrrd"):
        name = name.removesuffix(suffix)
    return [word for word in re.split(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", name) if word]


def assign_roles(paths: list[str]) -> tuple[dict[str, str], list[str]]:
    """Guess the role of each file from its name.

    Parameters
    ----------
    paths : list of str
        Dropped or chosen files.

    Returns
    -------
    roles : dict of str to str
        ``"image"``, ``"gt"``, ``"pred"``, ``"labels"`` -> path, for the roles guessed without doubt.
    unassigned : list of str
        Files whose role is unclear (two candidates for one role, or nothing in the name).
    """
    roles: dict[str, str] = {}
    candidates: dict[str, list[str]] = {role: [] for role in ROLES}
    unclear: list[str] = []
    for path in paths:
        words = _words(path)
        lowered = Path(path).name.lower()
        if lowered.endswith(_LABEL_TABLE_SUFFIXES):
            candidates["labels"].append(path)
        elif any(word.startswith("pred") for word in words) or any(w in _PRED_WORDS for w in words):
            candidates["pred"].append(path)
        elif any(word in _GT_WORDS for word in words):
            candidates["gt"].append(path)
        else:
            unclear.append(path)
    for role, found in candidates.items():
        if len(found) == 1:
            roles[role] = found[0]
        else:
            unclear.extend(found)
    if "image" not in roles and len(unclear) == 1 and not any(
            unclear[0] in found for found in candidates.values()):
        roles["image"] = unclear.pop()
    return roles, unclear


class OpenCaseDialog(QDialog):
    """Pick the files of a case. ``paths()`` gives the chosen ones after ``exec()`` accepts.

    Parameters
    ----------
    start_directory : str
        Where the Browse buttons open.
    prefilled : dict of str to str, optional
        Role -> path to show at first (e.g. from dropped files).
    """

    def __init__(self, start_directory: str = "", prefilled: dict[str, str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open case")
        self.setMinimumWidth(640)
        self.start_directory = start_directory
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for role in ROLES:
            field = QLineEdit((prefilled or {}).get(role, ""))
            field.setPlaceholderText("path to the file (or a DICOM folder)" if role != "labels" else
                                     "ITK-SNAP / 3D Slicer table, dataset.json or 'index name' list")
            field.textChanged.connect(self._update_ok)
            browse = QPushButton("Browse…")
            browse.setProperty("role", role)
            browse.clicked.connect(self._on_browse)
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(browse)
            form.addRow(ROLE_TITLES[role], row)
            self.fields[role] = field
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update_ok()

    def paths(self) -> dict[str, str | None]:
        """Role -> chosen path (stripped), None for empty optional fields."""
        return {role: (field.text().strip() or None) for role, field in self.fields.items()}

    def _update_ok(self) -> None:
        ready = bool(self.fields["gt"].text().strip() and self.fields["pred"].text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Open).setEnabled(ready)

    def _on_browse(self) -> None:
        role = self.sender().property("role")
        current = self.fields[role].text().strip()
        start = str(Path(current).parent) if current else self.start_directory
        path, _ = QFileDialog.getOpenFileName(self, ROLE_TITLES[role], start, _ROLE_FILTERS[role])
        if path:
            self.fields[role].setText(path)
            self.start_directory = str(Path(path).parent)
