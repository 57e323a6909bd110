"""A result table as CSV text, an HTML table and plain data (renderers; they only render).

Every renderer takes a :class:`~wbsdesk.core.result_table.ResultTable` and writes what the
table says: the same headers (:meth:`~ResultTable.headers`), cell texts
(:meth:`~ResultTable.texts`) and footnotes (:meth:`~ResultTable.footnotes`) as the
dashboard and the PDF; the CSV the raw values of the same columns
(:meth:`~ResultTable.export_rows`). None computes or renames a column.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from wbsdesk.core.csv_export import csv_text
from wbsdesk.core.formatting import NA
from wbsdesk.core.result_table import ResultTable

__all__ = ["csv_cell", "result_csv", "result_html", "result_json", "shown_note", "table_csv"]


def csv_cell(v: Any) -> Any:
    """A raw value as written in a CSV: full precision, NaN as ``NaN``, None empty."""
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, float | np.floating):
        return "NaN" if math.isnan(v) else repr(float(v))
    if isinstance(v, np.integer):
        return int(v)
    return v


def table_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of plain rows (header from the first row; NaN as ``NaN``, None empty).

    Text that a spreadsheet would run as a formula gets a leading ``'``
    (:func:`wbsdesk.core.csv_export.csv_text`); numbers are written as they are.

    Examples
    --------
    >>> print(table_csv([{"a": 1, "b": float("nan")}, {"a": 2, "b": 0.5}]), end="")
    a,b
    1,NaN
    2,0.5
    """
    return csv_text(rows, list(rows[0]), convert=csv_cell)


def result_csv(table: ResultTable) -> str:
    """CSV text of a result table: its column headers, then raw values at full precision.

    A composite column takes several CSV columns (``95% CI (DeLong) low``/``high``;
    ``Accuracy % mean``/``SD``/``n``); percentages are in percent, like the header says.
    """
    header = table.export_header()
    if len(set(header)) != len(header):
        raise ValueError(f"table {table.name!r} has repeated column headers: {header}")
    rows = [dict(zip(header, row, strict=True)) for row in table.export_rows()]
    return csv_text(rows, header, convert=csv_cell)


def result_json(table: ResultTable) -> dict[str, Any]:
    """The table as plain data: metadata, rows keyed by column key, footnotes."""
    return table.to_dict()


def shown_note(note: str) -> str:
    """A note as people read it: an undefined value is ``n/a``, as in the tables (the CSV
    files keep ``NaN``).

    Examples
    --------
    >>> shown_note("Precision of fold 1 is undefined (zero denominator) and is reported as NaN.")
    'Precision of fold 1 is undefined (zero denominator) and is shown as n/a.'
    """
    return note.replace("reported as NaN", "shown as n/a").replace("NaN", NA)


def _esc(x: Any) -> str:
    return html.escape(str(x))


def result_html(table: ResultTable, *, level: int = 3) -> str:
    """The table as an HTML 4 table under its caption, with its footnotes beneath."""
    out = f"<h{level} id=\"{_esc(table.name)}\">{_esc(table.title)}</h{level}>\n"
    if not table.rows:
        return out + f"<p>{_esc(table.empty_text or 'No rows.')}</p>\n"
    aligns = ["right" if c.numeric else "left" for c in table.columns]
    head = "".join(f"<th>{_esc(h)}</th>" for h in table.headers())
    body = "".join("<tr>" + "".join(f"<td align=\"{a}\">{_esc(t)}</td>"
                                    for a, t in zip(aligns, row, strict=True)) + "</tr>"
                   for row in table.texts())
    out += (f"<table class=\"result\" data-name=\"{_esc(table.name)}\" border=\"1\" "
            f"cellspacing=\"0\" cellpadding=\"4\"><thead><tr bgcolor=\"#e8eef4\">{head}</tr>"
            f"</thead><tbody>{body}</tbody></table>\n")
    return out + _notes_html(table.footnotes())


def _notes_html(notes: Sequence[str]) -> str:
    return "".join(f"<p class=\"note\">{_esc(n)}</p>\n" for n in notes)
