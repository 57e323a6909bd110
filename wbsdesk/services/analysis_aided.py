"""The unaided-vs-aided comparison of an aided reader study.

Readers are the study's sessions of an aided design (sequential or crossover): a reader
counts once both modalities are finished (a sequential session, or both crossover
sessions). The unaided reads are the blind reads (what the blind analysis uses); the aided
reads are the re-reads with the model's out-of-fold aid.

* **Modalities** (OR/Hillis RRRC, :func:`wbsdesk.core.mrmc.mrmc_test`, jackknife
  covariance): the reader-averaged AUC of the ratings per modality with its CI, and the
  aided-minus-unaided difference with F, df, p and CI; the same for the sensitivity and
  the specificity of the binary read (:func:`wbsdesk.core.aided_stats.proportion_scores`).
  Cases are the photos every included reader answered in both modalities.
* **Readers**: AUC unaided -> aided with the DeLong paired CI of the difference; a reader
  whose difference's CI lies wholly below 0 (aided lower by more than the CI) is *harmed*.
* **Automation bias**: every scored photo a reader answered in both modalities, the
  changed ratings by whether the model's call (score >= ``[statistics] threshold``) was
  right, towards or away from the truth, and the changes that followed a wrong model.
* **Time per read**, per modality: answered reads, no answers, response time.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from wbsdesk.core.aided_stats import ChangeTable, change_table, proportion_scores
from wbsdesk.core.delong import delong_test
from wbsdesk.core.mrmc import mrmc_test
from wbsdesk.core.protocol import protocol_from_dict
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.aid import scored_photo_ids
from wbsdesk.services.analysis_data import name_list
from wbsdesk.services.reading import reader_kind
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.reading import SessionRow

log = logging.getLogger(__name__)

MODALITIES = ("unaided", "aided")
MEASURES = ("AUC", "Sensitivity", "Specificity")


@dataclass(frozen=True)
class ReaderPair:
    """One reader's reads in both modalities (photo id -> rating / binary read / seconds)."""

    reader: str
    role: str
    kind: str
    design: str
    sessions: tuple[int, ...]
    ratings: dict[str, dict[int, int]]
    binary: dict[str, dict[int, bool]]
    response_s: dict[str, list[float]]
    no_answer: dict[str, int]
    aid_scores: dict[int, float]


@dataclass(frozen=True)
class ModalityTest:
    """One figure of merit per modality (reader average, Hillis CI) and aided - unaided."""

    measure: str
    unaided: float
    unaided_ci: tuple[float, float]
    aided: float
    aided_ci: tuple[float, float]
    difference: float
    ci_low: float
    ci_high: float
    f_stat: float
    df_num: int
    df_den: float
    p_value: float


@dataclass(frozen=True)
class ReaderChange:
    """One reader's AUC unaided -> aided, with the DeLong paired CI of the difference."""

    reader: str
    kind: str
    auc_unaided: float
    auc_aided: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    harmed: bool
    sensitivity: tuple[float, float]
    specificity: tuple[float, float]


@dataclass(frozen=True)
class PhaseTime:
    """Time per read in one modality: reads, answered, no answer, response time (s)."""

    modality: str
    reads: int
    no_answer: int
    median_s: float
    q1_s: float
    q3_s: float
    mean_s: float


@dataclass(frozen=True)
class AidedComparison:
    """Everything the report, the dashboard and ``--json`` show of an aided study."""

    study: str
    designs: tuple[str, ...]
    washout_days: float | None
    aid: dict[str, Any]
    positive: str
    ci_level: float
    threshold: float
    n_cases: int
    n_positive: int
    readers: tuple[ReaderChange, ...]
    tests: tuple[ModalityTest, ...]
    changes: ChangeTable
    timing: tuple[PhaseTime, ...]
    simulated: bool
    left_out: dict[str, list[str]]
    notes: tuple[str, ...]
    photo_ids: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    ratings: np.ndarray = field(repr=False)   # (2, r, n): unaided, aided
    binary: np.ndarray = field(repr=False)    # (2, r, n)

    @property
    def harmed(self) -> tuple[str, ...]:
        """Readers whose aided AUC is lower by more than the CI."""
        return tuple(r.reader for r in self.readers if r.harmed)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        out = {k: v for k, v in asdict(self).items()
               if k not in ("photo_ids", "y", "ratings", "binary")}
        out["harmed"] = list(self.harmed)
        return _plain(out)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _reads(ws: Workspace, row: SessionRow, modality: str) -> list[dict[str, Any]]:
    return [r for r in ws.store.reads(row.id, modality=modality) if not r["practice"]]


def _pair(ws: Workspace, rows: Sequence[SessionRow], reader: Any) -> ReaderPair:
    ratings: dict[str, dict[int, int]] = {m: {} for m in MODALITIES}
    binary: dict[str, dict[int, bool]] = {m: {} for m in MODALITIES}
    times: dict[str, list[float]] = {m: [] for m in MODALITIES}
    missing = dict.fromkeys(MODALITIES, 0)
    scores: dict[int, float] = {}
    for row in rows:
        reading = protocol_from_dict(json.loads(row.protocol_json),
                                     source=f"session {row.id}").reading
        for m in MODALITIES:
            for r in _reads(ws, row, m):
                pid = int(r["photo_id"])
                if r["aid_score"] is not None:
                    scores[pid] = float(r["aid_score"])
                if r["rating"] is None:
                    missing[m] += 1
                    continue
                ratings[m][pid] = int(r["rating"])
                binary[m][pid] = (reading.binary_read(int(r["rating"]))
                                  if r["binary_read"] is None else bool(r["binary_read"]))
                if r["response_s"] is not None:
                    times[m].append(float(r["response_s"]))
    return ReaderPair(reader=reader.name, role=reader.role, kind=reader_kind(reader),
                      design=rows[0].design, sessions=tuple(r.id for r in rows),
                      ratings=ratings, binary=binary, response_s=times, no_answer=missing,
                      aid_scores=scores)


def load_pairs(ws: Workspace, study_name: str, *, include_simulated: bool = False,
               include_dry_run: bool = False
               ) -> tuple[list[ReaderPair], dict[str, list[str]], list[SessionRow]]:
    """The readers of the study's aided sessions with both modalities finished.

    Returns the pairs (by reader name), the readers left out by reason (``simulated``,
    ``dry run``, ``unfinished``) and the aided sessions taken.
    """
    study = load_study(ws, study_name)
    by_reader: dict[int, list[SessionRow]] = {}
    for s in ws.store.sessions(study.id):
        if s.design != "blind":
            by_reader.setdefault(s.reader_id, []).append(s)
    pairs, left_out, taken = [], {}, []
    for reader_id, rows in by_reader.items():
        reader = ws.store.reader_by_id(reader_id)
        assert reader is not None
        kind = reader_kind(reader)
        if (reader.simulated and not include_simulated) or (reader.dry_run
                                                            and not include_dry_run):
            left_out.setdefault(kind, []).append(reader.name)
            continue
        rows = sorted(rows, key=lambda r: r.period)
        complete = (rows[0].design == "sequential_aided" and rows[0].status == "finished") or (
            len(rows) == 2 and all(r.status == "finished" for r in rows))
        if not complete:
            left_out.setdefault("unfinished", []).append(reader.name)
            continue
        pairs.append(_pair(ws, rows, reader))
        taken += rows
    return (sorted(pairs, key=lambda p: p.reader), {k: sorted(v) for k, v in left_out.items()},
            taken)


def _timing(pairs: Sequence[ReaderPair]) -> tuple[PhaseTime, ...]:
    out = []
    for m in MODALITIES:
        t = np.array([x for p in pairs for x in p.response_s[m]], dtype=float)
        answered = sum(len(p.ratings[m]) for p in pairs)
        missing = sum(p.no_answer[m] for p in pairs)
        q1, med, q3 = (np.percentile(t, [25, 50, 75]) if t.size else (np.nan,) * 3)
        out.append(PhaseTime(modality=m, reads=answered + missing, no_answer=missing,
                             median_s=float(med), q1_s=float(q1), q3_s=float(q3),
                             mean_s=float(t.mean()) if t.size else float("nan")))
    return tuple(out)


def build_aided_comparison(ws: Workspace, study_name: str, *,
                           include_simulated: bool = False,
                           include_dry_run: bool = False) -> AidedComparison:
    """Compare the readers' unaided and aided reads of an aided study (see module notes).

    Parameters
    ----------
    ws : Workspace
    study_name : str
    include_simulated, include_dry_run : bool, keyword-only
        Take simulated (demo) or dry-run readers too; they are flagged everywhere.

    Returns
    -------
    AidedComparison

    Raises
    ------
    UserError
        No aided session, fewer than 2 readers with both modalities finished, or too few
        cases of a class answered in both modalities.
    """
    study = load_study(ws, study_name)
    protocol = study.protocol
    stats = protocol.statistics
    pairs, left_out, taken = load_pairs(ws, study_name, include_simulated=include_simulated,
                                        include_dry_run=include_dry_run)
    if not taken and not left_out:
        raise UserError(f"study {study.name!r} has no aided sessions",
                        hint="set [reading] design to 'sequential_aided' or "
                             "'crossover_aided' and read the study")
    if len(pairs) < 2:
        why = "; ".join(f"{k}: {', '.join(v)}" for k, v in left_out.items())
        raise UserError(f"the aided comparison of {study.name!r} needs at least 2 readers "
                        f"with both modalities finished, got {len(pairs)}"
                        + (f" (left out: {why})" if why else ""),
                        hint="include simulated readers for the demo (--include-simulated)")
    positive = protocol.groups.positive
    subjects = {s.id: s for s in ws.store.subjects(study.id)}
    photos = {p.id: p for p in ws.store.photos(study.id)}
    ids = sorted(scored_photo_ids(ws, study), key=lambda p: subjects[photos[p].subject_id].key)
    common = [p for p in ids if all(p in x.ratings[m] for x in pairs for m in MODALITIES)]
    notes = []
    if len(common) < len(ids):
        notes.append(f"{len(ids) - len(common)} of {len(ids)} photo(s) lack an answer of some "
                     "reader in some modality and are left out of the modality and reader "
                     "tests: " + name_list([subjects[photos[p].subject_id].key
                                            for p in ids if p not in common]))
    y = np.array([subjects[photos[p].subject_id].group == positive for p in common])
    if y.sum() < 2 or (~y).sum() < 2:
        raise UserError(f"the aided comparison of {study.name!r} has {int(y.sum())} positive "
                        f"and {int((~y).sum())} negative case(s) answered by every reader in "
                        "both modalities; it needs at least 2 of each")
    ratings = np.array([[[x.ratings[m][p] for p in common] for x in pairs] for m in MODALITIES],
                       dtype=float)
    binary = np.array([[[x.binary[m][p] for p in common] for x in pairs] for m in MODALITIES],
                      dtype=float)
    names = [x.reader for x in pairs]
    level = stats.ci_level
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always", WbsdeskWarning)
        tests = tuple(_test(measure, y, ratings, binary, names, level) for measure in MEASURES)
        readers = tuple(_reader(x, j, y, ratings, binary, level) for j, x in enumerate(pairs))
    caught = [str(w.message) for w in got if issubclass(w.category, WbsdeskWarning)]
    notes += sorted(set(caught))
    aid_rows = {s.aid_set_id for s in taken if s.aid_set_id is not None}
    aid, aid_scores = _aid_summary(ws, study.id, aid_rows)
    threshold = stats.threshold
    changes = _changes(pairs, subjects, photos, positive, threshold, aid_scores)
    designs = tuple(sorted({s.design for s in taken}))
    washouts = {protocol_from_dict(json.loads(s.protocol_json), source="session").reading
                .washout_days for s in taken if s.design == "crossover_aided"}
    return AidedComparison(
        study=study.name, designs=designs,
        washout_days=max(washouts) if washouts else None, aid=aid, positive=positive,
        ci_level=level, threshold=threshold, n_cases=len(common), n_positive=int(y.sum()),
        readers=readers, tests=tests, changes=changes, timing=_timing(pairs),
        simulated=any(x.kind == "simulated" for x in pairs), left_out=left_out,
        notes=tuple(notes), photo_ids=np.array(common, dtype=int), y=y, ratings=ratings,
        binary=binary)


def _test(measure: str, y: np.ndarray, ratings: np.ndarray, binary: np.ndarray,
          names: Sequence[str], level: float) -> ModalityTest:
    scores = (ratings if measure == "AUC"
              else proportion_scores(y, binary, measure=measure.lower()))
    # aided first: the difference is aided - unaided
    res = mrmc_test(y, scores[::-1], ci_level=level, modality_names=("aided", "unaided"),
                    reader_names=names)
    aided, unaided = res.modalities
    d = res.differences[0]
    return ModalityTest(measure=measure, unaided=unaided.auc,
                        unaided_ci=(unaided.ci_low, unaided.ci_high), aided=aided.auc,
                        aided_ci=(aided.ci_low, aided.ci_high), difference=d.difference,
                        ci_low=d.ci_low, ci_high=d.ci_high, f_stat=res.f_stat,
                        df_num=res.df_num, df_den=res.df_den, p_value=res.p_value)


def _reader(x: ReaderPair, j: int, y: np.ndarray, ratings: np.ndarray, binary: np.ndarray,
            level: float) -> ReaderChange:
    t = delong_test(y, ratings[1, j], ratings[0, j], ci_level=level)
    sens = tuple(float(binary[m, j][y].mean()) for m in (0, 1))
    spec = tuple(float(1.0 - binary[m, j][~y].mean()) for m in (0, 1))
    return ReaderChange(reader=x.reader, kind=x.kind, auc_unaided=t.auc_b, auc_aided=t.auc_a,
                        difference=t.difference, ci_low=t.ci_low, ci_high=t.ci_high,
                        p_value=t.p_value, harmed=bool(np.isfinite(t.ci_high)
                                                       and t.ci_high < 0),
                        sensitivity=sens, specificity=spec)  # type: ignore[arg-type]


def _aid_summary(ws: Workspace, study_id: int, ids: set[int]
                 ) -> tuple[dict[str, Any], dict[int, float]]:
    """What the report says of the aid (sets, runs, models) and its score of every photo."""
    runs = {r.id: r.name for r in ws.store.runs(study_id)}
    rows = [r for r in (ws.store.aid_set(i) for i in sorted(ids)) if r is not None]
    scores: dict[int, float] = {}
    for r in rows:
        scores.update({p: a.score for p, a in ws.store.aids(r.id).items()})
    return ({"aid_sets": [r.id for r in rows],
             "runs": sorted({runs.get(r.run_id, f"#{r.run_id}") for r in rows}),
             "models": sorted({r.model for r in rows}),
             "architectures": sorted({a for r in rows for a in r.archs}),
             "heatmaps": any(r.heatmaps for r in rows)}, scores)


def _changes(pairs: Sequence[ReaderPair], subjects: dict, photos: dict, positive: str,
             threshold: float, aid_scores: dict[int, float]) -> ChangeTable:
    ys, us, as_, ms, ub, ab = [], [], [], [], [], []
    for x in pairs:
        for pid in sorted(set(x.ratings["unaided"]) & set(x.ratings["aided"])):
            score = x.aid_scores.get(pid, aid_scores.get(pid))
            if score is None:
                continue
            ys.append(subjects[photos[pid].subject_id].group == positive)
            us.append(x.ratings["unaided"][pid])
            as_.append(x.ratings["aided"][pid])
            ms.append(score >= threshold)
            ub.append(x.binary["unaided"][pid])
            ab.append(x.binary["aided"][pid])
    return change_table(ys, us, as_, ms, unaided_binary=ub, aided_binary=ab)
