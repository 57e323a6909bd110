"""Inputs of the audits, read from the store: cases, scorers, metadata and warnings.

Used by :mod:`wbsdesk.services.audit` and :mod:`wbsdesk.services.confound`; nothing here
computes a statistic.

* With a training run (named, or the study's latest finished one), the cases are the run's
  (:func:`wbsdesk.services.analysis_data.load_cases`: included primary photos with
  out-of-fold scores and the folds that scored them).
* A study without a finished run (and no run named) still has cases: its included primary
  photos, with the stored folds (``-1`` where none is assigned) and no model scores.
* Readers are the study's finished sessions, as in the comparison
  (:func:`~wbsdesk.services.analysis_data.load_sessions`); each reader is audited on the
  photos *that reader* rated (no pairing across readers is needed here).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from wbsdesk.core.architectures import arch_label
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.analysis_data import (
    Cases,
    SessionReads,
    load_cases,
    load_sessions,
    name_list,
)
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import Workspace

__all__ = ["MODEL_ENSEMBLE", "AuditCases", "Scorer", "collect_warnings", "load_audit_cases",
           "name_list"]

#: Name of the ensemble model (mean of the architectures' out-of-fold probabilities), as in
#: the comparison.
MODEL_ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class Scorer:
    """A model or reader with its scores on a subset of the cases.

    ``index`` are positions in :attr:`AuditCases.cases` (all groups); ``scores`` are the
    out-of-fold probabilities (models) or ratings 1..L (readers) at those positions.
    """

    name: str
    label: str
    kind: str  # "model" or "reader"
    index: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class AuditCases:
    """Everything an audit reads from the store.

    Attributes
    ----------
    study : Study
    run : str or None
        The run whose out-of-fold scores are audited (None: the study has no finished run).
    cases : Cases
        ``scores`` is empty without a run; ``folds`` are then the stored folds (-1: none).
    metadata : tuple of dict
        Each case's manifest metadata columns.
    models, readers : tuple of Scorer
    notes : list of str
        Cases and models left out, and why.
    reader_notes : list of str
        Readers left out, and why.
    """

    study: Study
    run: str | None
    cases: Cases
    metadata: tuple[dict[str, str], ...]
    models: tuple[Scorer, ...]
    readers: tuple[Scorer, ...]
    notes: list[str]
    reader_notes: list[str]

    @property
    def positive(self) -> str:
        """The target group."""
        return self.study.protocol.groups.positive

    def subset(self, controls: str) -> np.ndarray:
        """Boolean mask of the cases in the positive group or the chosen controls."""
        groups = self.study.protocol.groups
        if controls == "all":
            chosen = set(groups.controls)
        elif controls in groups.controls:
            chosen = {controls}
        else:
            raise UserError(f"unknown control group {controls!r}",
                            hint=f"choose 'all' or one of: {', '.join(groups.controls)}")
        return np.isin(self.cases.groups, [self.positive, *sorted(chosen)])


def _study_cases(ws: Workspace, study: Study) -> Cases:
    subjects = {s.id: s for s in ws.store.subjects(study.id, include_excluded=False,
                                                   include_practice=False)}
    photos = sorted((p for p in ws.store.photos(study.id)
                     if p.is_primary and p.subject_id in subjects),
                    key=lambda p: (subjects[p.subject_id].key, p.id))
    if not photos:
        raise UserError(f"study {study.name!r} has no included photos to audit")
    folds = ws.store.folds(study.id)
    return Cases(
        photo_ids=np.array([p.id for p in photos], dtype=int),
        subjects=tuple(subjects[p.subject_id].key for p in photos),
        groups=np.array([subjects[p.subject_id].group for p in photos], dtype=str),
        folds=np.array([folds.get(p.subject_id, -1) for p in photos], dtype=int),
        scores={}, sexes=tuple(subjects[p.subject_id].sex for p in photos),
        ages=tuple(subjects[p.subject_id].age_months for p in photos))


def _reader_label(s: SessionReads) -> str:
    return s.reader + (" (sim)" if s.simulated else " (dry run)" if s.dry_run else "")


def load_audit_cases(ws: Workspace, study: str, *, run: str | None = None,
                     include_simulated: bool = False, include_dry_run: bool = False,
                     with_readers: bool = True) -> AuditCases:
    """The cases, model scores and reader ratings an audit uses.

    Parameters
    ----------
    ws : Workspace
    study : str
    run : str, optional, keyword-only
        A training run; default the latest finished one, or none when there is none.
    include_simulated, include_dry_run : bool, keyword-only
        Include simulated (demo) or dry-run readers.
    with_readers : bool, keyword-only
        Load the reading sessions (the confound audit needs none).

    Raises
    ------
    UserError
        Unknown study or run; a run without a prediction for some case.
    """
    st = load_study(ws, study)
    notes: list[str] = []
    has_finished = any(r.status == "finished" for r in ws.store.runs(st.id))
    if run is None and not has_finished:
        cases = _study_cases(ws, st)
        run_name = None
        notes.append(f"Study {st.name!r} has no finished training run: models are left out.")
    else:
        run_row = get_run(ws, st, run)
        cases, more = load_cases(ws, st, run_row)
        notes.extend(more)
        run_name = run_row.name
    by_key = {s.key: s for s in ws.store.subjects(st.id)}
    metadata = tuple(dict(by_key[k].metadata) for k in cases.subjects)
    everyone = np.arange(len(cases.subjects))
    models = [Scorer(a, arch_label(a), "model", everyone, s) for a, s in cases.scores.items()]
    if len(models) >= 2:
        mean = np.mean(np.vstack([m.scores for m in models]), axis=0)
        models.append(Scorer(MODEL_ENSEMBLE, arch_label(MODEL_ENSEMBLE), "model", everyone,
                             mean))
    readers: list[Scorer] = []
    reader_notes: list[str] = []
    if with_readers:
        sessions, left_out = load_sessions(ws, st, None, include_simulated=include_simulated,
                                           include_dry_run=include_dry_run)
        for why, names in left_out.items():
            what = ("reader(s) whose session is not finished" if why == "unfinished"
                    else f"{why} reader(s)")
            reader_notes.append(f"{len(names)} {what} left out: {', '.join(names)}.")
        position = {int(p): i for i, p in enumerate(cases.photo_ids)}
        for s in sessions:
            idx = np.array(sorted(position[p] for p in s.ratings if p in position), dtype=int)
            ratings = np.array([s.ratings[int(cases.photo_ids[i])] for i in idx], dtype=float)
            readers.append(Scorer(s.reader, _reader_label(s), "reader", idx, ratings))
    return AuditCases(study=st, run=run_name, cases=cases, metadata=metadata,
                      models=tuple(models), readers=tuple(readers), notes=notes,
                      reader_notes=reader_notes)


@contextmanager
def collect_warnings(notes: list[str]) -> Iterator[None]:
    """Keep the text of every WbsdeskWarning raised inside in ``notes``; issue all again."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for w in caught:
            if issubclass(w.category, WbsdeskWarning) and str(w.message) not in notes:
                notes.append(str(w.message))
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=3)
