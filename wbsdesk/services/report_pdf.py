"""The report as a PDF, laid out with reportlab's platypus (a renderer of ReportContent).

A4 pages with the report's title and "Page N of M" at the foot of every page. Each table
is a ``LongTable`` whose header row repeats on every page it runs onto; a heading never
stands alone at the foot of a page (it is kept with what follows, and a table heading
starts a new page when too little room is left). Column widths come from the text: a
column is at least as wide as its longest word (header or cell) and gets its full width
when the page allows, so words are never broken ("Differenc e"); a table too wide for the
page is set in a smaller font. The ROC figure is placed at 300 dpi (smaller when the page
is narrower). The text uses the DejaVu-like Bitstream Vera fonts shipped with reportlab
(±, −, ≥ and en dashes included).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
    XPreformatted,
)

from wbsdesk.core.result_table import ResultTable
from wbsdesk.services.report_content import ReportContent
from wbsdesk.services.report_sections import section_flowables

log = logging.getLogger(__name__)

__all__ = ["FIGURE_DPI", "ReportDoc", "content_pdf", "register_fonts", "report_styles",
           "table_flowables"]

#: Resolution at which the figure is placed (its pixels per inch on the page, at most).
FIGURE_DPI = 300
MARGIN = 15 * mm
FONT, BOLD = "Vera", "VeraBd"
#: Font sizes tried for a table, largest first, until its words fit the page width.
TABLE_SIZES = (8.0, 7.5, 7.0, 6.5, 6.0, 5.5)
CELL_PAD = 3.0
#: Room (points) a table heading needs below it, else it starts on the next page.
HEADING_ROOM = 40 * mm
HEADER_BG = colors.HexColor("#e8eef4")


def register_fonts() -> None:
    """Register the Vera fonts reportlab ships (once)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import reportlab

    folder = Path(reportlab.__file__).parent / "fonts"
    for name, file in ((FONT, "Vera.ttf"), (BOLD, "VeraBd.ttf"), ("VeraIt", "VeraIt.ttf"),
                       ("VeraBI", "VeraBI.ttf")):
        pdfmetrics.registerFont(TTFont(name, os.fspath(folder / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic="VeraIt",
                                  boldItalic="VeraBI")


def report_styles() -> dict[str, ParagraphStyle]:
    """The report's paragraph styles (body, h1-h3, note, pre); registers the fonts."""
    register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=11.5, spaceAfter=4,
                          splitLongWords=0)
    return {
        "body": base,
        "h1": ParagraphStyle("h1", parent=base, fontName=BOLD, fontSize=15, leading=19,
                             spaceAfter=6, keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=12.5, leading=16,
                             spaceBefore=10, spaceAfter=5, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=base, fontName=BOLD, fontSize=10, leading=13,
                             spaceBefore=8, spaceAfter=3, keepWithNext=1),
        "note": ParagraphStyle("note", parent=base, fontSize=7.5, leading=9.5,
                               textColor=colors.HexColor("#444444"), spaceAfter=1.5),
        "pre": ParagraphStyle("pre", parent=base, fontSize=6.5, leading=8),
    }


class _NumberedCanvas(Canvas):
    """A canvas that writes "Page N of M" once the number of pages is known."""

    title = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._footer(total)
            super().showPage()
        super().save()

    def _footer(self, total: int) -> None:
        width, _ = A4
        self.saveState()
        self.setFont(FONT, 7.5)
        self.setFillColor(colors.HexColor("#555555"))
        self.drawString(MARGIN, 8 * mm, self.title[:110])
        self.drawRightString(width - MARGIN, 8 * mm,
                             f"Page {self._pageNumber} of {total}")
        self.setStrokeColor(colors.HexColor("#bbbbbb"))
        self.line(MARGIN, 11 * mm, width - MARGIN, 11 * mm)
        self.restoreState()


class ReportDoc(SimpleDocTemplate):
    """An A4 document that remembers where each flowable landed (page, flowable)."""

    def __init__(self, path: Path, title: str) -> None:
        super().__init__(os.fspath(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm, title=title,
                         author="wbsdesk", creator="wbsdesk")
        self.placed: list[tuple[int, Any]] = []

    def afterFlowable(self, flowable: Any) -> None:  # noqa: N802 (reportlab's name)
        self.placed.append((self.page, flowable))

    def build_numbered(self, story: list[Any]) -> None:
        """Lay out ``story`` with the title and "Page N of M" at every page's foot."""
        title = self.title

        class Numbered(_NumberedCanvas):
            pass

        Numbered.title = title
        self.build(story, canvasmaker=Numbered)


def _words(text: str) -> list[str]:
    return text.split() or [""]


class _Measure:
    """String widths in the table fonts, remembered (tables repeat their words)."""

    def __init__(self, size: float) -> None:
        self.size = size
        self._seen: dict[tuple[str, str], float] = {}

    def __call__(self, text: str, font: str = FONT) -> float:
        key = (text, font)
        if key not in self._seen:
            self._seen[key] = pdfmetrics.stringWidth(text, font, self.size)
        return self._seen[key]


def _column_widths(table: ResultTable, texts: list[list[str]], sw: _Measure
                   ) -> tuple[list[float], list[float], list[float]]:
    """Per column: the width it needs, the width of its longest word, its full width.

    A numeric column needs its longest cell on one line (numbers never wrap); a text
    column and every header need only their longest word (they wrap between words).
    """
    pad = 2 * CELL_PAD + 1
    need, least, full = [], [], []
    for j, (col, head) in enumerate(zip(table.columns, table.headers(), strict=True)):
        cells = [row[j] for row in texts]
        head_word = max(sw(w, BOLD) for w in _words(head))
        cell_word = max([sw(w) for t in cells for w in _words(t)], default=0.0)
        cell_line = max([sw(t) for t in cells], default=0.0)
        least.append(max(head_word, cell_word) + pad)
        need.append(max(head_word, cell_line if col.numeric else cell_word) + pad)
        full.append(max(sw(head, BOLD), cell_line) + pad)
    return need, least, full


def _grow(base: list[float], full: list[float], room: float) -> list[float]:
    """``base`` widths given the spare room towards ``full``, in proportion."""
    spare = room - sum(base)
    want = [max(f - b, 0.0) for f, b in zip(full, base, strict=True)]
    total = sum(want)
    if spare <= 0 or total <= 0:
        return base
    share = min(1.0, spare / total)
    return [b + w * share for b, w in zip(base, want, strict=True)]


def _layout(table: ResultTable, texts: list[list[str]], room: float
            ) -> tuple[float, list[float], _Measure]:
    """Font size and column widths: the largest size at which every number fits whole."""
    for size in TABLE_SIZES:
        sw = _Measure(size)
        need, least, full = _column_widths(table, texts, sw)
        if sum(need) <= room:
            return size, _grow(need, full, room), sw
    return size, _grow(least, full, room), sw  # only wrapping between words is left


def table_flowables(table: ResultTable, room: float, styles: dict[str, ParagraphStyle], *,
                    before: Sequence[Any] = ()) -> list[Any]:
    """A result table as platypus flowables: its heading, the table, its footnotes.

    The header row repeats on every page; cells wrap only between words. A table that
    fits on one page stays whole with its heading and footnotes. ``before`` (a section
    heading) goes with the table's heading: both start a new page when too little room is
    left for them and the first rows.
    """
    out: list[Any] = [CondPageBreak(HEADING_ROOM), *before,
                      Paragraph(escape(table.title), styles["h3"])]
    if not table.rows:
        return [*out, Paragraph(escape(table.empty_text or "No rows."), styles["body"])]
    texts = table.texts()
    size, widths, sw = _layout(table, texts, room)
    lead = size * 1.22
    pad = 2 * CELL_PAD + 1
    head_style = ParagraphStyle("th", fontName=BOLD, fontSize=size, leading=lead,
                                splitLongWords=0)
    cell = {a: ParagraphStyle(f"td{a}", fontName=FONT, fontSize=size, leading=lead,
                              alignment=a, splitLongWords=0) for a in (TA_LEFT, TA_RIGHT)}
    # a text that fits its column stays a plain string (much faster than a Paragraph)
    data: list[list[Any]] = [[h if sw(h, BOLD) + pad <= w else
                              Paragraph(escape(h), head_style)
                              for h, w in zip(table.headers(), widths, strict=True)]]
    for row in texts:
        data.append([t if sw(t) + pad <= widths[j] else
                     Paragraph(escape(t), cell[TA_RIGHT if col.numeric else TA_LEFT])
                     for j, (col, t) in enumerate(zip(table.columns, row, strict=True))])
    style = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTNAME", (0, 0), (-1, 0), BOLD),
             ("FONTSIZE", (0, 0), (-1, -1), size),
             ("LEADING", (0, 0), (-1, -1), lead), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
             ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
             ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
             ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    style += [("ALIGN", (j, 1), (j, -1), "RIGHT")
              for j, c in enumerate(table.columns) if c.numeric]
    grid = LongTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT", splitByRow=1)
    grid.setStyle(TableStyle(style))
    notes = [Paragraph(escape(n), styles["note"]) for n in table.footnotes()]
    # a table that fits on a page is kept whole with its heading and notes (it starts on the
    # next page when this one is too full); a longer one runs on, its header repeated
    return [out[0], KeepTogether([*out[1:], grid, Spacer(1, 2), *notes])]


def _banner(text: str, color: str, room: float, styles: dict[str, ParagraphStyle]) -> Table:
    t = Table([[Paragraph(f"<b>{text}</b>", styles["body"])]], colWidths=[room])
    t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(color)),
                           ("TOPPADDING", (0, 0), (-1, -1), 5),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return t


def _figure(png: Path | None, caption: str, room: float,
            styles: dict[str, ParagraphStyle]) -> list[Any]:
    head = Paragraph("Figure. ROC curves", styles["h2"])
    if png is None:
        return [head, Paragraph("<i>The figure was not drawn (no renderer was available)."
                                "</i>", styles["body"])]
    from PIL import Image as PilImage

    with PilImage.open(png, formats=["PNG"]) as im:  # the figure it rendered
        w_px, h_px = im.size
    width = min(room, w_px / FIGURE_DPI * 72.0)  # 300 dpi, or denser to fit the page
    height = width * h_px / w_px
    return [KeepTogether([head, Image(os.fspath(png), width=width, height=height),
                          Paragraph(caption, styles["note"])])]


def _items(items: Sequence[str], style: ParagraphStyle) -> list[Any]:
    return [Paragraph(i, style, bulletText="•") for i in items] or [Paragraph("None.", style)]


def content_pdf(content: ReportContent, path: Path, *, figure_png: Path | None) -> Path:
    """Write the report PDF.

    Parameters
    ----------
    content : ReportContent
    path : Path
        The PDF file (replaced).
    figure_png : Path, optional, keyword-only
        The ROC figure; without one the PDF says it was not drawn.

    Returns
    -------
    Path
    """
    register_fonts()
    styles = report_styles()
    c = content
    doc = ReportDoc(path, c.title)
    room = doc.width
    story: list[Any] = [Paragraph(escape(c.title), styles["h1"]),
                        Paragraph(c.byline, styles["note"])]
    story += [_banner(b.text, b.color, room, styles) for b in c.banners]
    story += [Spacer(1, 4), *[Paragraph(p, styles["body"]) for p in c.summary]]
    story += _figure(figure_png, c.figure_caption, room, styles)
    for i, t in enumerate(c.tables):
        story += table_flowables(t, room, styles,
                                 before=[Paragraph("Tables", styles["h2"])] if i == 0 else ())
    if c.audit is not None:
        from wbsdesk.services.report_audit_render import audit_flowables

        story += audit_flowables(c.audit, room, styles)
    for s in c.sections:
        story += section_flowables(s, room, styles)
    story += [Paragraph("Methods", styles["h2"]), *_items(c.methods, styles["body"])]
    for i, t in enumerate(c.provenance):
        story += table_flowables(
            t, room, styles, before=[Paragraph("Provenance", styles["h2"])] if i == 0 else ())
    for title, items in (("Exclusions", c.exclusions), ("Warnings", c.warnings)):
        story += [Paragraph(title, styles["h3"]), *_items(items, styles["note"])]
    if c.missing:
        story += [Paragraph("Photos without a rating (subject IDs), left out of every "
                            "comparison with readers", styles["h3"]),
                  *_items(c.missing, styles["note"])]
    story += [Paragraph(f"Protocol {escape(c.protocol_name)} (resolved)", styles["h3"]),
              XPreformatted(escape(c.protocol_json), styles["pre"]),
              Paragraph("Files of this report", styles["h3"]),
              *_items([escape(f) for f in c.files], styles["note"])]
    doc.build_numbered(story)
    log.info("wrote the report PDF %s", path)
    return Path(path)
