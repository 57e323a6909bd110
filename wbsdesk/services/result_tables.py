"""Every table of a comparison, defined once: columns, units, formats, footnotes, signs.

:func:`comparison_tables` lays a computed :class:`~wbsdesk.services.analysis.Comparison` out
as :class:`~wbsdesk.core.result_table.ResultTable` objects, the paper's Tables 1, 3, 4 and 5
and the AUC, DeLong and MRMC tables. Nothing here computes a statistic (every number comes
from the comparison) and nothing formats one (the column's kind does); the dashboard, the
CSV files, the HTML and PDF report and ``--json`` render these tables and nothing else.

Conventions
-----------
* Rates, AUCs in % and their CIs are fractions in the rows, written and exported in percent
  (``percent`` columns); plain AUCs (``Pooled AUC``, ``AUC``) are on the 0..1 scale.
* Every difference is **model − reader** (model − readers' mean in MRMC, model A − model B
  between models): positive when the model's AUC is higher. Each table with differences
  says so in its first footnote.
* p-values of a family of tests (model vs. reader, model vs. model, MRMC model vs. readers)
  stand beside their Holm-adjusted values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wbsdesk.core.formatting import fmt_number
from wbsdesk.core.result_table import Column, Estimate, Interval, MeanSd, ResultTable
from wbsdesk.core.stats import METRIC_NAMES

if TYPE_CHECKING:
    from wbsdesk.services.analysis_results import Comparison, PairTest

__all__ = ["GUI_ORDER", "TRIAGE_NOTE", "comparison_tables", "table_map", "triage_table"]

#: The tables of the dashboard, in tab order (the report shows them all, in paper order).
GUI_ORDER = ("table4", "table5", "delong_model_vs_reader", "mrmc", "mrmc_readers", "auc",
             "delong_model_vs_model", "table4_folds", "table1", "table3")
#: Metric -> column title (the paper's "recall" is written "Sensitivity").
METRIC_TITLES = {"accuracy": "Accuracy %", "precision": "Precision %",
                 "recall": "Sensitivity %", "specificity": "Specificity %",
                 "f1": "F1 score %", "auc": "AUC %"}
SENSITIVITY_NOTE = "the recall of Liu et al. (2021)."
NA_NOTE = "n/a: undefined (a zero denominator, e.g. precision when nothing was called positive)."
MODEL_SIGN = "model − reader (positive: the model's AUC is higher)"


def _level(c: Comparison) -> str:
    return f"{100 * c.protocol.statistics.ci_level:g}% CI"


def _holm_note(n: int) -> str:
    return (f"p-value adjusted by Holm's method over the {n} test(s) of this table (family-"
            "wise error rate); read it, not p, when asking whether any of them differs.")


def _labels(c: Comparison) -> dict[str, str]:
    return {**{m.name: m.label for m in c.models}, **{r.name: r.label for r in c.readers}}


def _role(r: Any) -> str:
    """A reader's role, and 'simulated' / 'dry run' when the reads are not a physician's."""
    return r.role if r.kind == "physician" else f"{r.role} · {r.kind}"


def _table1(c: Comparison) -> ResultTable:
    t = c.table1
    g = c.protocol.groups
    cols = (Column("group", "Group", kind="text"),
            Column("subjects", "Subjects", "subjects", "count"),
            Column("age", "Age, months", "months", "mean_sd", decimals=1),
            Column("age_p", "p (age)", kind="p_value"),
            Column("male", "Male", "subjects", "count"),
            Column("female", "Female", "subjects", "count"),
            Column("sex_unknown", "Sex unknown", "subjects", "count"),
            Column("sex_p", "p (sex)", kind="p_value"))
    controls = " + ".join(g.label(x) for x in c.control_groups)
    rows = []
    for label, d, age_p, sex_p in ((g.label(c.positive), t.target, t.age_p, t.sex_p),
                                   (f"Controls ({controls})", t.controls, None, None)):
        rows.append((label, d.n, MeanSd(d.age_mean, d.age_sd, d.age_n, d.n), age_p, d.male,
                     d.female, d.sex_unknown, sex_p))
    return ResultTable.build(
        "table1", "Table 1. Demographics: positive group vs. controls (analysed subjects)",
        cols, rows,
        [f"Age: mean ± SD at the photograph; p (age): {t.age_test}. p (sex): {t.sex_test} "
         "(subjects of unknown sex left out). p compares the two rows.",
         "(k/n): mean ± SD over the k of n subjects whose age is known."],
        short_title="Table 1")


def _table3(c: Comparison) -> ResultTable:
    g = c.protocol.groups
    groups = list(c.table3)
    cols = (Column("fold", "Fold", kind="count"),
            *[Column(x, g.label(x), "photos", "count") for x in groups],
            Column("total", "Total", "photos", "count"))
    rows = [(i + 1, *[c.table3[x][i] for x in groups], sum(c.table3[x][i] for x in groups))
            for i in range(c.k)]
    return ResultTable.build(
        "table3", "Table 3. Photos per cross-validation fold and group", cols, rows,
        ["Each fold is the test set once; its models never saw its photos while training."],
        short_title="Table 3")


def _with_baseline(c: Comparison) -> tuple[Any, ...]:
    """The models, then the audit's trivial baseline when it was computed
    (:func:`wbsdesk.services.report_audit.attach_audit`)."""
    a = c.audit
    return (*c.models, *((a.baseline_model,) if a is not None and a.baseline_model else ()))


def _baseline_note(c: Comparison) -> list[str]:
    if len(_with_baseline(c)) == len(c.models):
        return []
    return ["Trivial baseline: a logistic regression on capture statistics, an 8×8 thumbnail "
            "and colour histograms of the model crop, on the same folds (not a CNN; see the "
            "audit)."]


def _table4(c: Comparison) -> ResultTable:
    st = c.protocol.statistics
    cols = (Column("model", "Model", kind="text"),
            *[Column(m, METRIC_TITLES[m], "%", "mean_sd", percent=True,
                     note=SENSITIVITY_NOTE if m == "recall" else "")
              for m in METRIC_NAMES],
            Column("pooled_auc", "Pooled AUC", "AUC"),
            Column("pooled_auc_ci", f"{_level(c)} (DeLong)", "AUC", "interval"))
    rows = [(m.label, *[MeanSd(m.summary.mean[k], m.summary.sd[k],
                               m.summary.n_defined.get(k), m.summary.n_folds)
                        for k in METRIC_NAMES],
             m.roc.auc, Interval(m.delong.ci_low, m.delong.ci_high)) for m in _with_baseline(c)]
    return ResultTable.build(
        "table4", "Table 4. CNN models: metrics per test fold, mean ± SD over folds", cols,
        rows,
        [f"Mean ± SD (divisor k − {st.sd_ddof}) over the {c.counts['folds']} test folds; a "
         f"photo counts as positive when the model's probability is ≥ {st.threshold:g}. "
         "AUC % is the mean of the fold AUCs.",
         "(k/K): mean ± SD over the k of K folds where the metric is defined (see the "
         "warnings); n/a only when no fold defines it.",
         f"Pooled AUC: all {c.y.size} out-of-fold scores together (the curve drawn), with "
         "its DeLong CI.", *_baseline_note(c)],
        short_title="Table 4 · models")


def _table4_folds(c: Comparison) -> ResultTable:
    cols = (Column("model", "Model", kind="text"), Column("fold", "Fold", kind="count"),
            Column("cases", "Cases", "photos", "count"),
            *[Column(k, k.upper(), "photos", "count") for k in ("tp", "fp", "tn", "fn")],
            *[Column(m, METRIC_TITLES[m], "%", percent=True) for m in METRIC_NAMES])
    rows = [(m.label, r.fold, r.n_cases, r.confusion.tp, r.confusion.fp, r.confusion.tn,
             r.confusion.fn, *[r.value(k) for k in METRIC_NAMES])
            for m in _with_baseline(c) for r in m.summary.rows]
    return ResultTable.build(
        "table4_folds", "Table 4 (detail). CNN models: metrics of every test fold", cols,
        rows, [f"At probability ≥ {c.protocol.statistics.threshold:g}. TP, FP, TN, FN: true "
               "and false positives and negatives.", NA_NOTE, *_baseline_note(c)],
        short_title="Per fold")


def _auc(c: Comparison) -> ResultTable:
    st = c.protocol.statistics
    lvl = _level(c)
    cols = (Column("score", "Score", kind="text"), Column("kind", "Kind", kind="text"),
            Column("positives", "Positives", "photos", "count"),
            Column("controls", "Controls", "photos", "count"),
            Column("auc", "AUC", "AUC"), Column("delong_se", "SE (DeLong)", "AUC"),
            Column("delong_ci", f"{lvl} (DeLong)", "AUC", "interval"),
            Column("bootstrap_ci", f"{lvl} (bootstrap)", "AUC", "interval"))
    items = [(m.label, "model", m.delong, m.bootstrap) for m in c.models]
    items += [(r.label, "reader (rating)", r.delong, r.bootstrap) for r in c.readers]
    rows = [(label, kind, d.n_pos, d.n_neg, d.auc, d.se, Interval(d.ci_low, d.ci_high),
             Interval(b.ci_low, b.ci_high)) for label, kind, d, b in items]
    return ResultTable.build(
        "auc", "AUC of every model (all cases) and every reader's ratings (paired cases), "
        "with DeLong and stratified-bootstrap CIs", cols, rows,
        ["Models: the pooled out-of-fold AUC of all cases; readers: the AUC of their ratings "
         "on the photos every reader rated.",
         f"Bootstrap: {st.bootstrap_resamples} stratified resamples, seed "
         f"{st.bootstrap_seed}, percentile interval. DeLong: Wald interval."],
        short_title="AUC")


def _table5(c: Comparison) -> ResultTable:
    lvl = _level(c)
    wilson = f"with its {lvl} (Wilson score interval)"
    cols = (Column("reader", "Reader", kind="text"), Column("role", "Role", kind="text"),
            *[Column(m, METRIC_TITLES[m], "%", "estimate", percent=True,
                     note=SENSITIVITY_NOTE if m == "recall" else "")
              for m in ("accuracy", "precision", "recall", "specificity")],
            Column("f1", "F1 score %", "%", percent=True),
            Column("auc_binary", "AUC % (yes/no)", "%", percent=True),
            Column("auc_rating", "AUC % (rating)", "%", percent=True),
            Column("missing_reads", "Missing reads", "photos", "count"))
    rows: list[tuple[Any, ...]] = []
    reading = c.protocol.reading
    middle = reading.scale[(len(reading.scale) + 1) // 2 - 1]
    notes = [f"Yes/no reads on the {c.paired.size} photos every included reader rated: a "
             f"rating above '{middle}' is yes ('{middle}' counts as "
             f"{reading.unsure_counts_as}). Each proportion is shown {wilson}; the Average "
             "row is the mean of the readers (no interval).",
             "AUC (yes/no) = (sensitivity + specificity) / 2; AUC (rating) uses the whole "
             "rating scale.", NA_NOTE]
    if c.table5 is not None:
        for r, row in zip(c.readers, c.table5.rows, strict=True):
            props = r.proportions
            rows.append((r.label, _role(r),
                         *[Estimate(row.value(m), props[m].ci_low, props[m].ci_high)
                           if m in props else Estimate(row.value(m))
                           for m in ("accuracy", "precision", "recall", "specificity")],
                         row.f1, row.auc, r.rating_roc.auc, len(r.missing)))
        a = c.table5.average
        rows.append(("Average", "", *[Estimate(a.value(m)) for m in
                                      ("accuracy", "precision", "recall", "specificity")],
                     a.f1, a.auc, sum(r.rating_roc.auc for r in c.readers) / len(c.readers),
                     None))
    return ResultTable.build(
        "table5", "Table 5. Readers: yes/no reads on the paired photos", cols, rows, notes,
        short_title="Table 5 · readers",
        empty_text="No reader is included (simulated readers count only when included: "
                   "'Include simulated readers', or --include-simulated).")


def _pairs(c: Comparison, pairs: tuple[PairTest, ...], *, readers: bool) -> ResultTable:
    lab = _labels(c)
    b_key, b_title = ("reader", "Reader") if readers else ("model_b", "Model B")
    a_key, a_title = ("model", "Model") if readers else ("model_a", "Model A")
    sign = MODEL_SIGN if readers else "model A − model B (positive: A's AUC is higher)"
    diff = "Difference (model − reader)" if readers else "Difference (A − B)"
    cols = (Column(a_key, a_title, kind="text"), Column(b_key, b_title, kind="text"),
            Column("cases", "Cases", "photos", "count"),
            Column("auc_a", f"AUC {'model' if readers else 'A'}", "AUC"),
            Column("auc_b", f"AUC {'reader' if readers else 'B'}", "AUC"),
            Column("difference", diff, "AUC", "signed"),
            Column("ci", _level(c), "AUC", "interval"),
            Column("p_value", "p", kind="p_value"),
            Column("p_holm", "p (Holm)", kind="p_value", note=_holm_note(len(pairs))))
    rows = [(lab[p.a], lab[p.b], p.n_cases, p.test.auc_a, p.test.auc_b, p.test.difference,
             Interval(p.test.ci_low, p.test.ci_high), p.test.p_value, p.p_holm)
            for p in pairs]
    if readers:
        return ResultTable.build(
            "delong_model_vs_reader", "DeLong tests: each model (out-of-fold probability) vs. "
            "each reader (rating), paired photos", cols, rows,
            [f"On the {c.paired.size} photos every reader rated, so a model's AUC here can "
             "differ from its AUC on all cases."],
            sign_convention=sign, short_title="Model vs. reader",
            empty_text="No reader is included.")
    return ResultTable.build(
        "delong_model_vs_model", "DeLong tests: model vs. model, all cases", cols, rows,
        [f"On all {c.y.size} cases."], sign_convention=sign, short_title="Models",
        empty_text="One model only: nothing to compare.")


def _mrmc_why(c: Comparison) -> str:
    return ("Not computed: " + ("no reader" if not c.readers else "only one reader")
            + " (MRMC needs at least two).")


def _mrmc_readers(c: Comparison) -> ResultTable:
    cols = (Column("analysis", "Readers' average AUC", kind="text"),
            Column("readers", "Readers", "readers", "count"),
            Column("cases", "Cases", "photos", "count"), Column("auc", "AUC", "AUC"),
            Column("se", "SE", "AUC"), Column("ci", _level(c), "AUC", "interval"),
            Column("df", "df (Hillis)", kind="number", decimals=1))
    rows = []
    if c.mrmc is not None:
        m = c.mrmc
        rows = [(what, len(c.readers), int(c.paired.size), e.auc, e.se,
                 Interval(e.ci_low, e.ci_high), e.df)
                for e, what in ((m.readers_rating, "ratings"),
                                (m.readers_binary, "yes/no reads"))]
    cov = c.mrmc.cov_method if c.mrmc is not None else "jackknife"
    return ResultTable.build(
        "mrmc_readers", "MRMC: the readers' average AUC (Obuchowski–Rockette, Hillis df, "
        "random readers and cases), paired photos", cols, rows,
        [f"Obuchowski–Rockette with Hillis degrees of freedom, {cov} covariance: the "
         "interval generalises to other readers and other cases."],
        short_title="MRMC readers", empty_text=_mrmc_why(c))


def _mrmc(c: Comparison) -> ResultTable:
    lab = _labels(c)
    cols = (Column("model", "Model", kind="text"),
            Column("model_auc", "AUC model", "AUC"),
            Column("readers_auc", "AUC readers (mean)", "AUC"),
            Column("difference", "Difference (model − readers)", "AUC", "signed"),
            Column("se", "SE", "AUC"), Column("ci", _level(c), "AUC", "interval"),
            Column("df", "df (Hillis)", decimals=1), Column("p_value", "p", kind="p_value"),
            Column("p_holm", "p (Holm)", kind="p_value",
                   note=_holm_note(len(c.mrmc.models) if c.mrmc else 0)))
    rows = []
    if c.mrmc is not None:
        holm = c.mrmc.p_holm or (float("nan"),) * len(c.mrmc.models)
        for (name, r), q in zip(c.mrmc.models, holm, strict=True):
            # core gives readers − model (RJafroc's sign); shown as model − readers
            rows.append((lab.get(name, name), r.model_auc, r.mean_reader_auc,
                         -r.readers_minus_model, r.se, Interval(-r.ci_high, -r.ci_low), r.df,
                         r.p_value, q))
    return ResultTable.build(
        "mrmc", "MRMC: each model vs. the readers as a group (Obuchowski–Rockette, Hillis df, "
        "random readers and cases), paired photos", cols, rows,
        ["The readers' ratings are one modality; each model is compared with their mean AUC, "
         "the model's own case variability included (1T-RRRC)."],
        sign_convention="model − readers' mean (positive: the model's AUC is higher)",
        short_title="MRMC", empty_text=_mrmc_why(c))


def comparison_tables(c: Comparison) -> tuple[ResultTable, ...]:
    """Every table of a comparison, in the report's order.

    Parameters
    ----------
    c : Comparison
        A computed comparison (its numbers are only laid out here).

    Returns
    -------
    tuple of ResultTable
        ``table1``, ``table3``, ``table4``, ``table4_folds``, ``auc``, ``table5``,
        ``delong_model_vs_reader``, ``delong_model_vs_model``, ``mrmc_readers``, ``mrmc``
        (the tables without readers have no rows and say why in ``empty_text``).
    """
    return (_table1(c), _table3(c), _table4(c), _table4_folds(c), _auc(c), _table5(c),
            _pairs(c, c.delong_model_reader, readers=True),
            _pairs(c, c.delong_model_model, readers=False), _mrmc_readers(c), _mrmc(c))


def table_map(c: Comparison) -> dict[str, ResultTable]:
    """The tables of :func:`comparison_tables` by name."""
    return {t.name: t for t in comparison_tables(c)}


TRIAGE_NOTE = ("Photos of the paired set ranked by |readers' mean rating scaled to 0..1 − "
               "model probability| (the ensemble's, else the only model's), highest first. "
               "Each reader's cell is rating · response time. Ground truth is shown, not used "
               "in the ranking. Double-click a row for the photo; Grad-CAM explains a model.")


def triage_table(rows: list[dict[str, Any]]) -> ResultTable:
    """The disagreement triage of :func:`wbsdesk.services.triage.disagreements` rows.

    Columns: rank, subject, truth group, disagreement score, the models' probabilities
    (architectures, then the ensemble) and each reader's ``rating · seconds``.
    """
    first = rows[0] if rows else {"models": {}, "model_labels": {}, "readers": []}
    models = list(first["models"])
    cols = (Column("rank", "#", kind="count"), Column("subject", "Subject", kind="text"),
            Column("group", "Truth", kind="text"),
            *([Column("score", "Disagreement", "0..1")] if rows else []),
            *[Column(f"p_{m}", f"P {first['model_labels'].get(m, m)}", "probability")
              for m in models],
            *[Column(f"reader_{i}", r["label"], kind="text")
              for i, r in enumerate(first["readers"])])
    out = []
    for rank, row in enumerate(rows, start=1):
        reads = [f"{rd['rating']} · "
                 + (f"{fmt_number(rd['response_s'], 1)} s" if rd["response_s"] is not None
                    else "n/a") for rd in row["readers"]]
        out.append((rank, row["subject"], row["group"], row["score"],
                    *[row["models"][m] for m in models], *reads))
    return ResultTable.build("triage", "Disagreement triage", cols, out, [TRIAGE_NOTE],
                             short_title="Disagreement triage",
                             empty_text="No photo rated by every included reader.")
