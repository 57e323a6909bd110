"""Typed result tables: the one table model of every renderer (no I/O).

A :class:`ResultTable` holds its columns (:class:`Column`: key, header, unit, how values
are written), rows of typed values in column order, footnotes and the sign convention of
its differences. The dashboard's Qt tables, the CSV files, the HTML and PDF report and
``--json`` only *render* a table: the header of a column, the text of a cell
(:meth:`Column.text`, through :mod:`wbsdesk.core.formatting`), the raw values of a CSV line
(:meth:`Column.export`) and the footnotes (:meth:`ResultTable.footnotes`) all come from
here, so every renderer shows the same names and numbers.

Values in a row are ``str``, ``int``, ``float`` (NaN where undefined), ``bool``, ``None``
(not applicable), or one of the composite values :class:`Interval`, :class:`MeanSd`,
:class:`Estimate` for the kinds ``interval``, ``mean_sd`` and ``estimate``.

A CSV line and a JSON row carry every number at full precision, in the unit of its column
(a ``percent`` column in percent); a composite value becomes several CSV columns
(:meth:`Column.parts`), e.g. ``Accuracy % mean``, ``Accuracy % SD``, ``Accuracy % n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from wbsdesk.core import formatting as fm

__all__ = ["Column", "ColumnKind", "Estimate", "Interval", "MeanSd", "ResultTable"]

#: How a column's values are written (the closed set every renderer knows):
#: free text, a whole count, a number, a signed difference, a p-value, a yes/no flag, a
#: duration in seconds, an interval, mean ± SD, or a value with its interval.
ColumnKind = Literal["text", "count", "number", "signed", "p_value", "flag", "duration",
                     "interval", "mean_sd", "estimate"]
_KINDS = frozenset(get_args(ColumnKind))
#: Decimals of a kind when the column does not say (percentages: 1).
_DECIMALS = {"number": 3, "signed": 3, "interval": 3, "mean_sd": 3, "estimate": 3}


@dataclass(frozen=True)
class Interval:
    """A confidence interval (``None`` ends: not applicable; NaN: undefined)."""

    low: float | None
    high: float | None


@dataclass(frozen=True)
class MeanSd:
    """Mean ± SD over ``n`` defined values of ``of`` (e.g. folds)."""

    mean: float
    sd: float
    n: int | None = None
    of: int | None = None


@dataclass(frozen=True)
class Estimate:
    """A value with its confidence interval (``low``/``high`` None: no interval)."""

    value: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Column:
    """A column of a result table.

    Attributes
    ----------
    key : str
        Machine name (JSON key), snake_case.
    title : str
        Header shown to people, in every renderer (CSV included).
    unit : str
        Unit or scale of the values (``""`` when none), e.g. ``"%"``, ``"months"``.
    kind : ColumnKind
        How values are written (see :data:`ColumnKind`).
    decimals : int, optional
        Decimals of numbers (default: 1 for percentages, else 3).
    percent : bool
        Values are fractions written as percentages (and exported in percent).
    note : str
        A footnote about this column, shown under the table as ``"<title>: <note>"``.
    """

    key: str
    title: str
    unit: str = ""
    kind: ColumnKind = "number"
    decimals: int | None = None
    percent: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"column {self.key!r}: unknown kind {self.kind!r}")

    @property
    def places(self) -> int:
        """Decimals used for this column's numbers."""
        if self.decimals is not None:
            return self.decimals
        return 1 if self.percent else _DECIMALS.get(self.kind, 3)

    @property
    def numeric(self) -> bool:
        """Whether the values are numbers (right-aligned, sorted as numbers)."""
        return self.kind not in ("text", "flag")

    def text(self, value: Any) -> str:
        """The value as people read it (the same in every renderer)."""
        k, d, pct = self.kind, self.places, self.percent
        if k == "text":
            return "" if value is None else str(value)
        if k == "count":
            return fm.fmt_count(value)
        if k == "flag":
            return fm.fmt_flag(value)
        if k == "p_value":
            return fm.fmt_p(value)
        if k == "duration":
            return fm.fmt_duration(value)
        if k == "interval":
            return "" if value is None else fm.fmt_ci(value.low, value.high, d, percent=pct)
        if k == "mean_sd":
            return "" if value is None else fm.fmt_mean_sd(value.mean, value.sd, d,
                                                            percent=pct, n=value.n,
                                                            of=value.of)
        if k == "estimate":
            return "" if value is None else fm.fmt_estimate(value.value, value.low,
                                                             value.high, d, percent=pct)
        if k == "number" and isinstance(value, int) and not isinstance(value, bool):
            return fm.fmt_count(value)  # a whole number stays whole
        x = self._scale(value)
        return fm.fmt_signed(x, d) if k == "signed" else fm.fmt_number(x, d)

    def sort_key(self, value: Any) -> Any:
        """A key that sorts numbers as numbers (undefined first) and text as text."""
        if not self.numeric:
            return self.text(value)
        first = {"interval": lambda v: v.low, "mean_sd": lambda v: v.mean,
                 "estimate": lambda v: v.value}.get(self.kind)
        x = first(value) if first is not None and value is not None else value
        return -math.inf if fm.is_missing(x) else float(x)

    def parts(self) -> tuple[tuple[str, str], ...]:
        """(key suffix, header suffix) of the values a composite value exports."""
        if self.kind == "interval":
            return (("low", " low"), ("high", " high"))
        if self.kind == "mean_sd":
            return (("mean", " mean"), ("sd", " SD"), ("n", " n"))
        if self.kind == "estimate":
            return (("value", ""), ("low", " CI low"), ("high", " CI high"))
        return (("", ""),)

    def export_headers(self) -> list[str]:
        """CSV header cells of this column (one per part)."""
        return [self.title + suffix for _, suffix in self.parts()]

    def export(self, value: Any) -> list[Any]:
        """Raw values of a cell, one per part, in the column's unit, full precision.

        NaN stays NaN (undefined), None stays None (not applicable); percentages are
        multiplied by 100.
        """
        if self.kind == "interval":
            raw = [None, None] if value is None else [value.low, value.high]
        elif self.kind == "mean_sd":
            raw = [None, None, None] if value is None else [value.mean, value.sd, value.n]
            return [self._scale(raw[0]), self._scale(raw[1]), raw[2]]
        elif self.kind == "estimate":
            raw = [None, None, None] if value is None else [value.value, value.low,
                                                             value.high]
        else:
            raw = [value]
        return [self._scale(v) for v in raw]

    def _scale(self, v: Any) -> Any:
        if self.percent and isinstance(v, int | float) and not isinstance(v, bool):
            return 100.0 * float(v)
        return v

    def describe(self) -> dict[str, Any]:
        """The column's metadata (JSON)."""
        return {"key": self.key, "title": self.title, "unit": self.unit, "kind": self.kind,
                "decimals": self.places, "percent": self.percent,
                "parts": [p for p, _ in self.parts() if p]}


@dataclass(frozen=True)
class ResultTable:
    """A named table: columns, rows in column order, and notes to show beneath it.

    Attributes
    ----------
    name : str
        Machine name (file stem, JSON key), e.g. ``"table4"``.
    title : str
        Caption.
    columns : tuple of Column
    rows : tuple of tuple
        Each row has one value per column, in column order.
    notes : tuple of str
        Sentences a reader of the table needs (methods, what was left out, n/a).
    sign_convention : str
        How the differences of this table are signed, e.g. ``"model − reader"``; written
        as the first footnote.
    short_title : str
        A short name (a tab of the dashboard); the title when empty.
    empty_text : str
        What to show instead of a table without rows (e.g. why it was not computed).
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    notes: tuple[str, ...] = field(default=())
    sign_convention: str = ""
    short_title: str = ""
    empty_text: str = ""

    def __post_init__(self) -> None:
        width = len(self.columns)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"table {self.name!r}: row {i} has {len(row)} values for "
                                 f"{width} columns")

    @classmethod
    def build(cls, name: str, title: str, columns: Sequence[Column],
              rows: Sequence[Sequence[Any]], notes: Sequence[str] = (), **kw: Any
              ) -> ResultTable:
        """A table from any sequences (rows become tuples)."""
        return cls(name=name, title=title, columns=tuple(columns),
                   rows=tuple(tuple(r) for r in rows), notes=tuple(notes), **kw)

    @property
    def tab(self) -> str:
        """The short title (or the title)."""
        return self.short_title or self.title

    def headers(self) -> list[str]:
        """Column headers as shown."""
        return [c.title for c in self.columns]

    def texts(self) -> list[list[str]]:
        """Every cell as people read it, row by row."""
        return [[c.text(v) for c, v in zip(self.columns, row, strict=True)]
                for row in self.rows]

    def footnotes(self) -> list[str]:
        """The sign convention, the table's notes, then the columns' notes, in that order."""
        out = []
        if self.sign_convention:
            out.append(f"Differences are {self.sign_convention}.")
        out += list(self.notes)
        out += [f"{c.title}: {c.note}" for c in self.columns if c.note]
        return out

    def export_header(self) -> list[str]:
        """The CSV header: every column's header cells."""
        return [h for c in self.columns for h in c.export_headers()]

    def export_rows(self) -> list[list[Any]]:
        """The CSV lines: every cell's raw values (see :meth:`Column.export`)."""
        return [[v for c, x in zip(self.columns, row, strict=True) for v in c.export(x)]
                for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column key, NaN/inf as ``None`` (JSON/CSV friendly).

        A composite value is a dict of its parts (``{"low": .., "high": ..}``); numbers
        are in the column's unit (percentages in percent).
        """
        out = []
        for row in self.rows:
            rec: dict[str, Any] = {}
            for c, v in zip(self.columns, row, strict=True):
                parts = c.parts()
                values = [_plain(x) for x in c.export(v)]
                rec[c.key] = (values[0] if len(parts) == 1
                              else {p: x for (p, _), x in zip(parts, values, strict=True)})
            out.append(rec)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The table as plain data (``--json``): metadata, rows and footnotes."""
        return {"name": self.name, "title": self.title,
                "columns": [c.describe() for c in self.columns], "rows": self.records(),
                "footnotes": self.footnotes(), "sign_convention": self.sign_convention}


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalars
        return _plain(v.item())
    return v
