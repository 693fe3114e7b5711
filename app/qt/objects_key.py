"""The slice views' object key: missed and false objects coloured voxel by voxel, and the chosen object.

One image layer per slice view, above the mask overlay and the confusion-cell highlight, drawn by
:func:`app.qt.overlay_objects.object_key_slice` from the voxels the ``objects`` lane cut out with its latest
reply (:class:`~app.qt.objects_controller.ObjectsUpdate` ``.voxels``). It is redrawn when the objects update
(debounced after edits), when a view's slice or plane changes and when the key is switched: never as part
of a stroke's render, never from the volume.

- The key (View → Object key, :data:`TOGGLE_KEY`; off by default) colours every missed and every false
  object, with a legend in each view's corner.
- The object chosen in the Objects dock (:meth:`choose`) is drawn in the highlight colour whether the key is
  on or not, on whatever slice a view shows. It is dropped when an update no longer lists it as missed or
  false (matched, erased, or renamed because an edit removed its first voxel), when a confusion cell is
  highlighted instead, and when another case opens. Objects past the cut-out budget
  (:data:`app.qt.objects_voxels.MAX_KEY_VOXELS`, largest first) have no voxels to draw: only their box outline.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence

from app.orientation import to_screen
from app.qt.objects_outline import plane_change_signals
from app.qt.objects_voxels import object_key
from app.qt.overlay_objects import CHOSEN_RGBA, KEY_COLORS, object_key_slice

TOGGLE_KEY = "O"
LAYER_DEPTH = 2.5
"""Above the mask overlay (1) and the confusion-cell highlight (2) of :class:`app.qt.slice_view.SliceView`."""


def legend_html(show_kinds: bool, chosen: bool) -> str:
    """The key's legend: a coloured square per kind shown, one per line (narrow: it sits in the view's
    top right corner, between the top edge letter and the side one)."""
    entries = []
    if show_kinds:
        entries += [(KEY_COLORS["missed"], "missed object"), (KEY_COLORS["false"], "false object")]
    if chosen:
        entries.append((CHOSEN_RGBA, "chosen object"))
    return "<br>".join(f'<span style="color: rgb({r}, {g}, {b})">&#9632;</span>'
                          f'<span style="color: #f0f0f0"> {text}</span>' for (r, g, b, _), text in entries)


class ObjectsKey(QObject):
    """The object key layers of every slice view of ``views``, their toggle and the chosen object.

    Parameters
    ----------
    views : app.qt.view_layout.ViewLayout
        Its ``views`` get the layers; its state, planes, crosshair and layout say when to redraw.
    controller : app.qt.objects_controller.ObjectsController
        Source of the objects and their voxels (``objects_ready``).
    parent : QObject or None

    Attributes
    ----------
    actions : dict of str to QAction
        ``"show_object_key"`` (checkable, :data:`TOGGLE_KEY`).
    chosen : tuple or None
        The chosen object's ``(mask, anchor)``.
    voxels : tuple of app.qt.objects_voxels.ObjectVoxels
        The latest update's.
    """

    def __init__(self, views, controller, parent: QObject | None = None) -> None:
        super().__init__(parent or views)
        self._layout = views
        self.voxels: tuple = ()
        self.chosen: tuple | None = None
        self.layers: list[pg.ImageItem] = []
        self.legends: list[pg.TextItem] = []
        for view in views.views:
            layer = pg.ImageItem()
            layer.setZValue(LAYER_DEPTH)
            layer.setVisible(False)
            view.view_box.addItem(layer)
            legend = pg.TextItem(anchor=(1, 0), fill=pg.mkBrush(0, 0, 0, 150))
            legend.setZValue(1000)
            legend.setVisible(False)
            view.graphics.scene().addItem(legend)
            self.layers.append(layer)
            self.legends.append(legend)
            view.view_box.sigResized.connect(self.place_legends)   # they keep to the corner
        show = QAction("Object &key (missed and false objects)", self)
        show.setCheckable(True)
        show.setShortcut(QKeySequence(TOGGLE_KEY))
        show.setToolTip("Colour the voxels of missed (ground truth without a match) and false (prediction "
                        "without a match) objects")
        show.toggled.connect(self.schedule)
        self.actions = {"show_object_key": show}
        self._timer = QTimer(self)   # coalesces the signals of one change; runs after the views re-lay out
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        controller.objects_ready.connect(self._on_objects)
        views.state.case_changed.connect(self._on_case_changed)
        views.state.highlighted_cell_changed.connect(self._on_cell_highlighted)
        for signal in plane_change_signals(views):
            signal.connect(self.schedule)

    @property
    def shown(self) -> bool:
        """Whether missed and false objects are coloured."""
        return self.actions["show_object_key"].isChecked()

    @Slot(object)
    def choose(self, item) -> None:
        """Highlight the voxels of ``item`` (a :class:`dice_engine.objects.SegmentObject`, missed or false)."""
        self.chosen = object_key(item)
        self.refresh()

    @Slot()
    @Slot(object)
    def schedule(self, *_args) -> None:
        """Redraw once the current change has been laid out."""
        self._timer.start()

    @Slot(object)
    def _on_objects(self, update) -> None:
        self.voxels = tuple(update.voxels)
        scores = update.scores
        unmatched = set() if scores is None else {object_key(o) for c in scores.classes for o in (*c.missed, *c.false)}
        if self.chosen not in unmatched:
            self.chosen = None   # matched, erased or renamed by the edits this update includes
        self.schedule()

    @Slot(object)
    def _on_case_changed(self, _case) -> None:
        self.voxels, self.chosen = (), None   # the new case's objects follow (older replies are dropped)
        self.schedule()

    @Slot(object)
    def _on_cell_highlighted(self, cell) -> None:
        if cell is not None and self.chosen is not None:
            self.chosen = None
            self.schedule()

    @Slot()
    def refresh(self) -> None:
        """Draw every view's current slice (or hide the layers)."""
        case = self._layout.state.case
        for view, layer, legend in zip(self._layout.views, self.layers, self.legends, strict=True):
            frame = view.frame
            rgba = None
            if case is not None and frame is not None and (self.shown or self.chosen is not None):
                rgba = object_key_slice(self.voxels, frame.array_axis, view.slice_index, case.gt.shape,
                                        show_kinds=self.shown, chosen=self.chosen)
            layer.setVisible(rgba is not None)
            if rgba is not None:
                layer.setTransform(view.image_item.transform())
                layer.setImage(to_screen(rgba, frame), autoLevels=False, levels=(0, 255))
            text = legend_html(self.shown, self.chosen is not None) if case is not None else ""
            legend.setVisible(bool(text))
            if text:
                legend.setHtml(text)
        self.place_legends()

    @Slot()
    @Slot(object)
    def place_legends(self, *_args) -> None:
        """Put each view's legend in its top-right corner (nothing is redrawn)."""
        for view, legend in zip(self._layout.views, self.legends, strict=True):
            viewport = view.graphics.viewport()
            legend.setPos(view.graphics.mapToScene(viewport.width() - 4, 4))
