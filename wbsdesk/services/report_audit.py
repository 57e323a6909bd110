"""The audit shown with a comparison: calibration, subgroups, confounds, the trivial baseline.

:func:`attach_audit` computes, for the cases of a :class:`~wbsdesk.services.analysis.Comparison`
(its study, run, readers and controls), the three audits of :mod:`wbsdesk.services.audit` and
:mod:`wbsdesk.services.confound`, and the trivial baseline *on the comparison's cases*:

* its Table 4 row (:func:`~wbsdesk.services.analysis_parts.model_result` on the baseline's
  out-of-fold probabilities and the run's folds, exactly as for a CNN), added to Table 4 and
  its per-fold detail by :mod:`wbsdesk.services.result_tables`;
* its ROC curve, drawn dashed beside the CNNs (``RocData.models``, ``ModelRoc.baseline``);
* a paired DeLong test of each CNN (and the ensemble) against it, model − baseline, with
  p-values Holm-adjusted over that family;
* the warning, in words, when it comes within :data:`~wbsdesk.core.baseline.WARN_MARGIN`
  AUC of the best CNN (:attr:`ReportAudit.warning`).

The result is the same comparison with :attr:`Comparison.audit` set, the baseline in its ROC
data and the audit's warnings added to its notes (not issued again). Nothing stops the
report: a study without crops, a fold without a class, a reader who said yes to everything
or a constant model each leave a named note, and the part that cannot be computed says why
in its table (:func:`audit_tables`: every table of the audit as a
:class:`~wbsdesk.core.result_table.ResultTable`, rendered like the comparison's tables by the
dashboard, the CSV files, the HTML and PDF report and ``--json``).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core import baseline as bl
from wbsdesk.core import calibration as cal
from wbsdesk.core import subgroups as sg
from wbsdesk.core.jobs import CancelToken, ProgressFn, no_progress
from wbsdesk.core.proportions import holm
from wbsdesk.core.result_table import Column, ResultTable
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.analysis_data import name_list
from wbsdesk.services.analysis_parts import about, model_result
from wbsdesk.services.analysis_results import Comparison, ModelResult
from wbsdesk.services.analysis_roc import ModelRoc
from wbsdesk.services.audit import (
    CalibrationAudit,
    SubgroupAudit,
    calibration_audit,
    subgroup_audit,
)
from wbsdesk.services.audit_data import load_audit_cases
from wbsdesk.services.confound import BASELINE_AUC_COLUMNS, ConfoundAudit, confound_audit
from wbsdesk.services.workspace import Workspace

__all__ = ["AUDIT_CSV_FILES", "AUDIT_ORDER", "BASELINE", "BASELINE_LABEL", "ReportAudit",
           "attach_audit", "audit_tables", "baseline_models"]

#: Name and label of the trivial baseline where it stands beside the CNNs.
BASELINE = "baseline"
BASELINE_LABEL = "Trivial baseline"
#: The audit's tables in report order, with their CSV files.
AUDIT_CSV_FILES = {
    "baseline_vs_models": "audit_baseline_vs_models.csv",
    "confound_statistics": "audit_capture_statistics.csv",
    "confound_groups": "audit_capture_by_group.csv",
    "confound_baseline_auc": "audit_baseline_auc.csv",
    "calibration_models": "audit_calibration_models.csv",
    "calibration_readers": "audit_calibration_readers.csv",
    "calibration_bins": "audit_reliability_bins.csv",
    "subgroup_auc": "audit_subgroup_auc.csv",
    "subgroup_difference": "audit_subgroup_difference.csv",
}
AUDIT_ORDER = tuple(AUDIT_CSV_FILES)
#: Short titles (the dashboard's audit tabs).
_SHORT = {"baseline_vs_models": "CNN vs. baseline", "confound_statistics": "Capture",
          "confound_groups": "Capture by group", "confound_baseline_auc": "Baseline AUC",
          "calibration_models": "Calibration", "calibration_readers": "Readers' levels",
          "calibration_bins": "Reliability bins", "subgroup_auc": "Subgroups",
          "subgroup_difference": "Subgroup tests"}


@dataclass(frozen=True)
class ReportAudit:
    """The audit of a comparison's cases (see the module docstring).

    Attributes
    ----------
    calibration, subgroups, confound : audit results, or None when not computed
    baseline_model : ModelResult or None
        The trivial baseline on the comparison's cases (label :data:`BASELINE_LABEL`).
    baseline_vs_models : tuple of BaselineComparison
        Each model of the comparison against the baseline (paired DeLong, Holm-adjusted).
    warning : str or None
        The baseline warning (within 0.05 AUC of the best CNN), in words.
    by : tuple of str
        Metadata columns the subgroups were split by besides sex and age band.
    missing : dict of str to str
        Part (``"calibration"``, ``"subgroups"``, ``"confound"``, ``"baseline"``) -> why it
        was not computed.
    """

    calibration: CalibrationAudit | None
    subgroups: SubgroupAudit | None
    confound: ConfoundAudit | None
    baseline_model: ModelResult | None
    baseline_vs_models: tuple[bl.BaselineComparison, ...]
    warning: str | None
    by: tuple[str, ...] = ()
    missing: dict[str, str] = dataclasses.field(default_factory=dict)


def baseline_models(c: Comparison) -> tuple[ModelResult, ...]:
    """The baseline as a Table 4 row beside the CNNs (empty when it was not computed)."""
    audit = getattr(c, "audit", None)
    if audit is None or audit.baseline_model is None:
        return ()
    return (audit.baseline_model,)


def _warn(message: str) -> None:
    warnings.warn(message, WbsdeskWarning, stacklevel=2)


def attach_audit(ws: Workspace, comp: Comparison, *, by: Sequence[str] = (),
                 progress: ProgressFn = no_progress, cancel: CancelToken | None = None
                 ) -> Comparison:
    """The comparison with its audit attached (see the module docstring).

    Parameters
    ----------
    ws : Workspace
    comp : Comparison
        From :func:`~wbsdesk.services.analysis.build_comparison`.
    by : sequence of str, keyword-only
        Manifest metadata columns to split the subgroups by (besides sex and age band).
    progress, cancel : keyword-only
        The job contract (the confound audit reads every model crop).

    Returns
    -------
    Comparison
        With ``audit`` set, the baseline in ``roc_data`` and the audit's warnings appended
        to ``notes`` (they are not issued again).

    Raises
    ------
    UserError
        A ``by`` column no subject has (or one with too many values).
    """
    cancel = cancel or CancelToken()
    notes: list[str] = []
    missing: dict[str, str] = {}
    calibration = subgroups = confound = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if len(getattr(comp, "runs", ())) > 1:
                raise UserError("it covers one training run at a time (report one --run)")
            cases = load_audit_cases(ws, comp.study, run=comp.run,
                                     include_simulated=comp.include_simulated,
                                     include_dry_run=comp.include_dry_run)
        except UserError as exc:
            cases = None
            for part in ("calibration", "subgroups", "confound"):
                missing[part] = exc.message
            _warn(f"The audit was not computed: {exc.message}.")
        if cases is not None:
            calibration = calibration_audit(ws, comp.study, controls=comp.controls,
                                            cases=cases)
            subgroups = subgroup_audit(ws, comp.study, by=by, controls=comp.controls,
                                       cases=cases)
            try:
                confound = confound_audit(ws, comp.study, cases=cases, progress=progress,
                                          cancel=cancel)
            except UserError as exc:
                missing["confound"] = exc.message
                _warn(f"Confound audit: not computed ({exc.message}); the trivial baseline "
                      "is left out of Table 4 and the ROC figure.")
        base, vs, warning, why = _baseline_on(comp, confound)
        if why:
            missing["baseline"] = why
    for w in caught:
        text = str(w.message)
        if (issubclass(w.category, WbsdeskWarning) and text not in comp.notes
                and text not in notes and (confound is None or text != confound.warning)):
            notes.append(text)
    if warning:
        notes.insert(0, warning)
    roc = comp.roc_data
    if base is not None:
        roc = dataclasses.replace(roc, models=(*roc.models, ModelRoc(
            BASELINE, BASELINE_LABEL, base.roc.auc, base.roc.fpr, base.roc.tpr, None, False,
            baseline=True)))
    audit = ReportAudit(calibration=calibration, subgroups=subgroups, confound=confound,
                        baseline_model=base, baseline_vs_models=vs, warning=warning,
                        by=tuple(dict.fromkeys(by)), missing=missing)
    return dataclasses.replace(comp, audit=audit, roc_data=roc,
                               notes=(*comp.notes, *notes))


def _baseline_on(comp: Comparison, confound: ConfoundAudit | None
                 ) -> tuple[ModelResult | None, tuple[bl.BaselineComparison, ...], str | None,
                            str]:
    """The baseline on the comparison's cases, the CNNs against it, its warning, why not."""
    if confound is None:
        return None, (), None, "the confound audit was not computed"
    if confound.baseline is None:
        return None, (), None, "the trivial baseline could not be fitted (see the warnings)"
    where = {int(p): i for i, p in enumerate(confound.photo_ids)}
    idx = np.array([where.get(int(p), -1) for p in comp.photo_ids], dtype=int)
    if (idx < 0).any():
        lacking = [s for s, i in zip(comp.subjects, idx, strict=True) if i < 0]
        why = (f"{len(lacking)} photo(s) of the comparison have no model crop: "
               f"{name_list(lacking)}")
        _warn(f"The trivial baseline is left out of Table 4 and the ROC figure: {why}.")
        return None, (), None, why
    probs = confound.baseline[idx]
    with about(f"Model {BASELINE_LABEL}"):
        base = dataclasses.replace(model_result(BASELINE, comp.y, probs, comp.folds,
                                                comp.protocol), label=BASELINE_LABEL)
    level = comp.protocol.statistics.ci_level
    vs: list[bl.BaselineComparison] = []
    for m in comp.models:
        with about(f"Model {m.label} vs. the {BASELINE_LABEL.lower()}"):
            vs.extend(bl.compare_with_models(comp.y, probs, {m.label: m.scores},
                                             ci_level=level))
    adjusted = holm([v.test.p_value for v in vs]).p_adjusted if vs else ()
    vs = [dataclasses.replace(v, p_holm=float(q)) for v, q in zip(vs, adjusted, strict=True)]
    warning = bl.baseline_warning(base.roc.auc, {m.label: m.roc.auc for m in comp.models})
    return base, tuple(vs), warning, ""


# ---------------------------------------------------------------------------------------------
# Tables


def _empty(name: str, title: str, columns: Sequence[Column], why: str) -> ResultTable:
    return ResultTable.build(name, title, columns, [], short_title=_SHORT[name],
                             empty_text=f"Not computed: {why}.")


def _short(t: ResultTable, notes: Sequence[str] | None = None, **kw: Any) -> ResultTable:
    return dataclasses.replace(t, short_title=_SHORT[t.name],
                               notes=t.notes if notes is None else tuple(notes), **kw)


def _baseline_vs(c: Comparison, a: ReportAudit) -> ResultTable:
    title = (f"Each model against the trivial baseline on the {c.y.size} cases of this "
             "comparison (paired DeLong test, Holm-adjusted)")
    if a.baseline_model is None:
        return _empty("baseline_vs_models", title, bl.BASELINE_COLUMNS,
                      a.missing.get("baseline", "no baseline"))
    notes = ["The trivial baseline: an L2 logistic regression on the capture statistics, an "
             "8×8 greyscale thumbnail and colour histograms of each model crop, fitted on "
             "each fold's training subjects and scoring its test subjects, on the run's folds "
             "(the CNN's). It sees no face shape, only how the photo was taken.",
             *([a.warning] if a.warning else
               [f"The best CNN is ahead of the baseline by at least {bl.WARN_MARGIN:.2f} AUC."])]
    return ResultTable.build("baseline_vs_models", title, bl.BASELINE_COLUMNS,
                             [v.row() for v in a.baseline_vs_models], notes,
                             sign_convention="model − baseline (positive: the model's AUC is "
                                             "higher)", short_title=_SHORT["baseline_vs_models"])


def _confound_tables(a: ReportAudit) -> list[ResultTable]:
    titles = {"confound_statistics": ("Capture statistics: target vs. controls",
                                      bl.CAPTURE_SUMMARY_COLUMNS),
              "confound_groups": ("Capture statistics per group", bl.CAPTURE_GROUP_COLUMNS),
              "confound_baseline_auc": ("Trivial baseline: out-of-fold AUC",
                                        BASELINE_AUC_COLUMNS)}
    if a.confound is None:
        why = a.missing.get("confound", "no model crops")
        return [_empty(n, t, cols, why) for n, (t, cols) in titles.items()]
    by_name = {t.name: t for t in a.confound.tables()}
    stats_table = by_name["confound_statistics"]
    # the baseline warning is the report's own (on the comparison's cases), shown apart
    notes = [n for n in stats_table.notes if n != a.confound.warning]
    return [_short(stats_table, notes), _short(by_name["confound_groups"]),
            _short(by_name["confound_baseline_auc"],
                   ["On every case of the run with a model crop (positive group against all "
                    "controls, as the CNN was trained); 'capture statistics only' is the same "
                    "regression without the thumbnail and histograms."])]


def _calibration_tables(a: ReportAudit) -> list[ResultTable]:
    specs = {"calibration_models": ("Calibration of the models", cal.MODEL_CALIBRATION_COLUMNS),
             "calibration_readers": ("Readers: share of target photos per rating level",
                                     cal.RATING_LEVEL_COLUMNS),
             "calibration_bins": ("Reliability diagram bins", cal.RELIABILITY_COLUMNS)}
    if a.calibration is None:
        why = a.missing.get("calibration", "no cases")
        return [_empty(n, t, cols, why) for n, (t, cols) in specs.items()]
    by_name = {t.name: t for t in a.calibration.tables()}
    ece = ("ECE: expected calibration error, the case-weighted mean |observed share − mean "
           f"predicted probability| over {a.calibration.n_bins} equal-width bins (Naeini et "
           "al. 2015); Brier score: mean (probability − outcome)², 0 is perfect, 0.25 a "
           "constant 0.5 (Brier 1950). Out-of-fold probabilities, every case of the "
           "comparison.")
    readers = ("Each reader on the photos that reader rated (not only the paired ones). A "
               "well-calibrated reader's share rises with the level.")
    return [_short(by_name["calibration_models"], [ece, *a.calibration.notes]),
            _short(by_name["calibration_readers"], [readers],
                   empty_text="No reader is included."),
            _short(by_name["calibration_bins"],
                   ["The points of the reliability diagram; empty bins have no mean (n/a)."])]


def _subgroup_tables(a: ReportAudit) -> list[ResultTable]:
    if a.subgroups is None:
        why = a.missing.get("subgroups", "no cases")
        return [_empty("subgroup_auc", "AUC within subgroups", sg.SUBGROUP_COLUMNS, why),
                _empty("subgroup_difference", "Difference in AUC between subgroups",
                       sg.DIFFERENCE_COLUMNS, why)]
    auc, diff = a.subgroups.tables()
    by = ", ".join(a.subgroups.dimensions)
    return [_short(auc, [f"Subgroups by {by}. Models on every case of the comparison; each "
                         "reader on the photos that reader rated.", *auc.notes]),
            _short(diff)]


def audit_tables(c: Comparison) -> tuple[ResultTable, ...]:
    """Every table of the comparison's audit, in :data:`AUDIT_ORDER` (none without one).

    Tables of a part that was not computed have no rows and say why in ``empty_text``.
    """
    a = getattr(c, "audit", None)
    if a is None:
        return ()
    tables = [_baseline_vs(c, a), *_confound_tables(a), *_calibration_tables(a),
              *_subgroup_tables(a)]
    order = {n: i for i, n in enumerate(AUDIT_ORDER)}
    return tuple(sorted(tables, key=lambda t: order[t.name]))
