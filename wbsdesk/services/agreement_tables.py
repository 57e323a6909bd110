"""The reader-agreement tables and report section, on the one table model.

:func:`agreement_tables` lays a :class:`~wbsdesk.services.agreement.ReaderAgreement` out as
two :class:`~wbsdesk.core.result_table.ResultTable` objects (``agreement_intra``,
``agreement_inter``) that the dashboard's "Agreement" tab, the report's HTML and PDF
(:func:`agreement_section`), its CSV files and ``--json`` render as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wbsdesk.core.result_table import Column, Estimate, ResultTable
from wbsdesk.services.agreement import ReaderAgreement

if TYPE_CHECKING:
    from wbsdesk.services.report_sections import ReportSection

__all__ = ["AGREEMENT_TITLE", "agreement_section", "agreement_tables", "comparison_agreement",
           "comparison_agreement_section"]

AGREEMENT_TITLE = "Reader agreement"


def _est(x: Any, value: str = "kappa") -> Estimate | None:
    if x is None:
        return None
    return Estimate(getattr(x, value), x.ci_low, x.ci_high)


def _role(r: Any) -> str:
    return r.role if r.kind == "physician" else f"{r.role} · {r.kind}"


def _intra(a: ReaderAgreement) -> ResultTable:
    lvl = f"{100 * a.ci_level:g}% CI"
    cols = (Column("reader", "Reader", kind="text"), Column("role", "Role", kind="text"),
            Column("repeats", "Repeated photos", "photos", "count"),
            Column("pairs", "Pairs answered", "photos", "count"),
            Column("kappa_linear", f"Weighted kappa, linear ({lvl})", "kappa", "estimate"),
            Column("kappa_quadratic", f"Weighted kappa, quadratic ({lvl})", "kappa", "estimate"),
            Column("same_binary", f"Same yes/no read % ({lvl})", "%", "estimate",
                   percent=True))
    rows = [(r.label, _role(r), r.repeats, r.pairs, _est(r.linear), _est(r.quadratic),
             Estimate(r.binary.estimate, r.binary.ci_low, r.binary.ci_high) if r.pairs
             else None) for r in a.intra]
    notes = [f"Each reader saw a seeded hidden subset of the photos a second time in the "
             f"blind session, at least {a.min_gap} photos after the first showing, on the "
             "same screen. Only photos with an answer both times count (Pairs answered); "
             "the repeats are left out of every other table.",
             f"Cohen's kappa of first vs. repeat rating on the {a.levels}-level scale, "
             "weighted linearly (Cicchetti–Allison) and quadratically (Fleiss–Cohen), with "
             "the asymptotic standard error of Fleiss, Cohen & Everitt (1969) (Wald "
             "interval). Same yes/no read: percent agreement of the binary reads, Wilson "
             "score interval.", *a.notes]
    return ResultTable.build(
        "agreement_intra", "Intra-reader agreement: first vs. repeat read of the same photo",
        cols, rows if any(r.repeats for r in a.intra) else [], notes,
        short_title="Agreement · intra",
        empty_text="No repeat reads: the protocol's [reading] repeat_fraction is 0, or no "
                   "included reader's session showed repeats.")


def _inter(a: ReaderAgreement) -> ResultTable:
    lvl = f"{100 * a.ci_level:g}% CI"
    cols = (Column("measure", "Measure", kind="text"), Column("of", "Of", kind="text"),
            Column("readers", "Readers", "readers", "count"),
            Column("photos", "Photos", "photos", "count"),
            Column("value", f"Value ({lvl})", kind="estimate"),
            Column("p_value", "p", kind="p_value",
                   note="Friedman's chi-square test of no concordance (Kendall's W only)."))
    rows = []
    if a.fleiss is not None:
        rows.append(("Fleiss' kappa", "yes/no reads", a.n_readers, a.fleiss.n_cases,
                     _est(a.fleiss), None))
    if a.kendall is not None:
        rows.append(("Kendall's W", f"ratings ({a.levels} levels)", a.n_readers,
                     a.kendall.n_cases, _est(a.kendall, "w"), a.kendall.p_value))
    notes = [f"Every included reader's first read of the {a.n_paired} photos they all rated "
             "(repeats left out). Fleiss' kappa (Fleiss 1971): chance-corrected agreement of "
             "the yes/no reads. Kendall's W (Kendall & Babington Smith 1939), corrected for "
             "ties: concordance of the readers' rankings of the photos by rating (0: none, "
             "1: the same ranking).",
             f"{lvl}: percentile bootstrap over the photos, {a.resamples} resamples, seed "
             f"{a.seed}."]
    return ResultTable.build(
        "agreement_inter", "Inter-reader agreement on the paired photos", cols, rows, notes,
        short_title="Agreement · inter",
        empty_text="Needs at least two included readers.")


def agreement_tables(a: ReaderAgreement) -> tuple[ResultTable, ResultTable]:
    """The intra-reader table (``agreement_intra``) and the inter-reader one
    (``agreement_inter``)."""
    return _intra(a), _inter(a)


def agreement_section(a: ReaderAgreement) -> ReportSection:
    """The report's "Reader agreement" section: both tables (a table without rows says
    why in a paragraph)."""
    from wbsdesk.services.report_sections import ReportSection

    tables = agreement_tables(a)
    empty = tuple(f"{t.title}: {t.empty_text}" for t in tables if not t.rows)
    return ReportSection(key="agreement", title=AGREEMENT_TITLE, paragraphs=empty,
                         tables=tuple(t for t in tables if t.rows))


def comparison_agreement(comp: Any) -> tuple[ResultTable, ...]:
    """The agreement tables of a comparison with its agreement attached, else none."""
    a = getattr(comp, "agreement", None)
    return agreement_tables(a) if a is not None else ()


def comparison_agreement_section(comp: Any) -> tuple[ReportSection, ...]:
    """The report's agreement section of a comparison (none without its agreement)."""
    a = getattr(comp, "agreement", None)
    return (agreement_section(a),) if a is not None else ()
