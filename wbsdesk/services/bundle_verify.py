"""Comparing a bundle's tables and files with what its data give (used by ``bundle verify``).

:func:`compare_tables` compares CSV texts of result tables cell by cell: the header and the
number of rows exactly, a numeric cell within :data:`TOLERANCE` (relative to the larger of
1 and the values' size; NaN equals NaN), any other cell as text, exactly. Each difference is
a :class:`Mismatch` naming the table, row (by its first cell) and column.
:func:`manifest_problems` checks an archive's members against the manifest's SHA-256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TOLERANCE", "Mismatch", "VerifyResult", "compare_tables", "count_cells",
           "manifest_problems"]

#: Largest difference of two numbers that still counts as equal (relative to max(1, |x|)).
TOLERANCE = 1e-12


@dataclass(frozen=True)
class Mismatch:
    """One difference between a bundled table and the recomputed one.

    ``row`` is 1-based (``None`` for the table as a whole or its header); ``label`` is the
    row's first cell; ``column`` the column header.
    """

    table: str
    row: int | None
    label: str
    column: str
    bundled: str
    recomputed: str

    def describe(self) -> str:
        """One line, e.g. ``table auc, row 2 (ResNet-18), column 'AUC': bundled 0.81,
        recomputed 0.82``."""
        where = f"table {self.table}"
        if self.row is not None:
            where += f", row {self.row}" + (f" ({self.label})" if self.label else "")
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: bundled {self.bundled}, recomputed {self.recomputed}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``--json``)."""
        return {"table": self.table, "row": self.row, "label": self.label,
                "column": self.column, "bundled": self.bundled,
                "recomputed": self.recomputed}


@dataclass(frozen=True)
class VerifyResult:
    """What ``bundle verify`` found (``ok``: nothing differs and no file changed)."""

    path: Path
    study: str
    run: str
    tables: tuple[str, ...]
    cells: int
    mismatches: tuple[Mismatch, ...]
    changed_files: tuple[str, ...]
    missing_files: tuple[str, ...]
    unlisted_files: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every table and every file is as bundled."""
        return not (self.mismatches or self.changed_files or self.missing_files
                    or self.unlisted_files)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``--json``)."""
        return {"path": str(self.path), "ok": self.ok, "study": self.study, "run": self.run,
                "tables": list(self.tables), "cells_compared": self.cells,
                "mismatches": [m.to_dict() for m in self.mismatches],
                "changed_files": list(self.changed_files),
                "missing_files": list(self.missing_files),
                "unlisted_files": list(self.unlisted_files), "warnings": list(self.warnings)}


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _same(a: str, b: str) -> bool:
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return a == b
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= TOLERANCE * max(1.0, abs(x), abs(y))


def count_cells(tables: Mapping[str, str]) -> int:
    """How many body cells the CSV texts hold."""
    return sum(sum(len(r) for r in _rows(t)[1:]) for t in tables.values())


def _compare(name: str, bundled: str, recomputed: str, numbers_only: bool) -> list[Mismatch]:
    a, b = _rows(bundled), _rows(recomputed)
    head_a, head_b = (a[0] if a else []), (b[0] if b else [])
    if not numbers_only and head_a != head_b:
        return [Mismatch(name, None, "", "header", ", ".join(head_a), ", ".join(head_b))]
    if len(a) != len(b):
        return [Mismatch(name, None, "", "", f"{len(a) - 1} row(s)", f"{len(b) - 1} row(s)")]
    out = []
    for i, (ra, rb) in enumerate(zip(a[1:], b[1:], strict=True), start=1):
        if len(ra) != len(rb):
            out.append(Mismatch(name, i, rb[0] if rb else "", "", f"{len(ra)} cells",
                                f"{len(rb)} cells"))
            continue
        for col, x, y in zip(head_b, ra, rb, strict=True):
            numeric = _number(x) is not None and _number(y) is not None
            if numbers_only and not numeric:
                if (_number(x) is None) != (_number(y) is None):
                    out.append(Mismatch(name, i, rb[0], col, x, y))
                continue
            if not _same(x, y):
                out.append(Mismatch(name, i, rb[0], col, x, y))
    return out


def compare_tables(bundled: Mapping[str, str], recomputed: Mapping[str, str], *,
                   numbers_only: bool = False) -> list[Mismatch]:
    """Every difference between bundled and recomputed CSV texts of the same tables.

    Parameters
    ----------
    bundled, recomputed : mapping of str to str
        Table name -> CSV text (header line, then rows).
    numbers_only : bool, keyword-only
        Compare only the numbers (labels may differ: the workspace's reader names against
        the bundle's pseudonyms).

    Returns
    -------
    list of Mismatch
        Empty when they agree; a table on one side only is one mismatch.

    Examples
    --------
    >>> a = {"auc": "Score,AUC\\nResNet-18,0.8\\n"}
    >>> compare_tables(a, {"auc": "Score,AUC\\nResNet-18,0.8000000000000001\\n"})
    []
    >>> compare_tables(a, {"auc": "Score,AUC\\nResNet-18,0.81\\n"})[0].describe()
    "table auc, row 1 (ResNet-18), column 'AUC': bundled 0.8, recomputed 0.81"
    """
    out = []
    for name in sorted(set(bundled) | set(recomputed)):
        if name not in bundled:
            out.append(Mismatch(name, None, "", "", "missing from the bundle", "a table"))
        elif name not in recomputed:
            out.append(Mismatch(name, None, "", "", "a table", "not a table of the data"))
        else:
            out.extend(_compare(name, bundled[name], recomputed[name], numbers_only))
    return out


def manifest_problems(zf: zipfile.ZipFile, files: Mapping[str, str], *,
                      skip: Sequence[str] = ()) -> tuple[list[str], list[str], list[str]]:
    """Members whose SHA-256 differs from the manifest's, listed but absent, and unlisted."""
    names = set(zf.namelist()) - set(skip)
    changed = [n for n in sorted(files) if n in names
               and hashlib.sha256(zf.read(n)).hexdigest() != files[n]]
    missing = sorted(set(files) - names)
    unlisted = sorted(names - set(files))
    return changed, missing, unlisted
