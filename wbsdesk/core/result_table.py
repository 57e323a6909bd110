"""Typed result tables: column names, units and kinds beside rows of plain values.

The audit results (:mod:`wbsdesk.core.calibration`, :mod:`wbsdesk.core.subgroups`,
:mod:`wbsdesk.core.capture`, :mod:`wbsdesk.core.baseline`) describe their columns with
:class:`Column` constants and give rows as tuples in that order, so that any view (a CLI
table, CSV, JSON, HTML or a Qt model) renders them without knowing the statistics.

Values in a row are ``str``, ``int``, ``float`` (NaN where not computed), ``bool`` or
``None`` (not applicable).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Column", "ColumnKind", "ResultTable"]

#: How a column's values are shown: free text, a whole count, a number (3 decimals is
#: usual), a p-value, or a yes/no flag.
ColumnKind = Literal["text", "count", "number", "p_value", "flag"]


@dataclass(frozen=True)
class Column:
    """A column of a result table.

    Attributes
    ----------
    key : str
        Machine name (CSV header, JSON key), snake_case.
    title : str
        Header shown to people.
    unit : str
        Unit or scale of the values (``""`` when none), e.g. ``"probability"``,
        ``"months"``, ``"share of crop pixels"``.
    kind : {"text", "count", "number", "p_value", "flag"}
    """

    key: str
    title: str
    unit: str = ""
    kind: ColumnKind = "number"


@dataclass(frozen=True)
class ResultTable:
    """A named table: columns, rows in column order, and notes to show beneath it.

    Attributes
    ----------
    name : str
        Machine name (file stem), e.g. ``"calibration_bins"``.
    title : str
        Caption.
    columns : tuple of Column
    rows : tuple of tuple
        Each row has one value per column, in column order.
    notes : tuple of str
        Sentences a reader of the table needs (warnings, what was left out, methods).
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        width = len(self.columns)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"table {self.name!r}: row {i} has {len(row)} values for "
                                 f"{width} columns")

    @classmethod
    def build(cls, name: str, title: str, columns: Sequence[Column],
              rows: Sequence[Sequence[Any]], notes: Sequence[str] = ()) -> ResultTable:
        """A table from any sequences (rows become tuples)."""
        return cls(name=name, title=title, columns=tuple(columns),
                   rows=tuple(tuple(r) for r in rows), notes=tuple(notes))

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column key, NaN/inf as ``None`` (JSON/CSV friendly)."""
        return [{c.key: _plain(v) for c, v in zip(self.columns, row, strict=True)}
                for row in self.rows]


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
