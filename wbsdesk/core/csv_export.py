"""CSV text that a spreadsheet opens as data, never as formulas (builds text; no I/O).

Every CSV file wbsdesk writes for people goes through :func:`csv_text`. A cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, ``-1+1``), and a reader
name, subject ID or file name typed by someone can start that way. Such a *string* gets a
leading single quote (OWASP's advice for CSV injection), which the spreadsheet shows as text.
Numbers the code writes (ints and floats, also a string that is exactly one number, such as
``-0.25``) are left alone, so negative values stay numeric.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["FORMULA_START", "csv_text", "safe_cell"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading ``'`` when it is a string a spreadsheet would run.

    Examples
    --------
    >>> safe_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> safe_cell("-1+1"), safe_cell("@SUM(A1)"), safe_cell("\\tx")
    ("'-1+1", "'@SUM(A1)", "'\\tx")
    >>> safe_cell(-1.5), safe_cell("-1.5"), safe_cell("Dr. A"), safe_cell(None)
    (-1.5, '-1.5', 'Dr. A', None)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *,
             convert: Callable[[Any], Any] | None = None) -> str:
    """CSV text with a header line; every string cell made safe with :func:`safe_cell`.

    Parameters
    ----------
    rows : iterable of mapping
        One mapping per line; keys beyond ``columns`` are an error, missing ones are empty.
    columns : sequence of str
        The header, in order.
    convert : callable, optional, keyword-only
        Applied to every value that is not a string (e.g. NaN to ``"NaN"``), after the
        check, so what the code computes is never quoted.

    Returns
    -------
    str
        Lines end with ``\\n``.

    Examples
    --------
    >>> print(csv_text([{"reader": "=cmd()", "score": -0.5}], ["reader", "score"]), end="")
    reader,score
    '=cmd(),-0.5
    """
    header = [safe_cell(c) for c in columns]
    lines = [_line(header)]
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise ValueError(f"columns not in the header: {sorted(unknown)}")
        cells = []
        for key in columns:
            value = row.get(key)
            if isinstance(value, str):
                value = safe_cell(value)
            elif convert is not None:
                value = convert(value)
            cells.append(value)
        lines.append(_line(cells))
    return "".join(lines)


def _line(cells: Sequence[Any]) -> str:
    """One CSV line (RFC 4180 quoting: a cell with a comma, quote, CR or LF is quoted)."""
    out = []
    for value in cells:
        text = "" if value is None else str(value)
        if any(ch in text for ch in ',"\r\n'):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out) + "\n"
