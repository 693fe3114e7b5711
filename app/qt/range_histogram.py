"""The intensity histogram of the edit toolbar: the image's intensities with the editable range on top.

A small plot (log counts of a regular sample of the image) with a draggable region; dragging the region
sets the range's low and high, and the spin boxes move the region (docs/architecture.md §3: the range
limits brush, fill and lasso, and is what Threshold fills).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot

from app.qt.image_summary import histogram_of

HISTOGRAM_SIZE = (150, 26)
"""Width and height in pixels: it must fit the toolbar row."""


class RangeHistogram(pg.PlotWidget):
    """Histogram with a draggable ``[low, high]`` region.

    Signals
    -------
    range_dragged(float, float)
        The user dragged the region to ``(low, high)``.
    """

    range_dragged = Signal(float, float)

    def __init__(self) -> None:
        super().__init__(enableMenu=False)   # no context menu (not even built: §10)
        self.setFixedSize(*HISTOGRAM_SIZE)
        self.setToolTip("Intensity histogram: drag the band (or its edges) to set the range")
        plot = self.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setContentsMargins(0, 0, 0, 0)
        self.curve = plot.plot(stepMode="center", fillLevel=0, pen=pg.mkPen(180, 180, 180), brush=(120, 120, 120, 150))
        self.region = pg.LinearRegionItem(values=(0.0, 1.0), brush=(255, 183, 77, 60))
        plot.addItem(self.region)
        self.region.sigRegionChangeFinished.connect(self._on_region_moved)

    def set_image(self, image: np.ndarray | None) -> None:
        """Show the histogram of ``image`` (None: empty)."""
        if image is None:
            self.curve.setData([0.0, 1.0], [0.0])
            return
        edges, counts = histogram_of(image)
        self.curve.setData(edges, counts)
        self.getPlotItem().setXRange(edges[0], edges[-1], padding=0.0)

    def set_range(self, low: float, high: float) -> None:
        """Move the region to ``[low, high]`` without announcing it."""
        self.region.blockSignals(True)
        self.region.setRegion((low, high))
        self.region.blockSignals(False)

    @Slot(object)
    def _on_region_moved(self, _region) -> None:
        low, high = self.region.getRegion()
        self.range_dragged.emit(float(low), float(high))
