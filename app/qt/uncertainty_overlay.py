"""The uncertainty overlay: the model's per-voxel entropy as a heat map under the masks, with a key, and
the "next most uncertain slice" key.

The entropy (:func:`dice_engine.soft_uncertainty.voxel_uncertainty`, normalised to [0, 1]) is computed
once per case on the soft lane (:class:`~app.qt.soft_controller.SoftController`, ``uncertainty_ready``)
and depends on the probabilities only: an edit of either mask never changes it, so a stroke never
re-renders this layer; only a change of slice or plane does (one slice extracted, no computation in
the GUI thread). Each slice view gets one image layer between the image and the mask overlay. While the
uncertainty is being computed, the (disabled) actions say so; if the load failed, their tooltip says why.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence

from app.orientation import to_screen

TOGGLE_KEY = "U"
NEXT_KEY = "Shift+U"
TOGGLE_TEXT = "&Uncertainty overlay"
NEXT_TEXT = "Next most &uncertain slice"
TOGGLE_TOOLTIP = "The model's uncertainty (normalised entropy) as a heat map under the masks"
PENDING_SUFFIX = " (being computed…)"
"""Added to both actions' text while the soft lane computes the uncertainty (they are disabled meanwhile)."""
FAILED_TOOLTIP = "The model's uncertainty could not be computed: {reason}"
LAYER_DEPTH = 0.5
"""Between the image (0) and the mask overlay (1) of :class:`app.qt.slice_view.SliceView`."""
HEAT_ALPHA = 150
KEY_STEPS = 6


def heat_lookup_table() -> np.ndarray:
    """``(256, 4)`` uint8 RGBA: "inferno", transparent at 0 (certain) rising to :data:`HEAT_ALPHA`."""
    colors = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256, alpha=False)
    alpha = np.linspace(0, HEAT_ALPHA, 256).astype(np.uint8)
    return np.column_stack((colors.astype(np.uint8), alpha))


def key_html(table: np.ndarray) -> str:
    """The key: "entropy 0 ■■■■■■ 1" with each square in the heat map's colour at that value."""
    squares = "".join(f'<span style="color: #{r:02x}{g:02x}{b:02x}">■</span>'
                      for r, g, b, _ in table[np.linspace(40, 255, KEY_STEPS).astype(int)])
    return (f'<span style="color: #f0f0f0">model uncertainty (entropy) 0</span> {squares} '
            '<span style="color: #f0f0f0">1</span>')


class UncertaintyOverlay(QObject):
    """The heat-map layers of every slice view, the toggle and the "next most uncertain slice" action.

    Parameters
    ----------
    views : list of app.qt.slice_view.SliceView
        The views to draw in (the first is the one the "next" key moves).
    state : app.qt.review_state.ReviewState
    soft : app.qt.soft_controller.SoftController
        Source of the uncertainty (``uncertainty_ready``).
    parent : QObject or None

    Attributes
    ----------
    actions : dict of str to QAction
        ``"show_uncertainty"`` (checkable, :data:`TOGGLE_KEY`) and ``"next_uncertain_slice"`` (:data:`NEXT_KEY`).
    """

    def __init__(self, views, state, soft, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._views = list(views)
        self._state = state
        self._reply = None
        self._table = heat_lookup_table()
        self.layers = []
        self.keys = []
        for view in self._views:
            layer = pg.ImageItem()
            layer.setZValue(LAYER_DEPTH)
            view.view_box.addItem(layer)
            key = pg.TextItem(html=key_html(self._table), anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
            key.setZValue(1000)
            view.graphics.scene().addItem(key)
            key.setVisible(False)
            self.layers.append(layer)
            self.keys.append(key)
            view.plane.axis_changed.connect(self.refresh)
            view.plane.slice_changed.connect(self.refresh)
        self._soft = soft
        show = QAction(TOGGLE_TEXT, self)
        show.setCheckable(True)
        show.setShortcut(QKeySequence(TOGGLE_KEY))
        show.setToolTip(TOGGLE_TOOLTIP)
        show.toggled.connect(self.refresh)
        next_slice = QAction(NEXT_TEXT, self)
        next_slice.setShortcut(QKeySequence(NEXT_KEY))
        next_slice.triggered.connect(self.next_uncertain_slice)
        self.actions = {"show_uncertainty": show, "next_uncertain_slice": next_slice}
        soft.uncertainty_ready.connect(self.on_uncertainty)
        soft.status_changed.connect(self.show_status)
        state.case_changed.connect(self.refresh)
        self.on_uncertainty(soft.uncertainty)

    @property
    def available(self) -> bool:
        """True when the current case's uncertainty has been computed."""
        return self._reply is not None

    @Slot(object)
    def on_uncertainty(self, reply) -> None:
        """Keep ``reply`` (an :class:`~app.qt.soft_worker.UncertaintyReply`, or None) and redraw."""
        self._reply = reply
        for action in self.actions.values():
            action.setEnabled(reply is not None)
        self.show_status()
        self.refresh()

    @Slot()
    def show_status(self) -> None:
        """Say in the actions' text that the uncertainty is being computed, or in their tooltip why it could
        not be (:meth:`~app.qt.soft_controller.SoftController.load_status`)."""
        status = self._soft.load_status()
        pending = self._reply is None and status is not None and status.uncertainty_pending
        suffix = PENDING_SUFFIX if pending else ""
        self.actions["show_uncertainty"].setText(TOGGLE_TEXT + suffix)
        self.actions["next_uncertain_slice"].setText(NEXT_TEXT + suffix)
        failed = self._reply is None and status is not None and status.failure
        self.actions["show_uncertainty"].setToolTip(FAILED_TOOLTIP.format(reason=status.failure) if failed
                                                    else TOGGLE_TOOLTIP)

    @Slot()
    def next_uncertain_slice(self) -> None:
        """Go to the slice ranked after the current one by mean uncertainty, in the primary view's plane."""
        if self._reply is None:
            return
        from dice_engine.soft_uncertainty import next_uncertain_slice

        plane = self._views[0].plane
        plane.set_slice(next_uncertain_slice(self._reply.per_slice[plane.axis], plane.slice_index))

    @Slot()
    def refresh(self, *_args) -> None:
        """Draw the current slice of every view (or hide the layers)."""
        shown = self._reply is not None and self.actions["show_uncertainty"].isChecked()
        for view, layer, key in zip(self._views, self.layers, self.keys, strict=True):
            key.setVisible(shown)
            layer.setVisible(shown)
            if not shown or getattr(view, "frame", None) is None or view.state.case is None:
                continue
            if self._reply.volume.shape != view.state.case.gt.shape:
                layer.setVisible(False)
                continue
            layer.setTransform(view.image_item.transform())
            plane = view.plane
            plane_slice = np.take(self._reply.volume, plane.slice_index, axis=plane.axis)
            layer.setImage(to_screen(plane_slice, view.frame), autoLevels=False, levels=(0.0, 1.0),
                           lut=self._table)
            key.setPos(view.graphics.mapToScene(8, view.graphics.viewport().height() - 8))
