"""Per-stage times of each brush segment for ``bench/stroke_latency.py --stages`` (where the tail comes from).

:func:`install` wraps, before the window is built, the GUI-thread steps a segment goes through (the mouse
move's handling, the edit model's write, each listener of the bridge, the engine reply's publication and
each panel's slot) with a clock, and registers a garbage-collector callback. :meth:`StageClock.segment`
then hands out, per segment, the milliseconds spent in each step, the GC pauses and which other lanes
were busy. :func:`report` prints the median segment's breakdown beside the slowest 5 %'s.

Nothing here changes what the steps do; wrapping costs about a microsecond per call.
"""

from __future__ import annotations

import gc
import importlib
import time
from collections import defaultdict

import numpy as np

STAGES = (
    ("move", "app.qt.edit_tools", "EditTools", "eventFilter"),
    ("model write", "app.model.edit_session", "EditSession", "_write"),
    ("engine submit", "app.qt.engine_controller", "EngineController", "submit_delta"),
    ("objects submit", "app.qt.objects_controller", "ObjectsController", "submit_delta"),
    ("soft submit", "app.qt.soft_controller", "SoftController", "submit_delta"),
    ("tile update", "app.qt.view_layout", "ViewLayout", "update_region"),
    ("publish", "app.qt.engine_controller", "EngineController", "_publish"),
    ("table", "app.qt.dice_table", "DiceTablePanel", "_on_result"),
    ("confusion", "app.qt.confusion_panel", "ConfusionMatrixPanel", "_on_result"),
    ("slice plot", "app.qt.slice_plot", "SliceDicePlotPanel", "_on_result"),
    ("history", "app.qt.dice_history", "DiceHistoryPanel", "_on_result"),
    ("readout", "app.qt.view_layout", "ViewLayout", "refresh_readout"),
    ("status bar", "app.qt.main_window", "MainWindow", "_on_result"),
    ("plot paint", "pyqtgraph.widgets.GraphicsView", "GraphicsView", "paintEvent"),
)
"""``(stage, module, class, method)`` of each timed GUI-thread step (nested ones count in both)."""


class StageClock:
    """Accumulates time per stage and GC pauses; :meth:`segment` returns and resets them."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.gc_ms = 0.0
        self._gc_started = 0.0
        self.jobs: list[tuple[str, str, float, float]] = []
        """``(lane, task, start, end)`` (``time.perf_counter``) of every background job run."""

    def wrap(self, stage: str, function):
        """``function`` timed into ``stage``."""
        totals = self.totals

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[stage] += (time.perf_counter() - started) * 1000.0

        timed.__name__, timed.__doc__ = function.__name__, function.__doc__
        return timed

    def on_gc(self, phase: str, _info: dict) -> None:
        """``gc.callbacks`` hook: add each collection's pause."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_ms += (time.perf_counter() - self._gc_started) * 1000.0

    def segment(self) -> dict[str, float]:
        """The stage times since the last call (ms), with ``"gc"``; resets them."""
        times = dict(self.totals)
        times["gc"] = self.gc_ms
        self.totals.clear()
        self.gc_ms = 0.0
        return times


PANELS = ("DiceTablePanel", "ConfusionMatrixPanel", "SliceDicePlotPanel", "DiceHistoryPanel", "SliceView")
"""Widget classes whose paint events are timed apart (``paint <class>``; others count as ``paint other``)."""


def time_paints(clock: StageClock):
    """An application-wide event filter timing every widget paint event into ``paint <panel>`` (keep it alive)."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject
    from PySide6.QtWidgets import QWidget

    class PaintTimer(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.inside: set[int] = set()

        def eventFilter(self, watched, event) -> bool:  # Qt override
            if event.type() != QEvent.Type.Paint or not isinstance(watched, QWidget) or id(watched) in self.inside:
                return False
            widget, stage = watched, "paint other"
            while widget is not None:
                if type(widget).__name__ in PANELS:
                    stage = f"paint {type(widget).__name__}"
                    break
                widget = widget.parentWidget()
            self.inside.add(id(watched))
            started = time.perf_counter()
            try:
                QCoreApplication.sendEvent(watched, event)
            finally:
                self.inside.discard(id(watched))
                clock.totals[stage] += (time.perf_counter() - started) * 1000.0
            return True

    timer = PaintTimer()
    QCoreApplication.instance().installEventFilter(timer)
    return timer


def install() -> StageClock:
    """Wrap every step of :data:`STAGES` (call before the window is built) and hook the garbage collector."""
    clock = StageClock()
    for stage, module_name, class_name, method in STAGES:
        owner = getattr(importlib.import_module(module_name), class_name)
        setattr(owner, method, clock.wrap(stage, getattr(owner, method)))
    gc.callbacks.append(clock.on_gc)
    jobs = importlib.import_module("app.qt.jobs")
    run = jobs._run

    def timed_run(job):
        started = time.perf_counter()
        try:
            return run(job)
        finally:
            clock.jobs.append((job.lane, job.task, started, time.perf_counter()))

    jobs._run = timed_run
    return clock


def busy_lanes(window) -> str:
    """The background lanes of ``window`` with work in flight now, comma-separated (empty: none)."""
    lanes = getattr(window.controller.jobs, "_lanes", {})
    return ",".join(sorted(name for name, lane in lanes.items() if name != "engine" and lane.busy))


def report_jobs(clock: StageClock, first: float, last: float) -> None:
    """Print the other lanes' jobs that ran between ``first`` and ``last`` (the drags), by lane and task."""
    spans: dict[tuple[str, str], list[float]] = defaultdict(list)
    for lane, task, start, end in clock.jobs:
        if lane != "engine" and end > first and start < last:
            spans[(lane, task)].append((min(end, last) - max(start, first)) * 1000.0)
    print(f"other lanes' jobs during the drags ({(last - first):.1f} s):")
    for (lane, task), times in sorted(spans.items()):
        print(f"  {lane:<10} {task:<40} {len(times):4d} jobs, {sum(times):8.0f} ms")


def report(latencies: list[float], records: list[dict]) -> None:
    """Print the median segment's stage times beside the mean over the slowest 5 % (at least 3)."""
    order = np.argsort(latencies)
    slow = order[-max(3, len(order) // 20):]
    stages = sorted({key for record in records for key in record if key != "lanes"})
    print(f"stages (ms; the slowest {len(slow)} segments: {', '.join(f'{latencies[i]:.1f}' for i in slow)})")
    print(f"  {'stage':<16}{'median':>8}{'slowest':>9}")
    for stage in stages:
        values = np.array([record.get(stage, 0.0) for record in records])
        print(f"  {stage:<16}{np.median(values):8.2f}{values[slow].mean():9.2f}")
    busy = [records[i].get("lanes", "") for i in slow]
    share = sum(1 for record in records if record.get("lanes")) / max(len(records), 1)
    print(f"  other lanes busy: {100 * share:.0f} % of all segments; in the slowest: {busy}")
