"""CSV text of typed columns that reads back to exactly the values written (text only; no I/O).

The data files of a reproducibility bundle must round-trip: a probability written and read
again is the same float, bit for bit, and a reader's role is the same string. Floats are
written with :func:`repr` (the shortest text that reads back to the same float), ``None``
as an empty cell, booleans as ``1``/``0``.

Text cells are also safe to open in a spreadsheet (:func:`wbsdesk.core.csv_export.safe_cell`):
a text a spreadsheet would run as a formula gets a leading ``'``. To keep that reversible,
a text that itself starts with ``'`` gets one too, and reading drops exactly one leading
``'``.

Column types: ``text`` (``""`` stays ``""``), ``opt_text`` (``""`` is ``None``), ``int``,
``opt_int``, ``float``, ``opt_float``, ``bool``, ``opt_bool``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from wbsdesk.core.csv_export import csv_text, safe_cell

__all__ = ["TYPES", "Columns", "TypedCsvError", "read_typed", "write_typed"]

TYPES = ("text", "opt_text", "int", "opt_int", "float", "opt_float", "bool", "opt_bool")
#: A table's columns: (name, type) pairs.
Columns = Sequence[tuple[str, str]]


class TypedCsvError(ValueError):
    """A typed CSV text does not hold what its columns say (names the line and column)."""


def _escape(text: str) -> str:
    return "'" + text if text.startswith("'") or safe_cell(text) != text else text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _cell(value: Any, kind: str, name: str) -> Any:
    if value is None:
        if not kind.startswith("opt_"):
            raise TypedCsvError(f"column {name!r} ({kind}) may not be empty")
        return None
    base = kind.removeprefix("opt_")
    if base == "text":
        if not isinstance(value, str):
            raise TypedCsvError(f"column {name!r} holds text, not {value!r}")
        return _escape(value)
    if base == "bool":
        return bool(value)
    if base == "int":
        if isinstance(value, float) or int(value) != value:
            raise TypedCsvError(f"column {name!r} holds integers, not {value!r}")
        return int(value)
    return float(value)


def _number(value: Any) -> str:
    """A number as written: bools 1/0, ints as they are, floats by repr (NaN as ``NaN``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "NaN" if math.isnan(value) else repr(value)


def write_typed(rows: Iterable[Mapping[str, Any]], columns: Columns) -> str:
    """CSV text of ``rows`` (a header line, then one line per row; lines end in ``\\n``).

    Examples
    --------
    >>> cols = (("case", "text"), ("p", "float"), ("age", "opt_float"))
    >>> text = write_typed([{"case": "=S1", "p": 0.1 + 0.2, "age": None}], cols)
    >>> print(text, end="")
    case,p,age
    '=S1,0.30000000000000004,
    >>> read_typed(text, cols)[0] == {"case": "=S1", "p": 0.1 + 0.2, "age": None}
    True
    """
    for _, kind in columns:
        if kind not in TYPES:
            raise ValueError(f"unknown column type {kind!r}")
    names = [n for n, _ in columns]
    out = [{n: _cell(row.get(n), kind, n) for n, kind in columns} for row in rows]
    return csv_text(out, names, convert=_number)


def _parse(text: str, kind: str) -> Any:
    if text == "" and kind.startswith("opt_"):
        return None
    base = kind.removeprefix("opt_")
    if base == "text":
        return _unescape(text)
    if base == "bool":
        if text not in ("0", "1"):
            raise ValueError(f"{text!r} is not 0 or 1")
        return text == "1"
    if base == "int":
        return int(text)
    return float(text)


def read_typed(text: str, columns: Columns, *, source: str = "<csv>") -> list[dict[str, Any]]:
    """The rows of a :func:`write_typed` text, as dicts of typed values.

    Raises
    ------
    TypedCsvError
        The header is not ``columns``, or a cell is not of its column's type (the message
        names ``source``, the line and the column).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise TypedCsvError(f"{source}: empty file") from None
    names = [n for n, _ in columns]
    if header != names:
        raise TypedCsvError(f"{source}: the header is {header}, expected {names}")
    rows = []
    for line, cells in enumerate(reader, start=2):
        if len(cells) != len(columns):
            raise TypedCsvError(f"{source}, line {line}: {len(cells)} cells, expected "
                                f"{len(columns)}")
        row = {}
        for (name, kind), cell in zip(columns, cells, strict=True):
            try:
                row[name] = _parse(cell, kind)
            except ValueError as exc:
                raise TypedCsvError(f"{source}, line {line}, column {name!r}: {cell!r} is not "
                                    f"{kind} ({exc})") from None
        rows.append(row)
    return rows
