"""Opening a case in the review window: files, the Open case dialog, dropped files, the demo case, model output.

A mixin of :class:`~app.qt.main_window.MainWindow` (a ``QMainWindow``). Files opened are read on the job
layer's ``open`` lane (:class:`~app.qt.case_loader.CaseLoader`), with "Opening …" and the busy indicator in
the status bar; the current case stays on screen but cannot be edited meanwhile (its edits would be lost
when the new case replaces it). The loaded case is shown at once (``state.set_case``) and the engine asked
for its metrics (``controller.load``); panels fill in when the worker answers. A case that cannot be opened
(whatever the reader raised) leaves the current case in place, editable again, and is reported through
``show_error``.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import InputError
from app.qt.case_loader import case_title
from app.qt.demo_case import demo_case_paths
from app.qt.model_output_dialog import ask_model_output
from app.qt.open_case_dialog import OpenCaseDialog, assign_roles

SLICE_PLOT_HIDDEN_FOR_2D = "view/slice_plot_hidden_for_2d"
"""Settings key: the per-slice plot was hidden because a 2D case was shown (not by the user)."""


class CaseOpening:
    """The window's case-opening methods; the window owns ``case_loader`` and connects its answers here."""

    def open_case(self, gt: str, pred: str | None, image: str | None = None, labels: str | None = None,
                  resample: bool = False, probs: str | None = None, logits: str | None = None) -> None:
        """Load a case in the background and show it; on bad input keep the current one and say why.

        ``probs`` / ``logits``: the model's output (then ``pred`` may be None: the argmax is shown).

        Unsaved edits of the current case are asked about first (nothing happens on Cancel); then
        editing pauses until the new case is shown (or could not be opened).
        """
        if not self.edits.confirm_discard():
            return
        self._requested_paths = {"image": image, "gt": gt, "pred": pred, "labels": labels}
        self._requested_paths.update({role: path for role, path in (("probs", probs), ("logits", logits)) if path})
        self._opening = True
        self.edit_toolbar.set_bridge(None, None)   # no edit of the case being replaced
        self._update_busy()
        self.statusBar().showMessage(f"Opening {case_title(self._requested_paths)}…")
        self.case_loader.load(self._requested_paths, resample)   # only the latest load answers

    def _on_case_loaded(self, _request: int, case) -> None:
        self._opening = False
        self.case_paths = self._requested_paths
        self.statusBar().clearMessage()
        self.show_case(case, title=case_title(self.case_paths))
        self._update_busy()
        self._remember_case(self.case_paths)
        self.case_opened.emit(case)

    def _on_case_failed(self, _request: int, message: str) -> None:
        self._opening = False
        self._update_busy()
        if self.edits.bridge is not None:   # the current case stays: editable again
            self.edit_toolbar.set_bridge(self.edits.bridge, self.state.case)
        self.statusBar().showMessage(f"Could not open {case_title(self._requested_paths)}.", 15000)
        self.show_error(message)

    def show_case(self, case, title: str = "") -> None:
        """Show ``case`` now; its metrics follow from the engine."""
        two_dimensional = case.gt.shape[0] == 1
        # Hidden for a 2D case, shown again for the next volume, also in a later session (the hidden dock
        # is part of the remembered layout, so the reason is remembered with it). isVisibleTo: the window
        # may not be shown yet (command line start).
        slices = self.docks["slices"]
        if two_dimensional and slices.isVisibleTo(self):
            slices.hide()  # one slice: nothing to plot
            self.settings.setValue(SLICE_PLOT_HIDDEN_FOR_2D, True)
        elif not two_dimensional and self.settings.value(SLICE_PLOT_HIDDEN_FOR_2D, False, type=bool):
            slices.show()
            self.settings.setValue(SLICE_PLOT_HIDDEN_FOR_2D, False)
        if two_dimensional:
            self.state.set_axis(0)  # a 2D image has only the one (axial) slice
        self.edits.open_case(case)  # recovery (if any) happens before the view and the engine see the masks
        self.state.set_case(case)
        self.controller.load(case)
        masks = self.controller.load_masks   # one snapshot of the masks for every lane that starts from them
        self.soft_metrics.load(case, gt=masks[0])
        self.objects.load(case, masks=masks)
        self.setWindowTitle(f"DiceLens — {title}[*]" if title else "DiceLens[*]")
        if case.messages:
            self.statusBar().showMessage("; ".join(case.messages), 15000)

    def open_demo_case(self) -> None:
        """Open the bundled demo case (see resources/demo/SOURCE.md)."""
        try:
            paths = demo_case_paths()
        except InputError as error:
            self.show_error(str(error))
            return
        self.open_case(**paths)

    def open_case_dialog(self, prefilled: dict[str, str] | None = None) -> None:
        """File → Open case: ask for the files, then open them."""
        if prefilled is None:
            prefilled = {role: path for role, path in (self.case_paths or {}).items() if path}
        dialog = OpenCaseDialog(self._last_directory(), prefilled, self)
        if dialog.exec() == OpenCaseDialog.DialogCode.Accepted:
            paths = dialog.paths()
            self.settings.setValue("files/last_directory", str(Path(paths["gt"]).parent))
            self.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])

    def open_model_output(self, path: str, kind: str) -> None:
        """File → Open model output: open the current case again with the model's ``probs`` or ``logits``
        ``path`` (read and checked on the open lane with the case; bad input: a dialog, the case stays)."""
        if not self.case_paths:
            self.show_error("Open a case first: the model output is checked against its masks.")
            return
        paths = {role: self.case_paths.get(role) for role in ("gt", "pred", "image", "labels")}
        self.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"], **{kind: path})

    def open_model_output_dialog(self) -> None:
        """File → Open model output…: ask for the file (probabilities or logits), then open it with the case."""
        chosen = ask_model_output(self, self._last_directory())
        if chosen is not None:
            self.open_model_output(*chosen)

    def open_dropped_files(self, paths: list[str]) -> None:
        """Open dropped files: directly when their names say which is which, else via the dialog."""
        roles, unassigned = assign_roles(paths)
        if "gt" in roles and "pred" in roles and not unassigned:
            self.open_case(roles["gt"], roles["pred"], image=roles.get("image"), labels=roles.get("labels"))
        else:
            self.open_case_dialog(prefilled=roles)

    def dragEnterEvent(self, event) -> None:  # Qt override
        """Accept drags of local files."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # Qt override
        """Open dropped files (see :meth:`open_dropped_files`)."""
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_dropped_files(paths)
