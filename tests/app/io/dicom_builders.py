"""Build small DICOM objects for tests, in code (no downloads): a CT-like series with pydicom,
SEG objects with highdicom, RTSTRUCT objects with pydicom datasets."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, RTStructureSetStorage, generate_uid

SPACING = (0.75, 0.8, 2.5)  # (x, y, z) mm
ORIGIN = (-20.0, 15.0, 100.0)
STUDY_UID = "1.2.826.0.1.3680043.10.511.1"
FRAME_OF_REFERENCE_UID = "1.2.826.0.1.3680043.10.511.2"


def write_ct_series(directory: Path, array_zyx: np.ndarray, *, series_uid: str = "1.2.826.0.1.3680043.10.511.3",
                    frame_of_reference_uid: str = FRAME_OF_REFERENCE_UID, spacing=SPACING,
                    origin=ORIGIN) -> list[Dataset]:
    """One CT Image Storage file per slice (axial, identity orientation); returns the datasets in slice order."""
    directory.mkdir(parents=True, exist_ok=True)
    datasets = []
    for z, plane in enumerate(np.asarray(array_zyx, dtype=np.int16)):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = f"{series_uid}.{z + 1}"
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = f"{series_uid}.{z + 1}"
        ds.StudyInstanceUID = STUDY_UID
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_of_reference_uid
        ds.PatientID = "DL-0042"
        ds.PatientName = "Test^Patient"
        ds.PatientBirthDate = "19700101"
        ds.PatientSex = "O"
        ds.StudyDate = "20261115"
        ds.StudyTime = "101500"
        ds.StudyID = "1"
        ds.AccessionNumber = "A1"
        ds.ReferringPhysicianName = ""
        ds.Modality = "CT"
        ds.SeriesNumber = 3
        ds.SeriesDescription = "Thorax 2.5mm"
        ds.Manufacturer = "Test"
        ds.InstanceNumber = z + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + z * spacing[2]]
        ds.PixelSpacing = [spacing[1], spacing[0]]  # row spacing (y), column spacing (x)
        ds.SliceThickness = spacing[2]
        ds.PositionReferenceIndicator = ""
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.PixelData = plane.tobytes()
        ds.save_as(directory / f"ct{z:03d}.dcm", enforce_file_format=True)
        datasets.append(pydicom.dcmread(directory / f"ct{z:03d}.dcm"))
    return datasets


def segment_description(number: int, label: str, color=None) -> hd.seg.SegmentDescription:
    """A manually drawn tissue segment (``color``: RGB 0..255, stored as CIELab)."""
    kwargs = {}
    if color is not None:
        kwargs["display_color"] = hd.color.CIELabColor.from_rgb(*color)
    return hd.seg.SegmentDescription(
        segment_number=number, segment_label=label,
        segmented_property_category=hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure"),
        segmented_property_type=hd.sr.CodedConcept("85756007", "SCT", "Tissue"),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL, **kwargs)


def write_seg(path: Path, source: list[Dataset], masks: np.ndarray, labels: list[str], *,
              fractional: bool = False, colors=None, reverse_frames: bool = False) -> Path:
    """A SEG of ``masks`` (``(S, z, y, x)`` bool or float in 0..1), segment i+1 named labels[i].

    ``reverse_frames`` stores the frames in the opposite order (and their functional groups with them).
    """
    pixel_array = np.moveaxis(np.asarray(masks), 0, -1)  # (z, y, x, S)
    colors = colors or [None] * len(labels)
    seg = hd.seg.Segmentation(
        source_images=source, pixel_array=pixel_array.astype(np.float32 if fractional else bool),
        segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL if fractional
        else hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment_description(i + 1, name, color)
                              for i, (name, color) in enumerate(zip(labels, colors, strict=True))],
        series_instance_uid=generate_uid(), series_number=40, sop_instance_uid=generate_uid(),
        instance_number=1, manufacturer="Tests", manufacturer_model_name="builder",
        software_versions="1", device_serial_number="1", omit_empty_frames=False)
    if reverse_frames:
        frame_bytes = seg.Rows * seg.Columns  # pixels per frame: bytes (fractional) or bits (binary)
        count = int(seg.NumberOfFrames)
        if fractional:
            frames = [seg.PixelData[i * frame_bytes:(i + 1) * frame_bytes] for i in range(count)]
            seg.PixelData = b"".join(reversed(frames))
        else:
            bits = np.unpackbits(np.frombuffer(seg.PixelData, np.uint8), bitorder="little")[:count * frame_bytes]
            frames = bits.reshape(count, frame_bytes)[::-1]
            seg.PixelData = np.packbits(frames.ravel(), bitorder="little").tobytes()
        seg.PerFrameFunctionalGroupsSequence = Sequence(list(seg.PerFrameFunctionalGroupsSequence)[::-1])
    seg.save_as(path)
    return path


def write_rtstruct(path: Path, source: list[Dataset], rois: list[tuple[str, list[np.ndarray]]], *,
                   colors=None, frame_of_reference_uid: str | None = None) -> Path:
    """An RTSTRUCT with one ROI per ``(name, contours)``; each contour ``(n, 3)`` patient coordinates (mm)."""
    first = source[0]
    frame_uid = frame_of_reference_uid or first.FrameOfReferenceUID
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = RTStructureSetStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = RTStructureSetStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    for keyword in ("StudyInstanceUID", "PatientID", "PatientName", "StudyDate", "StudyID"):
        setattr(ds, keyword, getattr(first, keyword))
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "RTSTRUCT"
    ds.StructureSetLabel = "test"
    images = Sequence()
    for image in source:
        item = Dataset()
        item.ReferencedSOPClassUID = image.SOPClassUID
        item.ReferencedSOPInstanceUID = image.SOPInstanceUID
        images.append(item)
    series = Dataset()
    series.SeriesInstanceUID = first.SeriesInstanceUID
    series.ContourImageSequence = images
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = first.StudyInstanceUID
    study.RTReferencedSeriesSequence = Sequence([series])
    frame = Dataset()
    frame.FrameOfReferenceUID = frame_uid
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    ds.StructureSetROISequence = Sequence()
    ds.ROIContourSequence = Sequence()
    ds.RTROIObservationsSequence = Sequence()
    for number, (name, contours) in enumerate(rois, start=1):
        roi = Dataset()
        roi.ROINumber = number * 10  # ROI numbers need not be 1, 2, ...
        roi.ReferencedFrameOfReferenceUID = frame_uid
        roi.ROIName = name
        roi.ROIGenerationAlgorithm = "MANUAL"
        ds.StructureSetROISequence.append(roi)
        contour_items = Sequence()
        for points in contours:
            contour = Dataset()
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(points)
            contour.ContourData = [float(v) for v in np.asarray(points).ravel()]
            contour_items.append(contour)
        roi_contour = Dataset()
        roi_contour.ReferencedROINumber = number * 10
        roi_contour.ROIDisplayColor = list(colors[number - 1]) if colors else [255, 0, 0]
        roi_contour.ContourSequence = contour_items
        ds.ROIContourSequence.append(roi_contour)
    ds.save_as(path, enforce_file_format=True)
    return path


def pixel_polygon(points_xy, z_index: int, spacing=SPACING, origin=ORIGIN) -> np.ndarray:
    """Pixel coordinates ``(x, y)`` on slice ``z_index`` to an ``(n, 3)`` contour in mm."""
    points = np.asarray(points_xy, dtype=np.float64)
    return np.column_stack([origin[0] + points[:, 0] * spacing[0], origin[1] + points[:, 1] * spacing[1],
                            np.full(len(points), origin[2] + z_index * spacing[2])])
