"""The data of a reproducibility bundle: a comparison's inputs, pseudonymised, as files.

:func:`gather` reads from a workspace everything
:func:`wbsdesk.services.analysis.compute_comparison` needs for one study, run and set of
readers, with every identifying name replaced:

* subjects by ``S0001``, ``S0002``, ... (in subject-key order, so the analysis order is
  kept; group, sex and age are kept), photos by their pseudonymous photo ID
  (:func:`wbsdesk.services.reading.photo_pseudonym`, ``P0042``), readers by ``R1``, ``R2``,
  ... (in name order; role, years and kind are kept). No file name, subject key or reader
  name is written.

:func:`write_inputs` turns them into files (typed CSV, :mod:`wbsdesk.core.typed_csv`, and
JSON) and :func:`read_inputs` reads them back into the same values, bit for bit;
:func:`comparison_inputs` gives the arguments of ``compute_comparison``. Nothing here needs
a workspace except :func:`gather`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wbsdesk.core.protocol import protocol_from_dict
from wbsdesk.core.typed_csv import Columns, read_typed, write_typed
from wbsdesk.errors import UserError
from wbsdesk.services.analysis_data import Cases, SessionReads, load_cases, load_sessions, name_list
from wbsdesk.services.reading import photo_pseudonym
from wbsdesk.services.studies import Study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.runs import RunRow

__all__ = ["FILES", "BundleInputs", "comparison_inputs", "gather", "read_inputs",
           "write_inputs"]

#: Where each part of the bundle's data lives (paths inside the archive).
FILES = {
    "analysis": "analysis.json", "protocol": "protocol.json", "run": "run/run.json",
    "checkpoints": "run/checkpoints.csv", "pretrained": "run/pretrained_weights.csv",
    "seeds": "seeds.json", "cases": "data/cases.csv", "predictions": "data/predictions.csv",
    "readers": "data/readers.csv", "reads": "data/reads.csv",
    "excluded": "data/excluded_subjects.csv",
}
CASE_COLS: Columns = (("case", "text"), ("photo", "text"), ("group", "text"),
                      ("sex", "opt_text"), ("age_months", "opt_float"), ("fold", "int"))
PREDICTION_COLS: Columns = (("case", "text"), ("photo", "text"), ("arch", "text"),
                            ("fold", "int"), ("probability", "float"))
READER_COLS: Columns = (("reader", "text"), ("role", "text"), ("years", "opt_int"),
                        ("kind", "text"), ("session", "int"), ("status", "text"),
                        ("order_seed", "int"), ("photos", "int"), ("included", "bool"),
                        ("left_out", "opt_text"))
READ_COLS: Columns = (("reader", "text"), ("session", "int"), ("position", "int"),
                      ("case", "text"), ("photo", "text"), ("rating", "opt_int"),
                      ("binary_read", "opt_bool"))
EXCLUDED_COLS: Columns = (("case", "text"), ("group", "text"))
CHECKPOINT_COLS: Columns = (("arch", "text"), ("fold", "int"), ("epochs", "int"),
                            ("n_train", "int"), ("n_test", "int"),
                            ("checkpoint_sha256", "text"))
PRETRAINED_COLS: Columns = (("arch", "text"), ("sha256", "text"))
_TABLES: dict[str, Columns] = {
    "cases": CASE_COLS, "predictions": PREDICTION_COLS, "readers": READER_COLS,
    "reads": READ_COLS, "excluded": EXCLUDED_COLS, "checkpoints": CHECKPOINT_COLS,
    "pretrained": PRETRAINED_COLS}
_RUN_KEYS = ("name", "status", "archs", "seed", "device", "spec", "versions", "demo",
             "started_at", "finished_at")


@dataclass(frozen=True)
class BundleInputs:
    """A comparison's inputs, pseudonymised (see the module docstring).

    ``analysis`` holds the study name, ``synthetic``, ``controls``, the include flags and
    ``exclusions`` (notes on the cases left out); ``run`` the run's name, status, archs,
    seed, device, training spec, versions and times; ``seeds`` the fold seed and k, the
    training and bootstrap seeds and each reader's order seed. The tables are lists of
    row dicts in the columns of this module (``*_COLS``).
    """

    analysis: dict[str, Any]
    protocol: dict[str, Any]
    run: dict[str, Any]
    seeds: dict[str, Any]
    cases: list[dict[str, Any]]
    predictions: list[dict[str, Any]]
    readers: list[dict[str, Any]]
    reads: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    pretrained: list[dict[str, Any]] = field(default_factory=list)


def _codes(keys: Sequence[str], prefix: str, width: int = 4) -> dict[str, str]:
    """Sorted keys -> ``prefix`` + zero-padded rank (``S0001``), order-preserving."""
    w = max(width, len(str(len(keys))))
    return {k: f"{prefix}{i:0{w}d}" for i, k in enumerate(sorted(keys), start=1)}


def _case_notes(excluded: Sequence[str], stray: int, run: str) -> list[str]:
    """The notes of :func:`~wbsdesk.services.analysis_data.load_cases`, with pseudonyms."""
    notes = []
    if excluded:
        notes.append(f"{len(excluded)} excluded subject(s) are left out: "
                     f"{name_list(sorted(excluded))}.")
    if stray:
        notes.append(f"{stray} photo(s) with predictions in run {run!r} are not included "
                     "cases (excluded subjects or non-primary photos) and are left out.")
    return notes


def gather(ws: Workspace, study: Study, run: RunRow, *, controls: str = "all",
           include_simulated: bool = False, include_dry_run: bool = False) -> BundleInputs:
    """The pseudonymised inputs of the comparison of ``study`` and ``run``.

    Readers are chosen as :func:`~wbsdesk.services.analysis.build_comparison` chooses them
    (every finished session; simulated / dry-run ones only when included); the readers left
    out are listed (``included`` false, with the reason), their reads are not written.

    Raises
    ------
    UserError
        As :func:`~wbsdesk.services.analysis_data.load_cases` (a case without a prediction).
    """
    cases, _ = load_cases(ws, study, run)
    sessions, left_out = load_sessions(ws, study, None, include_simulated=include_simulated,
                                       include_dry_run=include_dry_run)
    all_subjects = ws.store.subjects(study.id)
    s_code = _codes([s.key for s in all_subjects], "S")
    readers = {r.id: r for r in (ws.store.reader_by_id(s.reader_id)
                                 for s in ws.store.sessions(study.id)) if r is not None}
    r_code = {name: f"R{i}" for i, name in
              enumerate(sorted({r.name for r in readers.values()}), start=1)}
    by_name = {r.name: r for r in readers.values()}
    case_of = {int(p): s_code[k] for p, k in zip(cases.photo_ids, cases.subjects, strict=True)}
    case_rows = [{"case": case_of[int(p)], "photo": photo_pseudonym(int(p)), "group": str(g),
                  "sex": sex, "age_months": age, "fold": int(f)}
                 for p, g, sex, age, f in zip(cases.photo_ids, cases.groups, cases.sexes,
                                               cases.ages, cases.folds, strict=True)]
    pred_rows = [{"case": case_of[int(p)], "photo": photo_pseudonym(int(p)), "arch": arch,
                  "fold": int(f), "probability": float(v)}
                 for arch, scores in cases.scores.items()
                 for p, f, v in zip(cases.photo_ids, cases.folds, scores, strict=True)]
    reader_rows, read_rows = [], []
    for s in sessions:
        r = by_name[s.reader]
        reader_rows.append({"reader": r_code[s.reader], "role": s.role, "years": r.years,
                            "kind": s.kind, "session": s.session_id, "status": s.status,
                            "order_seed": s.order_seed, "photos": s.n_photos, "included": True,
                            "left_out": None})
        for row in ws.store.reads(s.session_id, modality="unaided"):
            pid = int(row["photo_id"])
            if row["practice"] or pid not in case_of:
                continue
            rating = row["rating"]
            read_rows.append({"reader": r_code[s.reader], "session": s.session_id,
                              "position": int(row["position"]), "case": case_of[pid],
                              "photo": photo_pseudonym(pid),
                              "rating": None if rating is None else int(rating),
                              "binary_read": s.binary.get(pid)})
    included = {s.session_id for s in sessions}
    reason_of = {name: why for why, names in left_out.items() for name in names}
    for row in ws.store.sessions(study.id):
        r = readers[row.reader_id]
        why = reason_of.get(r.name)
        if row.id in included or why is None or row.modality == "aided":
            continue
        kind = "simulated" if r.simulated else "dry run" if r.dry_run else "physician"
        reader_rows.append({"reader": r_code[r.name], "role": r.role, "years": r.years,
                            "kind": kind, "session": row.id, "status": row.status,
                            "order_seed": row.order_seed,
                            "photos": sum(not p for _, p in row.photo_order),
                            "included": False, "left_out": why})
    excluded = [s for s in all_subjects if s.excluded]
    wanted = {int(p) for p in cases.photo_ids}
    stray = {int(pid) for _, pid, _, _ in ws.store.predictions(run.id)} - wanted
    fold_settings = ws.store.fold_settings(study.id)
    analysis = {"study": study.name, "synthetic": study.synthetic, "controls": controls,
                "include_simulated": include_simulated, "include_dry_run": include_dry_run,
                "exclusions": _case_notes([s_code[s.key] for s in excluded], len(stray),
                                          run.name)}
    seeds = {"folds": fold_settings[0] if fold_settings else study.protocol.folds.seed,
             "k": fold_settings[1] if fold_settings else study.protocol.folds.k,
             "folds_stored": fold_settings is not None, "training": run.seed,
             "bootstrap": study.protocol.statistics.bootstrap_seed,
             "reading_orders": {r["reader"]: r["order_seed"] for r in reader_rows}}
    run_info = {k: getattr(run, k) for k in _RUN_KEYS}
    # the pretrained weights' folder is a path on someone's machine: say only whether
    if run_info["spec"].get("weights_dir"):
        run_info["spec"] = {**run_info["spec"], "weights_dir": "imagenet"}
    checkpoints = [{"arch": f["arch"], "fold": int(f["fold"]), "epochs": int(f["epochs"]),
                    "n_train": int(f["n_train"]), "n_test": int(f["n_test"]),
                    "checkpoint_sha256": f["checkpoint_sha256"]}
                   for f in ws.store.fold_results(run.id)]
    pretrained = [{"arch": a, "sha256": h} for a, h in sorted(run.weights.items())]
    return BundleInputs(
        analysis=analysis, protocol=study.protocol.to_dict(), run=run_info, seeds=seeds,
        cases=case_rows, predictions=pred_rows, readers=reader_rows, reads=read_rows,
        excluded=[{"case": s_code[s.key], "group": s.group} for s in excluded],
        checkpoints=checkpoints, pretrained=pretrained)


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, allow_nan=True) + "\n").encode("utf-8")


def write_inputs(b: BundleInputs, put: Callable[[str, bytes], None]) -> None:
    """Write the inputs as files: ``put(path inside the bundle, bytes)`` (see :data:`FILES`)."""
    for name in ("analysis", "protocol", "run", "seeds"):
        put(FILES[name], _json(getattr(b, name)))
    for name, cols in _TABLES.items():
        put(FILES[name], write_typed(getattr(b, name), cols).encode("utf-8"))


def read_inputs(get: Callable[[str], bytes]) -> BundleInputs:
    """Read what :func:`write_inputs` wrote: ``get(path inside the bundle) -> bytes``.

    Raises
    ------
    UserError
        A file is missing or does not hold what it should (naming it).
    """
    def text(name: str) -> str:
        path = FILES[name]
        try:
            return get(path).decode("utf-8")
        except KeyError:
            raise UserError(f"the bundle has no {path}",
                            hint="it is not a wbsdesk bundle, or it was cut short") from None

    parts: dict[str, Any] = {}
    for name in ("analysis", "protocol", "run", "seeds"):
        try:
            parts[name] = json.loads(text(name))
        except json.JSONDecodeError as exc:
            raise UserError(f"{FILES[name]} in the bundle is not valid JSON: {exc}") from None
    for name, cols in _TABLES.items():
        try:
            parts[name] = read_typed(text(name), cols, source=FILES[name])
        except ValueError as exc:
            raise UserError(str(exc), hint="the bundle's data were edited or damaged") from None
    return BundleInputs(**parts)


def comparison_inputs(b: BundleInputs) -> dict[str, Any]:
    """Keyword arguments of :func:`~wbsdesk.services.analysis.compute_comparison`.

    Raises
    ------
    UserError
        The data do not fit together (a prediction or read of an unknown case, a case
        without a prediction of some architecture), naming the file and case.
    """
    a = b.analysis
    protocol = protocol_from_dict(b.protocol, source=FILES["protocol"])
    run = b.run
    order = {c["case"]: i for i, c in enumerate(b.cases)}
    pid = np.array([int(c["photo"][1:]) for c in b.cases], dtype=int)
    scores: dict[str, np.ndarray] = {}
    for arch in run["archs"]:
        values = np.full(len(b.cases), np.nan)
        seen = np.zeros(len(b.cases), dtype=bool)
        for p in b.predictions:
            if p["arch"] != arch:
                continue
            if p["case"] not in order:
                raise UserError(f"{FILES['predictions']}: case {p['case']!r} is not in "
                                f"{FILES['cases']}")
            values[order[p["case"]]] = p["probability"]
            seen[order[p["case"]]] = True
        if not seen.all():
            lacking = [c["case"] for c, s in zip(b.cases, seen, strict=True) if not s]
            raise UserError(f"{FILES['predictions']}: no {arch} prediction for "
                            f"{name_list(lacking)}")
        scores[arch] = values
    cases = Cases(photo_ids=pid, subjects=tuple(c["case"] for c in b.cases),
                  groups=np.array([c["group"] for c in b.cases], dtype=str),
                  folds=np.array([c["fold"] for c in b.cases], dtype=int), scores=scores,
                  sexes=tuple(c["sex"] for c in b.cases),
                  ages=tuple(c["age_months"] for c in b.cases))
    reads_of: dict[int, list[Mapping[str, Any]]] = {}
    for r in b.reads:
        if r["case"] not in order:
            raise UserError(f"{FILES['reads']}: case {r['case']!r} is not in {FILES['cases']}")
        reads_of.setdefault(r["session"], []).append(r)
    sessions, left_out = [], {}
    for r in b.readers:
        if not r["included"]:
            left_out.setdefault(r["left_out"] or "left out", []).append(r["reader"])
            continue
        answered = [x for x in reads_of.get(r["session"], []) if x["rating"] is not None]
        sessions.append(SessionReads(
            session_id=r["session"], reader=r["reader"], role=r["role"], kind=r["kind"],
            simulated=r["kind"] == "simulated", dry_run=r["kind"] == "dry run",
            status=r["status"], order_seed=r["order_seed"], n_photos=r["photos"],
            ratings={int(x["photo"][1:]): int(x["rating"]) for x in answered},
            binary={int(x["photo"][1:]): bool(x["binary_read"]) for x in answered}))
    seeds = b.seeds
    run_row = RunRow(id=0, study_id=0, name=run["name"], run_dir="", status=run["status"],
                     archs=list(run["archs"]), protocol_json="", spec=dict(run["spec"]),
                     seed=int(run["seed"]), device=run["device"],
                     versions=dict(run["versions"]), weights={}, demo=bool(run["demo"]),
                     started_at=run["started_at"], finished_at=run["finished_at"])
    return {"study": a["study"], "protocol": protocol, "run_row": run_row, "cases": cases,
            "sessions": sessions,
            "fold_settings": (int(seeds["folds"]), int(seeds["k"])) if seeds["folds_stored"]
            else None,
            "synthetic": bool(a["synthetic"]), "controls": a["controls"],
            "exclusions": list(a["exclusions"]),
            "left_out": {k: sorted(v) for k, v in left_out.items()},
            "include_simulated": bool(a["include_simulated"]),
            "include_dry_run": bool(a["include_dry_run"])}
