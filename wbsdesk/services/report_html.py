"""The report as one self-contained HTML page (a renderer of :class:`ReportContent`).

Plain HTML 4 tables and a small style sheet; the figure is embedded as base64, so the page
needs no other file and no network.
"""

from __future__ import annotations

import base64
import html

from wbsdesk.services.report_audit_render import audit_html
from wbsdesk.services.report_content import ReportContent
from wbsdesk.services.report_sections import section_html
from wbsdesk.services.table_render import result_html

__all__ = ["content_html"]

_STYLE = ("body { font-family: sans-serif; font-size: 10pt; max-width: 64em; margin: 1em auto; }"
          " table { border-collapse: collapse; margin-bottom: 0.3em; }"
          " th { text-align: left; } td { white-space: nowrap; }"
          " p.note { color: #444444; font-size: 9pt; margin: 0.1em 0; }"
          " pre { font-size: 7pt; }")


def _esc(x: object) -> str:
    return html.escape(str(x))


def _list(items: tuple[str, ...]) -> str:
    return "<ul>" + ("".join(f"<li>{i}</li>" for i in items) or "<li>None.</li>") + "</ul>\n"


def _banner(text: str, color: str) -> str:
    return (f"<table width=\"100%\" cellpadding=\"8\" cellspacing=\"0\"><tr>"
            f"<td bgcolor=\"{color}\"><b>{text}</b></td></tr></table>\n")


def content_html(content: ReportContent, *, figure_png: bytes | None) -> str:
    """The report page.

    Parameters
    ----------
    content : ReportContent
    figure_png : bytes, optional, keyword-only
        The ROC figure, embedded as base64; without one the page says it was not drawn.

    Returns
    -------
    str
    """
    c = content
    out = [f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{_esc(c.title)}"
           f"</title><style>{_STYLE}</style></head><body>\n<h1>{_esc(c.title)}</h1>\n"
           f"<p class=\"note\">{c.byline}</p>\n"]
    out += [_banner(b.text, b.color) for b in c.banners]
    out += [f"<p>{p}</p>\n" for p in c.summary]
    out.append("<h2>Figure. ROC curves</h2>\n")
    if figure_png is None:
        out.append("<p><i>The figure was not drawn (no renderer was available).</i></p>\n")
    else:
        url = "data:image/png;base64," + base64.b64encode(figure_png).decode("ascii")
        out.append(f"<p><img src=\"{url}\" width=\"760\" alt=\"ROC curves\"></p>\n"
                   f"<p class=\"note\">{c.figure_caption}</p>\n")
    out.append("<h2>Tables</h2>\n")
    out += [result_html(t) for t in c.tables]
    if c.audit is not None:
        out.append(audit_html(c.audit))
    out += [section_html(s) for s in c.sections]
    out.append("<h2>Methods</h2>\n" + _list(c.methods))
    out.append("<h2>Provenance</h2>\n")
    out += [result_html(t) for t in c.provenance]
    out.append("<h3>Exclusions</h3>\n" + _list(c.exclusions))
    out.append("<h3>Warnings</h3>\n" + _list(c.warnings))
    if c.missing:
        out.append("<h3>Photos without a rating (subject IDs), left out of every comparison "
                   "with readers</h3>\n" + _list(c.missing))
    out.append(f"<h3>Protocol {_esc(c.protocol_name)} (resolved)</h3>\n"
               f"<pre>{_esc(c.protocol_json)}</pre>\n")
    out.append("<h3>Files of this report</h3>\n" + _list(tuple(_esc(f) for f in c.files)))
    return "".join(out) + "</body></html>\n"
