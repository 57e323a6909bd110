"""Inputs of a comparison, read from the store: the cases, out-of-fold scores and reads.

Used by :mod:`wbsdesk.services.analysis`; nothing here computes a statistic.

* **Cases** are the primary photos of the study's included (not excluded) subjects, one per
  subject, in subject-key order, with the subject's group (the three-group truth is kept).
* **Model scores** are out-of-fold: the run's ``predictions`` table holds, per architecture,
  one probability per photo from the fold model that did not train on it, and that fold.
* **Reads** are the non-practice reads of each selected session; a read whose rating is
  NULL (no answer within the response window) counts as missing for that photo.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wbsdesk.core.protocol import protocol_from_dict
from wbsdesk.errors import UserError
from wbsdesk.services.studies import Study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.runs import RunRow

#: How many subject IDs a message lists before "and N more".
NAMES_SHOWN = 20


def name_list(names: Sequence[str], limit: int = NAMES_SHOWN) -> str:
    """``"A, B, C"``, or the first ``limit`` names and ``"and N more"``."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


@dataclass(frozen=True)
class Cases:
    """Every case of a run on a study (all groups), with its out-of-fold scores.

    Attributes
    ----------
    photo_ids : ndarray of int, shape (n,)
    subjects : tuple of str
        Subject keys (the manifest's ``subject_id``), sorted.
    groups : ndarray of str, shape (n,)
    folds : ndarray of int, shape (n,)
        The fold whose model scored the case (the same for every architecture).
    scores : dict of str to ndarray of shape (n,)
        Architecture -> out-of-fold probability of the positive group, in the run's order.
    sexes, ages : tuple
        For Table 1 (``None`` where unknown).
    """

    photo_ids: np.ndarray
    subjects: tuple[str, ...]
    groups: np.ndarray
    folds: np.ndarray
    scores: dict[str, np.ndarray]
    sexes: tuple[str | None, ...]
    ages: tuple[float | None, ...]


def load_cases(ws: Workspace, study: Study, run: RunRow) -> tuple[Cases, list[str]]:
    """The run's cases and their out-of-fold scores; also notes on what was left out.

    Raises
    ------
    UserError
        A case without an out-of-fold prediction of some architecture, a NaN probability,
        or a case scored by different folds for different architectures (each names the
        subjects).
    """
    subjects = {s.id: s for s in ws.store.subjects(study.id, include_excluded=False,
                                                   include_practice=False)}
    excluded = [s for s in ws.store.subjects(study.id) if s.excluded]
    photos = sorted((p for p in ws.store.photos(study.id)
                     if p.is_primary and p.subject_id in subjects),
                    key=lambda p: (subjects[p.subject_id].key, p.id))
    if not photos:
        raise UserError(f"study {study.name!r} has no included photos to analyse")
    preds: dict[str, dict[int, tuple[int, float]]] = {a: {} for a in run.archs}
    for arch, pid, fold, prob in ws.store.predictions(run.id):
        preds.setdefault(arch, {})[int(pid)] = (int(fold), float(prob))
    notes = []
    if excluded:
        notes.append(f"{len(excluded)} excluded subject(s) are left out: "
                     f"{name_list(sorted(s.key for s in excluded))}.")
    key_of = {p.id: subjects[p.subject_id].key for p in photos}
    wanted = set(key_of)
    stray = {pid for table in preds.values() for pid in table} - wanted
    if stray:
        notes.append(f"{len(stray)} photo(s) with predictions in run {run.name!r} are not "
                     "included cases (excluded subjects or non-primary photos) and are left out.")
    folds = np.zeros(len(photos), dtype=int)
    scores: dict[str, np.ndarray] = {}
    for arch in run.archs:
        table = preds.get(arch, {})
        missing = [key_of[p.id] for p in photos if p.id not in table]
        if missing:
            raise UserError(
                f"run {run.name!r} (status {run.status}) has no out-of-fold prediction of "
                f"{arch} for {len(missing)} of {len(photos)} case(s): {name_list(missing)}",
                hint="resume the run ('wbsdesk train NAME --resume RUN') or, if these subjects "
                     "were added after it, train a new run")
        prob = np.array([table[p.id][1] for p in photos], dtype=float)
        bad = [key_of[p.id] for p, v in zip(photos, prob, strict=True) if not np.isfinite(v)]
        if bad:
            raise UserError(f"{arch} of run {run.name!r} has no valid probability (NaN) for "
                            f"{len(bad)} case(s): {name_list(bad)}",
                            hint="the fold model diverged; train a new run")
        arch_folds = np.array([table[p.id][0] for p in photos], dtype=int)
        if scores and not np.array_equal(arch_folds, folds):
            differ = [key_of[p.id] for p, a, b in zip(photos, arch_folds, folds, strict=True)
                      if a != b]
            raise UserError(f"the architectures of run {run.name!r} scored {len(differ)} "
                            f"case(s) in different folds: {name_list(differ)}",
                            hint="out-of-fold scores must come from the same folds")
        folds = arch_folds
        scores[arch] = prob
    cases = Cases(
        photo_ids=np.array([p.id for p in photos], dtype=int),
        subjects=tuple(key_of[p.id] for p in photos),
        groups=np.array([subjects[p.subject_id].group for p in photos], dtype=str),
        folds=folds, scores=scores,
        sexes=tuple(subjects[p.subject_id].sex for p in photos),
        ages=tuple(subjects[p.subject_id].age_months for p in photos))
    return cases, notes


@dataclass(frozen=True)
class SessionReads:
    """One reader's session and its answered, non-practice reads.

    ``ratings`` and ``binary`` map photo id to the rating (1-based) and the binary read;
    photos without an answer are absent.
    """

    session_id: int
    reader: str
    role: str
    kind: str
    simulated: bool
    dry_run: bool
    status: str
    order_seed: int
    n_photos: int
    ratings: dict[int, int]
    binary: dict[int, bool]


def _kind(simulated: bool, dry_run: bool) -> str:
    return "simulated" if simulated else "dry run" if dry_run else "physician"


def load_sessions(ws: Workspace, study: Study, sessions: Sequence[int] | None, *,
                  include_simulated: bool, include_dry_run: bool
                  ) -> tuple[list[SessionReads], dict[str, list[str]]]:
    """The selected sessions' reads (ordered by reader name) and the readers left out.

    The second value maps why (``"simulated"``, ``"dry run"``, ``"unfinished"``) to the
    names of the readers left out for that reason.

    With ``sessions=None`` every *finished* session of the study is taken, except those of
    simulated / dry-run readers unless included. Sessions named explicitly are taken even
    if unfinished (their unread photos count as missing), but the simulated / dry-run
    flags still apply: naming such a session without its flag is an error.
    """
    all_sessions = {s.id: s for s in ws.store.sessions(study.id)}
    if sessions is None:
        chosen = list(all_sessions.values())
    else:
        unknown = [int(s) for s in sessions if int(s) not in all_sessions]
        if unknown:
            raise UserError(f"session(s) {unknown} do not belong to study {study.name!r}",
                            hint=f"see 'wbsdesk session list {study.name}'")
        chosen = [all_sessions[int(s)] for s in dict.fromkeys(sessions)]
    out: list[SessionReads] = []
    left_out: dict[str, list[str]] = {}
    for row in chosen:
        reader = ws.store.reader_by_id(row.reader_id)
        assert reader is not None
        kind = _kind(reader.simulated, reader.dry_run)
        flag_off = ((reader.simulated and not include_simulated)
                    or (reader.dry_run and not include_dry_run))
        if flag_off:
            if sessions is not None:
                option = "include_simulated" if reader.simulated else "include_dry_run"
                raise UserError(f"session {row.id} is of {kind} reader {reader.name!r}",
                                hint=f"ask for {option} to compare with {kind} readers")
            left_out.setdefault(kind, []).append(reader.name)
            continue
        if row.modality == "aided":  # the aided session of a crossover: not a blind read
            if sessions is not None:
                raise UserError(f"session {row.id} is an aided session",
                                hint="aided reads are compared in the aided analysis")
            continue
        if sessions is None and row.status != "finished":
            left_out.setdefault("unfinished", []).append(reader.name)
            continue
        reading = protocol_from_dict(json.loads(row.protocol_json),
                                     source=f"session {row.id}").reading
        ratings: dict[int, int] = {}
        binary: dict[int, bool] = {}
        for r in ws.store.reads(row.id, modality="unaided"):
            if r["practice"] or r["rating"] is None:
                continue
            pid, rating = int(r["photo_id"]), int(r["rating"])
            ratings[pid] = rating
            # the binary read stored with the read, else the session's own rule
            binary[pid] = (reading.binary_read(rating) if r["binary_read"] is None
                           else bool(r["binary_read"]))
        out.append(SessionReads(
            session_id=row.id, reader=reader.name, role=reader.role, kind=kind,
            simulated=reader.simulated, dry_run=reader.dry_run, status=row.status,
            order_seed=row.order_seed, n_photos=sum(not p for _, p in row.photo_order),
            ratings=ratings, binary=binary))
    left_out = {k: sorted(v) for k, v in left_out.items()}
    return sorted(out, key=lambda s: (s.reader, s.session_id)), left_out
