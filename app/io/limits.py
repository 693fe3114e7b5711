"""How large a volume DiceLens agrees to read, decided from the header before any pixel is decoded.

A few kilobytes of ``.nii.gz`` or ``.nrrd`` can declare a 2000 x 2000 x 1000 volume; reading it
would decompress gigabytes before anything else is checked, and a ``.npy`` header can ask numpy
for 10^15 elements. Every reader therefore asks :func:`check_declared_size` first.

The default limit follows from the memory available now (``MemAvailable`` in ``/proc/meminfo``,
else ``os.sysconf``): a volume is refused when its pixels as stored plus the engine's working
copies (:data:`WORKING_BYTES_PER_VOXEL`: int64 label indices and their counts) would not fit.
``max_voxels`` (``--max-voxels N`` on the command line, passed explicitly to every reader: the
commands, batch jobs on any worker, the window's loader) replaces that limit; where none is passed,
the environment variable :data:`MAX_VOXELS_VARIABLE` may set it (a machine-wide default).

The window keeps more for as long as a case is open: its objects lane
(:class:`dice_engine.LiveObjects`) holds its own copies of both masks and an object-id volume per mask,
:data:`OBJECTS_BYTES_PER_VOXEL` in all, and the object scores it keeps between edits (points and k-d
trees of every object's face boundary, :func:`dice_engine.live_objects.score_cache_bytes`). The commands
need no more than the reading budget for objects (they count them after the engine's working copies are
freed). :func:`objects_lane_memory_problem` tells the objects lane, before it builds its state, whether
both fit in the memory available then; when they do not, the lane is turned off for the case with that
message, and the rest of the window works on. Its budget also holds the object masks it keeps for the
outlines (:data:`OBJECT_MASKS_KEPT_BYTES`) and, with ``view --semantic-gt/--semantic-pred``, its copies of
the semantic masks and the class maps that replace its 1-byte masks (docs/architecture.md §5d). The window's
own copies of the semantic masks (the voxel case it scores) are counted when they are read
(:func:`semantic_copies_memory_problem`): a case whose copies would not fit is refused with that message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from app.errors import InputError

WORKING_BYTES_PER_VOXEL = 16
"""Engine working memory per voxel on top of the pixels: two int64 arrays (combined index, counts)."""
OBJECTS_BYTES_PER_VOXEL = 6
"""What the window's objects lane keeps per voxel (1-byte masks): both masks copied (2 bytes) and two
``uint16`` id volumes (4 bytes; ``int32`` only past 65535 objects). Measured on 300x512x512 with 150
lesions: 472 MB kept, 493 MB peak while building (bench/objects.py); it was 10 bytes (786 MB) with
``int32`` ids."""
OBJECTS_BUILD_MARGIN = 1.25
"""Head room over :data:`OBJECTS_BYTES_PER_VOXEL` for the build's transient arrays (measured: +4 %)."""
OBJECT_MASKS_KEPT_BYTES = 64_000_000
"""What the objects lane keeps at most of the object masks it gave for outlines
(``dice_engine.live_objects.KEPT_MASK_BYTES``; equal, checked by a test, so the engine is not imported here)."""
SEMANTIC_COPIES = 1
"""Copies of each semantic mask the window makes beyond the one it reads, with ``view --semantic-*``: the
read-only voxel case the Dice table scores (app/qt/instance_voxels.py); the mask read is the working copy that
edits write."""
MAX_VOXELS_VARIABLE = "DICELENS_MAX_VOXELS"
_MEMINFO = Path("/proc/meminfo")


def available_memory_bytes() -> int | None:
    """Memory the process can still use (Linux ``MemAvailable``; else free pages), or None if unknown."""
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def max_voxels_from_environment() -> int | None:
    """The override in :data:`MAX_VOXELS_VARIABLE`, or None when unset.

    Raises
    ------
    InputError
        The variable is not a positive integer.
    """
    text = os.environ.get(MAX_VOXELS_VARIABLE, "").strip()
    if not text:
        return None
    return parse_max_voxels(text, MAX_VOXELS_VARIABLE)


def parse_max_voxels(text: str, option: str = "--max-voxels") -> int:
    """A positive voxel count from ``text`` (``1e9`` and ``1_000_000_000`` allowed), or InputError."""
    text = text.strip().replace("_", "")
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        value = int(number) if math.isfinite(number) and number == int(number) else 0
    if value <= 0:
        raise InputError(f"{option} must be a positive whole number of voxels, got {text!r}.")
    return value


def check_declared_size(name: str, shape: Sequence[int], bytes_per_voxel: int,
                        max_voxels: int | None = None) -> None:
    """Refuse a volume whose declared size exceeds the limit, before reading its pixels.

    Parameters
    ----------
    name : str
        How the message names the input, e.g. ``"prediction 'pred.nii.gz'"``.
    shape : sequence of int
        The declared voxel counts per axis (any order; a channel count may be included).
    bytes_per_voxel : int
        Bytes of one voxel as the reader will hold it (all components).
    max_voxels : int, optional
        The user's limit; default: the environment's, else what available memory allows.

    Raises
    ------
    InputError
        With the declared size, the limit and how to override it.
    """
    voxels = math.prod(int(n) for n in shape)
    if max_voxels is None:
        max_voxels = max_voxels_from_environment()
    size_text = "x".join(str(int(n)) for n in shape)
    needed = voxels * (bytes_per_voxel + WORKING_BYTES_PER_VOXEL)
    if max_voxels is not None:
        if voxels <= max_voxels:
            return
        reason = f"the limit set with --max-voxels is {max_voxels:,} voxels"
        advice = f"If the file is genuine, pass --max-voxels {voxels} or more"
    else:
        available = available_memory_bytes()
        if available is None or needed <= available:
            return
        limit = available // (bytes_per_voxel + WORKING_BYTES_PER_VOXEL)
        reason = (f"reading and scoring it needs about {_gb(needed)} of memory but {_gb(available)} is "
                  f"available (limit {limit:,} voxels)")
        advice = f"If the file is genuine, free memory or pass --max-voxels {voxels}"
    raise InputError(f"{name} declares a volume of {size_text} = {voxels:,} voxels ({_gb(voxels * bytes_per_voxel)} "
                     f"of pixels); {reason}. DiceLens checks this before reading, so that a damaged or "
                     f"hostile header cannot exhaust memory. {advice} (environment: "
                     f"{MAX_VOXELS_VARIABLE}={voxels}).")


def objects_memory_bytes(voxels: int, mask_bytes: int = 1, semantic_bytes: int = 0) -> int:
    """Memory the objects lane needs for the volumes of a case of ``voxels`` voxels whose masks have
    ``mask_bytes`` per voxel (kept volumes and the build's head room, :data:`OBJECTS_BUILD_MARGIN`).

    ``semantic_bytes``: per voxel of the semantic masks (``view --semantic-*``), 0 without; the lane then keeps a
    copy of each and a class map of their dtype in place of each 1-byte mask."""
    kept = voxels * (OBJECTS_BYTES_PER_VOXEL + 2 * (mask_bytes - 1))
    if semantic_bytes:
        kept += voxels * 2 * (semantic_bytes + semantic_bytes - 1)
    return int(kept * OBJECTS_BUILD_MARGIN)


def objects_memory_problem(voxels: int, mask_bytes: int = 1, cache_bytes: int = 0,
                           semantic_bytes: int = 0) -> str | None:
    """Why the window cannot keep the objects of a case up to date (one sentence for the user), or None
    when they fit in the memory available now (or it is unknown).

    Parameters
    ----------
    voxels, mask_bytes, semantic_bytes
        As :func:`objects_memory_bytes`.
    cache_bytes : int
        The object scores kept between edits (:func:`dice_engine.live_objects.score_cache_bytes`), on top of
        the volumes and :data:`OBJECT_MASKS_KEPT_BYTES`.
    """
    volumes = objects_memory_bytes(voxels, mask_bytes, semantic_bytes)
    needed = volumes + OBJECT_MASKS_KEPT_BYTES + cache_bytes
    available = available_memory_bytes()
    if available is None or needed <= available:
        return None
    parts = [f"{_gb(volumes)} for its volumes{' and copies of the semantic masks' if semantic_bytes else ''}",
             f"{_gb(OBJECT_MASKS_KEPT_BYTES)} for the object masks kept for outlines"]
    if cache_bytes:
        parts.append(f"{_gb(cache_bytes)} for the object scores kept between edits")
    return (f"Objects are not counted for this case: keeping them up to date needs about {_gb(needed)} of memory"
            f" ({', '.join(parts)}) and {_gb(available)} is available. The rest of the window works as usual; free "
            f"memory and open the case again, or count them with 'dicelens score --objects'.")


def semantic_copies_memory_problem(gt, pred, names: tuple[str, str], max_voxels: int | None = None) -> str | None:
    """Why the window cannot keep its copies of the semantic masks ``gt`` / ``pred`` just read
    (:data:`SEMANTIC_COPIES` of each; one message naming the files), or None when they fit in the memory
    available now (or it is unknown), or when a voxel limit was set (``--max-voxels`` or
    :data:`MAX_VOXELS_VARIABLE`: the user sized the case, as for reading).

    Parameters
    ----------
    gt, pred : numpy.ndarray
        The semantic masks read, ``(z, y, x)``.
    names : tuple of str
        How the message names them (e.g. ``("--semantic-gt 'a.nii.gz'", "--semantic-pred 'b.nii.gz'")``).
    max_voxels : int, optional
        The user's voxel limit, as given to the readers.
    """
    if max_voxels is not None or max_voxels_from_environment() is not None:
        return None
    needed = SEMANTIC_COPIES * (gt.nbytes + pred.nbytes)
    available = available_memory_bytes()
    if available is None or needed <= available:
        return None
    return (f"{names[0]} and {names[1]} were read, but the window's copies of them (the classes it scores and "
            f"keeps up to date) need about {_gb(needed)} of memory more and {_gb(available)} is available. Free "
            f"memory and open the case again, leave out --semantic-gt / --semantic-pred to score the instances "
            f"as one class, or score it with 'dicelens score --instances'.")


def objects_lane_memory_problem(gt, pred, semantic: tuple | None = None) -> str | None:
    """:func:`objects_memory_problem` of the objects lane for these masks, cache included, counted before
    anything is built.

    The volumes are counted from the size alone. The score cache is bounded first by the masks' non-zero
    voxels (one count per mask); only when that bound does not fit are the face-boundary voxels counted
    exactly (a few passes over each mask), so the usual case costs two counts.

    Parameters
    ----------
    gt, pred : numpy.ndarray
        ``(z, y, x)`` masks the lane would give :class:`dice_engine.LiveObjects` (label maps or instance images).
    semantic : tuple of numpy.ndarray, optional
        ``(gt classes, pred classes)`` it would be given with them (instance mode with semantic masks).
    """
    # the engine: imported only when the lane asks
    from dice_engine.live_objects import score_cache_bytes

    voxels, mask_bytes = gt.size, max(gt.itemsize, pred.itemsize)
    semantic_bytes = 0 if semantic is None else max(mask.itemsize for mask in semantic)
    problem = objects_memory_problem(voxels, mask_bytes, semantic_bytes=semantic_bytes)
    if problem is not None:
        return problem
    bound = score_cache_bytes(target=gt, preds=pred, exact=False)
    if objects_memory_problem(voxels, mask_bytes, bound, semantic_bytes) is None:
        return None
    return objects_memory_problem(voxels, mask_bytes, score_cache_bytes(target=gt, preds=pred), semantic_bytes)


def _gb(count: int) -> str:
    if count >= 1e8:
        return f"{count / 1e9:.1f} GB"
    return f"{count / 1e6:.1f} MB" if count >= 1e5 else f"{count / 1e3:.1f} kB"
