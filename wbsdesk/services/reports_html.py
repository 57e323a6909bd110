"""The self-contained HTML of a comparison report (also printed to PDF by the renderer).

Plain HTML 4 tables and inline styles only, so that both browsers and Qt's rich-text
engine (which prints the PDF) show the same thing.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from typing import Any

from wbsdesk.services.analysis_results import Comparison
from wbsdesk.services.analysis_tables import TABLE_TITLES

NA = "n/a"


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _pct(x: float | None) -> str:
    return NA if _isnan(x) else f"{100 * x:.1f}"


def _pm(mean: float, sd: float) -> str:
    return f"{_pct(mean)} ± {_pct(sd)}"


def _num(x: float | None, nd: int = 3) -> str:
    return NA if _isnan(x) else f"{x:.{nd}f}"


def _ci(lo: float, hi: float, nd: int = 3) -> str:
    return NA if _isnan(lo) or _isnan(hi) else f"{lo:.{nd}f} to {hi:.{nd}f}"


def _p(p: float | None) -> str:
    return NA if _isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           note: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    out = (f"<h3>{_esc(title)}</h3>\n<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\">"
           f"<tr bgcolor=\"#e8eef4\">{head}</tr>{body}</table>\n")
    return out + (f"<p class=\"note\">{_esc(note)}</p>\n" if note else "")


def _banner(text: str, color: str) -> str:
    return (f"<table width=\"100%\" cellpadding=\"8\" cellspacing=\"0\"><tr>"
            f"<td bgcolor=\"{color}\"><b>{text}</b></td></tr></table>\n")


def _banners(c: Comparison) -> str:
    out = _banner("Research use only. Not a diagnostic device; not for clinical decisions.",
                  "#fff4ce")
    if c.synthetic:
        out += _banner("SYNTHETIC DATA: the photos of this study are generated; no real "
                       "person appears.", "#e4f0fb")
    if c.simulated_included:
        sims = ", ".join(r.name for r in c.readers if r.simulated)
        out += _banner(f"SIMULATED READERS INCLUDED: {_esc(sims)} are computer-generated "
                       "stand-ins, not physicians. Do not read their results as human "
                       "performance.", "#fde2e1")
    if not c.readers:
        out += _banner("No reader is included: this report compares the models only.",
                       "#fde2e1")
    return out


def _summary(c: Comparison) -> str:
    g = c.protocol.groups
    per = ", ".join(f"{_esc(g.label(k))} {v}" for k, v in c.counts["per_group"].items())
    archs = ", ".join(_esc(m.label) for m in c.models)
    readers = ("; ".join(f"{_esc(r.label)} ({_esc(r.role)}, {_esc(r.kind)})"
                         for r in c.readers) or "none")
    return (f"<p><b>Study</b> {_esc(c.study)} ({_esc(c.protocol.title)}). <b>Run</b> "
            f"{_esc(c.run)} ({_esc(c.run_status)}). <b>Comparison</b> "
            f"{_esc(g.label(c.positive))} (positive) vs. "
            f"{_esc(' + '.join(g.label(x) for x in c.control_groups))}.</p>\n"
            f"<p><b>Cases</b> {c.counts['cases']} ({per}), {c.counts['folds']}-fold "
            f"cross-validation. <b>Models</b> {archs}. <b>Readers</b> {readers}. "
            f"<b>Paired cases</b> (rated by every reader) {c.counts['paired_cases']}.</p>\n")


def _figure(c: Comparison, png: bytes | None, src: str | None) -> str:
    if png is None:
        return "<p><i>The figure was not drawn (no renderer was available).</i></p>\n"
    url = src or "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    r = c.roc
    readers = (f" Right: the ensemble and every reader on the {c.paired.size} photos that "
               "every reader rated: the dashed curve joins the reader's rating levels "
               "(5 = sure yes ... 1 = sure no), the filled marker is the reader's yes/no "
               "call (the operating point behind Table 5)." if c.readers else "")
    return (f"<h2>Figure. ROC curves</h2>\n<p><img src=\"{url}\" width=\"640\" "
            f"alt=\"ROC curves\"></p>\n<p class=\"note\">After Figure 2 of Liu et al. (2021). "
            f"Left: each CNN architecture's out-of-fold ROC curve on all {r.n_pos + r.n_neg} "
            f"cases ({r.n_pos} positive, {r.n_neg} control), with a shaded band of mean ± 1 SD "
            f"of the {r.n_folds} per-fold curves; the ensemble (mean of the architectures' "
            f"probabilities) is black. Legend values are AUCs.{readers} The diagonal is "
            "chance. x: 1 − specificity; y: sensitivity.</p>\n")


def _model_tables(c: Comparison) -> str:
    t1 = c.table1
    g = c.protocol.groups
    out = _table(TABLE_TITLES["table1"],
                 ["Characteristic", g.label(c.positive), "Controls", "P-value"],
                 [["Number of subjects", t1.target.n, t1.controls.n, ""],
                  ["Age at photograph (months)",
                   f"{_num(t1.target.age_mean, 2)} ± {_num(t1.target.age_sd, 2)}",
                   f"{_num(t1.controls.age_mean, 2)} ± {_num(t1.controls.age_sd, 2)}",
                   _p(t1.age_p)],
                  ["Sex (male/female)", f"{t1.target.male}/{t1.target.female}",
                   f"{t1.controls.male}/{t1.controls.female}", _p(t1.sex_p)]],
                 f"Age: mean ± SD; {t1.age_test}. Sex: {t1.sex_test}.")
    groups = list(c.table3)
    out += _table(TABLE_TITLES["table3"], ["Fold", *[g.label(x) for x in groups], "Total"],
                  [[i + 1, *[c.table3[x][i] for x in groups],
                    sum(c.table3[x][i] for x in groups)] for i in range(c.k)])
    st = c.protocol.statistics
    out += _table(TABLE_TITLES["table4"],
                  ["Model", "Accuracy %", "Precision %", "Recall %", "Specificity %",
                   "F1 score %", "AUC %"],
                  [[m.label, *[_pm(m.summary.mean[k], m.summary.sd[k]) for k in
                               ("accuracy", "precision", "recall", "specificity", "f1",
                                "auc")]] for m in c.models],
                  f"Mean ± SD (divisor k − {st.sd_ddof}) over the {c.counts['folds']} test "
                  f"folds; a case is called positive when its probability is ≥ {st.threshold}. "
                  "AUC % is the mean of the fold AUCs.")
    rows = [[m.label, "model", m.delong.n_pos + m.delong.n_neg, _num(m.roc.auc),
             _ci(m.delong.ci_low, m.delong.ci_high), _ci(m.bootstrap.ci_low,
                                                         m.bootstrap.ci_high)]
            for m in c.models]
    rows += [[r.label, "reader (rating)", r.delong.n_pos + r.delong.n_neg,
              _num(r.rating_roc.auc), _ci(r.delong.ci_low, r.delong.ci_high),
              _ci(r.bootstrap.ci_low, r.bootstrap.ci_high)] for r in c.readers]
    lvl = int(round(100 * st.ci_level))
    out += _table(TABLE_TITLES["auc"], ["Score", "Kind", "Cases", "AUC", f"{lvl}% CI DeLong",
                                        f"{lvl}% CI bootstrap"], rows,
                  f"Models: pooled out-of-fold AUC over all cases. Bootstrap: "
                  f"{st.bootstrap_resamples} stratified resamples, seed {st.bootstrap_seed}, "
                  "percentile interval.")
    return out


def _reader_tables(c: Comparison) -> str:
    if c.table5 is None:
        return "<h3>Table 5. Readers</h3><p>No reader is included.</p>\n"
    rows = [[r.label, _pct(row.accuracy), _pct(row.precision), _pct(row.recall),
             _pct(row.specificity), _pct(row.f1), _pct(row.auc), _pct(r.rating_roc.auc)]
            for r, row in zip(c.readers, c.table5.rows, strict=True)]
    a = c.table5.average
    rows.append(["Average", _pct(a.accuracy), _pct(a.precision), _pct(a.recall),
                 _pct(a.specificity), _pct(a.f1), _pct(a.auc),
                 _pct(sum(r.rating_roc.auc for r in c.readers) / len(c.readers))])
    reading = c.protocol.reading
    middle = (len(reading.scale) + 1) // 2
    out = _table(TABLE_TITLES["table5"],
                 ["Reader", "Accuracy %", "Precision %", "Recall %", "Specificity %",
                  "F1 score %", "AUC % (yes/no)", "AUC % (rating)"], rows,
                 f"On the {c.paired.size} photos every reader rated. Yes/no: rating above "
                 f"'{reading.scale[middle - 1]}' ('{reading.scale[middle - 1]}' counts as "
                 f"{reading.unsure_counts_as}); its AUC is (sensitivity + specificity) / 2. "
                 "n/a: undefined (e.g. precision of a reader who never said yes).")
    out += _table(TABLE_TITLES["delong_model_vs_reader"],
                  ["Model", "Reader", "AUC model", "AUC reader", "Difference", "CI", "p"],
                  [[p.a, p.b, _num(p.test.auc_a), _num(p.test.auc_b),
                    _num(p.test.difference), _ci(p.test.ci_low, p.test.ci_high),
                    _p(p.test.p_value)] for p in c.delong_model_reader])
    return out


def _comparison_tables(c: Comparison) -> str:
    out = _table(TABLE_TITLES["delong_model_vs_model"],
                 ["Model A", "Model B", "AUC A", "AUC B", "Difference", "CI", "p"],
                 [[p.a, p.b, _num(p.test.auc_a), _num(p.test.auc_b), _num(p.test.difference),
                   _ci(p.test.ci_low, p.test.ci_high), _p(p.test.p_value)]
                  for p in c.delong_model_model]) if c.delong_model_model else ""
    if c.mrmc is None:
        why = "no reader" if not c.readers else "only one reader"
        return out + f"<h3>MRMC</h3><p>Not computed: {why} (it needs at least two).</p>\n"
    m = c.mrmc
    rows = [[f"Readers' average AUC ({what})", _num(e.auc), "", _ci(e.ci_low, e.ci_high),
             _num(e.df, 1), ""]
            for e, what in ((m.readers_rating, "ratings"), (m.readers_binary, "yes/no"))]
    rows += [[f"Readers (ratings) − {name}", _num(r.readers_minus_model), _num(r.model_auc),
              _ci(r.ci_low, r.ci_high), _num(r.df, 1), _p(r.p_value)] for name, r in m.models]
    return out + _table(TABLE_TITLES["mrmc"],
                        ["Analysis", "Estimate", "Model AUC", "CI", "df", "p"], rows,
                        f"Obuchowski–Rockette with Hillis degrees of freedom, random readers "
                        f"and random cases, {m.cov_method} covariance. Model vs. readers: "
                        "the readers' mean AUC minus the model's (negative: the model is "
                        "better), the model's own case variability included.")


def _methods(c: Comparison) -> str:
    st = c.protocol.statistics
    items = [
        "Model scores are out-of-fold: every photo is scored by the fold model that did not "
        "train on it (folds stratified by group, one photo per subject). The ensemble is the "
        "mean of the architectures' out-of-fold probabilities.",
        "Readers saw each photo for "
        f"{c.protocol.reading.seconds_per_photo:g} s and rated it on a "
        f"{len(c.protocol.reading.scale)}-level scale. A photo a reader did not answer is "
        "missing for that reader; every comparison with readers uses only the photos every "
        "included reader rated (the paired cases). Models alone use all cases.",
        "AUC: the empirical (Mann–Whitney) area, ties counting one half. DeLong: variance and "
        f"paired tests of correlated AUCs, Wald CIs at {100 * st.ci_level:g}%.",
        f"Bootstrap: {st.bootstrap_resamples} resamples, positives and controls resampled "
        f"separately, seed {st.bootstrap_seed}, percentile interval.",
        "Band across folds: each fold's ROC read off at false-positive rates 0, 0.01, ..., 1 "
        "(upper end of vertical steps); the band is their mean ± 1 SD, clipped to [0, 1].",
    ]
    return "<h2>Methods</h2>\n<ul>" + "".join(f"<li>{_esc(i)}</li>" for i in items) + "</ul>\n"


def _provenance(c: Comparison, files: Sequence[str], versions: dict[str, str]) -> str:
    cnt = c.counts
    counts = [["Cases analysed", cnt["cases"]], ["Positive", cnt["positive"]],
              ["Controls", cnt["controls"]],
              *[[f"Group {k}", v] for k, v in cnt["per_group"].items()],
              ["Architectures", cnt["architectures"]], ["Folds", cnt["folds"]],
              ["Readers", cnt["readers"]], ["Paired cases", cnt["paired_cases"]],
              *[[f"Missing reads: {k}", v] for k, v in cnt["missing_reads"].items()]]
    out = _table("Data counts", ["Item", "Count"], counts)
    excl = "".join(f"<li>{_esc(e)}</li>" for e in c.exclusions) or "<li>None.</li>"
    notes = "".join(f"<li>{_esc(n)}</li>" for n in c.notes) or "<li>None.</li>"
    out += f"<h3>Exclusions</h3>\n<ul>{excl}</ul>\n<h3>Warnings</h3>\n<ul>{notes}</ul>\n"
    seeds = [["Folds", c.seeds["folds"]], ["Training", c.seeds["training"]],
             ["Bootstrap", c.seeds["bootstrap"]],
             *[[f"Reading order: {k}", v] for k, v in c.seeds["reading_orders"].items()]]
    out += _table("Seeds", ["Seed", "Value"], seeds)
    out += _table("Versions", ["Software", "Version"], sorted(versions.items()))
    st = c.protocol.statistics
    out += _table("Statistics settings of the protocol", ["Setting", "Value"],
                  [[k, getattr(st, k)] for k in ("threshold", "sd_ddof", "ci_level",
                                                  "bootstrap_resamples", "bootstrap_seed",
                                                  "ttest", "chi2_yates")])
    proto = json.dumps(c.protocol.to_dict(), indent=1, sort_keys=True)
    out += (f"<h3>Protocol {_esc(c.protocol.name)} (resolved)</h3>\n"
            f"<pre>{_esc(proto)}</pre>\n")
    out += ("<h3>Files of this report</h3>\n<ul>" + "".join(f"<li>{_esc(f)}</li>" for f in files)
            + "</ul>\n")
    return out


_STYLE = ("body { font-family: sans-serif; font-size: 10pt; max-width: 60em; margin: 1em auto; }"
          " table { border-collapse: collapse; margin-bottom: 0.3em; }"
          " th, td { text-align: left; } p.note { color: #444444; font-size: 9pt; }"
          " pre { font-size: 7pt; }")


def report_html(c: Comparison, *, figure_png: bytes | None, files: Sequence[str],
                versions: dict[str, str], figure_src: str | None = None,
                for_print: bool = False) -> str:
    """The report as one HTML document.

    Parameters
    ----------
    c : Comparison
    figure_png : bytes, optional, keyword-only
        The ROC figure; embedded as base64 unless ``figure_src`` names a file instead.
    files : sequence of str, keyword-only
        The report's file names (listed at the end).
    versions : dict, keyword-only
        Software versions.
    figure_src : str, optional, keyword-only
        Refer to the figure by this name (for printing) instead of embedding it.
    for_print : bool, keyword-only
        Leave out the browser-only style sheet.

    Returns
    -------
    str
    """
    title = (f"wbsdesk report: {c.study}, {c.protocol.groups.label(c.positive)} vs. "
             f"{c.roc.control_label}")
    style = "" if for_print else f"<style>{_STYLE}</style>"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{_esc(title)}</title>"
            f"{style}</head><body>\n<h1>{_esc(title)}</h1>\n"
            f"<p class=\"note\">Run {_esc(c.run)}; written {_esc(c.created_at)} by wbsdesk "
            f"{_esc(versions.get('wbsdesk', ''))}.</p>\n"
            + _banners(c) + _summary(c) + _figure(c, figure_png, figure_src)
            + "<h2>Tables</h2>\n" + _model_tables(c) + _reader_tables(c)
            + _comparison_tables(c) + _methods(c) + "<h2>Provenance</h2>\n"
            + _provenance(c, files, versions) + "</body></html>\n")
