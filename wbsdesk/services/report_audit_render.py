"""The report's audit section (HTML and PDF) and its reliability diagram (SVG, reportlab).

:func:`audit_content` says what the section holds, once: the baseline warning, a paragraph
on what was audited, the reliability diagram of the models (:class:`ReliabilityChart`, 10
equal-width bins) and the audit's tables (:func:`wbsdesk.services.report_audit.audit_tables`).
:func:`audit_html` and :func:`audit_flowables` lay it out; the chart is drawn from one list of
shapes (:meth:`ReliabilityChart.shapes`) as an inline SVG for the HTML page and as a reportlab
drawing for the PDF, so both show the same points.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core.architectures import arch_color
from wbsdesk.core.formatting import fmt_number
from wbsdesk.core.result_table import ResultTable
from wbsdesk.services.analysis_results import Comparison
from wbsdesk.services.report_audit import audit_tables
from wbsdesk.services.table_render import result_html

__all__ = ["AuditContent", "ReliabilityChart", "audit_content", "audit_flowables",
           "audit_html"]

#: The banner colour of the baseline warning (the report's alarm colour).
WARNING_COLOR = "#fde2e1"
#: Size of the chart's square plot area and its margins (px in SVG, pt in the PDF).
PLOT, LEFT, TOP, BOTTOM, LEGEND = 200.0, 44.0, 14.0, 36.0, 230.0
LINE = 12.0


@dataclass(frozen=True)
class ReliabilityChart:
    """One reliability diagram: per model, its non-empty bins (mean predicted, observed).

    Attributes
    ----------
    series : tuple of (label, colour, points, ece, brier)
        ``points`` are (mean predicted probability, observed share, cases) of the non-empty
        bins.
    n_bins : int
    """

    series: tuple[tuple[str, str, tuple[tuple[float, float, int], ...], float, float], ...]
    n_bins: int

    @property
    def size(self) -> tuple[float, float]:
        """Width and height of the whole chart (plot, axes and legend)."""
        legend = TOP + LINE * (len(self.series) + 1)
        return LEFT + PLOT + 16 + LEGEND, max(TOP + PLOT + BOTTOM, legend)

    def shapes(self) -> list[tuple[Any, ...]]:
        """Drawing primitives, y downwards: ``("line", x1, y1, x2, y2, colour, width,
        dashed)``, ``("poly", [(x, y), ...], colour, width)``, ``("dot", x, y, r, colour)``,
        ``("text", x, y, text, size, anchor, colour)``."""

        def px(p: float) -> float:
            return LEFT + p * PLOT

        def py(q: float) -> float:
            return TOP + (1.0 - q) * PLOT

        out: list[tuple[Any, ...]] = [
            ("line", px(0), py(0), px(1), py(0), "#000000", 0.8, False),
            ("line", px(0), py(0), px(0), py(1), "#000000", 0.8, False),
            ("line", px(0), py(0), px(1), py(1), "#999999", 0.8, True)]
        for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
            label = f"{t:.1f}"
            out += [("line", px(t), py(0), px(t), py(0) + 3, "#000000", 0.6, False),
                    ("line", px(0) - 3, py(t), px(0), py(t), "#000000", 0.6, False),
                    ("text", px(t), py(0) + 12, label, 7.0, "middle", "#000000"),
                    ("text", px(0) - 5, py(t) + 2.5, label, 7.0, "end", "#000000")]
        out += [("text", px(0.5), py(0) + 26, "mean predicted probability (bin)", 8.0,
                 "middle", "#000000"),
                ("text", 10.0, py(1.0) - 4, "observed share of target photos", 8.0, "start",
                 "#000000")]
        lx = LEFT + PLOT + 16
        out.append(("text", lx, TOP + 2, f"{self.n_bins} equal bins · ECE · Brier", 7.5,
                    "start", "#444444"))
        for i, (label, color, points, ece, brier) in enumerate(self.series):
            xy = [(px(p), py(q)) for p, q, _ in points]
            if len(xy) > 1:
                out.append(("poly", xy, color, 1.2))
            out += [("dot", x, y, 2.2, color) for x, y in xy]
            y = TOP + LINE * (i + 1) + 2
            out += [("line", lx, y - 3, lx + 14, y - 3, color, 2.0, False),
                    ("text", lx + 18, y, f"{label} · {fmt_number(ece)} · {fmt_number(brier)}",
                     7.5, "start", "#000000")]
        return out

    def svg(self) -> str:
        """The chart as an inline SVG element."""
        w, h = self.size
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
                 f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="sans-serif" role="img" '
                 'aria-label="Reliability diagram">']
        for s in self.shapes():
            kind = s[0]
            if kind == "line":
                _, x1, y1, x2, y2, color, width, dashed = s
                dash = ' stroke-dasharray="4 3"' if dashed else ""
                parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                             f'stroke="{color}" stroke-width="{width}"{dash}/>')
            elif kind == "poly":
                _, pts, color, width = s
                d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                parts.append(f'<polyline points="{d}" fill="none" stroke="{color}" '
                             f'stroke-width="{width}"/>')
            elif kind == "dot":
                _, x, y, r, color = s
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>')
            else:
                _, x, y, text, size, anchor, color = s
                parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
                             f'text-anchor="{anchor}" fill="{color}">'
                             f'{html.escape(text)}</text>')
        return "".join(parts) + "</svg>"

    def drawing(self, width: float) -> Any:
        """The chart as a reportlab ``Drawing``, scaled down to ``width`` points if wider."""
        from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
        from reportlab.lib import colors

        from wbsdesk.services.report_pdf import BOLD, FONT  # noqa: F401 (fonts registered)

        w, h = self.size
        scale = min(1.0, width / w)
        d = Drawing(w * scale, h * scale)

        def y(v: float) -> float:
            return h - v

        for s in self.shapes():
            kind = s[0]
            if kind == "line":
                _, x1, y1, x2, y2, color, lw, dashed = s
                d.add(Line(x1, y(y1), x2, y(y2), strokeColor=colors.HexColor(color),
                           strokeWidth=lw, strokeDashArray=[4, 3] if dashed else None))
            elif kind == "poly":
                _, pts, color, lw = s
                d.add(PolyLine([v for x, yy in pts for v in (x, y(yy))],
                               strokeColor=colors.HexColor(color), strokeWidth=lw))
            elif kind == "dot":
                _, x, yy, r, color = s
                d.add(Circle(x, y(yy), r, fillColor=colors.HexColor(color), strokeColor=None))
            else:
                _, x, yy, text, size, anchor, color = s
                d.add(String(x, y(yy), text, fontName=FONT, fontSize=size,
                             textAnchor=anchor, fillColor=colors.HexColor(color)))
        d.scale(scale, scale)
        return d


@dataclass(frozen=True)
class AuditContent:
    """What the report's audit section shows (markup paragraphs, chart, tables)."""

    warning: str | None
    intro: tuple[str, ...]
    chart: ReliabilityChart | None
    tables: tuple[ResultTable, ...]


def _chart(c: Comparison) -> ReliabilityChart | None:
    cal = c.audit.calibration if c.audit is not None else None
    if cal is None or not cal.models:
        return None
    series = []
    for m in cal.models:
        pts = tuple((b.mean_predicted, b.observed, b.n) for b in m.bins
                    if b.n and np.isfinite(b.mean_predicted))
        series.append((m.label, arch_color(m.name), pts, m.ece, m.brier))
    return ReliabilityChart(series=tuple(series), n_bins=cal.n_bins)


def audit_content(c: Comparison) -> AuditContent | None:
    """The audit section of the report of ``c`` (None when no audit is attached)."""
    a = c.audit
    if a is None:
        return None
    e = html.escape
    dims = ", ".join(a.subgroups.dimensions) if a.subgroups is not None else "sex, age band"
    intro = [f"<b>Before believing a model.</b> Calibration of the models' out-of-fold "
             "probabilities (reliability diagram, expected calibration error, Brier score) "
             f"and the readers' share of target photos per rating level; AUCs within "
             f"subgroups ({e(dims)}), with subgroups of fewer than 10 positives or 10 "
             "controls marked 'too small to interpret'; and confounds: capture statistics by "
             "group (standardised mean difference; AUC alone ≥ 0.65 flagged) and a trivial "
             "baseline on the same folds, shown in Table 4 and the ROC figure beside the "
             "CNNs."]
    if a.warning is None and a.baseline_model is not None:
        intro.append("The best CNN is ahead of the trivial baseline by at least 0.05 AUC.")
    for part, why in a.missing.items():
        intro.append(f"<i>{e(part.capitalize())}: not computed ({e(why)}).</i>")
    return AuditContent(warning=e(a.warning) if a.warning else None, intro=tuple(intro),
                        chart=_chart(c), tables=audit_tables(c))


CHART_CAPTION = ("Reliability diagram: each model's out-of-fold probabilities in equal-width "
                 "bins, the bin's mean predicted probability against the observed share of "
                 "target photos (non-empty bins only). On the dashed diagonal a model is "
                 "calibrated. Legend: model · ECE · Brier score.")


def audit_html(content: AuditContent) -> str:
    """The audit section as HTML (a heading, the warning, the chart and the tables)."""
    out = ["<h2 id=\"audit\">Audit: calibration, subgroups and confounds</h2>\n"]
    if content.warning:
        out.append(f"<table width=\"100%\" cellpadding=\"8\" cellspacing=\"0\"><tr>"
                   f"<td bgcolor=\"{WARNING_COLOR}\"><b>{content.warning}</b></td></tr>"
                   "</table>\n")
    out += [f"<p>{p}</p>\n" for p in content.intro]
    if content.chart is not None:
        out.append(f"<h3>Figure. Reliability diagram</h3>\n<p>{content.chart.svg()}</p>\n"
                   f"<p class=\"note\">{html.escape(CHART_CAPTION)}</p>\n")
    out += [result_html(t) for t in content.tables]
    return "".join(out)


def audit_flowables(content: AuditContent, room: float, styles: dict[str, Any]) -> list[Any]:
    """The audit section as reportlab flowables (same order as :func:`audit_html`)."""
    from reportlab.lib import colors
    from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Table, TableStyle

    from wbsdesk.services.report_pdf import HEADING_ROOM, table_flowables

    out: list[Any] = [CondPageBreak(HEADING_ROOM),
                      Paragraph("Audit: calibration, subgroups and confounds", styles["h2"])]
    if content.warning:
        t = Table([[Paragraph(f"<b>{content.warning}</b>", styles["body"])]],
                  colWidths=[room])
        t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1),
                                colors.HexColor(WARNING_COLOR)),
                               ("TOPPADDING", (0, 0), (-1, -1), 5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
        out.append(t)
    out += [Paragraph(p, styles["body"]) for p in content.intro]
    if content.chart is not None:
        out.append(KeepTogether([Paragraph("Figure. Reliability diagram", styles["h3"]),
                                 content.chart.drawing(room),
                                 Paragraph(html.escape(CHART_CAPTION), styles["note"])]))
    for t in content.tables:
        out += table_flowables(t, room, styles)
    return out
