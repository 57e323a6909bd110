"""The tables of an unaided-vs-aided comparison, defined once (the one table model).

:func:`aided_tables` lays an :class:`~wbsdesk.services.analysis_aided.AidedComparison` out
as :class:`~wbsdesk.core.result_table.ResultTable` objects: the study's design, the
reader-averaged figures of merit per modality (OR/Hillis), each reader's AUC unaided ->
aided (DeLong), the changed reads by the model's call (automation bias), the changed
decisions and the time per read. The dashboard's "Aided vs unaided" tab, the report (HTML
and PDF), the CSV files and ``--json`` render these and nothing else.

Every difference is **aided − unaided** (positive: higher with the aid). Whether a
difference shows benefit or harm is read from its CI only (:func:`effect_sentence`,
:func:`wbsdesk.core.slope_chart.effect_of`): a CI that includes 0 is "no clear change",
never a trend.
"""

from __future__ import annotations

import math
from typing import Any

from wbsdesk.core import formatting as fm
from wbsdesk.core.result_table import Column, Estimate, Interval, ResultTable
from wbsdesk.core.slope_chart import EFFECT_SHORT, HARMED, effect_of
from wbsdesk.services.analysis_aided import AidedComparison, ModalityTest

__all__ = ["AIDED_SIGN", "AIDED_TABLES", "DESIGN_NAMES", "aided_tables", "effect_sentence",
           "harmed_text", "tables_json"]

AIDED_SIGN = "aided − unaided (positive: higher with the aid)"
EFFECT_NOTE = ("read from the CI of the difference only: lower or higher when the whole CI "
               "lies below or above 0, unclear when it includes 0 (no clear change).")
DESIGN_NAMES = {"sequential_aided": "sequential (blind read, locked, then aided re-read)",
                "crossover_aided": "crossover (an unaided and an aided session per reader)"}
#: The tables' names, in the report's order (each is written as ``<name>.csv``).
AIDED_TABLES = ("aided_design", "aided_modalities", "aided_readers", "aided_changes",
                "aided_decisions", "aided_timing")


def _level(comp: AidedComparison) -> str:
    return f"{100 * comp.ci_level:g}% CI"


def harmed_text(comp: AidedComparison) -> str:
    """The harmed readers, or what "none" means."""
    if comp.harmed:
        return ", ".join(comp.harmed)
    return "none (no reader's aided AUC is lower by more than their CI)"


def effect_sentence(t: ModalityTest, level: str) -> str:
    """One honest sentence on a modality difference, from its CI (not from its sign alone).

    Examples
    --------
    >>> from wbsdesk.services.analysis_aided import ModalityTest
    >>> t = ModalityTest("AUC", 0.8, (0.7, 0.9), 0.77, (0.6, 0.9), -0.03, -0.08, 0.02,
    ...                  1.4, 1, 12.0, 0.26)
    >>> text = effect_sentence(t, "95% CI")
    >>> text.split(":")[1]
    ' aided − unaided -0.030 (95% CI -0.080 to 0.020), p 0.260'
    >>> text.endswith("the CI includes 0, so these reads show neither benefit nor harm from "
    ...               "the aid.")
    True
    """
    head = (f"{t.measure}: aided − unaided {fm.fmt_signed(t.difference)} ({level} "
            f"{fm.fmt_ci(t.ci_low, t.ci_high)}), p {fm.fmt_p(t.p_value)}")
    effect = effect_of(t.ci_low, t.ci_high)
    if not (math.isfinite(t.ci_low) and math.isfinite(t.ci_high)):
        return head + ": undefined (no CI), so no conclusion."
    if effect == HARMED:
        return head + ": lower with the aid; the whole CI lies below 0."
    if effect == "benefited":
        return head + ": higher with the aid; the whole CI lies above 0."
    return (head + ": no clear change; the CI includes 0, so these reads show neither "
                   "benefit nor harm from the aid.")


def _design(comp: AidedComparison) -> ResultTable:
    aid = comp.aid
    readers = f"{len(comp.readers)}" + (" (SIMULATED, not physicians)" if comp.simulated
                                        else "")
    rows = [("Design", "; ".join(DESIGN_NAMES.get(d, d) for d in comp.designs)),
            ("Washout", "does not apply (sequential)" if comp.washout_days is None
             else f"{comp.washout_days:g} days"),
            ("Aid", f"run {', '.join(aid['runs'])}, model {', '.join(aid['models'])} "
                    f"({', '.join(aid['architectures'])}), out-of-fold"
                    + (", with heatmaps" if aid.get("heatmaps") else "")),
            ("Readers", readers),
            ("Cases", f"{comp.n_cases} ({comp.n_positive} {comp.positive})"),
            ("Harmed readers", harmed_text(comp))]
    rows += [(f"Left out ({why})", ", ".join(names)) for why, names in comp.left_out.items()]
    cols = (Column("item", "Item", kind="text"), Column("value", "Value", kind="text"))
    return ResultTable.build("aided_design", "Aided reading: design, aid and readers", cols,
                             rows, short_title="Design")


def _modalities(comp: AidedComparison) -> ResultTable:
    lvl = _level(comp)
    cols = (Column("measure", "Measure", kind="text"),
            Column("unaided", "Unaided", "0..1", "estimate"),
            Column("aided", "Aided", "0..1", "estimate"),
            Column("difference", "Difference (aided − unaided)", "0..1", "signed"),
            Column("ci", lvl, "0..1", "interval"),
            Column("f", "F", decimals=2), Column("df1", "df1", kind="count"),
            Column("df2", "df2 (Hillis)", decimals=1), Column("p_value", "p", kind="p_value"),
            Column("effect", "Effect", kind="text", note=EFFECT_NOTE))
    rows = [(t.measure, Estimate(t.unaided, *t.unaided_ci), Estimate(t.aided, *t.aided_ci),
             t.difference, Interval(t.ci_low, t.ci_high), t.f_stat, t.df_num, t.df_den,
             t.p_value, EFFECT_SHORT[effect_of(t.ci_low, t.ci_high)]) for t in comp.tests]
    return ResultTable.build(
        "aided_modalities", "Unaided vs aided: reader-averaged AUC, sensitivity and "
        "specificity (Obuchowski–Rockette, Hillis df, random readers and cases)", cols, rows,
        [f"On the {comp.n_cases} photos every included reader answered in both modalities. "
         "AUC of the ratings; sensitivity and specificity of the yes/no reads, each tested "
         "as a figure of merit with jackknife covariance.",
         f"Unaided, Aided: the readers' average with its {lvl}."],
        sign_convention=AIDED_SIGN, short_title="Modalities")


def _readers(comp: AidedComparison) -> ResultTable:
    lvl = _level(comp)
    cols = (Column("reader", "Reader", kind="text"), Column("kind", "Kind", kind="text"),
            Column("auc_unaided", "AUC unaided", "AUC"),
            Column("auc_aided", "AUC aided", "AUC"),
            Column("difference", "Difference (aided − unaided)", "AUC", "signed"),
            Column("ci", f"{lvl} (DeLong)", "AUC", "interval"),
            Column("p_value", "p", kind="p_value"),
            Column("sens_unaided", "Sensitivity % unaided", "%", percent=True),
            Column("sens_aided", "Sensitivity % aided", "%", percent=True),
            Column("spec_unaided", "Specificity % unaided", "%", percent=True),
            Column("spec_aided", "Specificity % aided", "%", percent=True),
            Column("harmed", "Harmed", kind="flag",
                   note="YES when the aided AUC is lower by more than the CI (the whole "
                        "DeLong CI of the difference below 0)."),
            Column("effect", "Effect", kind="text", note=EFFECT_NOTE))
    rows = [(r.reader, r.kind, r.auc_unaided, r.auc_aided, r.difference,
             Interval(r.ci_low, r.ci_high), r.p_value, r.sensitivity[0], r.sensitivity[1],
             r.specificity[0], r.specificity[1], r.harmed,
             EFFECT_SHORT[effect_of(r.ci_low, r.ci_high)]) for r in comp.readers]
    return ResultTable.build(
        "aided_readers", "Readers: AUC unaided to aided (DeLong paired test)", cols, rows,
        ["Each reader's ratings of the same photos without and with the aid; sensitivity and "
         "specificity of the yes/no reads."],
        sign_convention=AIDED_SIGN, short_title="Readers")


def _changes(comp: AidedComparison) -> ResultTable:
    t = comp.changes
    cols = (Column("model_call", "Model's call", kind="text"),
            Column("reads", "Reads", "reads", "count"),
            Column("changed", "Changed", "reads", "count"),
            Column("toward", "Toward the truth", "reads", "count"),
            Column("away", "Away from the truth", "reads", "count"),
            Column("followed_wrong", "Followed the wrong model", "reads", "count",
                   note="changed towards the model's call when that call was wrong (all of "
                        "them are away from the truth)."))
    rows = [("right", t.model_right_reads, t.toward_right + t.away_right, t.toward_right,
             t.away_right, None),
            ("wrong", t.model_wrong_reads, t.toward_wrong + t.away_wrong, t.toward_wrong,
             t.away_wrong, t.followed_wrong),
            ("all", t.reads, t.changed, t.toward_right + t.toward_wrong,
             t.away_right + t.away_wrong, t.followed_wrong)]
    return ResultTable.build(
        "aided_changes", "Automation bias: changed ratings after the aid, by whether the "
        "model's call was right", cols, rows,
        [f"Every scored photo a reader answered in both modalities; the model's call is "
         f"positive at a score ≥ {comp.threshold:g}. A change is a different rating on the "
         "aided read; toward the truth means up for a positive case, down for a control.",
         "Followed the wrong model is empty where the model was right (does not apply)."],
        short_title="Changed reads")


def _decisions(comp: AidedComparison) -> ResultTable:
    t = comp.changes
    cols = (Column("reads", "Reads", "reads", "count"),
            Column("changed", "Decision changed", "reads", "count"),
            Column("to_correct", "To the correct call", "reads", "count"),
            Column("to_wrong", "To the wrong call", "reads", "count"),
            Column("to_wrong_model", "To a wrong model's call", "reads", "count"))
    return ResultTable.build(
        "aided_decisions", "Changed yes/no decisions after the aid", cols,
        [(t.reads, t.flips, t.flips_to_correct, t.flips_to_wrong, t.flips_followed_wrong)],
        ["The same reads as the changed ratings; a decision is the yes/no read of the "
         "rating."], short_title="Changed decisions")


def _timing(comp: AidedComparison) -> ResultTable:
    cols = (Column("modality", "Modality", kind="text"),
            Column("reads", "Reads", "reads", "count"),
            Column("no_answer", "No answer", "reads", "count"),
            Column("median_s", "Median s", "s", decimals=1),
            Column("q1_s", "Q1 s", "s", decimals=1), Column("q3_s", "Q3 s", "s", decimals=1),
            Column("mean_s", "Mean s", "s", decimals=1))
    rows = [(p.modality, p.reads, p.no_answer, p.median_s, p.q1_s, p.q3_s, p.mean_s)
            for p in comp.timing]
    return ResultTable.build(
        "aided_timing", "Time per read in each phase (response time, seconds)", cols, rows,
        ["Response time from the photo on screen to the answer; a timeout is a read with no "
         "answer and has no response time."], short_title="Time per read")


def aided_tables(comp: AidedComparison) -> tuple[ResultTable, ...]:
    """Every table of an aided comparison, in the report's order (:data:`AIDED_TABLES`).

    Parameters
    ----------
    comp : AidedComparison

    Returns
    -------
    tuple of ResultTable
        ``aided_design``, ``aided_modalities``, ``aided_readers``, ``aided_changes``,
        ``aided_decisions``, ``aided_timing``.
    """
    return (_design(comp), _modalities(comp), _readers(comp), _changes(comp),
            _decisions(comp), _timing(comp))


def tables_json(comp: AidedComparison) -> dict[str, Any]:
    """The tables as plain data by name (``--json``)."""
    return {t.name: t.to_dict() for t in aided_tables(comp)}
