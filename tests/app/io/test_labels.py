"""Label tables in the four formats, detected from their content, with names and colours."""

from __future__ import annotations

import itertools
import json

import pytest

from app.errors import InputError
from app.io import LabelEntry, LabelTable, generated_color, read_label_table

ITKSNAP = """################################################
# ITK-SnAP Label Description File
# Columns = IDX -R- -G- -B- -A-- VIS MSH LABEL
################################################
    0     0    0    0        0  0  0    "Clear Label"
    1   255    0    0        1  1  1    "Left lung"
    2     0  255    0      0.5  1  1    "Liver (segment \\"IV\\")"
   14     0    0  255        1  1  1    "Aorta"
"""

SLICER = """# Color table file /tmp/organs.ctbl
# 4 values
0 Background 0 0 0 0
1 left_lung 230 158 140 255
2 liver 221 130 101 255
14 aorta 224 97 76 255
"""

PLAIN = """# organ list
1 left lung
2: liver
14,aorta
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_itksnap_label_description(tmp_path):
    table = read_label_table(_write(tmp_path, "labels.txt", ITKSNAP))
    assert table.source_format == "ITK-SNAP label description"
    assert table.indices() == [0, 1, 2, 14]
    assert table.name(1) == "Left lung"
    assert table.color(1) == (255, 0, 0)
    assert table.name(14) == "Aorta" and table.size == 15
    assert table.name(2) == 'Liver (segment "IV")'


def test_slicer_colour_table(tmp_path):
    table = read_label_table(_write(tmp_path, "organs.ctbl", SLICER))
    assert table.source_format == "3D Slicer colour table"
    assert table.name(2) == "liver" and table.color(2) == (221, 130, 101)
    assert table.name(0) == "Background"


def test_nnunet_dataset_json_v2_and_v1(tmp_path):
    v2 = {"channel_names": {"0": "CT"}, "labels": {"background": 0, "liver": 1, "tumour": 2},
          "numTraining": 3, "file_ending": ".nii.gz"}
    table = read_label_table(_write(tmp_path, "dataset.json", json.dumps(v2)))
    assert table.source_format == "nnU-Net dataset.json"
    assert [table.name(i) for i in range(3)] == ["background", "liver", "tumour"]
    v1 = {"labels": {"0": "background", "1": "spleen"}}
    assert read_label_table(_write(tmp_path, "v1.json", json.dumps(v1))).name(1) == "spleen"


def test_nnunet_region_based_labels_give_a_clear_error(tmp_path):
    regions = {"labels": {"background": 0, "whole tumour": [1, 2, 3], "enhancing": 3}}
    with pytest.raises(InputError, match=r"region-based"):
        read_label_table(_write(tmp_path, "dataset.json", json.dumps(regions)))


def test_plain_index_name_list(tmp_path):
    table = read_label_table(_write(tmp_path, "names.txt", PLAIN))
    assert table.source_format == "index-name list"
    assert (table.name(1), table.name(2), table.name(14)) == ("left lung", "liver", "aorta")


def test_missing_names_fall_back_and_colours_are_generated(tmp_path):
    table = read_label_table(_write(tmp_path, "names.txt", PLAIN))
    assert table.name(7) == "label 7"
    assert table.color(0) == (0, 0, 0)
    colours = [table.color(i) for i in range(1, 40)]
    assert len(set(colours)) == len(colours)
    assert table.color(5) == generated_color(5)


def test_generated_colours_are_deterministic_and_far_apart():
    first = [generated_color(i) for i in range(1, 12)]
    assert first == [generated_color(i) for i in range(1, 12)]
    for a, b in itertools.pairwise(first):
        assert sum(abs(x - y) for x, y in zip(a, b, strict=True)) > 60


@pytest.mark.parametrize("text,fragment", [
    ("1 liver\n1 spleen\n", "listed twice"),
    ("liver 1\n", "line 1"),
    ("", "no label lines"),
    ('{"labels": {"liver": "x"}}', "not an integer"),
    ('{"labels": {"a": 1, "b": 1}}', "given to both"),
    ('{"name": "no labels"}', '"labels" object'),
    ('{"labels": ', "not valid JSON"),
    ("1 liver 300 0 0 255\n", "0..255"),
])
def test_bad_label_tables(tmp_path, text, fragment):
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(InputError, match=r"bad.txt") as raised:
        read_label_table(path)
    assert fragment in str(raised.value)


def test_missing_label_table(tmp_path):
    with pytest.raises(InputError, match=r"does not exist"):
        read_label_table(tmp_path / "nope.txt")


def test_label_table_rejects_duplicate_and_negative_entries():
    with pytest.raises(ValueError, match=r"twice"):
        LabelTable([LabelEntry(1, "a"), LabelEntry(1, "b")])
    with pytest.raises(ValueError, match=r">= 0"):
        LabelTable([LabelEntry(-1, "a")])


@pytest.mark.parametrize("text,line_number", [
    # ITK-SNAP: an unterminated quote was read as the plain-list name '0 0 0 0 0 0 "bg'.
    ('0 0 0 0 0 0 0 "bg\n1 255 0 0 1 1 1 "liver"\n', 1),
    ('0 0 0 0 0 0 0 "Clear Label"\n1 255 0 0 1 1 1 "liver\n', 2),
    ('0 0 0 0 0 0 0 "Clear Label"\n1 255 0 0 1 1 1 liver\n', 2),
    ('0 0 0 0 0 0 0 "Clear Label"\n1 255 0 0 1 1 1 "liver" extra\n', 2),
    # 3D Slicer: a line with a missing colour field was read as a plain name.
    ("0 Background 0 0 0 0\n1 liver 221 130 101\n", 2),
    # plain list: unbalanced quotes
    ('1 "left lung\n2 liver\n', 1),
    ('1 liver\n2 "\n', 2),
])
def test_malformed_line_is_refused_with_its_number(tmp_path, text, line_number):
    path = _write(tmp_path, "table.txt", text)
    with pytest.raises(InputError, match=rf"table.txt': line {line_number} \(") as raised:
        read_label_table(path)
    assert "is not a label line of the" in str(raised.value)


def test_deeply_nested_json_gives_a_message_not_a_recursion_error(tmp_path):
    path = _write(tmp_path, "dataset.json", '{"labels": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(InputError, match=r"dataset.json': the JSON is nested too deeply"):
        read_label_table(path)


def test_duplicate_json_key_is_refused_not_silently_dropped(tmp_path):
    path = _write(tmp_path, "dataset.json", '{"labels": {"background": 0, "liver": 1, "liver": 2}}')
    with pytest.raises(InputError, match=r'the key "liver" appears twice'):
        read_label_table(path)


def test_lone_surrogate_in_a_json_name_is_refused_with_its_line(tmp_path):
    path = _write(tmp_path, "dataset.json", '{\n "labels": {\n  "background": 0,\n  "liv\\ud800er": 1\n }\n}')
    with pytest.raises(InputError, match=r"line 4: label 1: the name 'liv\\ud800er' contains an invalid") as raised:
        read_label_table(path)
    str(raised.value).encode("utf-8")  # the message itself can be printed


def test_text_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "table.txt"
    path.write_bytes(b"1 liver\n2 sp\xe4en\n")
    with pytest.raises(InputError, match=r"table.txt': line 2 is not valid UTF-8"):
        read_label_table(path)


def test_an_enormous_file_is_not_read_as_a_label_table(tmp_path):
    path = tmp_path / "table.txt"
    with path.open("wb") as stream:
        stream.truncate(64 << 20)  # sparse: no disk used
    with pytest.raises(InputError, match=r"table.txt' is 67 MB; a label table is a small text file"):
        read_label_table(path)
