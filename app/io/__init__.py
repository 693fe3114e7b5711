"""Qt-free input/output: read and validate cases (SimpleITK), label tables, class scores; write masks back.

The entry point is :func:`load_case`; :func:`save_mask` writes an edited mask in its source's format
and geometry, :func:`app.io.seg_writing.save_dicom_seg` as a DICOM SEG of the case's
series (:func:`dicom_series`);
:func:`read_label_table` and :func:`read_scores` read the optional inputs on their own.
"""

from app.io.case import Case, count_classes, dicom_series, load_case
from app.io.geometry import Geometry
from app.io.images import READABLE_ENDINGS
from app.io.labels import LabelEntry, LabelTable, generated_color, read_label_table
from app.io.scores import read_scores
from app.io.sources import InputFile
from app.io.writing import describe_saved, save_mask, write_text_atomic

__all__ = [
    "READABLE_ENDINGS",
    "Case",
    "Geometry",
    "InputFile",
    "LabelEntry",
    "LabelTable",
    "count_classes",
    "describe_saved",
    "dicom_series",
    "generated_color",
    "load_case",
    "read_label_table",
    "read_scores",
    "save_mask",
    "write_text_atomic",
]
