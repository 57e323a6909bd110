"""The comparison report: CSV tables, an iMRMC input file, the ROC figure, HTML and PDF.

:func:`write_report` writes everything for one :class:`~wbsdesk.services.analysis.Comparison`
into a folder. Drawing needs Qt, which services may not import: the figure (PNG + SVG) and
the PDF come from an injected :class:`ReportRenderer` (``wbsdesk.gui.report_render``
provides one; the CLI gets it registered by ``wbsdesk.__main__``). Without a renderer the
tables, the iMRMC file and the HTML are still written, and the HTML says the figure is
missing.

Files (in ``out_dir``)
----------------------
``table1_demographics.csv``, ``table3_folds.csv``, ``table4_models.csv`` (mean ± SD),
``table4_folds.csv`` (every fold), ``auc_ci.csv``, ``table5_readers.csv``,
``delong_model_vs_reader.csv``, ``delong_model_vs_model.csv``, ``mrmc.csv``: one row per
line, the columns of :meth:`Comparison.to_tables`; rates are fractions, full precision,
undefined values are written ``NaN``, missing ones empty. Tables without rows (no readers)
are not written.

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
embedded as base64), ``report.pdf`` (the renderer, from the same HTML).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from wbsdesk.config import ensure_private_dir
from wbsdesk.core.csv_export import csv_text
from wbsdesk.errors import UserError
from wbsdesk.services.analysis_results import Comparison
from wbsdesk.services.analysis_roc import RocData
from wbsdesk.services.analysis_tables import TABLE_TITLES
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["CSV_FILES", "ReportFiles", "ReportRenderer", "default_report_dir", "imrmc_text",
           "read_imrmc", "report_html", "table_csv", "write_report"]

#: Table name (see :meth:`Comparison.to_tables`) -> CSV file name.
CSV_FILES = {
    "table1": "table1_demographics.csv", "table3": "table3_folds.csv",
    "table4": "table4_models.csv", "table4_folds": "table4_folds.csv", "auc": "auc_ci.csv",
    "table5": "table5_readers.csv", "delong_model_vs_reader": "delong_model_vs_reader.csv",
    "delong_model_vs_model": "delong_model_vs_model.csv", "mrmc": "mrmc.csv",
}
IMRMC_FILE = "readers.imrmc"
FIGURE_PNG, FIGURE_SVG = "roc.png", "roc.svg"
HTML_FILE, PDF_FILE = "report.html", "report.pdf"


class ReportRenderer(Protocol):
    """What draws the figure and prints the PDF (implemented with Qt in the GUI package)."""

    def figure(self, roc: RocData, *, png: Path, svg: Path, title: str) -> None:
        """Draw the ROC figure into ``png`` and ``svg``."""

    def pdf(self, html: str, path: Path, *, images: Mapping[str, Path]) -> None:
        """Print ``html`` (whose ``<img src=NAME>`` refer to ``images``) to a PDF."""

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


# ---------------------------------------------------------------------------------------------
# The HTML: plain HTML 4 tables and inline styles only, so that browsers and Qt's rich-text
# engine (which prints the PDF) show the same thing.

NA = "n/a"


def shown_note(note: str) -> str:
    """A comparison's note as people read it: an undefined value is ``n/a``, as in the
    tables (the CSV files keep ``NaN``).

    Examples
    --------
    >>> shown_note("Precision of fold 1 is undefined (zero denominator) and is reported as NaN.")
    'Precision of fold 1 is undefined (zero denominator) and is shown as n/a.'
    """
    return note.replace("reported as NaN", "shown as n/a").replace("NaN", NA)


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


def _labels(c: Comparison) -> dict[str, str]:
    return {**{m.name: m.label for m in c.models}, **{r.name: r.label for r in c.readers}}


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
    r = c.roc_data
    scale = c.protocol.reading.scale
    readers = (f" Right: the ensemble and every reader on the {c.paired.size} photos that "
               "every reader rated: the dashed curve joins the reader's rating levels "
               f"({len(scale)} = {scale[-1]} ... 1 = {scale[0]}), the large marker is the "
               "reader's yes/no call (the operating point behind Table 5); simulated readers "
               "are marked (sim)." if c.readers else "")
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
    lvl = f"{100 * st.ci_level:g}"
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
    lab = _labels(c)
    lvl = f"{100 * c.protocol.statistics.ci_level:g}% CI"
    out += _table(TABLE_TITLES["delong_model_vs_reader"],
                  ["Model", "Reader", "AUC model", "AUC reader", "Difference", lvl, "p"],
                  [[lab[p.a], lab[p.b], _num(p.test.auc_a), _num(p.test.auc_b),
                    _num(p.test.difference), _ci(p.test.ci_low, p.test.ci_high),
                    _p(p.test.p_value)] for p in c.delong_model_reader],
                  f"On the {c.paired.size} paired cases, so a model's AUC here can differ "
                  "from its AUC on all cases. Difference: model minus reader.")
    return out


def _comparison_tables(c: Comparison) -> str:
    lab = _labels(c)
    lvl = f"{100 * c.protocol.statistics.ci_level:g}% CI"
    out = _table(TABLE_TITLES["delong_model_vs_model"],
                 ["Model A", "Model B", "AUC A", "AUC B", "Difference", lvl, "p"],
                 [[lab[p.a], lab[p.b], _num(p.test.auc_a), _num(p.test.auc_b),
                   _num(p.test.difference), _ci(p.test.ci_low, p.test.ci_high),
                   _p(p.test.p_value)] for p in c.delong_model_model],
                 "Difference: A minus B.") if c.delong_model_model else ""
    if c.mrmc is None:
        why = "no reader" if not c.readers else "only one reader"
        return out + f"<h3>MRMC</h3><p>Not computed: {why} (it needs at least two).</p>\n"
    m = c.mrmc
    rows = [[f"Readers' average AUC ({what})", _num(e.auc), "", _ci(e.ci_low, e.ci_high),
             _num(e.df, 1), ""]
            for e, what in ((m.readers_rating, "ratings"), (m.readers_binary, "yes/no"))]
    rows += [[f"Readers (ratings) − {lab[name]}", _num(r.readers_minus_model),
              _num(r.model_auc), _ci(r.ci_low, r.ci_high), _num(r.df, 1), _p(r.p_value)]
             for name, r in m.models]
    return out + _table(TABLE_TITLES["mrmc"],
                        ["Analysis", "Estimate", "Model AUC", lvl, "df", "p"], rows,
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
              *[[f"Group: {c.protocol.groups.label(k)}", v]
                for k, v in cnt["per_group"].items()],
              ["Architectures", cnt["architectures"]], ["Folds", cnt["folds"]],
              ["Readers", cnt["readers"]], ["Paired cases", cnt["paired_cases"]],
              *[[f"Missing reads: {k}", v] for k, v in cnt["missing_reads"].items()]]
    out = _table("Data counts", ["Item", "Count"], counts)
    excl = "".join(f"<li>{_esc(e)}</li>" for e in c.exclusions) or "<li>None.</li>"
    notes = "".join(f"<li>{_esc(shown_note(n))}</li>" for n in c.notes) or "<li>None.</li>"
    out += f"<h3>Exclusions</h3>\n<ul>{excl}</ul>\n<h3>Warnings</h3>\n<ul>{notes}</ul>\n"
    missing = "".join(f"<li>{_esc(r.label)}: {_esc(', '.join(r.missing))}</li>"
                      for r in c.readers if r.missing)
    if missing:
        out += ("<h3>Photos without a rating (subject IDs), left out of every comparison "
                f"with readers</h3>\n<ul>{missing}</ul>\n")
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
             f"{c.roc_data.control_label}")
    style = "" if for_print else f"<style>{_STYLE}</style>"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{_esc(title)}</title>"
            f"{style}</head><body>\n<h1>{_esc(title)}</h1>\n"
            f"<p class=\"note\">Run {_esc(c.run)}; written {_esc(c.created_at)} by wbsdesk "
            f"{_esc(versions.get('wbsdesk', ''))}.</p>\n"
            + _banners(c) + _summary(c) + _figure(c, figure_png, figure_src)
            + "<h2>Tables</h2>\n" + _model_tables(c) + _reader_tables(c)
            + _comparison_tables(c) + _methods(c) + "<h2>Provenance</h2>\n"
            + _provenance(c, files, versions) + "</body></html>\n")


# ---------------------------------------------------------------------------------------------
# Files


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float | np.floating):
        return "NaN" if math.isnan(v) else repr(float(v))
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    return v


def table_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of table rows (header from the first row; NaN as ``NaN``, None empty).

    Text that a spreadsheet would run as a formula gets a leading ``'``
    (:func:`wbsdesk.core.csv_export.csv_text`); numbers are written as they are.

    Examples
    --------
    >>> print(table_csv([{"a": 1, "b": float("nan")}, {"a": 2, "b": 0.5}]), end="")
    a,b
    1,NaN
    2,0.5
    """
    return csv_text(rows, list(rows[0]), convert=_cell)


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


def write_report(comp: Comparison, out_dir: Path, *,
                 renderer: ReportRenderer | None = None) -> ReportFiles:
    """Write the report of a comparison into ``out_dir`` (files are replaced).

    Parameters
    ----------
    comp : Comparison
    out_dir : Path
        Created (readable by the user only) if it does not exist.
    renderer : ReportRenderer, optional, keyword-only
        Draws the figure and prints the PDF; without one those are skipped (and the HTML
        says so).

    Returns
    -------
    ReportFiles
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder for the report")
    if not out.exists():  # a folder the user already has keeps its permissions
        ensure_private_dir(out)
    files: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    tables = comp.to_tables()
    for name, fname in CSV_FILES.items():
        if tables[name]:
            files[name] = _write(out / fname, table_csv(tables[name]))
        else:
            skipped[name] = "no readers in the comparison"
    if comp.readers:
        files["imrmc"] = _write(out / IMRMC_FILE, imrmc_text(comp))
        cases, readers = _imrmc_maps(comp)
        files["imrmc_cases"] = _write(out / "imrmc_cases.csv", table_csv(cases))
        files["imrmc_readers"] = _write(out / "imrmc_readers.csv", table_csv(readers))
    else:
        skipped["imrmc"] = "no readers in the comparison"
    png = None
    versions = dict(comp.versions)
    title = f"{comp.roc_data.positive_label} vs. {comp.roc_data.control_label}"
    if renderer is not None:
        renderer.figure(comp.roc_data, png=out / FIGURE_PNG, svg=out / FIGURE_SVG, title=title)
        files["figure_png"], files["figure_svg"] = out / FIGURE_PNG, out / FIGURE_SVG
        png = (out / FIGURE_PNG).read_bytes()
        versions.update(renderer.versions())
    else:
        skipped["figure"] = skipped["pdf"] = "no renderer (Qt) available"
    listed = sorted({p.name for p in files.values()} | {HTML_FILE}
                    | ({PDF_FILE} if renderer is not None else set()))
    page = report_html(comp, figure_png=png, files=listed, versions=versions)
    files["html"] = _write(out / HTML_FILE, page)
    if renderer is not None:
        printable = report_html(comp, figure_png=png, files=listed, versions=versions,
                                figure_src=FIGURE_PNG, for_print=True)
        renderer.pdf(printable, out / PDF_FILE, images={FIGURE_PNG: out / FIGURE_PNG})
        files["pdf"] = out / PDF_FILE
    log.info("wrote the report of %s (run %s, controls %s) to %s", comp.study, comp.run,
             comp.controls, out)
    return ReportFiles(out_dir=out, files=files, skipped=skipped)
