"""Excluding many subjects at once from a CSV of subject and reason (``exclude --from``).

The file is checked whole before anything changes: every row must name a subject of the
study once and give a reason. Then all exclusions are written in one transaction, each with
its audit entry, so a file with one bad row changes nothing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from wbsdesk.errors import Problem, UserError
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace

__all__ = ["Exclusion", "exclude_from_file"]

#: Largest exclusion file read (a list of subjects, not a photo).
MAX_BYTES = 5_000_000


@dataclass(frozen=True)
class Exclusion:
    """One row of an exclusion file as applied."""

    subject: str
    reason: str | None
    was_excluded: bool


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if path.stat().st_size > MAX_BYTES:
        raise UserError(f"{path}: larger than {MAX_BYTES // 1_000_000} MB; an exclusion file "
                        "lists subjects and reasons")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text", hint="save it as CSV (UTF-8)") from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text.splitlines()[0] if text else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            for row in reader]
    return header, rows


def exclude_from_file(ws: Workspace, name: str, path: Path, *,
                      undo: bool = False) -> list[Exclusion]:
    """Exclude (or, with ``undo``, include again) the subjects a CSV lists.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study.
    path : Path
        CSV with a header row and columns ``subject`` and ``reason`` (comma, semicolon or
        tab separated; other columns are ignored). ``reason`` may be empty only with
        ``undo``.
    undo : bool, keyword-only
        Include the listed subjects again.

    Returns
    -------
    list of Exclusion
        The rows applied, in file order.

    Raises
    ------
    UserError
        Missing columns, or rows naming an unknown subject, a subject twice, or no
        reason; every problem is listed with its row, and nothing is changed.
    """
    path = Path(path)
    study = load_study(ws, name)
    header, rows = _read_rows(path)
    need = ["subject"] if undo else ["subject", "reason"]
    missing = [c for c in need if c not in header]
    if missing:
        raise UserError(f"{path}: no {' or '.join(repr(c) for c in missing)} column (the "
                        f"header has: {', '.join(header) or 'nothing'})",
                        hint="the first row names the columns: subject,reason")
    subjects = {s.key: s for s in ws.store.subjects(study.id)}
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    todo = []
    for i, row in enumerate(rows, start=2):  # row 1 is the header
        key, reason = row.get("subject", ""), row.get("reason", "")
        if not key and not reason:
            continue
        if not key:
            problems.append(Problem(str(path), i, "no subject"))
        elif key not in subjects:
            problems.append(Problem(str(path), i, f"study {name!r} has no subject {key!r}"))
        elif key in seen:
            problems.append(Problem(str(path), i, f"subject {key!r} is listed again (first "
                                                  f"in row {seen[key]})"))
        elif not undo and not reason:
            problems.append(Problem(str(path), i, f"subject {key!r} has no reason"))
        else:
            seen[key] = i
            todo.append((key, None if undo else reason))
    if problems:
        raise UserError(f"{path}: {len(problems)} row(s) cannot be applied; nothing was "
                        "changed", problems=problems)
    if not todo:
        raise UserError(f"{path}: lists no subject")
    out = []
    with ws.store.atomic():
        for key, reason in todo:
            s = subjects[key]
            ws.store.set_excluded(s.id, reason)
            ws.store.audit(study.id, "include" if undo else "exclude",
                           {"subject": key, "reason": reason, "file": path.name})
            out.append(Exclusion(subject=key, reason=reason, was_excluded=bool(s.excluded)))
    return out
