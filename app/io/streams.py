"""Decompress a file's compressed payload once, end to end, so that every checksum in it is checked.

Readers decompress only as many bytes as the header asks for and never look at the rest: a flipped
bit (which zlib would catch at the gzip trailer's CRC-32) or a stream cut short under a forged
trailer (caught by the trailer's length) slips through, and the case is scored from wrong voxels.
Here the whole stream is inflated in fixed-size chunks (memory stays bounded, the output is thrown
away): zlib itself verifies the CRC-32 and the length ``ISIZE`` of every gzip member, and the
Adler-32 of a zlib stream, once it reaches the end. Concatenated gzip members are each verified;
NUL padding after the last one is allowed, anything else is refused.

``on_data`` lets a caller look at the decompressed bytes on the way (e.g. scan float voxels for
non-finite values) without a second pass.
"""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Callable
from pathlib import Path

READ_CHUNK_BYTES = 1 << 20
OUTPUT_CHUNK_BYTES = 1 << 20
OVERRUN_SLACK_BYTES = 1 << 20
"""How far a stream may decompress beyond what the header describes before it is refused as a bomb."""

_GZIP_MAGIC = b"\x1f\x8b"


class DamagedStream(Exception):
    """The compressed data is corrupt, cut short or holds more than it should (message says which)."""


def verify_gzip(path: Path, start: int, promised: int, *, on_data: Callable[[bytes], None] | None = None) -> int:
    """Inflate the gzip data of ``path`` from byte ``start`` to the end, checking every member's CRC-32/ISIZE.

    Parameters
    ----------
    path : Path
        The file.
    start : int
        Where the gzip data begins (0 for ``.nii.gz``; after the header for an attached NRRD payload).
    promised : int
        Uncompressed bytes the header describes; fewer is an error, and so is more than
        ``promised + max(promised, OVERRUN_SLACK_BYTES)`` (a decompression bomb behind a small header).
    on_data : callable, optional
        Called with each decompressed chunk, in order.

    Returns
    -------
    int
        Uncompressed bytes produced.

    Raises
    ------
    DamagedStream
        Not gzip data, a checksum or length mismatch, a cut stream, trailing bytes, or too much data.
    OSError
        The file cannot be read.
    """
    return _inflate(path, start, None, promised, False, on_data, lambda: zlib.decompressobj(wbits=31),
                    "gzip", many_members=True)


def verify_zlib(path: Path, start: int, length: int | None, expected: int) -> int:
    """Inflate one zlib stream (MetaImage ``CompressedData``): it must give exactly ``expected`` bytes.

    Parameters
    ----------
    path : Path
        The file.
    start : int
        Where the stream begins.
    length : int or None
        The stream's length in the file (MetaImage ``CompressedDataSize``); None: up to the end.
        Bytes in the file after the stream are refused either way.
    expected : int
        Uncompressed bytes the header describes.

    Raises
    ------
    DamagedStream
        A checksum error, a cut stream, extra bytes inside or after it, or a length mismatch.
    """
    return _inflate(path, start, length, expected, True, None, zlib.decompressobj, "zlib", many_members=False)


def verify_bzip2(path: Path, start: int, promised: int) -> int:
    """Decompress bzip2 data (NRRD ``encoding: bzip2``) to the end; each block's CRC is checked by bz2."""
    return _inflate(path, start, None, promised, False, None, bz2.BZ2Decompressor, "bzip2", many_members=True)


def _inflate(path: Path, start: int, length: int | None, promised: int, exact: bool,
             on_data: Callable[[bytes], None] | None, make_decompressor, kind: str,
             *, many_members: bool) -> int:
    limit = promised if exact else promised + max(promised, OVERRUN_SLACK_BYTES)
    produced = 0
    with path.open("rb") as stream:
        stream.seek(start)
        source = _Source(stream, length)
        pending = source.read()
        if kind == "gzip" and pending[:2] != _GZIP_MAGIC:
            raise DamagedStream(f"the data at byte {start} is not gzip-compressed")
        decompressor = make_decompressor()
        output_was_full = False
        while True:
            if not pending and getattr(decompressor, "needs_input", True):
                pending = source.read()
                if not pending and not output_was_full:
                    break  # the file ends inside the stream (zlib may still hold output when it was full)
            try:
                chunk = decompressor.decompress(pending, OUTPUT_CHUNK_BYTES)
            except (zlib.error, OSError, EOFError) as error:
                raise DamagedStream(f"the {kind} data is corrupt after {produced} uncompressed bytes "
                                    f"({error})") from None
            pending = getattr(decompressor, "unconsumed_tail", b"")
            output_was_full = len(chunk) == OUTPUT_CHUNK_BYTES
            produced += len(chunk)
            if produced > limit:
                raise DamagedStream(f"the {kind} data holds more than the {promised} bytes the header "
                                    f"describes{' (extra bytes after the voxels)' if exact else ''}")
            if on_data is not None and chunk:
                on_data(chunk)
            if decompressor.eof:
                pending = decompressor.unused_data + pending
                if not many_members:
                    if pending or source.read():
                        raise DamagedStream(f"bytes follow the end of the {kind} data (the file is damaged "
                                            "or its header gives the wrong size)")
                    return _complete(produced, promised, kind)
                pending = source.skip_padding(pending)
                if not pending:
                    return _complete(produced, promised, kind)
                if not pending.startswith(_GZIP_MAGIC if kind == "gzip" else b"BZh"):
                    raise DamagedStream(f"bytes that are not {kind} data follow the end of the {kind} data "
                                        "(the file was damaged or two files were joined)")
                decompressor = make_decompressor()
    raise DamagedStream(f"the {kind} data stops early (cut after {produced} uncompressed bytes)")


def _complete(produced: int, promised: int, kind: str) -> int:
    if produced < promised:
        raise DamagedStream(f"the header promises {promised} bytes of data but the {kind} stream holds "
                            f"only {produced}")
    return produced


class _Source:
    """Reads a file in chunks, up to ``length`` bytes when given."""

    def __init__(self, stream, length: int | None) -> None:
        self._stream = stream
        self._left = length

    def read(self) -> bytes:
        want = READ_CHUNK_BYTES if self._left is None else min(READ_CHUNK_BYTES, self._left)
        data = self._stream.read(want) if want > 0 else b""
        if self._left is not None:
            self._left -= len(data)
        return data

    def skip_padding(self, pending: bytes) -> bytes:
        """``pending`` and what follows with leading NUL bytes dropped; b"" at the end of the data."""
        while True:
            pending = pending.lstrip(b"\x00")
            if len(pending) >= 2:
                return pending
            more = self.read()
            if not more:
                return pending
            pending += more
