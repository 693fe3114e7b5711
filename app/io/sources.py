"""Provenance of each input: path, checksum, format, and what writing a file back needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.io.geometry import Geometry


@dataclass(frozen=True)
class InputFile:
    """One input of a case, as it was on disk.

    Attributes
    ----------
    path : str
        What the user passed (a file, a DICOM directory, or ``DIR::SERIES_UID``).
    sha256 : str
        SHA-256 of the file's bytes (several files: of their names and bytes, in order).
    format : str
        ``"NIfTI"``, ``"NRRD"``, ``"3D Slicer segmentation"``, ``"MetaImage"``, ``"DICOM series"``,
        ``"PNG"``, ``"TIFF"``, ``"JPEG"``, ``"BMP"``, ``"NumPy"``, or a label-table / score format.
    dtype : str or None
        numpy dtype name of the pixels on disk (``"uint8"``, ``"int16"``...), used when writing back.
    geometry : Geometry or None
        The grid as read (None for label tables and scores; unit grid for ``.npy``).
    details : str
        Extra provenance, e.g. ``"series 1.2.3 (120 files)"``.
    files : tuple of str
        Every file the input was read from.
    metadata : dict
        Header keys worth writing back (the ``Segment*`` keys of a ``.seg.nrrd``).
    """

    path: str
    sha256: str
    format: str
    dtype: str | None = None
    geometry: Geometry | None = None
    details: str = ""
    files: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready provenance: path, sha256, format (+ details when set)."""
        document = {"path": self.path, "sha256": self.sha256, "format": self.format}
        if self.details:
            document["details"] = self.details
        return document

