"""The "Aided vs unaided" report section: tables, a slope chart, iMRMC files (renderers only).

:func:`aided_tables` gives the section's tables as plain rows (the CSV files and the
dashboard show the same numbers); :func:`aided_section_html` the HTML section (with an
inline SVG slope chart of each reader's AUC unaided -> aided, harmed readers in red), which
the comparison report appends; :func:`aided_imrmc_text` the readers' scores in iMRMC input
format with the two modalities (1 = unaided, 2 = aided), the file ``wbsdesk plan --pilot``
reads; :func:`write_aided_report` writes them all.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from wbsdesk.config import ensure_private_dir
from wbsdesk.core.csv_export import csv_text
from wbsdesk.services.analysis_aided import AidedComparison

__all__ = ["aided_header", "aided_imrmc_text", "aided_section_html", "aided_tables",
           "write_aided_report"]

DESIGN_NAMES = {"sequential_aided": "sequential (blind read, locked, then aided re-read)",
                "crossover_aided": "crossover (an unaided and an aided session per reader)"}


def _f(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _ci(lo: float, hi: float, digits: int = 3) -> str:
    return f"{_f(lo, digits)} to {_f(hi, digits)}"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def aided_header(comp: AidedComparison) -> list[tuple[str, str]]:
    """(label, text) lines: design, washout, aid run and model, readers, harmed readers."""
    aid = comp.aid
    readers = f"{len(comp.readers)}" + (" (SIMULATED)" if comp.simulated else "")
    out = [("Design", "; ".join(DESIGN_NAMES.get(d, d) for d in comp.designs)),
           ("Washout", "n/a (sequential)" if comp.washout_days is None
            else f"{comp.washout_days:g} days"),
           ("Aid", f"run {', '.join(aid['runs'])}, model {', '.join(aid['models'])} "
                   f"({', '.join(aid['architectures'])}), out-of-fold"
                   + (", with heatmaps" if aid.get("heatmaps") else "")),
           ("Readers", readers),
           ("Cases", f"{comp.n_cases} ({comp.n_positive} {comp.positive})"),
           ("Harmed readers", ", ".join(comp.harmed) or "none")]
    for why, names in comp.left_out.items():
        out.append((f"Left out ({why})", ", ".join(names)))
    return out


def aided_tables(comp: AidedComparison) -> dict[str, list[dict[str, Any]]]:
    """The section's tables as plain rows (raw values; the CSV files hold these)."""
    level = f"{round(comp.ci_level * 100)}%"
    modalities = [{
        "Measure": t.measure, "Unaided": t.unaided, f"Unaided {level} CI low": t.unaided_ci[0],
        f"Unaided {level} CI high": t.unaided_ci[1], "Aided": t.aided,
        f"Aided {level} CI low": t.aided_ci[0], f"Aided {level} CI high": t.aided_ci[1],
        "Aided - unaided": t.difference, f"Difference {level} CI low": t.ci_low,
        f"Difference {level} CI high": t.ci_high, "F": t.f_stat, "df1": t.df_num,
        "df2": t.df_den, "p": t.p_value} for t in comp.tests]
    readers = [{
        "Reader": r.reader, "Kind": r.kind, "AUC unaided": r.auc_unaided,
        "AUC aided": r.auc_aided, "Aided - unaided": r.difference,
        f"{level} CI low (DeLong)": r.ci_low, f"{level} CI high (DeLong)": r.ci_high,
        "p": r.p_value, "Sensitivity unaided": r.sensitivity[0],
        "Sensitivity aided": r.sensitivity[1], "Specificity unaided": r.specificity[0],
        "Specificity aided": r.specificity[1], "Harmed": r.harmed} for r in comp.readers]
    t = comp.changes
    changes = [
        {"Model's call": "right", "Reads": t.model_right_reads,
         "Changed toward the truth": t.toward_right, "Changed away from the truth":
         t.away_right, "Followed the model's wrong call": 0},
        {"Model's call": "wrong", "Reads": t.model_wrong_reads,
         "Changed toward the truth": t.toward_wrong, "Changed away from the truth":
         t.away_wrong, "Followed the model's wrong call": t.followed_wrong},
        {"Model's call": "all", "Reads": t.reads,
         "Changed toward the truth": t.toward_right + t.toward_wrong,
         "Changed away from the truth": t.away_right + t.away_wrong,
         "Followed the model's wrong call": t.followed_wrong}]
    decisions = [{"Reads": t.reads, "Decision changed": t.flips,
                  "To the correct call": t.flips_to_correct,
                  "To the wrong call": t.flips_to_wrong,
                  "To a wrong model's call": t.flips_followed_wrong}]
    timing = [{"Modality": p.modality, "Reads": p.reads, "No answer": p.no_answer,
               "Response time median (s)": p.median_s, "Q1 (s)": p.q1_s, "Q3 (s)": p.q3_s,
               "Mean (s)": p.mean_s} for p in comp.timing]
    return {"aided_modalities": modalities, "aided_readers": readers,
            "aided_changes": changes, "aided_decisions": decisions, "aided_timing": timing}


def slope_svg(comp: AidedComparison, *, width: int = 420, height: int = 300) -> str:
    """Each reader's AUC unaided -> aided as lines between two axes (harmed in red)."""
    values = [v for r in comp.readers for v in (r.auc_unaided, r.auc_aided)]
    lo = min(0.5, math.floor(min(values) * 10) / 10)
    hi = 1.0
    left, right, top, bottom = 90, width - 90, 20, height - 40

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'role="img" aria-label="Reader AUC unaided to aided" font-family="sans-serif" '
             'font-size="11">',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888"/>',
             f'<line x1="{right}" y1="{top}" x2="{right}" y2="{bottom}" stroke="#888"/>',
             f'<text x="{left}" y="{height - 15}" text-anchor="middle">Unaided</text>',
             f'<text x="{right}" y="{height - 15}" text-anchor="middle">Aided</text>']
    tick = lo
    while tick <= hi + 1e-9:
        parts.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f"{tick:.1f}</text>")
        tick += 0.1
    for r in comp.readers:
        colour = "#c62828" if r.harmed else "#1f4e99"
        label = html.escape(r.reader)
        parts.append(f'<line x1="{left}" y1="{y(r.auc_unaided):.1f}" x2="{right}" '
                     f'y2="{y(r.auc_aided):.1f}" stroke="{colour}" stroke-width="2">'
                     f"<title>{label}: {r.auc_unaided:.3f} to {r.auc_aided:.3f}</title></line>")
        parts.append(f'<circle cx="{left}" cy="{y(r.auc_unaided):.1f}" r="3" fill="{colour}"/>')
        parts.append(f'<circle cx="{right}" cy="{y(r.auc_aided):.1f}" r="3" fill="{colour}"/>')
        parts.append(f'<text x="{right + 6}" y="{y(r.auc_aided) + 4:.1f}" fill="{colour}">'
                     f"{label[:14]}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _html_table(rows: list[dict[str, Any]], *, caption: str) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(k, v))}</td>"
                                    for k, v in r.items()) + "</tr>" for r in rows)
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _cell(key: str, v: Any) -> str:
    if isinstance(v, bool):
        return "HARMED" if v and key == "Harmed" else ("yes" if v else "")
    if key == "p" and isinstance(v, float):
        return _p(v)
    if key in ("df2",) and isinstance(v, float):
        return _f(v, 1)
    return _f(v) if isinstance(v, float) else str(v)


def aided_section_html(comp: AidedComparison) -> str:
    """The report's "Aided vs unaided" section (an HTML fragment)."""
    tables = aided_tables(comp)
    head = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                   for k, v in aided_header(comp))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in comp.notes)
    sim = ("<p><strong>SIMULATED readers: not physicians' reads.</strong></p>"
           if comp.simulated else "")
    auc = comp.tests[0]
    summary = (f"Reader-averaged AUC {auc.unaided:.3f} unaided, {auc.aided:.3f} aided: "
               f"difference {auc.difference:+.3f} ({_ci(auc.ci_low, auc.ci_high)}), "
               f"F({auc.df_num}, {_f(auc.df_den, 1)}) = {_f(auc.f_stat, 2)}, "
               f"p {_p(auc.p_value)} (Obuchowski-Rockette, Hillis df, random readers and "
               "cases).")
    return ("<section id=\"aided\"><h2>Aided vs unaided</h2>" + sim
            + f"<table class=\"meta\">{head}</table><p>{html.escape(summary)}</p>"
            + _html_table(tables["aided_modalities"],
                          caption="Unaided vs aided: reader averages (OR/Hillis RRRC)")
            + "<figure>" + slope_svg(comp) + "<figcaption>Each reader's AUC, unaided to "
            "aided (red: harmed, the aided AUC lower by more than the DeLong CI)"
            "</figcaption></figure>"
            + _html_table(tables["aided_readers"], caption="Readers: AUC unaided to aided")
            + _html_table(tables["aided_changes"],
                          caption="Changed ratings after the aid, by the model's call "
                                  f"(score >= {comp.threshold:g}): automation bias")
            + _html_table(tables["aided_decisions"], caption="Changed binary decisions")
            + _html_table(tables["aided_timing"], caption="Time per read")
            + (f"<ul class=\"notes\">{notes}</ul>" if notes else "") + "</section>")


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
    """Write the section's CSV tables, the two iMRMC files and ``aided.html``."""
    out = ensure_private_dir(Path(out_dir))
    written = []
    for name, rows in aided_tables(comp).items():
        if rows:
            p = out / f"{name}.csv"
            p.write_text(csv_text(rows, list(rows[0]), convert=_csv_cell), encoding="utf-8")
            written.append(p)
    for name, binary in (("readers_aided.imrmc", False), ("readers_aided_binary.imrmc", True)):
        p = out / name
        p.write_text(aided_imrmc_text(comp, binary=binary), encoding="utf-8")
        written.append(p)
    page = out / "aided.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Aided vs "
                    f"unaided - {html.escape(comp.study)}</title></head><body>"
                    + aided_section_html(comp) + "</body></html>\n", encoding="utf-8")
    written.append(page)
    return written


def _csv_cell(v: Any) -> Any:
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else repr(v)
    return v


def add_aided_section(ws: Any, study: str, out_dir: Path, *, include_simulated: bool = False,
                      include_dry_run: bool = False) -> dict[str, Any] | None:
    """Add the "Aided vs unaided" section to a report folder when the study has aided reads.

    Writes :func:`write_aided_report`'s files into ``out_dir`` and inserts the section into
    its ``report.html`` (the PDF does not carry it). A comparison that cannot be made (e.g.
    fewer than 2 readers with both modalities) puts its reason in the section instead.

    Returns
    -------
    dict or None
        ``None`` without aided sessions; else ``{"files": [...], "harmed": [...]}`` or
        ``{"error": message}``.
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
        section = ("<section id=\"aided\"><h2>Aided vs unaided</h2><p>Cannot compare: "
                   f"{html.escape(exc.message)}</p></section>")
        out: dict[str, Any] = {"error": exc.message}
    else:
        files = write_aided_report(comp, out_dir)
        section = aided_section_html(comp)
        out = {"files": [str(f) for f in files], "harmed": list(comp.harmed)}
    page = Path(out_dir) / "report.html"
    if page.is_file():
        text = page.read_text(encoding="utf-8")
        at = text.rfind("</body>")
        text = text + section if at < 0 else text[:at] + section + text[at:]
        page.write_text(text, encoding="utf-8")
    return out
