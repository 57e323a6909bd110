"""The comparison report: CSV tables, an iMRMC input file, the ROC figure, HTML and PDF.

:func:`write_report` writes everything for one :class:`~wbsdesk.services.analysis.Comparison`
into a folder. Every table comes from :mod:`wbsdesk.services.result_tables` and every
renderer (CSV, HTML, PDF; the dashboard and ``--json`` elsewhere) shows the same columns
and numbers. Drawing the figure needs Qt, which services may not import: it comes from an
injected :class:`ReportRenderer` (``wbsdesk.gui.report_render`` provides one; the CLI gets
it registered by ``wbsdesk.__main__``). Without a renderer everything else is still
written, and the HTML and PDF say the figure is missing.

Files (in ``out_dir``)
----------------------
``table1_demographics.csv``, ``table3_folds.csv``, ``table4_models.csv`` (mean ± SD),
``table4_folds.csv`` (every fold), ``auc_ci.csv``, ``table5_readers.csv``,
``delong_model_vs_reader.csv``, ``delong_model_vs_model.csv``, ``mrmc_readers.csv``,
``mrmc.csv``: the header line holds the tables' column headers (a composite column takes
several: ``Accuracy % mean``, ``Accuracy % SD``, ``Accuracy % n``; ``95% CI (DeLong) low``,
``... high``), then one line per row, at full precision in the column's unit (percent
columns in percent), undefined values ``NaN``, values that do not apply empty. Tables
without rows (no readers) are not written. ``runs.csv``: the run(s) compared and their
training settings beside the protocol's (:mod:`wbsdesk.services.runs_table`).

``readers.imrmc`` (+ ``imrmc_cases.csv``, ``imrmc_readers.csv``): the readers' scores on
the paired cases in the iMRMC input format, read by iMRMC (FDA/DIDSR) and by RJafroc's
``DfReadDataFile(..., format = "iMRMC")``::

    <free-text description lines, with no ':' in them>

    NR: <readers>
    N0: <control cases>
    N1: <positive cases>
    NM: 2

    BEGIN DATA:
    -1,<caseID>,0,<truth 0|1>          one truth row per case (reader -1, modality 0)
    <readerID>,<caseID>,1,<rating>     modality 1: the rating, 1..L
    <readerID>,<caseID>,2,<0|1>        modality 2: the binary read

Reader IDs are 1..NR in the report's reader order, case IDs 1..N in subject-key order
(RJafroc needs numbers for both); ``imrmc_readers.csv`` and ``imrmc_cases.csv`` map them to
reader names and subject IDs. Models are not in the file (they have no readers).

``roc.png`` / ``roc.svg`` (the renderer), ``report.html`` (self-contained: the PNG is
embedded as base64) and ``report.pdf`` (reportlab, :mod:`wbsdesk.services.report_pdf`:
repeated table headers, page numbers, the figure at 300 dpi).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from wbsdesk.config import ensure_private_dir
from wbsdesk.errors import UserError
from wbsdesk.services.analysis_results import Comparison
from wbsdesk.services.analysis_roc import RocData
from wbsdesk.services.report_audit import AUDIT_CSV_FILES, audit_tables
from wbsdesk.services.report_content import report_content
from wbsdesk.services.report_html import content_html
from wbsdesk.services.report_pdf import content_pdf
from wbsdesk.services.report_sections import ReportSection, write_section_files
from wbsdesk.services.result_tables import comparison_tables
from wbsdesk.services.runs_table import RUNS_CSV, runs_table
from wbsdesk.services.table_render import result_csv, shown_note, table_csv
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["CSV_FILES", "ReportFiles", "ReportRenderer", "default_report_dir", "imrmc_text",
           "read_imrmc", "report_html", "shown_note", "table_csv", "write_report"]

#: Table name (see :func:`~wbsdesk.services.result_tables.comparison_tables`) -> CSV file.
CSV_FILES = {
    "table1": "table1_demographics.csv", "table3": "table3_folds.csv",
    "table4": "table4_models.csv", "table4_folds": "table4_folds.csv", "auc": "auc_ci.csv",
    "table5": "table5_readers.csv", "delong_model_vs_reader": "delong_model_vs_reader.csv",
    "delong_model_vs_model": "delong_model_vs_model.csv",
    "mrmc_readers": "mrmc_readers.csv", "mrmc": "mrmc.csv",
}
IMRMC_FILE = "readers.imrmc"
FIGURE_PNG, FIGURE_SVG = "roc.png", "roc.svg"
HTML_FILE, PDF_FILE = "report.html", "report.pdf"


class ReportRenderer(Protocol):
    """What draws the figure (implemented with Qt in the GUI package)."""

    def figure(self, roc: RocData, *, png: Path, svg: Path, title: str) -> None:
        """Draw the ROC figure into ``png`` and ``svg``."""

    def versions(self) -> dict[str, str]:
        """Versions of the drawing libraries (reported with the others)."""


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote (name -> path) and what it could not write (why)."""

    out_dir: Path
    files: dict[str, Path]
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        return {"out_dir": str(self.out_dir),
                "files": {k: str(v) for k, v in self.files.items()},
                "skipped": dict(self.skipped)}


def imrmc_text(comp: Comparison) -> str:
    """The readers' ratings and binary reads in iMRMC input format (see the module docstring).

    Raises
    ------
    UserError
        If the comparison has no reader.
    """
    if not comp.readers:
        raise UserError("the comparison has no reader, so there is no iMRMC file to write")
    y = comp.y[comp.paired]
    desc = (f"wbsdesk {comp.versions.get('wbsdesk', '')} iMRMC input - study {comp.study} - "
            f"run {comp.run} - {comp.positive} (truth 1) vs {'+'.join(comp.control_groups)} "
            "(truth 0)")
    lines = [desc.replace(":", " "),
             "Modality 1 = reader rating (1 = " + comp.protocol.reading.scale[0].replace(":", " ")
             + f" ... {len(comp.protocol.reading.scale)} = "
             + comp.protocol.reading.scale[-1].replace(":", " ") + ") - modality 2 = binary read",
             "Reader and case IDs are mapped in imrmc_readers.csv and imrmc_cases.csv", "",
             f"NR: {len(comp.readers)}", f"N0: {int((~y).sum())}", f"N1: {int(y.sum())}",
             "NM: 2", "", "BEGIN DATA:"]
    lines += [f"-1,{c + 1},0,{int(t)}" for c, t in enumerate(y)]
    for j, r in enumerate(comp.readers, start=1):
        lines += [f"{j},{c + 1},1,{int(v)}" for c, v in enumerate(r.ratings)]
        lines += [f"{j},{c + 1},2,{int(v)}" for c, v in enumerate(r.binary)]
    return "\n".join(lines) + "\n"


def read_imrmc(text: str) -> dict[str, Any]:
    """Parse an iMRMC input file as RJafroc does (header counts, then 4-field data rows).

    Returns
    -------
    dict
        ``{"NR", "N0", "N1", "NM": int, "truth": {case: 0|1},
        "scores": {(reader, case, modality): float}}`` (IDs as text).
    """
    lines = [ln.strip() for ln in text.splitlines()]
    head: dict[str, int] = {}
    start = None
    for i, ln in enumerate(lines):
        if ln == "BEGIN DATA:":
            start = i + 1
            break
        key, _, value = ln.partition(":")
        if key in ("NR", "N0", "N1", "NM"):
            head[key] = int(value)
    if start is None or len(head) != 4:
        raise UserError("not an iMRMC input file: NR/N0/N1/NM or 'BEGIN DATA:' is missing")
    truth: dict[str, int] = {}
    scores: dict[tuple[str, str, str], float] = {}
    for ln in lines[start:]:
        if not ln:
            continue
        parts = [p.strip() for p in ln.split(",")]
        if len(parts) != 4:
            break
        reader, case, modality, score = parts
        if reader == "-1":
            truth[case] = int(score)
        else:
            scores[(reader, case, modality)] = float(score)
    return {**head, "truth": truth, "scores": scores}


def _imrmc_maps(comp: Comparison) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cases = [{"case_id": c + 1, "subject": comp.subjects[i], "group": str(comp.groups[i]),
              "photo_id": int(comp.photo_ids[i]), "truth": int(comp.y[i])}
             for c, i in enumerate(comp.paired)]
    readers = [{"reader_id": j, "reader": r.name, "kind": r.kind, "role": r.role,
                "session_id": r.session_id} for j, r in enumerate(comp.readers, start=1)]
    return cases, readers


def default_report_dir(ws: Workspace, comp: Comparison) -> Path:
    """``<workspace>/reports/<study>_<run>_<controls>`` (created user-only when written)."""
    return ws.root / "reports" / f"{comp.study}_{comp.run}_{comp.controls}"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def report_html(comp: Comparison, *, figure_png: bytes | None, files: list[str],
                versions: dict[str, str]) -> str:
    """The report as one self-contained HTML page (see :mod:`wbsdesk.services.report_html`)."""
    content = report_content(comp, files=files, versions=versions)
    return content_html(content, figure_png=figure_png)


def write_report(comp: Comparison, out_dir: Path, *,
                 renderer: ReportRenderer | None = None,
                 sections: Sequence[ReportSection] = ()) -> ReportFiles:
    """Write the report of a comparison into ``out_dir`` (files are replaced).

    Parameters
    ----------
    comp : Comparison
    out_dir : Path
        Created (readable by the user only) if it does not exist.
    renderer : ReportRenderer, optional, keyword-only
        Draws the figure; without one it is skipped (and the HTML and PDF say so).
    sections : sequence of ReportSection, keyword-only
        Extra sections (e.g. "Aided vs unaided"): their tables (CSV), figures (SVG)
        and files are written beside the report; the HTML and PDF show them after
        the tables.

    Returns
    -------
    ReportFiles
    """
    import reportlab

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder for the report")
    if not out.exists():  # a folder the user already has keeps its permissions
        ensure_private_dir(out)
    files: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for table in comparison_tables(comp):
        if table.rows:
            files[table.name] = _write(out / CSV_FILES[table.name], result_csv(table))
        else:
            skipped[table.name] = table.empty_text or "no rows"
    for table in audit_tables(comp):  # calibration, subgroups, confounds (when attached)
        if table.rows:
            files[table.name] = _write(out / AUDIT_CSV_FILES[table.name], result_csv(table))
        else:
            skipped[table.name] = table.empty_text or "no rows"
    files["runs"] = _write(out / RUNS_CSV, result_csv(runs_table(comp)))  # settings
    if comp.readers:
        files["imrmc"] = _write(out / IMRMC_FILE, imrmc_text(comp))
        cases, readers = _imrmc_maps(comp)
        files["imrmc_cases"] = _write(out / "imrmc_cases.csv", table_csv(cases))
        files["imrmc_readers"] = _write(out / "imrmc_readers.csv", table_csv(readers))
    else:
        skipped["imrmc"] = "no readers in the comparison"
    from wbsdesk.services.agreement_tables import comparison_agreement_section
    from wbsdesk.services.session_policy import history_section

    sections = (*sections, *comparison_agreement_section(comp),  # when attached
                *history_section(comp))  # restarted or continued sessions
    for s in sections:
        files.update(write_section_files(s, out))
    png = None
    versions = {**comp.versions, "reportlab": reportlab.Version}
    title = f"{comp.roc_data.positive_label} vs. {comp.roc_data.control_label}"
    if renderer is not None:
        renderer.figure(comp.roc_data, png=out / FIGURE_PNG, svg=out / FIGURE_SVG, title=title)
        files["figure_png"], files["figure_svg"] = out / FIGURE_PNG, out / FIGURE_SVG
        png = out / FIGURE_PNG
        versions.update(renderer.versions())
    else:
        skipped["figure"] = "no renderer (Qt) available"
    listed = sorted({p.name for p in files.values()} | {HTML_FILE, PDF_FILE})
    content = replace(report_content(comp, files=listed, versions=versions),
                      sections=tuple(sections))
    files["html"] = _write(out / HTML_FILE, content_html(
        content, figure_png=png.read_bytes() if png is not None else None))
    files["pdf"] = content_pdf(content, out / PDF_FILE, figure_png=png)
    log.info("wrote the report of %s (run %s, controls %s) to %s", comp.study, comp.run,
             comp.controls, out)
    return ReportFiles(out_dir=out, files=files, skipped=skipped)
