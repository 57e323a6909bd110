"""Reading a subjects manifest CSV into checked rows, collecting every problem at once."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wbsdesk.errors import Problem

REQUIRED = ("subject_id", "photo", "group")
OPTIONAL = ("sex", "age_months", "diagnosis", "primary")
MAX_AGE_MONTHS = 1500.0
_SEX = {"m": "M", "male": "M", "f": "F", "female": "F"}
_BOOL = {"1": True, "true": True, "yes": True, "y": True,
         "0": False, "false": False, "no": False, "n": False}


@dataclass(frozen=True)
class ManifestRow:
    """One checked manifest row; ``line`` is its row number in the file (header = 1)."""

    line: int
    subject_id: str
    photo: str
    group: str
    sex: str | None
    age_months: float | None
    diagnosis: str | None
    primary: bool | None
    metadata: dict[str, str] = field(default_factory=dict)


def template_csv(groups: Sequence[str]) -> str:
    """A template manifest with the required and optional columns and two example rows."""
    g = list(groups)
    return ("subject_id,photo,group,sex,age_months,diagnosis,primary\n"
            f"S001,S001_front.jpg,{g[0]},F,32,,1\n"
            f"S002,S002_front.jpg,{g[-1]},M,41.5,,1\n")


def read_manifest(path: Path, groups: Sequence[str], *,
                  group_column: str = "group") -> tuple[list[ManifestRow], list[Problem]]:
    """Parse and check a manifest CSV.

    UTF-8 with or without BOM; ``,``, ``;`` or tab separated (taken from the header line).
    Columns ``subject_id, photo, group`` are required; ``sex, age_months, diagnosis,
    primary`` are optional; any other column is kept as metadata.

    Parameters
    ----------
    path : Path
        The CSV file.
    groups : sequence of str
        The study's group names (matched case-insensitively).
    group_column : str, keyword-only
        Column holding the group (default ``group``), e.g. ``sex`` for a sex-prediction study.

    Returns
    -------
    rows : list of ManifestRow
        The rows that passed the per-row checks.
    problems : list of Problem
        Every problem found (file, row, reason); empty when the file is clean.
    """
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(name, None, f"cannot read the manifest ({exc.strerror})")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [Problem(name, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                                        "save the file as 'CSV UTF-8'")]
    if not text.strip():
        return [], [Problem(name, None, "the manifest is empty")]
    if "\x00" in text:
        return [], [Problem(name, text[:text.index("\x00")].count("\n") + 1,
                            "contains a NUL byte (0x00); this is not a text CSV file, or it "
                            "is damaged")]
    header_line = text.lstrip("\r\n").splitlines()[0]
    delim = max([",", ";", "\t"], key=header_line.count)
    records, problems = _records(name, text, delim)
    if problems:
        return [], problems
    records = [(n, rec) for n, rec in records if any(c.strip() for c in rec)]
    if not records:
        first = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip())
        return [], [Problem(name, first, "the header row has no column names (the file holds "
                                         "only separators); expected "
                                         f"{', '.join(REQUIRED)}")]
    header_no, header = records[0]
    cols = [c.strip().lower() for c in header]
    problems: list[Problem] = []
    dupes = sorted({c for c in cols if cols.count(c) > 1 and c})
    if dupes:
        problems.append(Problem(name, header_no, f"column(s) named twice: {', '.join(dupes)}"))
    group_column = group_column.strip().lower()
    required = ("subject_id", "photo", group_column)
    missing = [c for c in required if c not in cols]
    if missing:
        problems.append(Problem(name, header_no, f"missing required column(s): "
                                f"{', '.join(missing)} (found: {', '.join(cols)})"))
    if problems:
        return [], problems
    if len(records) == 1:
        return [], [Problem(name, None, "the manifest has a header but no rows")]
    by_lower = {g.lower(): g for g in groups}
    rows = []
    for line, rec in records[1:]:
        if len(rec) != len(cols):
            problems.append(Problem(name, line, f"has {len(rec)} fields but the header has "
                                                f"{len(cols)}"))
            continue
        values = {c: v.strip() for c, v in zip(cols, rec, strict=True)}
        row, row_problems = _check_row(name, line, values, by_lower, group_column)
        problems += row_problems
        if row is not None:
            rows.append(row)
    return rows, problems


def _records(name: str, text: str, delim: str
             ) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """CSV records with the row each starts on; a field over several lines is refused.

    A quote that is never closed makes the CSV reader swallow the following rows into one
    field, so a field that holds a line break is reported as an unterminated quote (line
    breaks inside a field have no use in a manifest).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    out: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    start = 1
    try:
        for rec in reader:
            end = reader.line_num
            if any("\n" in f or "\r" in f for f in rec):
                problems.append(Problem(name, start, (
                    f"unterminated quote: a quoted field starts in row {start} and swallows "
                    f"the rows up to {end}; close the quote (line breaks inside a field are "
                    "not allowed)")))
            out.append((start, rec))
            start = end + 1
    except csv.Error as exc:
        problems.append(Problem(name, start, f"malformed CSV ({exc})"))
    return out, problems


def _check_row(name: str, line: int, v: dict[str, str], groups: dict[str, str],
               group_column: str) -> tuple[ManifestRow | None, list[Problem]]:
    out: list[Problem] = []

    def bad(reason: str) -> None:
        out.append(Problem(name, line, reason))

    if not v["subject_id"]:
        bad("subject_id is empty")
    if not v["photo"]:
        bad("photo is empty")
    group = groups.get(v[group_column].lower())
    if group is None:
        bad(f"unknown group {v[group_column]!r} in column {group_column!r}; expected one of "
            f"{', '.join(groups.values())}")
    sex = None
    if v.get("sex"):
        sex = _SEX.get(v["sex"].lower())
        if sex is None:
            bad(f"sex {v['sex']!r} is not M or F (leave it empty if unknown)")
    age = None
    if v.get("age_months"):
        try:
            age = float(v["age_months"].replace(",", "."))
        except ValueError:
            bad(f"age_months {v['age_months']!r} is not a number")
        else:
            if not math.isfinite(age) or not 0 <= age <= MAX_AGE_MONTHS:
                bad(f"age_months {v['age_months']!r} is outside 0..{MAX_AGE_MONTHS:g}")
                age = None
    primary = None
    if v.get("primary"):
        primary = _BOOL.get(v["primary"].lower())
        if primary is None:
            bad(f"primary {v['primary']!r} is not 1/0, yes/no or true/false")
    known = {*REQUIRED, *OPTIONAL, group_column}
    meta = {k: val for k, val in v.items() if k not in known and k and val}
    if out:
        return None, out
    return ManifestRow(line=line, subject_id=v["subject_id"], photo=v["photo"], group=group,
                       sex=sex, age_months=age, diagnosis=v.get("diagnosis") or None,
                       primary=primary, metadata=meta), []
