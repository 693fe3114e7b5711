"""SimpleITK header reads, one at a time in the whole process.

Two ``ImageFileReader.ReadImageInformation`` calls running at once in different threads (the case
loader reads the ground truth and the prediction side by side; review prefetch, review scoring and
in-process Dask workers read beside the window's own reads) twice aborted the process inside
SimpleITK (SIGABRT / SIGSEGV in ``ReadImageInformation``), never reproducibly. A header read is a few
milliseconds, so serialising them costs nothing noticeable, while the voxel reads
(``ImageFileReader.Execute``) still run in parallel.
"""

from __future__ import annotations

import threading

import SimpleITK as sitk

_HEADER_LOCK = threading.Lock()


def read_header(reader: sitk.ImageFileReader) -> None:
    """``reader.ReadImageInformation()`` under the process-wide header lock (exceptions pass through).

    Parameters
    ----------
    reader : SimpleITK.ImageFileReader
        A reader whose file name (and ImageIO, if any) is set.
    """
    with _HEADER_LOCK:
        reader.ReadImageInformation()


def header_lock_held() -> bool:
    """Whether a header read is in progress in some thread (for tests)."""
    return _HEADER_LOCK.locked()
