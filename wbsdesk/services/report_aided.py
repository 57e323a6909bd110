"""The "Aided vs unaided" report section, on the one table model (renderers only).

:func:`aided_section` turns an :class:`~wbsdesk.services.analysis_aided.AidedComparison`
into a :class:`~wbsdesk.services.report_sections.ReportSection`: the tables of
:func:`wbsdesk.services.result_tables_aided.aided_tables` (the dashboard shows the same),
a summary whose wording of benefit or harm follows the CIs, the slope chart of each
reader's AUC unaided -> aided (:func:`slope_drawing`, laid out by
:func:`wbsdesk.core.slope_chart.slope_chart` like the dashboard's) and the two iMRMC files
(:func:`aided_imrmc_text`: modality 1 unaided, 2 aided; ``wbsdesk plan --pilot`` reads
them). :func:`aided_report_section` builds it for a study of a workspace (``None`` without
aided sessions); ``wbsdesk report`` and the dashboard hand it to
:func:`wbsdesk.services.reports.write_report`, so the HTML, the PDF and the CSV files carry
it. :func:`write_aided_report` writes the section alone (``wbsdesk aid compare --out``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from wbsdesk.config import ensure_private_dir
from wbsdesk.core.slope_chart import COLOURS, EFFECT_TEXT, SlopeChart, slope_chart
from wbsdesk.services.analysis_aided import AidedComparison
from wbsdesk.services.report_sections import (
    ReportFigure,
    ReportSection,
    section_html,
    write_section_files,
)
from wbsdesk.services.result_tables_aided import (
    DESIGN_NAMES,
    aided_tables,
    effect_sentence,
    harmed_text,
)
from wbsdesk.services.table_render import shown_note

__all__ = ["AIDED_TITLE", "DESIGN_NAMES", "IMRMC_FILES", "aided_chart", "aided_imrmc_text",
           "aided_report_section", "aided_section", "aided_summary", "slope_drawing",
           "write_aided_report"]

AIDED_TITLE = "Aided vs unaided"
IMRMC_FILES = {"readers_aided.imrmc": False, "readers_aided_binary.imrmc": True}
SLOPE_FIGURE = "aided_slope"
#: Least distance between two reader labels in the report's chart (fraction of the axis).
LABEL_GAP = 0.045


def _esc(x: Any) -> str:
    return html.escape(str(x))


def aided_chart(comp: AidedComparison, *, label_gap: float = LABEL_GAP) -> SlopeChart:
    """The slope chart's layout of a comparison (readers' AUC unaided -> aided)."""
    return slope_chart([(r.reader, r.auc_unaided, r.auc_aided, r.ci_low, r.ci_high)
                        for r in comp.readers], label_gap=label_gap)


def slope_drawing(chart: SlopeChart, *, width: float = 440, height: float = 300) -> Any:
    """The chart as a reportlab Drawing (vector: placed in the PDF, SVG in the HTML)."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, String
    from reportlab.lib.colors import HexColor
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from wbsdesk.services.report_pdf import FONT, register_fonts

    register_fonts()
    d = Drawing(width, height)
    left, right, bottom, top = 60.0, 270.0, 62.0, height - 14.0
    grey = HexColor("#888888")

    def y(v: float) -> float:
        return bottom + (v - chart.low) / (chart.high - chart.low) * (top - bottom)

    for x in (left, right):
        d.add(Line(x, bottom, x, top, strokeColor=grey, strokeWidth=0.8))
    for t in chart.ticks:
        d.add(Line(left - 4, y(t), left, y(t), strokeColor=grey, strokeWidth=0.8))
        d.add(String(left - 7, y(t) - 3, f"{t:.1f}", fontName=FONT, fontSize=8,
                     textAnchor="end"))
    d.add(String(18, (top + bottom) / 2, "AUC", fontName=FONT, fontSize=8.5,
                 textAnchor="middle"))
    d.add(String(left, bottom - 14, "Unaided", fontName=FONT, fontSize=8.5,
                 textAnchor="middle"))
    d.add(String(right, bottom - 14, "Aided", fontName=FONT, fontSize=8.5,
                 textAnchor="middle"))
    for line in chart.lines:
        c = HexColor(line.colour)
        d.add(Line(left, y(line.unaided), right, y(line.aided), strokeColor=c,
                   strokeWidth=1.6))
        for x, v in ((left, line.unaided), (right, line.aided)):
            d.add(Circle(x, y(v), 2.4, fillColor=c, strokeColor=c))
        if abs(y(line.label_y) - y(line.aided)) > 1:  # moved apart: a leader to the line
            d.add(Line(right + 3, y(line.aided), right + 9, y(line.label_y), strokeColor=c,
                       strokeWidth=0.5))
        d.add(String(right + 11, y(line.label_y) - 3, line.label, fontName=FONT,
                     fontSize=8, fillColor=c))
    x = left - 40
    for effect in ("harmed", "unclear", "benefited"):  # the legend, under the axes
        c = HexColor(COLOURS[effect])
        d.add(Line(x, 14, x + 16, 14, strokeColor=c, strokeWidth=1.6))
        text = EFFECT_TEXT[effect]
        d.add(String(x + 20, 11, text, fontName=FONT, fontSize=7.5, fillColor=c))
        x += 34 + stringWidth(text, FONT, 7.5)
    return d


def _summary(comp: AidedComparison) -> tuple[str, ...]:
    level = f"{100 * comp.ci_level:g}% CI"
    designs = "; ".join(DESIGN_NAMES.get(d, d) for d in comp.designs)
    first = (f"<b>Design</b> {_esc(designs)}. <b>Aid</b> run "
             f"{_esc(', '.join(comp.aid['runs']))}, model "
             f"{_esc(', '.join(comp.aid['models']))}. <b>Readers</b> {len(comp.readers)} on "
             f"{comp.n_cases} photos. <b>Harmed readers</b> {_esc(harmed_text(comp))}.")
    return (first, *[_esc(effect_sentence(t, level)) for t in comp.tests])


def _caption(comp: AidedComparison) -> str:
    level = f"{100 * comp.ci_level:g}%"
    return (f"Each reader's AUC of the ratings without the aid (left) and with it (right), "
            f"on the {comp.n_cases} photos every reader answered in both modalities. Colour: "
            f"what the reader's {level} DeLong CI of the difference shows (red: harmed, the "
            "aided AUC lower by more than the CI; green: higher by more than the CI; blue: "
            "no clear change, the CI includes 0). Labels are moved apart where lines end "
            "close together; a short stroke joins each to its line.")


def aided_section(comp: AidedComparison) -> ReportSection:
    """The report section of a comparison (tables, summary, slope chart, iMRMC files)."""
    banner = ("SIMULATED READERS: these unaided and aided reads are computer-generated "
              "stand-ins, not physicians' reads." if comp.simulated else "")
    figure = ReportFigure(SLOPE_FIGURE, "Figure. Readers' AUC, unaided to aided",
                          _esc(_caption(comp)), slope_drawing(aided_chart(comp)))
    files = {name: aided_imrmc_text(comp, binary=binary) for name, binary in
             IMRMC_FILES.items()}
    return ReportSection(key="aided", title=AIDED_TITLE, banner=banner,
                         paragraphs=_summary(comp), tables=aided_tables(comp),
                         figures=(figure,),
                         notes=tuple(_esc(shown_note(n)) for n in comp.notes), files=files)


def _refused(message: str) -> ReportSection:
    return ReportSection(key="aided", title=AIDED_TITLE,
                         paragraphs=(f"Not compared: {_esc(message)}",))


def aided_report_section(ws: Any, study: str, *, include_simulated: bool = False,
                         include_dry_run: bool = False
                         ) -> tuple[ReportSection, AidedComparison | None] | None:
    """The study's "Aided vs unaided" section, or ``None`` without aided sessions.

    A comparison that cannot be made (e.g. fewer than 2 readers with both modalities) gives
    a section that says why, and no comparison.

    Returns
    -------
    (ReportSection, AidedComparison or None) or None
    """
    from wbsdesk.errors import UserError
    from wbsdesk.services.analysis_aided import build_aided_comparison

    row = ws.store.study(study)
    if row is None or not any(s.design != "blind" for s in ws.store.sessions(row.id)):
        return None
    try:
        comp = build_aided_comparison(ws, study, include_simulated=include_simulated,
                                      include_dry_run=include_dry_run)
    except UserError as exc:
        return _refused(exc.message + (f" ({exc.hint})" if exc.hint else "")), None
    return aided_section(comp), comp


def aided_summary(part: tuple[ReportSection, AidedComparison | None] | None,
                  files: dict[str, Path]) -> dict[str, Any] | None:
    """What ``wbsdesk report --json`` says of the aided section: ``None`` without one,
    ``{"error": why}`` when the comparison could not be made, else the section's files,
    the harmed readers and its tables (plain data)."""
    if part is None:
        return None
    section, comp = part
    if comp is None:
        return {"error": section.paragraphs[0]}
    names = [t.name for t in section.tables] + [f.name for f in section.figures] + list(
        section.files)
    return {"files": [str(files[n]) for n in names if n in files],
            "harmed": list(comp.harmed),
            "tables": {t.name: t.to_dict() for t in section.tables}}


def aided_imrmc_text(comp: AidedComparison, *, binary: bool = False) -> str:
    """The readers' ratings (or binary reads) in iMRMC input format, modality 1 unaided and
    modality 2 aided, case IDs 1..N in subject-key order, reader IDs 1..NR."""
    scores = comp.binary if binary else comp.ratings
    what = "binary read (1 = positive)" if binary else "rating"
    lines = [f"wbsdesk aided reader study - study {comp.study} - {what} - modality 1 = "
             f"unaided - modality 2 = aided{' - SIMULATED readers' if comp.simulated else ''}",
             "", f"NR: {len(comp.readers)}", f"N0: {int((~comp.y).sum())}",
             f"N1: {int(comp.y.sum())}", "NM: 2", "", "BEGIN DATA:"]
    lines += [f"-1,{c + 1},0,{int(t)}" for c, t in enumerate(comp.y)]
    for m in (0, 1):
        for j in range(len(comp.readers)):
            lines += [f"{j + 1},{c + 1},{m + 1},{int(v)}" for c, v in enumerate(scores[m, j])]
    return "\n".join(lines) + "\n"


def write_aided_report(comp: AidedComparison, out_dir: Path) -> list[Path]:
    """Write the section alone: its CSV tables, the slope chart (SVG), the two iMRMC files
    and ``aided.html``."""
    out = ensure_private_dir(Path(out_dir))
    section = aided_section(comp)
    written = list(write_section_files(section, out).values())
    page = out / "aided.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Aided vs "
                    f"unaided - {_esc(comp.study)}</title></head><body>"
                    + section_html(section) + "</body></html>\n", encoding="utf-8")
    written.append(page)
    return written
