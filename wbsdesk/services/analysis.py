"""The assembled comparison of a study: CNN models vs. readers on the same photos.

:func:`build_comparison` reads a study, a training run and reading sessions from the store
and computes, with the tested statistics core (:mod:`wbsdesk.core.stats`), everything the
report and the dashboard show. It caches nothing; the result is a frozen
:class:`Comparison`, whose tables :mod:`wbsdesk.services.result_tables` lays out (once, for
the dashboard, the CSVs, the HTML and PDF report and ``--json``).

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
  paper's), each metric over the folds where it is defined (a fold holding one class has
  no AUC); its AUC is the mean of the fold AUCs. The "pooled" AUC of a model is the AUC
  of all out-of-fold scores together (the ROC curve drawn).
* A control group without any included subject is left out with a warning; only when
  no control (or no positive) case is left is the comparison refused.
* A reader's score for ROC, DeLong and MRMC is the rating (1..L); Table 5 uses the binary
  reads (AUC of the single point, as in the paper).
* MRMC (Obuchowski–Rockette, Hillis df, jackknife covariance): the readers' ratings as one
  modality give the reader-averaged AUC with its CI; each model is compared with the
  reader group ("1T-RRRC", :func:`~wbsdesk.core.stats.model_vs_readers`).
* Each family of tests (model vs. reader, model vs. model, MRMC model vs. readers) gets
  Holm-adjusted p-values; Table 5's proportions get Wilson score intervals
  (:mod:`wbsdesk.core.proportions`).

Warnings
--------
Every :class:`~wbsdesk.errors.WbsdeskWarning` raised while building (ours and the core's:
undefined precision, zero variances, missing reads, ...) is kept in
:attr:`Comparison.notes` and issued again to the caller. Each names the model, reader or
test it concerns (``"Model ResNet-18: Precision of fold 3 is undefined ..."``), so the
same text from two models stays two notes. They are collected with
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
from wbsdesk.services.analysis_parts import (
    MODEL_ENSEMBLE,
    about,
    holm_family,
    model_result,
    mrmc,
    pair_test,
    paired_reference,
    reader_result,
    warn,
)
from wbsdesk.services.analysis_results import (
    Comparison,
    ModelResult,
    MrmcResults,
    PairTest,
    ReaderResult,
)
from wbsdesk.services.analysis_roc import ModelRoc, ReaderRoc, RocData
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.runs import RunRow

__all__ = ["MODEL_ENSEMBLE", "Comparison", "ModelResult", "MrmcResults", "PairTest",
           "ReaderResult", "build_comparison", "compute_comparison"]


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


def _control_groups(protocol: Protocol, controls: str) -> tuple[str, ...]:
    allowed = protocol.groups.controls
    if controls == "all":
        return allowed
    if controls not in allowed:
        raise UserError(f"unknown control group {controls!r}",
                        hint=f"choose 'all' or one of: {', '.join(allowed)}")
    return (controls,)


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
        exclusions.extend(_left_out_notes(left_out))
        from wbsdesk.services.session_policy import history_notes, history_rows

        history = history_rows(ws, st_obj.id)  # restarted (void) and continued sessions
        exclusions.extend(history_notes(history))
        comp = _compute(ws.store.fold_settings(st_obj.id), st_obj.name, protocol,
                        st_obj.synthetic, run_row, cases, sess,
                        control_groups, controls, exclusions, left_out,
                        include_simulated=include_simulated, include_dry_run=include_dry_run)
    return dataclasses.replace(comp, notes=tuple(notes), session_history=tuple(history))


def _left_out_notes(left_out: Mapping[str, list[str]]) -> list[str]:
    """One note per reason readers were left out, naming them."""
    out = []
    for why, names in left_out.items():
        what = ("reader(s) whose session is not finished" if why == "unfinished"
                else f"{why} reader(s)")
        out.append(f"{len(names)} {what} left out: {', '.join(names)}.")
    return out


def compute_comparison(study: str, protocol: Protocol, run_row: RunRow, cases: Cases,
                       sessions: Sequence[SessionReads], *,
                       fold_settings: tuple[int, int] | None, synthetic: bool = False,
                       controls: str = "all", exclusions: Sequence[str] = (),
                       left_out: Mapping[str, list[str]] | None = None,
                       include_simulated: bool = False,
                       include_dry_run: bool = False) -> Comparison:
    """The comparison of already-loaded inputs, with no workspace (a bundle's data).

    :func:`build_comparison` loads these from the store and computes the same; here they
    come from the caller (e.g. ``wbsdesk bundle verify`` reads them from a bundle's CSVs).

    Parameters
    ----------
    study : str
    protocol : Protocol
        The study's resolved protocol.
    run_row : RunRow
        The run (its ``name``, ``status``, ``seed``, ``versions`` and ``spec`` are used).
    cases : Cases
        Every case of the run, with its out-of-fold scores.
    sessions : sequence of SessionReads
        The included readers' reads, ordered by reader name.
    fold_settings : (seed, k) or None, keyword-only
        The stored fold assignment (``None``: the protocol's).
    synthetic, controls, include_simulated, include_dry_run : keyword-only
        As in :func:`build_comparison`.
    exclusions, left_out : keyword-only
        Notes on the cases left out, and why -> names of the readers left out (a note
        naming them is added, as :func:`build_comparison` does).

    Returns
    -------
    Comparison
    """
    control_groups = _control_groups(protocol, controls)
    notes: list[str] = []
    with _collect_warnings(notes):
        comp = _compute(fold_settings, study, protocol, synthetic, run_row, cases,
                        list(sessions), control_groups, controls,
                        [*exclusions, *_left_out_notes(left_out or {})], dict(left_out or {}),
                        include_simulated=include_simulated, include_dry_run=include_dry_run)
    return dataclasses.replace(comp, notes=tuple(notes))


def _compute(fold_settings: tuple[int, int] | None, study: str, protocol: Protocol,
             synthetic: bool, run_row: Any,
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
    if len(scores) >= 2 and MODEL_ENSEMBLE not in scores:  # several runs bring their own
        scores[MODEL_ENSEMBLE] = np.mean(np.vstack(list(scores.values())), axis=0)
    models = tuple(model_result(name, y, s, folds, protocol) for name, s in scores.items())
    pairs_mm = holm_family(tuple(
        PairTest(a.name, b.name, int(y.size),
                 pair_test(y, a, b, a.scores, b.scores, st.ci_level))
        for i, a in enumerate(models) for b in models[i + 1:]))
    paired, missing = _pair_readers(subjects, photo_ids, sess)
    readers: tuple[ReaderResult, ...] = ()
    table5 = None
    pairs_mr: tuple[PairTest, ...] = ()
    mrmc_results = None
    if not sess:
        warn("No reader is included: this comparison holds the models only.")
        paired = np.zeros(0, dtype=int)
    else:
        lacking = {name: ids for name, ids in missing.items() if ids}
        for name, ids in lacking.items():
            warn(f"Reader {name!r} has no rating for {len(ids)} of {y.size} photo(s): "
                 f"{name_list(list(ids))}.")
        if lacking:
            warn(f"Reader comparisons use the {paired.size} photo(s) every included reader "
                 f"rated; the models alone use all {y.size}.")
        yp = y[paired]
        n_pos, n_neg = int(yp.sum()), int(yp.size - yp.sum())
        if min(n_pos, n_neg) < 2:
            raise UserError(f"only {n_pos} positive and {n_neg} control photo(s) were rated by "
                            "every included reader; comparisons need at least 2 of each",
                            hint="include fewer readers, or let the readers finish")
        readers = tuple(reader_result(s, yp, photo_ids[paired], missing[s.reader], protocol)
                        for s in sess)
        table5 = stats.reader_table(yp, {r.name: r.binary for r in readers})  # names them
        pairs_mr = holm_family(tuple(
            PairTest(m.name, r.name, int(yp.size),
                     pair_test(yp, m, r, m.scores[paired], r.ratings, st.ci_level))
            for m in models for r in readers))
        if len(readers) < 2:
            warn("MRMC analysis needs at least 2 readers; with 1 reader only the DeLong "
                 "comparisons are reported.")
        else:
            mrmc_results = mrmc(yp, models, readers, paired, st.ci_level)
    with about("Table 1"):
        t1 = table1([g == pos for g in groups],
                    [a for a, m in zip(cases.ages, mask, strict=True) if m],
                    [s for s, m in zip(cases.sexes, mask, strict=True) if m],
                    ttest=st.ttest, chi2_yates=st.chi2_yates, ddof=st.sd_ddof)
    group_order = [pos, *control_groups]
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
        synthetic=synthetic, reference=paired_reference(models, y, paired) if readers else None)
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
        delong_model_reader=pairs_mr, delong_model_model=pairs_mm, mrmc=mrmc_results, roc_data=roc,
        counts=counts, exclusions=tuple(exclusions), notes=(), seeds=seeds,
        versions=_versions(run_row.versions), include_simulated=include_simulated,
        include_dry_run=include_dry_run,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_spec=dict(run_row.spec))


