"""The unaided-vs-aided analysis, checked against the core functions on the same arrays."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.aided_study import make_aided_study
from wbsdesk.core.mrmc import mrmc_test
from wbsdesk.core.roc import auc_score
from wbsdesk.errors import UserError
from wbsdesk.services import reading
from wbsdesk.services.analysis_aided import build_aided_comparison
from wbsdesk.services.analysis_data import load_sessions
from wbsdesk.services.simulated_aided import TRUST, add_simulated_aided_reads
from wbsdesk.services.studies import load_study


@pytest.fixture
def aided_ws(ws, tmp_path):
    """30 photos, 4 simulated readers whose blind sessions got simulated aided re-reads."""
    make_aided_study(ws, tmp_path, n=30)
    reading.add_simulated_readers(ws, "tiny", seed=5)
    assert sorted(add_simulated_aided_reads(ws, "tiny", seed=5)) == sorted(TRUST)
    return ws


def _arrays(ws, comp):
    """Ratings (2, r, n) and truth, read straight from the store in the comparison's order."""
    study = load_study(ws, "tiny")
    out = np.zeros((2, len(comp.readers), comp.n_cases))
    binary = np.zeros_like(out)
    index = {int(p): c for c, p in enumerate(comp.photo_ids)}
    for j, r in enumerate(comp.readers):
        row = ws.store.session_of(ws.store.reader(r.reader).id, study.id)
        for read in ws.store.reads(row.id):
            c = index.get(read["photo_id"])
            if c is not None and not read["practice"]:
                m = 0 if read["modality"] == "unaided" else 1
                out[m, j, c] = read["rating"]
                binary[m, j, c] = read["binary_read"]
    return out, binary


def test_the_comparison_matches_mrmc_and_delong_on_the_stored_reads(aided_ws):
    ws = aided_ws
    with pytest.raises(UserError, match="needs at least 2 readers"):
        build_aided_comparison(ws, "tiny")  # simulated readers are left out by default
    comp = build_aided_comparison(ws, "tiny", include_simulated=True)
    assert comp.simulated and comp.designs == ("sequential_aided",)
    assert comp.aid["runs"] == ["run1"] and comp.aid["models"] == ["ensemble"]
    ratings, binary = _arrays(ws, comp)
    assert np.array_equal(ratings, comp.ratings) and np.array_equal(binary, comp.binary)
    y = comp.y
    ref = mrmc_test(y, ratings[::-1], modality_names=("aided", "unaided"))
    auc = comp.tests[0]
    assert auc.measure == "AUC"
    assert auc.unaided == pytest.approx(np.mean([auc_score(y, s) for s in ratings[0]]))
    assert auc.aided == pytest.approx(np.mean([auc_score(y, s) for s in ratings[1]]))
    assert auc.difference == pytest.approx(auc.aided - auc.unaided)
    assert (auc.f_stat, auc.df_den, auc.p_value) == pytest.approx(
        (ref.f_stat, ref.df_den, ref.p_value))
    assert (auc.ci_low, auc.ci_high) == pytest.approx((ref.differences[0].ci_low,
                                                       ref.differences[0].ci_high))
    sens, spec = comp.tests[1], comp.tests[2]
    assert sens.unaided == pytest.approx(binary[0][:, y].mean())
    assert sens.aided == pytest.approx(binary[1][:, y].mean())
    assert spec.aided == pytest.approx(1 - binary[1][:, ~y].mean())
    for j, r in enumerate(comp.readers):
        assert r.auc_unaided == pytest.approx(auc_score(y, ratings[0, j]))
        assert r.auc_aided == pytest.approx(auc_score(y, ratings[1, j]))
        assert r.harmed == (r.ci_high < 0)
        assert r.kind == "simulated"
    # the blind analysis sees exactly the unaided reads
    taken, _ = load_sessions(ws, load_study(ws, "tiny"), None, include_simulated=True,
                             include_dry_run=False)
    for s in taken:
        unaided = {r["photo_id"]: r["rating"] for r in ws.store.reads(s.session_id)
                   if r["modality"] == "unaided" and r["rating"] is not None}
        assert s.ratings == unaided


def test_changed_reads_are_counted_by_the_models_call(aided_ws):
    ws = aided_ws
    comp = build_aided_comparison(ws, "tiny", include_simulated=True)
    study = load_study(ws, "tiny")
    subjects = {s.id: s for s in ws.store.subjects(study.id)}
    photos = {p.id: p for p in ws.store.photos(study.id)}
    toward = away = followed = changed = reads = 0
    for r in comp.readers:
        row = ws.store.session_of(ws.store.reader(r.reader).id, study.id)
        got = {}
        for read in ws.store.reads(row.id):
            if not read["practice"] and read["rating"] is not None:
                got.setdefault(read["photo_id"], {})[read["modality"]] = read
        for pid, both in got.items():
            if len(both) < 2:
                continue
            reads += 1
            truth = subjects[photos[pid].subject_id].group == "wbs"
            model = both["aided"]["aid_score"] >= comp.threshold
            d = both["aided"]["rating"] - both["unaided"]["rating"]
            if d == 0:
                continue
            changed += 1
            good = (d > 0) == truth
            toward += good
            away += not good
            followed += (model != truth) and ((d > 0) == model)
    t = comp.changes
    assert (t.reads, t.changed) == (reads, changed) and changed > 0
    assert (t.toward_right + t.toward_wrong, t.away_right + t.away_wrong) == (toward, away)
    assert t.followed_wrong == followed
    data = comp.to_dict()
    assert data["changes"]["changed"] == changed and data["study"] == "tiny"
    assert set(data["harmed"]) == set(comp.harmed)
    times = {p.modality: p for p in comp.timing}
    assert times["aided"].reads == times["unaided"].reads == 120


def test_the_report_gets_the_aided_section_only_for_an_aided_study(aided_ws, tmp_path):
    from wbsdesk.services.report_aided import aided_report_section, aided_summary

    refused, comp = aided_report_section(aided_ws, "tiny")  # simulated readers left out
    assert comp is None and "needs at least 2 readers" in refused.paragraphs[0]
    assert "needs at least 2 readers" in aided_summary((refused, None), {})["error"]
    section, comp = aided_report_section(aided_ws, "tiny", include_simulated=True)
    assert comp is not None and section.title == "Aided vs unaided"
    assert "SIMULATED" in section.banner
    assert [t.name for t in section.tables] == ["aided_design", "aided_modalities",
                                                "aided_readers", "aided_changes",
                                                "aided_decisions", "aided_timing"]
    design = dict(section.tables[0].texts())
    assert design["Aid"].startswith("run run1, model ensemble")
    assert "Washout" in design and "Harmed readers" in design
    assert set(section.files) == {"readers_aided.imrmc", "readers_aided_binary.imrmc"}
    assert aided_report_section(aided_ws, "nope") is None
