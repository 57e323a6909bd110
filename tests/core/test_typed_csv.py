"""Typed CSV: what is written reads back exactly, and opens safely in a spreadsheet."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wbsdesk.core.csv_export import FORMULA_START
from wbsdesk.core.typed_csv import TypedCsvError, read_typed, write_typed

COLS = (("text", "text"), ("maybe", "opt_text"), ("n", "int"), ("m", "opt_int"),
        ("x", "float"), ("y", "opt_float"), ("b", "bool"), ("c", "opt_bool"))
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
rows = st.fixed_dictionaries({
    "text": texts, "maybe": st.none() | texts.filter(bool),
    "n": st.integers(-2**62, 2**62), "m": st.none() | st.integers(-5, 5),
    "x": st.floats(allow_nan=True, allow_infinity=True), "y": st.none() | st.floats(),
    "b": st.booleans(), "c": st.none() | st.booleans()})


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@given(st.lists(rows, max_size=5))
def test_every_value_reads_back_exactly(data):
    back = read_typed(write_typed(data, COLS), COLS)
    assert len(back) == len(data)
    for got, want in zip(back, data, strict=True):
        for key, v in want.items():
            assert _same(got[key], v), (key, v, got[key])


@given(st.lists(rows, min_size=1, max_size=5))
def test_no_text_cell_starts_like_a_formula(data):
    import csv
    import io

    for line in list(csv.reader(io.StringIO(write_typed(data, COLS), newline="")))[1:]:
        for (name, kind), cell in zip(COLS, line, strict=True):
            if "text" in kind and cell:
                assert not cell.startswith(FORMULA_START), (name, cell)


def test_a_probability_keeps_every_bit():
    p = 0.1 + 0.2
    text = write_typed([{"x": p}], (("x", "float"),))
    assert text == "x\n0.30000000000000004\n"
    assert read_typed(text, (("x", "float"),))[0]["x"] == p


def test_errors_name_the_file_line_and_column():
    with pytest.raises(TypedCsvError, match=r"cases.csv, line 3, column 'n': 'x' is not int"):
        read_typed("n\n1\nx\n", (("n", "int"),), source="cases.csv")
    with pytest.raises(TypedCsvError, match="the header is"):
        read_typed("a\n1\n", (("n", "int"),), source="cases.csv")
    with pytest.raises(TypedCsvError, match="may not be empty"):
        write_typed([{"n": None}], (("n", "int"),))
