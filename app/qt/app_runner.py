"""Start the review window for ``dicelens view``: interactively, or render one screenshot and exit.

Interactively, the window is shown first, with "Opening <case>…" and a busy indicator, before torch and
the engine are imported: ``dicelens view`` started reading the case and loading torch's shared libraries
on threads before Qt was imported (:mod:`app.qt.early_start`), and the job layer's ``open`` lane hands
that read to the window while the engine warms up on its own lane (:mod:`app.qt.jobs`). A case that
cannot be opened is reported in the window (a dialog). The requested plane, slice and overlay apply once
the case is shown.

Screenshot mode runs without a display (Qt's offscreen platform), waits until the engines have
published the case's metrics and surface distances so every panel is filled, grabs the whole window into a PNG (written
atomically) and returns. It uses throw-away settings, so the picture does not depend on the user's
remembered layout or theme, and never opens a dialog.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Slot

from app.errors import InputError
from app.qt.startup_clock import stamp

SCREENSHOT_SIZE = (1600, 1000)
TORCH_THREADS = 1
"""torch intra-op threads in the window: on few cores torch's thread pool costs more per small brush edit
than it saves (measured 2x slower edits on 2 cores), and it competes with the GUI thread."""
METRICS_TIMEOUT_S = 600.0
GIL_SWITCH_INTERVAL_S = 0.0005
"""How long a thread waiting for Python's GIL lets the holder run before asking for it (CPython's default
is 5 ms). The GUI thread and the engine's worker hand the GIL back and forth several times per brush
segment (torch releases it around every operation); with the default, each hand-back could wait 5 ms,
which made a segment's way to the table 2-3x slower on a busy machine."""


def run_view(paths: dict[str, str | None], *, plane: str | None = None, slice_index: int | None = None,
             screenshot: str | None = None, resample: bool = False,
             size: tuple[int, int] = SCREENSHOT_SIZE, overlay_mode: str | None = None,
             max_voxels: int | None = None, layout: str | None = None, table: str | None = None,
             instances: bool = False, early_read=None, semantic: tuple[str, str] | None = None) -> int:
    """Open the case ``paths`` (``gt``, ``pred``, optional ``image``, ``labels``) in the review window.

    Parameters
    ----------
    paths : dict
        Role -> path of the case's files; also ``probs`` or ``logits`` (the model output), with which
        ``pred`` may be None (the model's argmax is then the prediction).
    plane : {"axial", "coronal", "sagittal"}, optional
        Anatomical plane to show (from the image's direction cosines).
    slice_index : int, optional
        Slice along that plane's array axis, 0-based (default: see :mod:`app.qt.opening_slice`).
    screenshot : str, optional
        Write a PNG of the whole window there and exit instead of running the window.
    resample : bool
        Resample the prediction onto the ground-truth grid when they differ.
    size : (int, int)
        Window size of the screenshot, pixels.
    overlay_mode : {"filled", "contours", "errors"}, optional
        Overlay to start with (default: the view's, filled); the error map shows every foreground class.
    max_voxels : int, optional
        ``--max-voxels``: the largest volume read (default: what available memory allows).
    layout : {"single", "three"}, optional
        One slice view or three linked views (default: the remembered layout; one in screenshot mode).
    table : str, optional
        With ``screenshot``: also write the Dice table's numbers there as JSON (:mod:`app.qt.table_export`).
    instances : bool
        The masks are instance images: the Objects dock counts instances (``view --instances``).
    early_read : app.qt.early_start.EarlyCaseRead, optional
        The window: this case's read, started before Qt was imported; the ``open`` lane takes its result.
    semantic : (str, str), optional
        ``(--semantic-gt, --semantic-pred)`` of the instance images (implies ``instances``): the Dice table
        scores their classes (:mod:`app.qt.instance_voxels`).

    Returns
    -------
    int
        Exit code.

    Raises
    ------
    InputError
        With ``screenshot``: unreadable or inconsistent files, a slice out of range, an unwritable
        screenshot path. (The window reports those in a dialog instead.)
    """
    if screenshot is None:
        return _run_window(paths, plane=plane, slice_index=slice_index, resample=resample,
                           overlay_mode=overlay_mode, max_voxels=max_voxels, layout=layout, instances=instances,
                           early_read=early_read, semantic=semantic)
    if not Path(screenshot).expanduser().resolve().parent.is_dir():
        raise InputError(f"cannot write the screenshot '{screenshot}': its folder does not exist.")
    if table is not None and not Path(table).expanduser().resolve().parent.is_dir():
        raise InputError(f"cannot write the table '{table}': its folder does not exist.")
    from app.io import load_case

    case = load_case(paths["gt"], paths.get("pred"), image=paths.get("image"), labels=paths.get("labels"),
                     probs=paths.get("probs"), logits=paths.get("logits"), resample=resample, max_voxels=max_voxels)
    axis = _start_axis(case, plane, slice_index)
    from app.qt.case_loader import case_title

    with screenshot_window("dicelens-screenshot-") as window:
        window.objects.instances = instances
        voxels = _install_instances(window, instances, semantic, paths, max_voxels)
        if voxels is not None:
            voxels.read(case)   # bad semantic masks: exit 2 before anything is shown
        if layout is not None:
            window.views.set_layout(layout)
        window.show_case(case, title=case_title(paths))
        window.case_paths = dict(paths)
        _apply_start_view(window, axis, slice_index, overlay_mode)
        window.resize(*size)
        window.show()
        if not wait_for_metrics(window, METRICS_TIMEOUT_S):
            print(f"dicelens: error: the metrics were not ready after {METRICS_TIMEOUT_S:.0f} s; "
                  "no screenshot written.", file=sys.stderr)
            return 1
        save_screenshot(window, Path(screenshot))
        if table is not None:
            from app.qt.table_export import write_table

            write_table(window, Path(table))
    return 0


@contextlib.contextmanager
def screenshot_window(scratch_prefix: str):
    """A headless main window for a screenshot: offscreen platform unless one is set, torch's threads
    as in the window, settings in a scratch folder (the user's are neither read nor written), errors
    printed, no journal (no recovery question, and a crashed session's journal stays as it is).

    The window is closed however the ``with`` block ends, a refused input included: a window left open
    keeps its lanes' threads running, and Qt crashed when the collector later destroyed it."""
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import torch
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings

    from app.qt.main_window import MainWindow

    torch.set_num_threads(TORCH_THREADS)
    _application()
    with tempfile.TemporaryDirectory(prefix=scratch_prefix) as scratch:
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.show_error = _print_error
        window.edits.journal = False
        try:
            yield window
        finally:
            window.close()
            window.deleteLater()   # destroyed here, on the GUI thread, not by the collector at some later time
            QCoreApplication.sendPostedEvents(window, QEvent.Type.DeferredDelete)


def _run_window(paths: dict[str, str | None], *, plane: str | None, slice_index: int | None, resample: bool,
                overlay_mode: str | None, max_voxels: int | None, layout: str | None = None,
                instances: bool = False, early_read=None, semantic: tuple[str, str] | None = None) -> int:
    """The interactive window: shown at once, the case read in the background (see the module docstring)."""
    from app.qt.early_start import preload_torch_libraries
    from app.qt.jobs import finish_background_jobs
    from app.qt.main_window import MainWindow
    from app.qt.safe_gc import GuiThreadCollector
    from app.qt.startup_order import LARGE_CASE_BYTES, StartupOrder, input_bytes
    from app.qt.startup_trace import StartupTrace

    stamp("imported")   # the phases of the first picture, for bench/startup.py (app/qt/startup_trace.py)
    app = _application()
    GuiThreadCollector(app)   # cycles collected between events only: a collection inside a Qt call can hang
    window = MainWindow()
    stamp("built")
    trace = StartupTrace(window)   # first paints: printed with DICELENS_STARTUP_TRACE=1, and the order below
    # torch's import waits for the first picture; objects and soft Dice for the table (app/qt/startup_order.py)
    large = input_bytes(paths) >= LARGE_CASE_BYTES   # torch's import waits for its first table's count instead
    StartupOrder(window.jobs, trace, window.case_loader, hold_engine=not large, engine_after_count=large,
                 case_read=early_read.done if early_read is not None else None, parent=window,
                 engine=window.controller, preload=preload_torch_libraries)   # torch's libraries after the picture
    window.case_loader.max_voxels = max_voxels   # also for cases opened later from the File menu
    window.objects.instances = instances   # likewise
    if early_read is not None:   # its first load takes the case read since launch (app/qt/early_start.py)
        window.case_loader.reader = early_read.reader(window.case_loader.reader)
    _install_instances(window, instances, semantic, paths, max_voxels)   # wraps the reader: after the early read
    if layout is not None:
        window.views.set_layout(layout)
    start_view = _StartView(window, plane, slice_index, overlay_mode)
    window.case_opened.connect(start_view.on_case_opened)
    window.show()
    stamp("shown")
    window.controller.warm_up(TORCH_THREADS)
    window.open_case(paths["gt"], paths.get("pred"), image=paths.get("image"), labels=paths.get("labels"),
                     resample=resample, probs=paths.get("probs"), logits=paths.get("logits"))
    code = app.exec()
    finish_background_jobs()   # a job that outlived the window's bounded wait ends while Qt still runs
    return code


def _install_instances(window, instances: bool, semantic, paths: dict[str, str | None], max_voxels: int | None):
    """``view --instances`` / ``--semantic-gt``: the voxel lanes score as ``score --instances`` does."""
    from app.qt.instance_voxels import install

    return install(window, instances or semantic is not None, semantic_paths=semantic,
                   instance_paths=(paths["gt"], paths.get("pred")) if semantic is not None else None,
                   labels=paths.get("labels"), max_voxels=max_voxels)


def configure_threads() -> None:
    """Thread settings of the window's process: the GIL hand-over interval (:data:`GIL_SWITCH_INTERVAL_S`).

    torch's intra-op threads (:data:`TORCH_THREADS`) are set where torch is imported (the engine lane).
    """
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def _application():
    from PySide6.QtWidgets import QApplication

    configure_threads()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("DiceLens")
    app.setApplicationName("DiceLens")
    return app


def _start_axis(case, plane: str | None, slice_index: int | None) -> int | None:
    """The array axis of ``plane`` in ``case`` (None: the default); InputError when ``slice_index`` is outside it."""
    from app.orientation import array_axis_for_plane

    axis = array_axis_for_plane(case.geometry.direction, plane) if plane is not None else None
    if slice_index is not None:
        count = case.gt.shape[axis if axis is not None else 0]
        if not 0 <= slice_index < count:
            raise InputError(f"--slice {slice_index} is outside the volume: this view has slices 0 to "
                             f"{count - 1}.")
    return axis


def _apply_start_view(window, axis: int | None, slice_index: int | None, overlay_mode: str | None) -> None:
    """Show the case in ``window`` with the requested overlay, axis and slice (default: where the first
    class with errors has most voxels, chosen by :mod:`app.qt.opening_slice` when the first result comes)."""
    if overlay_mode is not None:
        view = window.slice_view
        view.set_overlay_settings(replace(view.settings, mode=overlay_mode,
                                          errors_of_all_classes=overlay_mode == "errors"))
    if axis is not None:
        window.state.set_axis(axis)
    if slice_index is not None:
        window.state.set_slice(slice_index)


class _StartView(QObject):
    """Applies ``dicelens view``'s plane, slice and overlay to the first case the window opens (a bad
    ``--slice`` is reported in the window, and the default slice shown)."""

    def __init__(self, window, plane: str | None, slice_index: int | None, overlay_mode: str | None) -> None:
        super().__init__(window)
        self._request = (plane, slice_index, overlay_mode)

    @Slot(object)
    def on_case_opened(self, case) -> None:
        if self._request is None:
            return
        stamp("case_shown")
        (plane, slice_index, overlay_mode), self._request = self._request, None
        window = self.parent()
        try:
            axis = _start_axis(case, plane, slice_index)
        except InputError as error:
            window.show_error(str(error))
            axis, slice_index = _start_axis(case, plane, None), None
        _apply_start_view(window, axis, slice_index, overlay_mode)


def wait_for_metrics(window, timeout_s: float) -> bool:
    """Run the event loop until the current case's Dice result, surface distances and soft Dice are published.

    Returns False when time is up first, or when an engine stopped working without publishing (its
    warning says why). A distance computation that failed still publishes (figures "not available").
    """
    from PySide6.QtCore import QEventLoop, QTimer

    controller = window.controller

    def dice_ready() -> bool:   # the table and the per-slice counts of the axis on screen
        result = controller.last_result
        return result is not None and result.generation == controller.generation and controller.slice_counts is not None

    def distances_ready() -> bool:
        update = controller.distances.last_update
        return update is not None and update.generation == controller.generation

    soft = window.soft_metrics   # the model output's soft Dice (published at once for a case without)

    def ready() -> bool:
        return dice_ready() and distances_ready() and soft.ready

    def still_computing() -> bool:
        return ((not dice_ready() and controller.busy) or (not distances_ready() and controller.distances.pending)
                or (not soft.ready and soft.pending))

    deadline = time.monotonic() + timeout_s
    while not ready() and time.monotonic() < deadline:
        loop = QEventLoop()
        controller.result_ready.connect(loop.quit)
        controller.busy_changed.connect(loop.quit)
        controller.distances_ready.connect(loop.quit)
        soft.soft_ready.connect(loop.quit)
        QTimer.singleShot(max(1, int((deadline - time.monotonic()) * 1000)), loop.quit)
        loop.exec()
        if not ready() and not still_computing():
            break  # an engine gave up (its warning says why)
    return ready()


def save_screenshot(window, path: Path) -> None:
    """Grab ``window`` (after letting layouts settle) into PNG ``path``, atomically."""
    from PySide6.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
    pixmap = window.grab()
    target = path.expanduser().resolve()
    # Hidden, like every temporary file of an atomic write: a kill cannot leave a visible stray PNG.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(descriptor)
    try:
        if not pixmap.save(temporary, "PNG"):   # the format is named: the ending is .tmp
            raise InputError(f"could not write the screenshot '{path}'.")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _print_error(message: str) -> None:
    """Screenshot mode reports problems on stderr instead of in a dialog."""
    print(f"dicelens: warning: {message}", file=sys.stderr)
