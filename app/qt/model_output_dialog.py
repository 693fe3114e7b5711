"""File → Open model output…: ask which file holds the model's class probabilities or logits.

The kind follows the file-type filter chosen in the dialog ("Probabilities" or "Logits"); the file is
read and checked with the case on the open lane (:meth:`app.qt.main_window.MainWindow.open_model_output`).
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

MODEL_OUTPUT_PATTERNS = "*.npz *.npy *.nii *.nii.gz *.nrrd *.nhdr"
FILTERS = {
    f"Probabilities ({MODEL_OUTPUT_PATTERNS})": "probs",
    f"Logits ({MODEL_OUTPUT_PATTERNS})": "logits",
}
"""Dialog filter -> kind of scores (``--probs`` / ``--logits``)."""


def kind_of_filter(selected_filter: str) -> str:
    """``"probs"`` or ``"logits"`` for a filter of :data:`FILTERS` (probabilities for any other)."""
    return FILTERS.get(selected_filter, "probs")


def ask_model_output(parent: QWidget, directory: str) -> tuple[str, str] | None:
    """Ask for a model output file.

    Returns
    -------
    (str, str) or None
        ``(path, kind)`` with kind ``"probs"`` or ``"logits"``; None when cancelled.
    """
    path, selected = QFileDialog.getOpenFileName(parent, "Open model output", directory, ";;".join(FILTERS))
    if not path:
        return None
    return path, kind_of_filter(selected)
