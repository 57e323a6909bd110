"""The assembled comparison of a study: CNN models vs. readers on the same photos.

:func:`build_comparison` reads a study, a training run and reading sessions from the store
and computes, with the tested statistics core (:mod:`wbsdesk.core.stats`), everything the
report and the dashboard show. It caches nothing; the result is a frozen
:class:`Comparison` whose :meth:`~Comparison.to_tables` gives plain rows for CSV / JSON.

Which cases each number uses
----------------------------
* The analysis subset is the positive group against the chosen controls (``controls``:
  ``"all"`` control groups, or one of them, e.g. ``"healthy"`` or ``"other_syndrome"``).
* **Models alone** (Table 4, model AUCs with DeLong and bootstrap CIs, model ROC curves,
  model-vs-model DeLong tests) use every case of the subset. Model scores are
  out-of-fold; the ensemble is the mean of the architectures' out-of-fold probabilities
  (only with two or more architectures).
* **Everything with readers** (Table 5, reader ROC points and rating curves, model-vs-reader
  DeLong tests, MRMC) uses the *paired cases*: the photos of the subset that **every
  included reader rated**. A read without an answer (rating NULL) is missing. Missing
  photos are named (subject IDs) in a warning.
* Table 4 is per-fold metrics at the protocol's threshold with mean ± SD over folds (the
  paper's); its AUC is the mean of the fold AUCs. The "pooled" AUC of a model is the AUC
  of all out-of-fold scores together (the ROC curve drawn).
* A reader's score for ROC, DeLong and MRMC is the rating (1..L); Table 5 uses the binary
  reads (AUC of the single point, as in the paper).
* MRMC (Obuchowski–Rockette, Hillis df, jackknife covariance): the readers' ratings as one
  modality give the reader-averaged AUC with its CI; each model is compared with the
  reader group ("1T-RRRC", :func:`~wbsdesk.core.stats.model_vs_readers`).

Warnings
--------
Every :class:`~wbsdesk.errors.WbsdeskWarning` raised while building (ours and the core's:
undefined precision, zero variances, missing reads, ...) is kept in
:attr:`Comparison.notes` and issued again to the caller. They are collected with
:func:`warnings.catch_warnings`, which is process-global: build one comparison at a time.
"""

from __future__ import annotations

import dataclasses
import platform
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy

from wbsdesk import __version__
from wbsdesk.core import stats
from wbsdesk.core.architectures import arch_label
from wbsdesk.core.demographics import table1
from wbsdesk.core.folds import fold_table
from wbsdesk.core.protocol import Protocol
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.analysis_data import (
    Cases,
    SessionReads,
    load_cases,
    load_sessions,
    name_list,
)
from wbsdesk.services.analysis_results import (
    Comparison,
    ModelResult,
    MrmcResults,
    PairTest,
    ReaderResult,
)
from wbsdesk.services.analysis_roc import ModelRoc, ReaderRoc, RocData, fold_band
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import Workspace

__all__ = ["MODEL_ENSEMBLE", "Comparison", "ModelResult", "MrmcResults", "PairTest",
           "ReaderResult", "build_comparison"]

#: Name of the ensemble model (mean of the architectures' out-of-fold probabilities).
MODEL_ENSEMBLE = "ensemble"
#: Covariance method of the MRMC analyses.
MRMC_COV = "jackknife"


@contextmanager
def _collect_warnings(notes: list[str]) -> Iterator[None]:
    """Record every warning raised inside; keep wbsdesk's in ``notes``; issue all again."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:  # also when an error stops the build: the warnings may explain it
        for w in caught:
            if issubclass(w.category, WbsdeskWarning):
                text = str(w.message)
                if text not in notes:
                    notes.append(text)
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=3)


def _warn(message: str) -> None:
    warnings.warn(message, WbsdeskWarning, stacklevel=2)


def _control_groups(protocol: Protocol, controls: str) -> tuple[str, ...]:
    allowed = protocol.groups.controls
    if controls == "all":
        return allowed
    if controls not in allowed:
        raise UserError(f"unknown control group {controls!r}",
                        hint=f"choose 'all' or one of: {', '.join(allowed)}")
    return (controls,)


def _check_ties(name: str, score: np.ndarray) -> None:
    if score.size and np.all(score == score[0]):
        _warn(f"{name} gives every case the same score (all ties): its AUC is 0.5 and its "
              "ROC curve is the chance line.")


def _model_result(name: str, y: np.ndarray, score: np.ndarray, folds: np.ndarray,
                  protocol: Protocol) -> ModelResult:
    st = protocol.statistics
    label = arch_label(name)
    _check_ties(f"Model {label}", score)
    summary = stats.fold_summary(y, score, folds, threshold=st.threshold, ddof=st.sd_ddof)
    return ModelResult(
        name=name, label=label, scores=score, summary=summary, roc=stats.roc_curve(y, score),
        band=fold_band(y, score, folds, ddof=st.sd_ddof),
        delong=stats.delong_auc(y, score, ci_level=st.ci_level),
        bootstrap=stats.bootstrap_ci("auc", y, score, n_resamples=st.bootstrap_resamples,
                                     seed=st.bootstrap_seed, ci_level=st.ci_level))


def _reader_label(s: SessionReads) -> str:
    return s.reader + (" (sim)" if s.simulated else " (dry run)" if s.dry_run else "")


def _pair_readers(cases_subjects: Sequence[str], photo_ids: np.ndarray,
                  sessions: list[SessionReads]) -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
    """Indices of the cases every reader rated, and each reader's missing subject IDs."""
    rated = np.ones(photo_ids.size, dtype=bool)
    missing: dict[str, tuple[str, ...]] = {}
    for s in sessions:
        has = np.array([int(p) in s.ratings for p in photo_ids], dtype=bool)
        missing[s.reader] = tuple(np.asarray(cases_subjects)[~has].tolist())
        rated &= has
    return np.flatnonzero(rated), missing


def _versions(run_versions: Mapping[str, str]) -> dict[str, str]:
    out = {"wbsdesk": __version__, "python": platform.python_version(),
           "numpy": np.__version__, "scipy": scipy.__version__}
    for k, v in run_versions.items():
        out.setdefault(f"training {k}" if k in out else k, str(v))
    return out


def build_comparison(ws: Workspace, study: str, *, run: str | None = None,
                     sessions: Sequence[int] | None = None, include_simulated: bool = False,
                     include_dry_run: bool = False, controls: str = "all") -> Comparison:
    """Assemble and compute the comparison of a study's models and readers.

    Parameters
    ----------
    ws : Workspace
    study : str
        The study name.
    run : str, optional, keyword-only
        The training run (default: the study's latest finished run).
    sessions : sequence of int, optional, keyword-only
        Reading-session ids to include. Default: every *finished* session of the study.
        Simulated and dry-run readers are left out unless ``include_simulated`` /
        ``include_dry_run``; naming such a session without its flag is an error.
    include_simulated, include_dry_run : bool, keyword-only
        Include simulated (demo) or dry-run (rehearsal) readers.
    controls : str, keyword-only
        ``"all"`` (positive group vs. every control group) or one control group, e.g.
        ``"healthy"`` or ``"other_syndrome"`` (a sub-analysis).

    Returns
    -------
    Comparison

    Raises
    ------
    UserError
        Unknown study, run, session or control group; a case without an out-of-fold
        prediction or with a NaN probability; only one class among the cases (or in a
        fold); no paired case of one class.

    Warns
    -----
    WbsdeskWarning
        Readers' missing reads (naming the subject IDs), fewer than two readers (no MRMC),
        no reader at all (model-only comparison), score sets that are all ties, and the
        core's documented NaNs (e.g. precision of a reader with no positive read).
    """
    st_obj = load_study(ws, study)
    protocol = st_obj.protocol
    run_row = get_run(ws, st_obj, run)
    control_groups = _control_groups(protocol, controls)
    notes: list[str] = []
    with _collect_warnings(notes):
        cases, exclusions = load_cases(ws, st_obj, run_row)
        sess, left_out = load_sessions(ws, st_obj, sessions, include_simulated=include_simulated,
                                       include_dry_run=include_dry_run)
        for why, names in left_out.items():
            what = ("reader(s) whose session is not finished" if why == "unfinished"
                    else f"{why} reader(s)")
            exclusions.append(f"{len(names)} {what} left out: {', '.join(names)}.")
        comp = _compute(ws, st_obj.name, protocol, st_obj.synthetic, run_row, cases, sess,
                        control_groups, controls, exclusions, left_out,
                        include_simulated=include_simulated, include_dry_run=include_dry_run)
    return dataclasses.replace(comp, notes=tuple(notes))


def _compute(ws: Workspace, study: str, protocol: Protocol, synthetic: bool, run_row: Any,
             cases: Cases, sess: list[SessionReads], control_groups: tuple[str, ...],
             controls: str, exclusions: list[str], left_out: dict[str, list[str]], *,
             include_simulated: bool, include_dry_run: bool) -> Comparison:
    pos = protocol.groups.positive
    st = protocol.statistics
    mask = stats.subset_mask(cases.groups, positive=pos, controls=control_groups)
    groups = cases.groups[mask]
    y = stats.binary_truth(groups, pos)
    subjects = tuple(np.asarray(cases.subjects)[mask].tolist())
    photo_ids, folds = cases.photo_ids[mask], cases.folds[mask]
    if controls != "all":
        exclusions.append(f"Sub-analysis {pos} vs. {controls}: {int((~mask).sum())} case(s) "
                          "of other control groups are left out.")
    scores = {a: s[mask] for a, s in cases.scores.items()}
    if len(scores) >= 2:
        scores[MODEL_ENSEMBLE] = np.mean(np.vstack(list(scores.values())), axis=0)
    models = tuple(_model_result(name, y, s, folds, protocol) for name, s in scores.items())
    pairs_mm = tuple(PairTest(a.name, b.name, int(y.size),
                              stats.delong_test(y, a.scores, b.scores, ci_level=st.ci_level))
                     for i, a in enumerate(models) for b in models[i + 1:])
    paired, missing = _pair_readers(subjects, photo_ids, sess)
    readers: tuple[ReaderResult, ...] = ()
    table5 = None
    pairs_mr: tuple[PairTest, ...] = ()
    mrmc = None
    if not sess:
        _warn("No reader is included: this comparison holds the models only.")
        paired = np.zeros(0, dtype=int)
    else:
        lacking = {name: ids for name, ids in missing.items() if ids}
        for name, ids in lacking.items():
            _warn(f"Reader {name!r} has no rating for {len(ids)} of {y.size} photo(s): "
                  f"{name_list(list(ids))}.")
        if lacking:
            _warn(f"Reader comparisons use the {paired.size} photo(s) every included reader "
                  f"rated; the models alone use all {y.size}.")
        yp = y[paired]
        n_pos, n_neg = int(yp.sum()), int(yp.size - yp.sum())
        if min(n_pos, n_neg) < 2:
            raise UserError(f"only {n_pos} positive and {n_neg} control photo(s) were rated by "
                            "every included reader; comparisons need at least 2 of each",
                            hint="include fewer readers, or let the readers finish")
        readers = tuple(_reader_result(s, yp, photo_ids[paired], missing[s.reader], protocol)
                        for s in sess)
        table5 = stats.reader_table(yp, {r.name: r.binary for r in readers})
        pairs_mr = tuple(PairTest(m.name, r.name, int(yp.size),
                                  stats.delong_test(yp, m.scores[paired], r.ratings,
                                                    ci_level=st.ci_level))
                         for m in models for r in readers)
        if len(readers) < 2:
            _warn("MRMC analysis needs at least 2 readers; with 1 reader only the DeLong "
                  "comparisons are reported.")
        else:
            mrmc = _mrmc(yp, models, readers, paired, st.ci_level)
    t1 = table1([g == pos for g in groups],
                [a for a, m in zip(cases.ages, mask, strict=True) if m],
                [s for s, m in zip(cases.sexes, mask, strict=True) if m],
                ttest=st.ttest, chi2_yates=st.chi2_yates, ddof=st.sd_ddof)
    group_order = [pos, *control_groups]
    fold_settings = ws.store.fold_settings(ws.store.study(study).id)
    k = max(fold_settings[1] if fold_settings else protocol.folds.k, int(folds.max()))
    t3 = fold_table(dict(enumerate(folds.tolist())), dict(enumerate(groups.tolist())),
                    group_order=group_order, k=k)
    roc = RocData(
        models=tuple(ModelRoc(m.name, m.label, m.roc.auc, m.roc.fpr, m.roc.tpr, m.band,
                              m.name == MODEL_ENSEMBLE) for m in models),
        readers=tuple(ReaderRoc(r.name, r.label, r.simulated, r.rating_roc.fpr,
                                r.rating_roc.tpr, r.rating_roc.auc, float(r.binary_roc.fpr[1]),
                                float(r.binary_roc.tpr[1]), r.binary_roc.auc)
                      for r in readers),
        positive_label=protocol.groups.label(pos),
        control_label=("all controls" if controls == "all"
                       else protocol.groups.label(controls)),
        n_pos=int(y.sum()), n_neg=int(y.size - y.sum()), paired_pos=int(y[paired].sum()),
        paired_neg=int(paired.size - y[paired].sum()), n_folds=int(np.unique(folds).size),
        synthetic=synthetic)
    counts = {"cases": int(y.size), "positive": int(y.sum()), "controls": int(y.size - y.sum()),
              "per_group": {g: int((groups == g).sum()) for g in group_order},
              "paired_cases": int(paired.size), "readers": len(readers),
              "architectures": len(cases.scores), "folds": int(np.unique(folds).size),
              "missing_reads": {r.name: len(r.missing) for r in readers},
              "readers_left_out": left_out}
    seeds = {"folds": fold_settings[0] if fold_settings else protocol.folds.seed,
             "training": run_row.seed, "bootstrap": st.bootstrap_seed,
             "reading_orders": {r.name: r.order_seed for r in readers}}
    return Comparison(
        study=study, run=run_row.name, run_status=run_row.status, controls=controls,
        positive=pos, control_groups=control_groups, protocol=protocol, synthetic=synthetic,
        photo_ids=photo_ids, subjects=subjects, groups=groups, y=y, folds=folds, paired=paired,
        models=models, readers=readers, table1=t1, table3=t3, table5=table5,
        delong_model_reader=pairs_mr, delong_model_model=pairs_mm, mrmc=mrmc, roc_data=roc,
        counts=counts, exclusions=tuple(exclusions), notes=(), seeds=seeds,
        versions=_versions(run_row.versions), include_simulated=include_simulated,
        include_dry_run=include_dry_run,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"))


def _reader_result(s: SessionReads, yp: np.ndarray, photo_ids: np.ndarray,
                   missing: tuple[str, ...], protocol: Protocol) -> ReaderResult:
    st = protocol.statistics
    label = _reader_label(s)
    ratings = np.array([s.ratings[int(p)] for p in photo_ids], dtype=float)
    binary = np.array([s.binary[int(p)] for p in photo_ids], dtype=bool)
    _check_ties(f"Reader {s.reader!r}", ratings)
    levels = np.arange(1, len(protocol.reading.scale) + 1)
    return ReaderResult(
        name=s.reader, label=label, role=s.role, kind=s.kind, session_id=s.session_id,
        order_seed=s.order_seed, simulated=s.simulated, ratings=ratings, binary=binary,
        missing=missing, rating_roc=stats.rating_roc(yp, ratings, levels=levels),
        binary_roc=stats.binary_read_roc(yp, binary),
        delong=stats.delong_auc(yp, ratings, ci_level=st.ci_level),
        bootstrap=stats.bootstrap_ci("auc", yp, ratings, n_resamples=st.bootstrap_resamples,
                                     seed=st.bootstrap_seed, ci_level=st.ci_level))


def _mrmc(yp: np.ndarray, models: Sequence[ModelResult], readers: Sequence[ReaderResult],
          paired: np.ndarray, ci_level: float) -> MrmcResults:
    names = [r.name for r in readers]
    ratings = np.vstack([r.ratings for r in readers])
    binary = np.vstack([r.binary for r in readers]).astype(float)
    return MrmcResults(
        readers_rating=stats.reader_average_auc(yp, ratings, cov=MRMC_COV, ci_level=ci_level,
                                                name="readers (ratings)", reader_names=names),
        readers_binary=stats.reader_average_auc(yp, binary, cov=MRMC_COV, ci_level=ci_level,
                                                name="readers (binary reads)",
                                                reader_names=names),
        models=tuple((m.name, stats.model_vs_readers(yp, m.scores[paired], ratings,
                                                     cov=MRMC_COV, ci_level=ci_level,
                                                     reader_names=names))
                     for m in models),
        cov_method=MRMC_COV)
