"""Extra sections of the comparison report (e.g. "Aided vs unaided"), for every renderer.

A :class:`ReportSection` holds what a section says: paragraphs (markup: escaped text with
``<b>``/``<i>`` only, as in :mod:`wbsdesk.services.report_content`), result tables
(:class:`~wbsdesk.core.result_table.ResultTable`, rendered like the report's own tables),
vector figures (a reportlab ``Drawing``: placed as such in the PDF, as inline SVG in the
HTML page, and written as an SVG file) and extra files (e.g. iMRMC inputs).
:func:`wbsdesk.services.reports.write_report` writes a section's tables as CSV files
(``<table name>.csv``), its figures and files, and the HTML and PDF show it after the
report's tables. :func:`section_html` and :func:`section_flowables` are those two renderers.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wbsdesk.core.result_table import ResultTable
from wbsdesk.services.table_render import result_csv, result_html

__all__ = ["ReportFigure", "ReportSection", "figure_svg", "section_flowables",
           "section_html", "write_section_files"]


@dataclass(frozen=True)
class ReportFigure:
    """A vector figure: ``name`` (file stem), a caption (markup) and a reportlab Drawing."""

    name: str
    title: str
    caption: str
    drawing: Any


@dataclass(frozen=True)
class ReportSection:
    """A section of the report (see the module docstring).

    Attributes
    ----------
    key : str
        Anchor and machine name, e.g. ``"aided"``.
    title : str
    banner : str
        Markup shown in a warning colour first (e.g. simulated readers); empty for none.
    paragraphs : tuple of str
        Markup, before the tables.
    tables : tuple of ResultTable
    figures : tuple of ReportFigure
        Shown after the first table.
    notes : tuple of str
        Markup, after the tables.
    files : dict
        File name -> text, written beside the report.
    """

    key: str
    title: str
    banner: str = ""
    paragraphs: tuple[str, ...] = ()
    tables: tuple[ResultTable, ...] = ()
    figures: tuple[ReportFigure, ...] = ()
    notes: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)


def figure_svg(figure: ReportFigure) -> str:
    """The figure as an SVG document (text)."""
    from reportlab.graphics import renderSVG

    text = renderSVG.drawToString(figure.drawing)
    return text[text.index("<svg"):]


def _parts(section: ReportSection) -> list[tuple[str, Any]]:
    """The section's parts in order: tables, with the figures after the first table."""
    out: list[tuple[str, Any]] = []
    for i, t in enumerate(section.tables):
        out.append(("table", t))
        if i == min(1, len(section.tables) - 1):
            out += [("figure", f) for f in section.figures]
    if not section.tables:
        out += [("figure", f) for f in section.figures]
    return out


def section_html(section: ReportSection) -> str:
    """The section as an HTML fragment (its tables as :func:`result_html` writes them)."""
    out = [f"<section id=\"{html.escape(section.key)}\"><h2>{html.escape(section.title)}"
           "</h2>\n"]
    if section.banner:
        out.append(f"<table width=\"100%\" cellpadding=\"8\" cellspacing=\"0\"><tr>"
                   f"<td bgcolor=\"#fde2e1\"><b>{section.banner}</b></td></tr></table>\n")
    out += [f"<p>{p}</p>\n" for p in section.paragraphs]
    for kind, part in _parts(section):
        if kind == "table":
            out.append(result_html(part))
        else:
            out.append(f"<h3>{html.escape(part.title)}</h3>\n<figure>{figure_svg(part)}"
                       f"<figcaption class=\"note\">{part.caption}</figcaption></figure>\n")
    if section.notes:
        out.append("<ul class=\"notes\">" + "".join(f"<li>{n}</li>" for n in section.notes)
                   + "</ul>\n")
    return "".join(out) + "</section>\n"


def section_flowables(section: ReportSection, room: float, styles: dict[str, Any]
                      ) -> list[Any]:
    """The section as reportlab flowables (tables as the report's own tables)."""
    from reportlab.lib import colors
    from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Table, TableStyle

    from wbsdesk.services.report_pdf import HEADING_ROOM, table_flowables

    head: list[Any] = [Paragraph(html.escape(section.title), styles["h2"])]
    if section.banner:
        t = Table([[Paragraph(f"<b>{section.banner}</b>", styles["body"])]], colWidths=[room])
        t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fde2e1")),
                               ("TOPPADDING", (0, 0), (-1, -1), 5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
        head.append(t)
    head += [Paragraph(p, styles["body"]) for p in section.paragraphs]
    out: list[Any] = []
    for i, (kind, part) in enumerate(_parts(section)):
        if kind == "table":
            out += table_flowables(part, room, styles, before=head if i == 0 else ())
        else:
            d = part.drawing
            if d.width > room:  # scale down to the page
                scale = room / d.width
                d.scale(scale, scale)
                d.width, d.height = d.width * scale, d.height * scale
            out += [CondPageBreak(HEADING_ROOM)] if i == 0 else []
            out.append(KeepTogether([*(head if i == 0 else []),
                                     Paragraph(html.escape(part.title), styles["h3"]), d,
                                     Paragraph(part.caption, styles["note"])]))
    if not out:
        out = [CondPageBreak(HEADING_ROOM), *head]
    out += [Paragraph(n, styles["note"]) for n in section.notes]
    return out


def write_section_files(section: ReportSection, out_dir: Path) -> dict[str, Path]:
    """Write a section's tables (``<name>.csv``), figures (``<name>.svg``) and files into
    ``out_dir``; returns them by table, figure or file name."""
    out = Path(out_dir)
    written: dict[str, Path] = {}
    for t in section.tables:
        if t.rows:
            p = out / f"{t.name}.csv"
            p.write_text(result_csv(t), encoding="utf-8")
            written[t.name] = p
    for f in section.figures:
        p = out / f"{f.name}.svg"
        p.write_text(figure_svg(f), encoding="utf-8")
        written[f.name] = p
    for name, text in section.files.items():
        p = out / name
        p.write_text(text, encoding="utf-8")
        written[name] = p
    return written
