"""Cells of the CSV files DiceLens writes, made safe to open in a spreadsheet.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken for a
formula by Excel, LibreOffice and Google Sheets (CSV / formula injection: a label named
``=HYPERLINK("http://x")`` or a case file ``=2+5.nrrd`` would run). Following the OWASP rule such a
cell gets a leading single quote, which spreadsheets show as text. Only ``str`` cells are changed:
numbers written as numbers (a negative float, an int) stay numbers, so the columns remain numeric.
Every CSV writer in the application passes its rows through :func:`safe_row`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula; else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    """:func:`safe_cell` applied to every cell of a ``csv.writer`` row."""
    return [safe_cell(value) for value in values]


def safe_dict_row(row: Mapping[str, object]) -> dict[str, object]:
    """:func:`safe_cell` applied to every value of a ``csv.DictWriter`` row (keys are the header, ours)."""
    return {key: safe_cell(value) for key, value in row.items()}
