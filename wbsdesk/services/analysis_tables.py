"""A comparison's tables as plain rows (see :meth:`Comparison.to_tables`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wbsdesk.core.stats import METRIC_NAMES

if TYPE_CHECKING:
    from wbsdesk.services.analysis_results import Comparison, PairTest

#: Table name -> a one-line description (CSV file headers, HTML captions).
TABLE_TITLES = {
    "table1": "Table 1. Demographics: positive group vs. controls (analysed subjects)",
    "table3": "Table 3. Cases per cross-validation fold and group",
    "table4": "Table 4. Models: metrics per fold, mean ± SD over folds",
    "table4_folds": "Table 4 (detail). Models: metrics of every fold",
    "auc": "AUC of every model (all cases) and every reader's ratings (paired cases), "
           "with DeLong and stratified-bootstrap CIs",
    "table5": "Table 5. Readers: binary reads on the paired cases",
    "delong_model_vs_reader": "DeLong tests: model (out-of-fold probability) vs. reader "
                              "(rating), paired cases",
    "delong_model_vs_model": "DeLong tests: model vs. model, all cases",
    "mrmc": "MRMC (Obuchowski-Rockette, Hillis df, random readers and cases), paired cases",
}


def _table1(c: Comparison) -> list[dict[str, Any]]:
    t = c.table1
    rows = []
    for part, d in (("positive", t.target), ("controls", t.controls)):
        rows.append({"column": part, "groups": (c.positive if part == "positive"
                                                 else "+".join(c.control_groups)),
                     "subjects": d.n, "age_n": d.age_n, "age_mean_months": d.age_mean,
                     "age_sd_months": d.age_sd, "male": d.male, "female": d.female,
                     "sex_unknown": d.sex_unknown,
                     "age_p": t.age_p, "age_test": t.age_test, "sex_p": t.sex_p,
                     "sex_test": t.sex_test})
    return rows


def _table3(c: Comparison) -> list[dict[str, Any]]:
    rows = []
    for i in range(c.k):
        row: dict[str, Any] = {"fold": i + 1}
        for g, counts in c.table3.items():
            row[g] = counts[i]
        row["total"] = sum(counts[i] for counts in c.table3.values())
        rows.append(row)
    return rows


def _table4(c: Comparison) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    summary, folds = [], []
    for m in c.models:
        s = m.summary
        row: dict[str, Any] = {"model": m.name, "label": m.label, "folds": len(s.rows),
                               "threshold": s.threshold, "sd_ddof": s.ddof}
        for metric in METRIC_NAMES:
            row[f"{metric}_mean"] = s.mean[metric]
            row[f"{metric}_sd"] = s.sd[metric]
        row["pooled_auc"] = m.roc.auc
        summary.append(row)
        for r in s.rows:
            cm = r.confusion
            folds.append({"model": m.name, "fold": r.fold, "cases": r.n_cases, "tp": cm.tp,
                          "fp": cm.fp, "tn": cm.tn, "fn": cm.fn,
                          **{metric: r.value(metric) for metric in METRIC_NAMES}})
    return summary, folds


def _auc(c: Comparison) -> list[dict[str, Any]]:
    rows = []
    items = [("model", m.name, m.label, "out-of-fold probability", int(c.y.size), m.delong,
              m.bootstrap) for m in c.models]
    items += [("reader", r.name, r.label, "rating", int(c.paired.size), r.delong, r.bootstrap)
              for r in c.readers]
    for kind, name, label, score, n, d, b in items:
        rows.append({"kind": kind, "name": name, "label": label, "score": score, "cases": n,
                     "n_pos": d.n_pos, "n_neg": d.n_neg, "auc": d.auc, "delong_se": d.se,
                     "delong_ci_low": d.ci_low, "delong_ci_high": d.ci_high,
                     "bootstrap_ci_low": b.ci_low, "bootstrap_ci_high": b.ci_high,
                     "bootstrap_resamples": int(b.values.size), "bootstrap_seed": b.seed,
                     "ci_level": d.ci_level})
    return rows


def _table5(c: Comparison) -> list[dict[str, Any]]:
    if c.table5 is None:
        return []
    rows = []
    for r, row in zip(c.readers, c.table5.rows, strict=True):
        cm = row.confusion
        rows.append({"reader": r.name, "kind": r.kind, "role": r.role,
                     "cases": int(c.paired.size), "tp": cm.tp, "fp": cm.fp, "tn": cm.tn,
                     "fn": cm.fn, **{m: row.value(m) for m in METRIC_NAMES},
                     "rating_auc": r.rating_roc.auc, "missing_reads": len(r.missing)})
    avg = c.table5.average
    rows.append({"reader": "Average", "kind": "", "role": "", "cases": int(c.paired.size),
                 "tp": None, "fp": None, "tn": None, "fn": None,
                 **{m: avg.value(m) for m in METRIC_NAMES},
                 "rating_auc": (sum(r.rating_roc.auc for r in c.readers) / len(c.readers)),
                 "missing_reads": None})
    return rows


def _pairs(pairs: tuple[PairTest, ...], a_kind: str, b_kind: str) -> list[dict[str, Any]]:
    return [{a_kind: p.a, b_kind: p.b, "cases": p.n_cases, "auc_a": p.test.auc_a,
             "auc_b": p.test.auc_b, "difference": p.test.difference, "se": p.test.se,
             "z": p.test.z, "p_value": p.test.p_value, "ci_low": p.test.ci_low,
             "ci_high": p.test.ci_high, "ci_level": p.test.ci_level} for p in pairs]


def _mrmc(c: Comparison) -> list[dict[str, Any]]:
    if c.mrmc is None:
        return []
    m = c.mrmc
    rows = []
    for est, what in ((m.readers_rating, "ratings"), (m.readers_binary, "binary reads")):
        rows.append({"analysis": f"reader-averaged AUC ({what})", "model": "",
                     "readers": len(c.readers), "cases": int(c.paired.size),
                     "estimate": est.auc, "model_auc": None, "mean_reader_auc": est.auc,
                     "se": est.se, "df": est.df, "t": None, "p_value": None,
                     "ci_low": est.ci_low, "ci_high": est.ci_high, "cov": m.cov_method})
    for name, r in m.models:
        rows.append({"analysis": "readers (ratings) minus model", "model": name,
                     "readers": len(c.readers), "cases": int(c.paired.size),
                     "estimate": r.readers_minus_model, "model_auc": r.model_auc,
                     "mean_reader_auc": r.mean_reader_auc, "se": r.se, "df": r.df, "t": r.t,
                     "p_value": r.p_value, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "cov": r.cov_method})
    return rows


def comparison_tables(c: Comparison) -> dict[str, list[dict[str, Any]]]:
    """All tables of a comparison (see :meth:`Comparison.to_tables`)."""
    t4, t4_folds = _table4(c)
    return {"table1": _table1(c), "table3": _table3(c), "table4": t4,
            "table4_folds": t4_folds, "auc": _auc(c), "table5": _table5(c),
            "delong_model_vs_reader": _pairs(c.delong_model_reader, "model", "reader"),
            "delong_model_vs_model": _pairs(c.delong_model_model, "model_a", "model_b"),
            "mrmc": _mrmc(c)}
