"""Pure helpers of the PDF drawing: contour segments, scale bar, compact counts, wrapping, paper sizes."""

from __future__ import annotations

import numpy as np
import pytest

from app.report.charts import compact_count
from app.report.pdf_document import PdfDocument, paper_size_id
from app.report.snapshot import contour_segments, scale_bar_length_mm


def test_contour_of_one_pixel_is_its_four_edges():
    mask = np.zeros((3, 3), bool)
    mask[1, 1] = True
    assert sorted(contour_segments(mask)) == sorted([(1.0, 1.0, 2.0, 1.0), (1.0, 2.0, 2.0, 2.0),
                                                     (1.0, 1.0, 1.0, 2.0), (2.0, 1.0, 2.0, 2.0)])


def test_contour_merges_collinear_edges_and_handles_the_border():
    mask = np.zeros((2, 4), bool)
    mask[0, 0:3] = True          # a 1 x 3 bar touching the top and left border
    segments = contour_segments(mask)
    assert sorted(segments) == sorted([(0.0, 0.0, 3.0, 0.0), (0.0, 1.0, 3.0, 1.0),
                                       (0.0, 0.0, 0.0, 1.0), (3.0, 0.0, 3.0, 1.0)])
    assert contour_segments(np.zeros((4, 4), bool)) == []


def test_contour_length_equals_the_perimeter():
    rng = np.random.default_rng(0)
    mask = rng.random((20, 30)) < 0.4
    padded = np.pad(mask, 1)
    perimeter = (padded[1:, :] != padded[:-1, :]).sum() + (padded[:, 1:] != padded[:, :-1]).sum()
    length = sum(abs(x2 - x1) + abs(y2 - y1) for x1, y1, x2, y2 in contour_segments(mask))
    assert length == perimeter


@pytest.mark.parametrize(("width_mm", "bar"), [(400, 100), (200, 50), (100, 20), (38, 10), (10, 2), (2, 1)])
def test_scale_bar_is_a_round_length_under_a_third_of_the_width(width_mm, bar):
    assert scale_bar_length_mm(width_mm) == bar


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (9999, "9999"), (10_000, "10.0k"), (35_240, "35.2k"),
                                             (123_456, "123k"), (1_240_000, "1.24M"), (52_000_000, "52M"),
                                             (3_000_000_000, "3.0G")])
def test_compact_count(value, text):
    assert compact_count(value) == text


def test_wrapping_keeps_every_word_and_fits_the_width(qapp, tmp_path):
    doc = PdfDocument(tmp_path / "x.pdf")
    font = doc.font(9)
    text = "Left-Cerebral-White-Matter and an exceptionally-long-hyphenated-structure-name-without-spaces " * 3
    lines = doc.wrap_lines(text, font, doc.mm(40))
    assert len(lines) > 3
    assert all(doc.metrics(font).horizontalAdvance(line) <= doc.mm(40) + 1 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    doc.discard()


def test_unknown_paper_is_rejected():
    assert paper_size_id("Letter") != paper_size_id("a4")
    with pytest.raises(ValueError, match="a4, letter"):
        paper_size_id("a3")


def test_light_class_colours_are_darkened_for_lines_on_paper():
    from app.report.charts import readable_on_white

    assert readable_on_white((30, 60, 200)).getRgb()[:3] == (30, 60, 200)
    yellow = readable_on_white((240, 228, 66)).getRgb()[:3]
    assert max(yellow) < 170 and yellow[0] > yellow[2]   # darker, still yellow-ish
