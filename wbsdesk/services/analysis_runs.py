"""Several training runs of a study in one comparison, with an ensemble across runs.

:func:`build_runs_comparison` compares the models of two or more runs (e.g. the same
protocol at 224 and at 64 px) with each other and with the readers, in one
:class:`~wbsdesk.services.analysis_results.Comparison`, so every table, the figure, the
CSVs, the HTML and PDF report and ``--json`` show them as they show one run's models:

* each run's architectures are models of their own, named ``arch@run``
  (:func:`~wbsdesk.core.architectures.run_model`) and shown ``"ResNet-18 · run"``; a run
  with two or more architectures adds its own ensemble (``ensemble@run``, the mean of its
  architectures' out-of-fold probabilities);
* the **ensemble across runs** (``"ensemble"``, drawn black, beside the readers) is the
  mean of the runs' ensembles (a one-architecture run contributes that architecture), each
  photo's probabilities averaged over the runs' out-of-fold scores of that photo.

The runs must have scored the same photos in the same folds: each run must cover every
included case (as for one run), and a photo scored in different folds by two runs (the
study's folds were re-assigned between them) is refused naming the runs and the subjects,
since an out-of-fold ensemble would then mix models that saw the photo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wbsdesk.core.architectures import ENSEMBLE, run_model
from wbsdesk.core.training_request import SETTING_FLAGS, setting_changes, settings_text
from wbsdesk.errors import UserError
from wbsdesk.services.analysis import build_comparison, compute_comparison
from wbsdesk.services.analysis_data import Cases, load_cases, load_sessions, name_list
from wbsdesk.services.analysis_results import Comparison, RunInfo
from wbsdesk.services.runs import get_run
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace

__all__ = ["ACROSS_RUNS", "build_runs_comparison", "merge_run_cases", "run_settings_of",
           "runs_of", "runs_settings_html"]

#: How the ensemble across runs is shown.
ACROSS_RUNS = "Ensemble across runs"


def runs_of(c: Comparison) -> tuple[RunInfo, ...]:
    """The runs of a comparison: its ``runs``, or its one run."""
    if c.runs:
        return c.runs
    archs = tuple(m.name for m in c.models if m.name != ENSEMBLE)
    seed = c.seeds.get("training", 0)
    return (RunInfo(c.run, c.run_status, archs, int(seed) if isinstance(seed, int) else 0,
                    dict(c.run_spec)),)


def run_settings_of(run: RunInfo, protocol_training: Any) -> dict[str, Any]:
    """A run's training settings beside its protocol's: ``{"values", "protocol",
    "overrides", "text"}`` (as :func:`wbsdesk.services.runs.run_settings`)."""
    proto = {k: getattr(protocol_training, k) for k in SETTING_FLAGS
             if hasattr(protocol_training, k)}
    values = {k: run.spec.get(k, proto.get(k)) for k in SETTING_FLAGS
              if k in run.spec or k in proto}
    overrides = {k: v for k, v in values.items() if k in proto and proto[k] != v}
    return {"values": values, "protocol": proto, "overrides": overrides,
            "text": settings_text(values, proto)}


def runs_settings_html(c: Comparison) -> str:
    """Which run(s) a comparison shows, as one line of markup for a header, with the
    settings each run changed from the protocol (a run on the protocol's settings is just
    named): ``Run <b>r1</b> (input 32 px (protocol 64 px))``.
    """
    import html

    t = c.protocol.training
    parts = []
    for r in runs_of(c):
        s = run_settings_of(r, t)
        changed = setting_changes(s["values"], s["protocol"])
        parts.append(f"<b>{html.escape(r.name)}</b>"
                     + (f" ({html.escape(changed)})" if changed else ""))
    return ("Run " if len(parts) == 1 else "Runs ") + "; ".join(parts)


def merge_run_cases(runs: Mapping[str, Cases]) -> Cases:
    """The cases of several runs as one set of models, with the ensemble across runs.

    Parameters
    ----------
    runs : mapping of str to Cases
        Run name -> its cases (the same photos, in the same order, in the same folds).

    Returns
    -------
    Cases
        Scores ``arch@run`` for every architecture of every run, ``ensemble@run`` for a run
        of two or more architectures, and ``"ensemble"``: the mean over the runs of each
        run's ensemble (or its only architecture).

    Raises
    ------
    UserError
        Fewer than two runs, runs scoring other photos, or a photo scored in different
        folds by two runs (naming the runs and the subjects).

    Examples
    --------
    >>> one = Cases(np.array([1, 2]), ("A", "B"), np.array(["x", "y"]), np.array([0, 1]),
    ...             {"vgg16": np.array([0.2, 0.6]), "resnet18": np.array([0.4, 0.8])},
    ...             (None, None), (None, None))
    >>> two = dataclasses.replace(one, scores={"vgg16": np.array([0.0, 1.0])})
    >>> merged = merge_run_cases({"a": one, "b": two})
    >>> list(merged.scores)
    ['vgg16@a', 'resnet18@a', 'ensemble@a', 'vgg16@b', 'ensemble']
    >>> merged.scores["ensemble"].round(3).tolist()
    [0.15, 0.85]
    """
    names = list(runs)
    if len(names) < 2:
        raise UserError("name two or more runs to compare them")
    first_name, first = names[0], runs[names[0]]
    scores: dict[str, np.ndarray] = {}
    per_run: list[np.ndarray] = []
    for name in names:
        cases = runs[name]
        if not np.array_equal(cases.photo_ids, first.photo_ids):
            raise UserError(f"runs {first_name!r} and {name!r} scored different photos",
                            hint="compare runs trained on the same included subjects")
        if not np.array_equal(cases.folds, first.folds):
            differ = [s for s, a, b in zip(first.subjects, first.folds, cases.folds,
                                           strict=True) if a != b]
            raise UserError(
                f"runs {first_name!r} and {name!r} scored {len(differ)} case(s) in different "
                f"folds: {name_list(differ)}; an ensemble across runs needs the same folds",
                hint="the study's folds were assigned anew between the runs: compare runs "
                     "trained on the same folds")
        for arch, s in cases.scores.items():
            scores[run_model(arch, name)] = s
        if len(cases.scores) >= 2:
            ens = np.mean(np.vstack(list(cases.scores.values())), axis=0)
            scores[run_model(ENSEMBLE, name)] = ens
        else:
            ens = next(iter(cases.scores.values()))
        per_run.append(ens)
    scores[ENSEMBLE] = np.mean(np.vstack(per_run), axis=0)
    return dataclasses.replace(first, scores=scores)


def build_runs_comparison(ws: Workspace, study: str, runs: Sequence[str], *,
                          sessions: Sequence[int] | None = None,
                          include_simulated: bool = False, include_dry_run: bool = False,
                          controls: str = "all") -> Comparison:
    """Compare the models of several runs of a study (and the ensemble across them) with
    its readers.

    Parameters
    ----------
    ws : Workspace
    study : str
    runs : sequence of str
        The runs, in the order shown (one run: :func:`build_comparison` of that run).
    sessions, include_simulated, include_dry_run, controls : keyword-only
        As in :func:`~wbsdesk.services.analysis.build_comparison`.

    Returns
    -------
    Comparison
        ``run`` is the runs' names joined with " + ", ``runs`` describes each; the
        models are named as in :func:`merge_run_cases`.

    Raises
    ------
    UserError
        An unknown run, a run without an out-of-fold prediction for some case, runs
        whose folds differ (naming the runs), and what one-run comparisons refuse.
    """
    names = list(dict.fromkeys(runs))
    if len(names) < 2:
        return build_comparison(ws, study, run=names[0] if names else None, sessions=sessions,
                                include_simulated=include_simulated,
                                include_dry_run=include_dry_run, controls=controls)
    st = load_study(ws, study)
    rows = [get_run(ws, st, name) for name in names]
    loaded: dict[str, Cases] = {}
    exclusions: list[str] = []
    for row in rows:
        cases, notes = load_cases(ws, st, row)
        loaded[row.name] = cases
        exclusions.extend(n for n in notes if n not in exclusions)
    merged = merge_run_cases(loaded)
    sess, left_out = load_sessions(ws, st, sessions, include_simulated=include_simulated,
                                   include_dry_run=include_dry_run)
    statuses = {r.status for r in rows}
    joined = dataclasses.replace(
        rows[0], name=" + ".join(names),
        status=statuses.pop() if len(statuses) == 1
        else ", ".join(f"{r.name} {r.status}" for r in rows),
        spec={}, versions={k: v for r in rows for k, v in r.versions.items()})
    comp = compute_comparison(st.name, st.protocol, joined, merged, sess,
                              fold_settings=ws.store.fold_settings(st.id),
                              synthetic=st.synthetic, controls=controls,
                              exclusions=exclusions, left_out=left_out,
                              include_simulated=include_simulated,
                              include_dry_run=include_dry_run)
    info = tuple(RunInfo(r.name, r.status, tuple(r.archs), int(r.seed), dict(r.spec))
                 for r in rows)
    seeds = {**comp.seeds, "training": ", ".join(f"{r.name}: {r.seed}" for r in rows)}
    models = tuple(dataclasses.replace(m, label=ACROSS_RUNS) if m.name == ENSEMBLE else m
                   for m in comp.models)
    r = comp.roc_data
    roc = dataclasses.replace(
        r, runs=tuple(names),
        models=tuple(dataclasses.replace(m, label=ACROSS_RUNS) if m.ensemble else m
                     for m in r.models),
        reference=(dataclasses.replace(r.reference, label=ACROSS_RUNS)
                   if r.reference is not None and r.reference.ensemble else r.reference))
    n_archs = sum(len(r.archs) for r in rows)  # each run's architectures, not ensembles
    counts = {**comp.counts, "architectures": n_archs, "runs": len(rows)}
    return dataclasses.replace(comp, runs=info, seeds=seeds, roc_data=roc, models=models,
                               counts=counts)
