"""Read a case's files off the GUI thread, so the window stays responsive while a large volume loads.

:class:`CaseLoader` runs :func:`app.io.load_case` in one background thread and reports back with
signals (queued to the GUI thread, where the loader lives). Each request carries a number; the main
window only shows the answer to its latest request, so opening another case while one is still
loading is safe.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal

from app.errors import InputError
from app.io import load_case


class CaseLoader(QObject):
    """Loads cases in a background thread (or inline with ``synchronous=True``, for tests).

    Signals
    -------
    loaded(int, object)
        ``request, case``: the :class:`app.io.Case` of request number ``request``.
    failed(int, str)
        ``request, message``: why it could not be opened (the :class:`InputError` message the
        command line prints for the same files).
    """

    loaded = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, parent: QObject | None = None, synchronous: bool = False) -> None:
        super().__init__(parent)
        self._executor = None if synchronous else ThreadPoolExecutor(1, thread_name_prefix="dicelens-open")

    def load(self, request: int, paths: dict[str, str | None], resample: bool = False) -> None:
        """Start loading ``paths`` (``gt``, ``pred``, optional ``image``, ``labels``) as ``request``."""
        if self._executor is None:
            self._load(request, dict(paths), resample)
        else:
            self._executor.submit(self._load, request, dict(paths), resample)

    def shutdown(self) -> None:
        """Drop queued loads (a running one finishes in the background; its answer is ignored)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _load(self, request: int, paths: dict[str, str | None], resample: bool) -> None:
        try:
            case = load_case(paths["gt"], paths["pred"], image=paths.get("image"), labels=paths.get("labels"),
                             resample=resample)
        except InputError as error:
            self.failed.emit(request, str(error))
        except (OSError, MemoryError) as error:
            self.failed.emit(request, f"could not open the case ({error}).")
        else:
            self.loaded.emit(request, case)
