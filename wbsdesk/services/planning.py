"""Plan a reader study: variance components from a study's pilot reads, a file, or typed.

The sizing itself is pure (:mod:`wbsdesk.core.sizing`, :mod:`wbsdesk.core.sizing_plan`);
this module finds the pilot:

* :func:`study_pilot` -- a study's own reads against its model (design
  ``"readers-vs-model"``): the out-of-fold scores of a training run and the ratings of the
  finished reading sessions, on the photos every included reader rated, the positive group
  against the chosen controls -- the cases and readers of the MRMC analysis of
  :func:`wbsdesk.services.analysis.build_comparison`. wbsdesk records unaided reads only,
  so an aided pilot comes from a file.
* :func:`file_pilot` -- an iMRMC input file with two modalities (design ``"aided"``: the
  first modality in the file is the unaided one), e.g. a published pilot.
* :func:`typed_pilot`, :func:`typical_pilot` -- typed components, or a published set.

Nothing here is random: the same reads give the same plan.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from wbsdesk.core import stats
from wbsdesk.core.mrmc import CovMethod
from wbsdesk.core.sizing import ANALYSES, MAX_CASES
from wbsdesk.core.sizing_pilot import (
    DESIGNS,
    TYPICAL,
    Pilot,
    pilot_from_modalities,
    pilot_model_vs_readers,
    typed_pilot,
    typical_pilot,
)
from wbsdesk.core.sizing_plan import DEFAULT_READERS, StudyPlan, make_plan
from wbsdesk.errors import UserError
from wbsdesk.services.analysis_data import load_cases, load_sessions, name_list
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import Workspace

__all__ = ["ANALYSES", "DEFAULT_READERS", "DESIGNS", "ENSEMBLE", "MAX_CASES", "TYPICAL",
           "Pilot", "StudyPlan", "file_pilot", "make_plan", "study_pilot", "typed_pilot",
           "typical_pilot"]

log = logging.getLogger(__name__)

#: The model name of the mean of a run's architectures (as in the analysis).
ENSEMBLE = "ensemble"


def study_pilot(ws: Workspace, study: str, *, design: str = "readers-vs-model",
                run: str | None = None, model: str | None = None,
                include_simulated: bool | None = None, include_dry_run: bool = False,
                controls: str = "all", cov: CovMethod = "jackknife") -> Pilot:
    """Variance components of a study's readers against its model (pilot reads).

    Parameters
    ----------
    ws : Workspace
    study : str
    design : str, default "readers-vs-model"
        Only ``"readers-vs-model"``: wbsdesk has no aided reads to estimate from.
    run : str, optional
        Training run (default: the latest finished one).
    model : str, optional
        An architecture of the run, or ``"ensemble"`` (default: the ensemble when the run
        has two or more architectures, else its one architecture).
    include_simulated : bool, optional
        Use simulated readers. Default: only in a synthetic study (the demo), whose readers
        are all simulated.
    include_dry_run : bool, default False
    controls : str, default "all"
        ``"all"`` or one control group of the protocol.
    cov : {"jackknife", "delong"}, default "jackknife"

    Returns
    -------
    Pilot

    Raises
    ------
    UserError
        Unknown study, run, model or control group; the aided design; fewer than 2 readers
        (naming those left out); fewer than 2 paired cases of a class.
    """
    if design != "readers-vs-model":
        raise UserError(f"A study's reads can only size the readers vs. model design, not "
                        f"{design!r}: wbsdesk records unaided reads only.",
                        hint="For unaided vs. aided, give a two-modality pilot file "
                             "(--pilot-file), the variance components, or --typical.")
    st = load_study(ws, study)
    row = get_run(ws, st, run)
    simulated = st.synthetic if include_simulated is None else include_simulated
    cases, _ = load_cases(ws, st, row)
    sessions, left_out = load_sessions(ws, st, None, include_simulated=simulated,
                                       include_dry_run=include_dry_run)
    name = model or (ENSEMBLE if len(cases.scores) >= 2 else next(iter(cases.scores)))
    if name == ENSEMBLE and len(cases.scores) >= 2:
        score = np.mean(np.vstack(list(cases.scores.values())), axis=0)
    elif name in cases.scores:
        score = cases.scores[name]
    else:
        choices = [*cases.scores, *([ENSEMBLE] if len(cases.scores) >= 2 else [])]
        raise UserError(f"run {row.name!r} has no model {name!r}",
                        hint=f"choose one of: {', '.join(choices)}")
    if len(sessions) < 2:
        why = "; ".join(f"{len(v)} {k} reader(s) left out ({', '.join(v)})"
                        for k, v in left_out.items())
        raise UserError(f"Pilot reads of study {study!r} come from {len(sessions)} "
                        f"reader(s); estimating the reader variance needs at least 2"
                        + (f" ({why})." if why else "."),
                        hint="let more readers finish their sessions, include simulated or "
                             "dry-run readers, or type the variance components")
    protocol = st.protocol
    allowed = protocol.groups.controls
    if controls != "all" and controls not in allowed:
        raise UserError(f"unknown control group {controls!r}",
                        hint=f"choose 'all' or one of: {', '.join(allowed)}")
    mask = stats.subset_mask(cases.groups, positive=protocol.groups.positive,
                             controls=allowed if controls == "all" else (controls,))
    photo_ids = cases.photo_ids[mask]
    rated = np.ones(photo_ids.size, dtype=bool)
    for s in sessions:
        rated &= np.array([int(p) in s.ratings for p in photo_ids], dtype=bool)
    y = stats.binary_truth(cases.groups[mask], protocol.groups.positive)[rated]
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    if min(n_pos, n_neg) < 2:
        raise UserError(f"only {n_pos} positive and {n_neg} control photo(s) were rated by "
                        "every included reader; a pilot needs at least 2 of each",
                        hint="include fewer readers, or let the readers finish")
    ids = photo_ids[rated]
    ratings = np.array([[s.ratings[int(p)] for p in ids] for s in sessions], dtype=float)
    readers = [s.reader + (" (sim)" if s.simulated else "") for s in sessions]
    unpaired = [cases.subjects[i] for i in np.flatnonzero(mask)[~rated]]
    notes = [f"{len(unpaired)} photo(s) not rated by every reader are left out: "
             f"{name_list(unpaired)}."] if unpaired else []
    if simulated and any(s.simulated for s in sessions):
        notes.append("Simulated readers are included: their variance is not that of "
                     "physicians. Plan with real pilot reads before committing readers.")
    source = (f"study {st.name!r}, run {row.name!r}, model {name}, {len(sessions)} readers "
              f"({', '.join(readers)}), {y.size} cases ({n_pos} positive, {n_neg} controls; "
              f"controls: {controls})")
    pilot = pilot_model_vs_readers(y, score[mask][rated], ratings, cov=cov, source=source,
                                   model_name=name, reader_names=readers)
    log.info("pilot components of %s: %s", st.name, pilot.components)
    return dataclasses.replace(pilot, notes=(*pilot.notes, *notes))


def file_pilot(path: Path, *, cov: CovMethod = "jackknife") -> Pilot:
    """Variance components of a two-modality iMRMC input file (unaided first, aided second).

    Every reader must have scored every case in both modalities.

    Raises
    ------
    UserError
        The file is missing or not iMRMC, has other than 2 modalities, fewer than 2 readers,
        or a reader without a score of a case (named).
    """
    from wbsdesk.services.reports import read_imrmc

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the pilot file ({exc.strerror or exc})") from None
    try:
        data = read_imrmc(text)
    except (UserError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from None
    truth: dict[str, int] = data["truth"]
    scores: dict[tuple[str, str, str], float] = data["scores"]
    modalities = list(dict.fromkeys(m for _, _, m in scores))
    readers = list(dict.fromkeys(r for r, _, _ in scores))
    if len(modalities) != 2:
        raise UserError(f"{path}: an unaided vs. aided pilot needs 2 modalities, the file "
                        f"has {len(modalities)} ({', '.join(modalities) or 'none'})")
    cases = list(truth)
    arr = np.full((2, len(readers), len(cases)), np.nan)
    for (r, c, m), v in scores.items():
        if c not in truth:
            raise UserError(f"{path}: case {c!r} has scores but no truth row (-1,{c},0,...)")
        arr[modalities.index(m), readers.index(r), cases.index(c)] = v
    holes = np.argwhere(np.isnan(arr))
    if holes.size:
        m, r, c = holes[0]
        raise UserError(f"{path}: reader {readers[r]!r} has no score of case {cases[c]!r} in "
                        f"modality {modalities[m]!r} ({len(holes)} missing in all)",
                        hint="every reader must score every case in both modalities")
    y = np.array([truth[c] for c in cases], dtype=int)
    pilot = pilot_from_modalities(y, arr[0], arr[1], cov=cov, reader_names=readers,
                                  source=f"pilot file {path.name}: {len(readers)} readers, "
                                         f"{len(cases)} cases, {modalities[0]} (unaided) vs. "
                                         f"{modalities[1]} (aided)")
    return dataclasses.replace(pilot, aucs={modalities[0]: pilot.aucs["unaided"],
                                            modalities[1]: pilot.aucs["aided"]})
