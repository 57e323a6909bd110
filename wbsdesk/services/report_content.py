"""What the report says, once, for both of its renderers (HTML and PDF).

:func:`report_content` turns a :class:`~wbsdesk.services.analysis.Comparison` into a
:class:`ReportContent`: banners, summary, figure caption, the result tables
(:mod:`wbsdesk.services.result_tables`), methods and provenance (its tables, the
exclusions, every warning, unread photos, the resolved protocol, the files). The HTML
(:mod:`wbsdesk.services.report_html`) and the PDF (:mod:`wbsdesk.services.report_pdf`) lay
this out and add nothing.

Paragraphs are *markup*: text escaped for HTML, with ``<b>`` and ``<i>`` only, which both
an HTML page and reportlab's paragraphs understand.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wbsdesk.core.result_table import Column, ResultTable
from wbsdesk.services.analysis_results import Comparison
from wbsdesk.services.methods_text import methods_markup
from wbsdesk.services.report_audit_render import AuditContent, audit_content
from wbsdesk.services.report_sections import ReportSection
from wbsdesk.services.result_tables import comparison_tables
from wbsdesk.services.runs_table import runs_caption, runs_table
from wbsdesk.services.table_render import shown_note

__all__ = ["Banner", "ReportContent", "report_content"]

#: Banner colours: caution (research use), information (synthetic), alarm (simulated).
CAUTION, INFO, ALARM = "#fff4ce", "#e4f0fb", "#fde2e1"


def _esc(x: Any) -> str:
    return html.escape(str(x))


@dataclass(frozen=True)
class Banner:
    """A coloured line at the top of the report (markup)."""

    text: str
    color: str


@dataclass(frozen=True)
class ReportContent:
    """Everything the report shows, in order (see the module docstring)."""

    title: str
    byline: str
    banners: tuple[Banner, ...]
    summary: tuple[str, ...]
    figure_caption: str
    tables: tuple[ResultTable, ...]
    methods: tuple[str, ...]
    provenance: tuple[ResultTable, ...]
    exclusions: tuple[str, ...]
    warnings: tuple[str, ...]
    missing: tuple[str, ...]
    protocol_name: str
    protocol_json: str
    files: tuple[str, ...]
    #: Extra sections after the tables (e.g. "Aided vs unaided"), in order.
    sections: tuple[ReportSection, ...] = ()
    #: The audit section (calibration, subgroups, confounds), None without an audit.
    audit: AuditContent | None = None


def _banners(c: Comparison) -> tuple[Banner, ...]:
    out = [Banner("Research use only. Not a diagnostic device; not for clinical decisions.",
                  CAUTION)]
    if c.synthetic:
        out.append(Banner("SYNTHETIC DATA: the photos of this study are generated; no real "
                          "person appears.", INFO))
    if c.simulated_included:
        sims = ", ".join(r.name for r in c.readers if r.simulated)
        out.append(Banner(f"SIMULATED READERS INCLUDED: {_esc(sims)} are computer-generated "
                          "stand-ins, not physicians. Do not read their results as human "
                          "performance.", ALARM))
    if not c.readers:
        out.append(Banner("No reader is included: this report compares the models only.",
                          ALARM))
    if c.audit is not None and c.audit.warning:  # the trivial baseline nearly matches a CNN
        out.append(Banner(_esc(c.audit.warning), ALARM))
    return tuple(out)


def _summary(c: Comparison) -> tuple[str, ...]:
    g = c.protocol.groups
    per = ", ".join(f"{_esc(g.label(k))} {v}" for k, v in c.counts["per_group"].items())
    archs = ", ".join(_esc(m.label) for m in c.models)
    readers = ("; ".join(f"{_esc(r.label)} ({_esc(r.role)}, {_esc(r.kind)})"
                         for r in c.readers) or "none")
    return (f"<b>Study</b> {_esc(c.study)} ({_esc(c.protocol.title)}). <b>Run</b> "
            f"{_esc(c.run)} ({_esc(c.run_status)}). <b>Comparison</b> "
            f"{_esc(g.label(c.positive))} (positive) vs. "
            f"{_esc(' + '.join(g.label(x) for x in c.control_groups))}.",
            f"<b>Cases</b> {c.counts['cases']} ({per}), {c.counts['folds']}-fold "
            f"cross-validation. <b>Models</b> {archs}. <b>Readers</b> {readers}. "
            f"<b>Paired cases</b> (rated by every reader) {c.counts['paired_cases']}.")


def _figure_caption(c: Comparison) -> str:
    r = c.roc_data
    scale = c.protocol.reading.scale
    ref = r.reference
    right = (f" Right: {_esc(ref.label) if ref else 'the ensemble'} and every reader on the "
             f"{r.paired_pos + r.paired_neg} photos that every reader rated "
             f"({r.paired_pos} positive); the model's curve and its legend AUC are on those "
             "photos too. The dashed curve joins the reader's rating levels "
             f"({len(scale)} = {_esc(scale[-1])} ... 1 = {_esc(scale[0])}), the large marker "
             "is the reader's yes/no call (the operating point behind Table 5); simulated "
             "readers are marked (sim)." if c.readers else "")
    base = (" The dashed grey curve is the trivial baseline (logistic regression on capture "
            "statistics, a thumbnail and colour histograms, on the same folds; see the audit)."
            if any(m.baseline for m in r.models) else "")
    return (f"After Figure 2 of Liu et al. (2021). Left: each CNN architecture's out-of-fold "
            f"ROC curve on all {r.n_pos + r.n_neg} cases ({r.n_pos} positive, {r.n_neg} "
            f"control), with a shaded band of mean ± 1 SD of the {r.n_folds} per-fold curves; "
            "the ensemble (mean of the architectures' probabilities) is black. Legend values "
            f"are AUCs.{runs_caption(c)}{base}{right} The diagonal is chance. x: 1 − "
            "specificity; y: sensitivity.")


def _methods(c: Comparison) -> tuple[str, ...]:
    # written from the protocol, run and readers, with references (services.methods_text)
    from wbsdesk.services.session_policy import history_methods_extra

    return methods_markup(c, extra=(
        *history_methods_extra(c),
        "Band across folds: each fold's ROC read off at false-positive rates 0, 0.01, ..., 1 "
        "(upper end of vertical steps); the band is their mean ± 1 SD, clipped to [0, 1]. A "
        "fold holding one class only has no ROC and no AUC; it is left out of the band and "
        "of the AUC's mean, and named in the warnings.",))


def _kv(name: str, title: str, head: tuple[str, str], rows: Sequence[tuple[Any, Any]]
        ) -> ResultTable:
    return ResultTable.build(name, title, (Column("item", head[0], kind="text"),
                                           Column("value", head[1], kind="text")),
                             [(str(a), str(b)) for a, b in rows])


def _provenance(c: Comparison, versions: dict[str, str]) -> tuple[ResultTable, ...]:
    cnt = c.counts
    g = c.protocol.groups
    counts = [("Cases analysed", cnt["cases"]), ("Positive", cnt["positive"]),
              ("Controls", cnt["controls"]),
              *[(f"Group: {g.label(k)}", v) for k, v in cnt["per_group"].items()],
              ("Architectures", cnt["architectures"]), ("Folds", cnt["folds"]),
              ("Readers", cnt["readers"]), ("Paired cases", cnt["paired_cases"]),
              *[(f"Missing reads: {k}", v) for k, v in cnt["missing_reads"].items()]]
    seeds = [("Folds", c.seeds["folds"]), ("Training", c.seeds["training"]),
             ("Bootstrap", c.seeds["bootstrap"]),
             *[(f"Reading order: {k}", v) for k, v in c.seeds["reading_orders"].items()]]
    st = c.protocol.statistics
    settings = [(k, getattr(st, k)) for k in ("threshold", "sd_ddof", "ci_level",
                                              "bootstrap_resamples", "bootstrap_seed",
                                              "ttest", "chi2_yates")]
    return (_kv("data_counts", "Data counts", ("Item", "Count"), counts),
            _kv("seeds", "Seeds", ("Seed", "Value"), seeds),
            _kv("versions", "Versions", ("Software", "Version"), sorted(versions.items())),
            _kv("settings", "Statistics settings of the protocol", ("Setting", "Value"),
                settings))


def report_content(c: Comparison, *, files: Sequence[str], versions: dict[str, str]
                   ) -> ReportContent:
    """What the report of ``c`` says (see the module docstring).

    Parameters
    ----------
    c : Comparison
    files : sequence of str, keyword-only
        The report's file names (listed at the end).
    versions : dict, keyword-only
        Software versions (the comparison's and the renderer's).

    Returns
    -------
    ReportContent
    """
    title = (f"wbsdesk report: {c.study}, {c.protocol.groups.label(c.positive)} vs. "
             f"{c.roc_data.control_label}")
    return ReportContent(
        title=title,
        byline=f"Run {_esc(c.run)}; written {_esc(c.created_at)} by wbsdesk "
               f"{_esc(versions.get('wbsdesk', ''))}.",
        banners=_banners(c), summary=_summary(c), figure_caption=_figure_caption(c),
        tables=(runs_table(c), *comparison_tables(c)), methods=_methods(c),
        provenance=_provenance(c, versions),
        exclusions=tuple(_esc(e) for e in c.exclusions),
        warnings=tuple(_esc(shown_note(n)) for n in c.notes),
        missing=tuple(f"{_esc(r.label)}: {_esc(', '.join(r.missing))}"
                      for r in c.readers if r.missing),
        protocol_name=c.protocol.name,
        protocol_json=json.dumps(c.protocol.to_dict(), indent=1, sort_keys=True),
        files=tuple(files), audit=audit_content(c))
