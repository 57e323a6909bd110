"""The assembled comparison: numbers against the core functions on the same arrays."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import PROTOCOLS
from wbsdesk.core import stats
from wbsdesk.core.folds import assign_folds
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.analysis_roc import FPR_GRID, tpr_at
from wbsdesk.services.result_tables import table_map
from wbsdesk.services.studies import create_study, demographics, fold_report, load_study

COUNTS = {"wbs": 15, "other_syndrome": 12, "healthy": 18}


# ---------------------------------------------------------------------------------------------
# A small store with known synthetic predictions and reads (shared with test_reports).


def make_study(ws, name: str = "s", counts: dict[str, int] | None = None, *,
               seed: int = 3) -> dict[str, dict]:
    """A study following demo.toml (5 folds) with subjects and primary photos; no files."""
    counts = COUNTS if counts is None else counts
    create_study(ws, name, PROTOCOLS / "demo.toml")
    study_id = ws.store.study(name).id
    rng = np.random.default_rng(seed)
    subjects = {}
    with ws.store.atomic():
        i = 0
        for group, n in counts.items():
            for _ in range(n):
                key = f"{name.upper()}{i:03d}"
                sid = ws.store.insert_subject(
                    study_id, key=key, group=group, sex="MF"[int(rng.integers(2))],
                    age_months=round(float(rng.uniform(6, 120)), 1), diagnosis=None,
                    metadata={})
                pid = ws.store.insert_photo(sid, sha256=f"{i:064x}", stored_path=f"p/{i}.jpg",
                                            original_name=f"{key}.jpg", fmt="JPEG", width=64,
                                            height=64, is_primary=True)
                subjects[key] = {"id": sid, "photo": pid, "group": group}
                i += 1
        if subjects:
            folds = assign_folds([s["id"] for s in subjects.values()],
                                 [s["group"] for s in subjects.values()], k=5, seed=7)
            ws.store.replace_folds(study_id, folds, seed=7, k=5)
            for s in subjects.values():
                s["fold"] = folds[s["id"]]
    return subjects


def synthetic_probs(subjects: dict[str, dict], archs, *, seed: int = 0,
                    positive: str = "wbs") -> dict[str, dict[int, float]]:
    """Arch -> photo id -> probability, better than chance, every arch different."""
    out = {}
    for j, arch in enumerate(archs):
        rng = np.random.default_rng([seed, j])
        out[arch] = {}
        for s in subjects.values():
            x = rng.normal(1.6 if s["group"] == positive else 0.0, 1.0) - 0.8
            out[arch][s["photo"]] = float(np.round(1.0 / (1.0 + np.exp(-2.0 * x)), 6))
    return out


def add_run(ws, study: str, subjects: dict[str, dict], probs: dict[str, dict[int, float]], *,
            name: str = "run1", status: str = "finished", skip: set[int] = frozenset(),
            spec: dict | None = None) -> str:
    """Write a run with out-of-fold predictions ``probs`` (photos in ``skip`` left out;
    ``spec``: the settings it trained with, default ``{"epochs": 1}``)."""
    st = ws.store.study(study)
    fold_of = {s["photo"]: s["fold"] for s in subjects.values()}
    with ws.store.atomic():
        run_id = ws.store.insert_run(st.id, name=name, run_dir=f"runs/{name}",
                                     archs=list(probs), protocol_json=st.protocol_json,
                                     spec=spec or {"epochs": 1}, seed=7, device="cpu",
                                     versions={"torch": "test"}, weights={})
        for arch, table in probs.items():
            for fold in sorted(set(fold_of.values())):
                preds = [(pid, p) for pid, p in table.items()
                         if fold_of[pid] == fold and pid not in skip]
                ws.store.upsert_fold_result(
                    run_id, arch=arch, fold=fold, epochs=1, losses=[0.5], checkpoint="c",
                    checkpoint_sha256="0" * 64, n_train=len(table) - len(preds),
                    n_test=len(preds), train_seconds=0.0, images_per_second=0.0,
                    predictions=preds)
        ws.store.set_run_status(run_id, status)
    return name


def synthetic_ratings(subjects: dict[str, dict], *, seed: int, skill: float = 1.2,
                      positive: str = "wbs") -> dict[int, int]:
    """Photo id -> rating 1..5 of a reader of the given skill."""
    rng = np.random.default_rng(seed)
    cuts = np.array([-0.5, 0.2, 0.8, 1.4])
    return {s["photo"]: int(1 + np.searchsorted(cuts, rng.normal(
        skill if s["group"] == positive else 0.0, 1.0))) for s in subjects.values()}


def add_reader(ws, study: str, name: str, ratings: dict[int, int | None], *,
               simulated: bool = False, dry_run: bool = False, finished: bool = True,
               role: str = "pediatrician", practice: int = 0) -> int:
    """Write a reader's session with these ratings (None: no answer); returns its id."""
    st = ws.store.study(study)
    reading = load_study(ws, study).protocol.reading
    pids = list(ratings)
    order = [(p, True) for p in pids[:practice]] + [(p, False) for p in pids]
    with ws.store.atomic():
        rid = ws.store.insert_reader(name=name, role=role, years=5, simulated=simulated,
                                     dry_run=dry_run)
        sid = ws.store.insert_session(reader_id=rid, study_id=st.id,
                                      protocol_json=st.protocol_json, order_seed=11,
                                      photo_order=order)
        for pos, (pid, practice_flag) in enumerate(order):
            rating = 5 if practice_flag else ratings[pid]
            t = 100.0 + 12 * pos
            ws.store.insert_read(
                sid, position=pos, photo_id=pid, practice=practice_flag, rating=rating,
                binary_read=None if rating is None else reading.binary_read(rating),
                shown_mono=t, hidden_mono=t + 10, answered_mono=None if rating is None
                else t + 2, shown_at="2024-01-01T00:00:00", hidden_at="2024-01-01T00:00:10",
                answered_at=None if rating is None else "2024-01-01T00:00:02", display_s=10.0,
                response_s=None if rating is None else 2.0, after_interruption=False)
        if finished:
            ws.store.finish_session(sid)
    return sid


@pytest.fixture
def syn(ws):
    """Study ``s`` with a 2-architecture run and two physician readers."""
    subjects = make_study(ws)
    probs = synthetic_probs(subjects, ["resnet18", "mobilenet_v2"])
    add_run(ws, "s", subjects, probs)
    ratings = {"Dr A": synthetic_ratings(subjects, seed=1, skill=1.5),
               "Dr B": synthetic_ratings(subjects, seed=2, skill=0.9)}
    for name, r in ratings.items():
        add_reader(ws, "s", name, r, practice=2)
    return ws, subjects, probs, ratings


def same(a, b) -> bool:
    """Dataclass results equal field by field (arrays compared by value)."""
    fields = vars(a)
    return type(a) is type(b) and all(
        np.array_equal(v, getattr(b, k)) if isinstance(v, np.ndarray) else v == getattr(b, k)
        for k, v in fields.items())


def _arrays(subjects, keys, positive="wbs"):
    rows = [subjects[k] for k in keys]
    y = np.array([r["group"] == positive for r in rows])
    return rows, y, np.array([r["fold"] for r in rows])


# ---------------------------------------------------------------------------------------------
# Models


def test_table4_and_model_aucs_equal_the_core_on_the_same_arrays(syn):
    ws, subjects, probs, _ = syn
    comp = build_comparison(ws, "s")
    keys = sorted(subjects)
    assert comp.subjects == tuple(keys) and comp.run == "run1"
    rows, y, folds = _arrays(subjects, keys)
    assert np.array_equal(comp.y, y) and np.array_equal(comp.folds, folds)
    proto = load_study(ws, "s").protocol.statistics
    for arch, table in probs.items():
        score = np.array([table[r["photo"]] for r in rows])
        m = comp.model(arch)
        ref = stats.fold_summary(y, score, folds, threshold=proto.threshold, ddof=proto.sd_ddof)
        assert m.summary == ref
        assert m.roc.auc == stats.auc_score(y, score)
        assert m.delong == stats.delong_auc(y, score, ci_level=proto.ci_level)
        boot = stats.bootstrap_ci("auc", y, score, n_resamples=proto.bootstrap_resamples,
                                  seed=proto.bootstrap_seed)
        assert (m.bootstrap.ci_low, m.bootstrap.ci_high) == (boot.ci_low, boot.ci_high)
        # the band: mean +- SD of per-fold TPRs on the common grid
        per_fold = np.array([tpr_at(stats.roc_curve(y[folds == f], score[folds == f]))
                             for f in range(1, 6)])
        assert np.allclose(m.band.mean, per_fold.mean(axis=0))
        assert np.allclose(m.band.sd, per_fold.std(axis=0, ddof=1))
        assert np.allclose(m.band.high, np.clip(per_fold.mean(0) + per_fold.std(0, ddof=1), 0, 1))
        assert np.array_equal(m.band.fpr, FPR_GRID)
    t4 = {r["model"]: r for r in table_map(comp)["table4"].records()}  # in percent
    assert t4["ResNet-18"]["auc"]["mean"] == 100 * comp.model("resnet18").summary.mean["auc"]
    assert t4["ResNet-18"]["f1"]["sd"] == 100 * comp.model("resnet18").summary.sd["f1"]
    assert t4["ResNet-18"]["f1"]["n"] == 5


def test_ensemble_is_the_mean_of_the_architectures_out_of_fold_probabilities(syn):
    ws, subjects, probs, _ = syn
    comp = build_comparison(ws, "s")
    assert [m.name for m in comp.models] == ["resnet18", "mobilenet_v2", "ensemble"]
    rows, y, folds = _arrays(subjects, comp.subjects)
    ens = np.array([(probs["resnet18"][r["photo"]] + probs["mobilenet_v2"][r["photo"]]) / 2
                    for r in rows])
    m = comp.model("ensemble")
    assert np.allclose(m.scores, ens)
    assert m.summary == stats.fold_summary(y, m.scores, folds)
    assert m.roc.auc == pytest.approx(stats.auc_score(y, ens))
    assert comp.roc_data.models[-1].ensemble and comp.roc_data.models[-1].label == "Ensemble"
    # model vs model: every pair, on all cases
    pairs = {(p.a, p.b): p.test for p in comp.delong_model_model}
    assert set(pairs) == {("resnet18", "mobilenet_v2"), ("resnet18", "ensemble"),
                          ("mobilenet_v2", "ensemble")}
    ref = stats.delong_test(y, comp.model("resnet18").scores, ens)
    assert pairs[("resnet18", "ensemble")].p_value == pytest.approx(ref.p_value)


@pytest.mark.parametrize("controls", ["all", "healthy", "other_syndrome"])
def test_sub_analysis_restricts_the_cases_exactly(syn, controls):
    ws, subjects, probs, ratings = syn
    comp = build_comparison(ws, "s", controls=controls)
    kept = ({"wbs", "healthy", "other_syndrome"} if controls == "all"
            else {"wbs", controls})
    keys = sorted(k for k, s in subjects.items() if s["group"] in kept)
    assert comp.subjects == tuple(keys)
    assert set(comp.groups.tolist()) == kept
    rows, y, folds = _arrays(subjects, keys)
    score = np.array([probs["resnet18"][r["photo"]] for r in rows])
    assert comp.model("resnet18").summary == stats.fold_summary(y, score, folds)
    # readers: Table 5 on the same cases
    binary = {n: np.array([ratings[n][r["photo"]] >= 4 for r in rows]) for n in ratings}
    assert comp.table5 == stats.reader_table(y, binary)
    # Table 1 and Table 3 describe the analysed subjects
    assert comp.table1.target.n == COUNTS["wbs"]
    assert comp.table1.controls.n == sum(COUNTS[g] for g in kept - {"wbs"})
    assert list(comp.table3) == ["wbs", *comp.control_groups]
    assert {g: sum(v) for g, v in comp.table3.items()} == {g: COUNTS[g] for g in kept}
    if controls != "all":
        assert any("Sub-analysis" in e for e in comp.exclusions)


def test_unknown_control_group_is_a_clear_error(syn):
    ws = syn[0]
    with pytest.raises(UserError, match="unknown control group 'cousins'") as exc:
        build_comparison(ws, "s", controls="cousins")
    assert "healthy" in exc.value.hint


# ---------------------------------------------------------------------------------------------
# Readers


def test_reader_statistics_equal_the_core_on_the_paired_arrays(syn):
    ws, subjects, _, ratings = syn
    comp = build_comparison(ws, "s")
    rows, y, _ = _arrays(subjects, comp.subjects)
    assert [r.name for r in comp.readers] == ["Dr A", "Dr B"]
    assert comp.paired.tolist() == list(range(len(rows)))  # nobody missed a photo
    mat = np.array([[ratings[n][r["photo"]] for r in rows] for n in ("Dr A", "Dr B")], float)
    for i, r in enumerate(comp.readers):
        assert np.array_equal(r.ratings, mat[i])
        assert same(r.rating_roc, stats.rating_roc(y, mat[i], levels=[1, 2, 3, 4, 5]))
        assert r.binary_roc.auc == stats.binary_read_roc(y, mat[i] >= 4).auc
    assert comp.table5 == stats.reader_table(y, {"Dr A": mat[0] >= 4, "Dr B": mat[1] >= 4})
    pairs = {(p.a, p.b): p.test for p in comp.delong_model_reader}
    assert len(pairs) == 3 * 2
    ens = comp.model("ensemble").scores
    assert same(pairs[("ensemble", "Dr B")], stats.delong_test(y, ens, mat[1]))
    mr = comp.mrmc
    assert mr.readers_rating == stats.reader_average_auc(
        y, mat, name="readers (ratings)", reader_names=["Dr A", "Dr B"])
    assert mr.readers_binary.auc == pytest.approx(comp.table5.average.auc)
    ref = stats.model_vs_readers(y, ens, mat, reader_names=["Dr A", "Dr B"])
    got = dict(mr.models)["ensemble"]
    assert got.p_value == ref.p_value and got.readers_minus_model == ref.readers_minus_model
    # the tables carry the same numbers
    tables = table_map(comp)
    t5 = {r["reader"]: r for r in tables["table5"].records()}
    assert t5["Average"]["accuracy"]["value"] == 100 * comp.table5.average.accuracy
    assert t5["Dr A"]["auc_rating"] == 100 * comp.readers[0].rating_roc.auc
    mrmc_rows = {r["model"]: r for r in tables["mrmc"].records()}
    assert mrmc_rows["Ensemble"]["p_value"] == ref.p_value
    # one sign everywhere: model − readers (core gives readers − model)
    assert mrmc_rows["Ensemble"]["difference"] == -ref.readers_minus_model
    assert mrmc_rows["Ensemble"]["ci"] == {"low": -ref.ci_high, "high": -ref.ci_low}
    # the figure's reader point is the binary read's ROC point
    pt = comp.roc_data.readers[1]
    conf = comp.table5.rows[1].confusion
    assert (pt.point_fpr, pt.point_tpr) == (conf.fp / (conf.fp + conf.tn),
                                           conf.tp / (conf.tp + conf.fn))
    assert pt.label == "Dr B"


def test_simulated_and_dry_run_readers_are_left_out_unless_asked_for(syn):
    ws, subjects, _, _ = syn
    sim = add_reader(ws, "s", "Sim 1", synthetic_ratings(subjects, seed=5), simulated=True)
    add_reader(ws, "s", "dry-run-1", synthetic_ratings(subjects, seed=6), dry_run=True)
    comp = build_comparison(ws, "s")
    assert [r.name for r in comp.readers] == ["Dr A", "Dr B"]
    assert not comp.simulated_included
    assert any("simulated reader(s) left out: Sim 1" in e for e in comp.exclusions)
    assert any("dry run reader(s) left out: dry-run-1" in e for e in comp.exclusions)
    comp = build_comparison(ws, "s", include_simulated=True)
    assert [r.label for r in comp.readers] == ["Dr A", "Dr B", "Sim 1 (sim)"]
    assert comp.simulated_included and comp.roc_data.readers[2].simulated
    comp = build_comparison(ws, "s", include_simulated=True, include_dry_run=True)
    assert len(comp.readers) == 4
    with pytest.raises(UserError, match="simulated reader 'Sim 1'"):
        build_comparison(ws, "s", sessions=[sim])
    with pytest.warns(WbsdeskWarning, match="MRMC analysis needs at least 2 readers"):
        comp = build_comparison(ws, "s", sessions=[sim], include_simulated=True)
    assert [r.name for r in comp.readers] == ["Sim 1"]


def test_missing_reads_are_named_and_readers_compared_on_photos_all_rated(syn):
    ws, subjects, _, ratings = syn
    keys = sorted(subjects)
    r = dict(synthetic_ratings(subjects, seed=8))
    r[subjects[keys[3]]["photo"]] = None  # no answer
    r[subjects[keys[7]]["photo"]] = None
    del r[subjects[keys[9]]["photo"]]  # never shown: the session is not finished
    sid = add_reader(ws, "s", "Dr C", r, finished=False)
    # by default an unfinished session is left out
    comp = build_comparison(ws, "s")
    assert "Dr C" not in [x.name for x in comp.readers]
    assert any("not finished" in e and "Dr C" in e for e in comp.exclusions)
    sessions = [s.id for s in ws.store.sessions(ws.store.study("s").id)]
    assert sid in sessions
    with pytest.warns(WbsdeskWarning) as rec:
        comp = build_comparison(ws, "s", sessions=sessions)
    text = " ".join(str(w.message) for w in rec)
    named = f"{keys[3]}, {keys[7]}, {keys[9]}"
    assert f"Reader 'Dr C' has no rating for 3 of {len(keys)} photo(s): {named}" in text
    assert f"use the {len(keys) - 3} photo(s) every included reader rated" in text
    assert comp.reader("Dr C").missing == (keys[3], keys[7], keys[9])
    assert comp.reader("Dr A").missing == ()
    assert comp.paired.size == len(keys) - 3
    assert set(np.asarray(comp.subjects)[comp.paired]) == set(keys) - {keys[3], keys[7], keys[9]}
    assert any(named in n for n in comp.notes)  # kept for the report
    # models alone still use every case; readers the paired ones
    _, y, _ = _arrays(subjects, keys)
    assert comp.model("resnet18").delong.n_pos + comp.model("resnet18").delong.n_neg == len(keys)
    yp = y[comp.paired]
    a = np.array([ratings["Dr A"][subjects[k]["photo"]] for k in np.asarray(keys)[comp.paired]])
    assert comp.reader("Dr A").rating_roc.auc == stats.auc_score(yp, a)
    assert comp.counts["missing_reads"] == {"Dr A": 0, "Dr B": 0, "Dr C": 3}


# ---------------------------------------------------------------------------------------------
# Degenerate input: a clear error, or a documented NaN with a warning


def test_one_class_only_is_a_clear_error(ws):
    subjects = make_study(ws, counts={"wbs": 10, "other_syndrome": 0, "healthy": 0})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    with pytest.raises(UserError, match=r"do not occur in the data.*\['wbs'\]"):
        build_comparison(ws, "s")


def test_a_control_group_absent_from_the_data_is_a_clear_error(ws):
    subjects = make_study(ws, counts={"wbs": 10, "other_syndrome": 10, "healthy": 0})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    with pytest.raises(UserError, match=r"\['healthy'\] do not occur"):
        build_comparison(ws, "s", controls="healthy")
    with pytest.warns(WbsdeskWarning, match="No reader is included"):
        comp = build_comparison(ws, "s", controls="other_syndrome")  # the other one works
    assert comp.y.size == 20 and [m.name for m in comp.models] == ["resnet18"]


def test_all_ties_give_auc_one_half_with_a_warning(syn):
    ws, subjects, _, _ = syn
    flat = {"resnet18": {s["photo"]: 0.5 for s in subjects.values()},
            "mobilenet_v2": synthetic_probs(subjects, ["x"])["x"]}
    add_run(ws, "s", subjects, flat, name="flat")
    with pytest.warns(WbsdeskWarning) as rec:
        comp = build_comparison(ws, "s", run="flat")
    msgs = [str(w.message) for w in rec]
    assert any(m.startswith("Model ResNet-18: every case has the same score") for m in msgs)
    assert any(m.startswith("Model ResNet-18: ") and "DeLong variance of the AUC (0.5) is zero"
               in m for m in msgs)
    m = comp.model("resnet18")
    assert m.roc.auc == 0.5 and m.summary.mean["auc"] == 0.5
    assert np.isnan(m.delong.ci_low)
    assert np.allclose(m.band.mean, FPR_GRID)  # the chance line
    assert m.bootstrap.ci_low == m.bootstrap.ci_high == 0.5


def test_a_reader_who_gives_every_photo_the_same_rating(syn):
    ws, subjects, _, _ = syn
    add_reader(ws, "s", "Dr Flat", {s["photo"]: 3 for s in subjects.values()})
    with pytest.warns(WbsdeskWarning) as rec:
        comp = build_comparison(ws, "s")
    msgs = [str(w.message) for w in rec]
    assert "Reader 'Dr Flat': every case has the same score (all ties): its AUC is 0.5 and " \
           "its ROC curve is the chance line." in msgs
    assert "Precision of reader 'Dr Flat' is undefined (zero denominator) and is reported " \
           "as NaN." in msgs
    flat = comp.reader("Dr Flat")
    assert flat.rating_roc.auc == 0.5 and np.isnan(flat.delong.ci_low)
    assert flat.rating_roc.fpr.tolist() == [0, 0, 0, 1, 1, 1]  # one step, at level 3
    # comparisons with the flat reader stay defined
    test = next(p.test for p in comp.delong_model_reader if p.b == "Dr Flat")
    assert test.auc_b == 0.5 and 0.0 <= test.p_value <= 1.0
    assert comp.mrmc is not None and len(comp.readers) == 3


def test_a_reader_with_no_positive_read_gets_nan_precision_with_a_warning(syn):
    ws, subjects, _, _ = syn
    shy = {s["photo"]: (3 if s["group"] == "wbs" else 1) for s in subjects.values()}
    add_reader(ws, "s", "Dr Shy", shy)
    with pytest.warns(WbsdeskWarning) as rec:
        comp = build_comparison(ws, "s")
    msgs = [str(w.message) for w in rec]
    assert "Precision of reader 'Dr Shy' is undefined (zero denominator) and is reported as " \
           "NaN." in msgs
    assert any("DeLong variance of the AUC (1) is zero" in m for m in msgs)  # perfect ranking
    row = comp.table5.rows[[r.name for r in comp.readers].index("Dr Shy")]
    assert np.isnan(row.precision) and row.recall == 0.0 and row.f1 == 0.0
    assert row.specificity == 1.0 and row.auc == 0.5
    assert np.isnan(comp.table5.average.precision)
    assert comp.reader("Dr Shy").rating_roc.auc == 1.0  # the ratings still rank perfectly
    assert any("Dr Shy" in n for n in comp.notes)


def test_nan_scores_are_a_clear_error_naming_the_subjects(syn, monkeypatch):
    ws, subjects, _, _ = syn
    real = ws.store.predictions
    victim = subjects["S004"]["photo"]

    def with_nan(run_id):
        return [(a, p, f, float("nan") if p == victim and a == "resnet18" else v)
                for a, p, f, v in real(run_id)]

    monkeypatch.setattr(ws.store, "predictions", with_nan)
    with pytest.raises(UserError, match=r"resnet18 of run 'run1' has no valid probability "
                                        r"\(NaN\) for 1 case\(s\): S004"):
        build_comparison(ws, "s")


def test_a_case_without_prediction_is_a_clear_error_naming_it(ws):
    subjects = make_study(ws)
    skip = {subjects["S002"]["photo"], subjects["S030"]["photo"]}
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]), skip=skip,
            status="cancelled", name="half")
    with pytest.raises(UserError, match=r"no out-of-fold prediction of resnet18 for 2 of 45 "
                                        r"case\(s\): S002, S030") as exc:
        build_comparison(ws, "s", run="half")
    assert "resume" in exc.value.hint
    with pytest.raises(UserError, match="no finished training run"):
        build_comparison(ws, "s")


def test_fewer_than_two_readers_skip_mrmc_with_a_warning(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "vgg16"]))
    with pytest.warns(WbsdeskWarning, match="No reader is included"):
        comp = build_comparison(ws, "s")
    assert comp.readers == () and comp.table5 is None and comp.mrmc is None
    assert table_map(comp)["table5"].rows == () and table_map(comp)["mrmc"].rows == ()
    add_reader(ws, "s", "Dr Solo", synthetic_ratings(subjects, seed=4))
    with pytest.warns(WbsdeskWarning, match="MRMC analysis needs at least 2 readers"):
        comp = build_comparison(ws, "s")
    assert comp.mrmc is None and len(comp.delong_model_reader) == 3
    assert comp.table5.average.accuracy == comp.table5.rows[0].accuracy


def test_too_few_paired_cases_of_a_class_is_a_clear_error(ws):
    subjects = make_study(ws, counts={"wbs": 10, "other_syndrome": 5, "healthy": 5})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    r = synthetic_ratings(subjects, seed=1)
    for s in subjects.values():
        if s["group"] == "wbs" and s["photo"] != subjects["S000"]["photo"]:
            r[s["photo"]] = None
    add_reader(ws, "s", "Dr Late", r)
    with pytest.warns(WbsdeskWarning) as rec, \
            pytest.raises(UserError, match=r"only 1 positive and 10 control photo\(s\) were "
                                           "rated by every included reader"):
        build_comparison(ws, "s")
    # the warnings that explain the error still reach the caller
    assert "'Dr Late' has no rating for 9 of 20 photo(s)" in str(rec[0].message)
    assert "use the 11 photo(s)" in str(rec[1].message)


# ---------------------------------------------------------------------------------------------
# On the demo workspace (four simulated readers, a few unanswered photos)


def test_the_demo_study_with_simulated_readers(demo_ws):
    study = load_study(demo_ws, "demo")
    subj = {s.id: s for s in demo_ws.store.subjects(study.id, include_practice=False)}
    photos = [p for p in demo_ws.store.photos(study.id)
              if p.is_primary and p.subject_id in subj]  # practice-only photos have no fold
    folds = demo_ws.store.folds(study.id)
    subjects = {subj[p.subject_id].key: {"photo": p.id, "group": subj[p.subject_id].group,
                                         "fold": folds[p.subject_id]} for p in photos}
    probs = synthetic_probs(subjects, ["resnet18", "mobilenet_v2"], seed=4)
    add_run(demo_ws, "demo", subjects, probs)
    with pytest.warns(WbsdeskWarning, match="No reader is included"):
        alone = build_comparison(demo_ws, "demo")
    assert any("4 simulated reader(s) left out" in e for e in alone.exclusions)
    with pytest.warns(WbsdeskWarning) as rec:
        comp = build_comparison(demo_ws, "demo", include_simulated=True)
    assert sum("has no rating for" in str(w.message) for w in rec) == 4
    assert len(comp.readers) == 4 and comp.simulated_included and comp.synthetic
    assert all(r.label.endswith("(sim)") for r in comp.readers)
    # Table 3 and Table 1 agree with the study services for the whole study
    assert comp.table3 == fold_report(demo_ws, "demo").table
    _, t1 = demographics(demo_ws, "demo")
    assert comp.table1 == t1
    # every reader's missing photos are the unanswered ones
    for r in comp.readers:
        row = demo_ws.store.session(r.session_id)
        none = {x["photo_id"] for x in demo_ws.store.reads(row.id)
                if x["rating"] is None and not x["practice"]}
        key_of = {v["photo"]: k for k, v in subjects.items()}
        assert set(r.missing) == {key_of[p] for p in none}
    assert comp.paired.size == 150 - len({k for r in comp.readers for k in r.missing})
    json.dumps({n: t.to_dict() for n, t in table_map(comp).items()}, allow_nan=False)
    assert re.match(r"\d{4}-\d\d-\d\dT", comp.created_at)
    assert comp.seeds["folds"] == 7 and comp.seeds["bootstrap"] == 7
    assert comp.versions["torch"] == "test" and comp.versions["numpy"] == np.__version__
