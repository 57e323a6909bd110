"""Planning a study from its own pilot reads, from a pilot file, and the refusals."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.core.sizing_pilot import pilot_from_modalities
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.planning import file_pilot, make_plan, study_pilot
from wbsdesk.services.studies import load_study

VAN_DYKE = Path(__file__).resolve().parent.parent / "data" / "van_dyke_1993.imrmc"


def add_demo_run(ws) -> None:
    """A two-architecture run with synthetic out-of-fold scores on the demo study."""
    study = load_study(ws, "demo")
    folds = ws.store.folds(study.id)  # practice subjects have none
    photos = [p for p in ws.store.photos(study.id) if p.is_primary and p.subject_id in folds]
    subj = {s.id: s for s in ws.store.subjects(study.id)}
    subjects = {subj[p.subject_id].key: {"photo": p.id, "group": subj[p.subject_id].group,
                                         "fold": folds[p.subject_id]} for p in photos}
    add_run(ws, "demo", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"],
                                                  seed=4))


def test_demo_pilot_is_the_analysis_mrmc_of_the_ensemble(demo_ws):
    add_demo_run(demo_ws)
    t0 = time.perf_counter()
    pilot = study_pilot(demo_ws, "demo")  # the demo's readers are all simulated: included
    plan = make_plan(pilot)
    seconds = time.perf_counter() - t0
    assert seconds < 1.0, f"planning the demo took {seconds:.2f} s"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WbsdeskWarning)
        comp = build_comparison(demo_ws, "demo", include_simulated=True)
    one = dict(comp.mrmc.models)["ensemble"]
    c = pilot.components
    # the same readers and paired cases as the analysis's 1T-RRRC of the ensemble
    assert pilot.readers == 4 == len(comp.readers)
    assert c.pilot_cases == comp.paired.size
    assert 2 * (c.var_error - c.cov1) == pytest.approx(one.var, rel=1e-9)
    assert 2 * (c.cov2 - c.cov3) == pytest.approx(one.cov2, rel=1e-9)
    assert pilot.effect == pytest.approx(one.readers_minus_model, rel=1e-12)
    assert pilot.design == "readers-vs-model" and "ensemble" in pilot.source
    assert any("Simulated readers are included" in n for n in pilot.notes)
    assert any("not rated by every reader" in n for n in pilot.notes)
    assert [r.readers for r in plan.rows] == [4, 5, 6, 8, 10, 12, 15, 20]
    # deterministic: no seed anywhere
    np.random.seed(123)
    again = make_plan(study_pilot(demo_ws, "demo"))
    assert again.to_dict() == plan.to_dict()


def test_one_architecture_and_unknown_models(demo_ws):
    add_demo_run(demo_ws)
    assert "resnet18" in study_pilot(demo_ws, "demo", model="resnet18").source
    with pytest.raises(UserError, match="has no model 'vgg'") as err:
        study_pilot(demo_ws, "demo", model="vgg")
    assert "ensemble" in err.value.hint
    with pytest.raises(UserError, match=r"only size the readers vs\. model design"):
        study_pilot(demo_ws, "demo", design="aided")


def test_a_study_needs_two_included_readers(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Sim", synthetic_ratings(subjects, seed=2), simulated=True)
    with pytest.raises(UserError, match=r"come from 1 reader\(s\).*1 simulated reader\(s\) "
                                        r"left out \(Sim\)"):
        study_pilot(ws, "s")
    pilot = study_pilot(ws, "s", include_simulated=True)
    assert pilot.readers == 2 and pilot.components.pilot_cases == len(subjects)
    with pytest.raises(UserError, match="unknown control group"):
        study_pilot(ws, "s", include_simulated=True, controls="cats")
    healthy = study_pilot(ws, "s", include_simulated=True, controls="healthy")
    assert healthy.components.pilot_cases == sum(s["group"] != "other_syndrome"
                                                 for s in subjects.values())


def test_van_dyke_pilot_file(tmp_path):
    pilot = file_pilot(VAN_DYKE)
    assert pilot.design == "aided" and pilot.readers == 5
    assert list(pilot.aucs) == ["SE_MRI", "CINE_MRI"]
    assert "SE_MRI (unaided) vs. CINE_MRI (aided)" in pilot.source
    assert make_plan(pilot, readers=[6]).rows[0].cases_needed == 251
    lines = VAN_DYKE.read_text(encoding="utf-8").splitlines()
    # a reader without one score, a third modality, and no iMRMC at all are refused
    holey = tmp_path / "holey.imrmc"
    holey.write_text("\n".join(ln for ln in lines if ln != "2,7,CINE_MRI,2") + "\n")
    with pytest.raises(UserError, match="reader '2' has no score of case '7' in modality "
                                        "'CINE_MRI'"):
        file_pilot(holey)
    three = tmp_path / "three.imrmc"
    three.write_text("\n".join([*lines, "1,1,OTHER,3"]) + "\n")
    with pytest.raises(UserError, match="needs 2 modalities, the file has 3"):
        file_pilot(three)
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    with pytest.raises(UserError, match=r"junk\.txt: not an iMRMC input file"):
        file_pilot(junk)
    with pytest.raises(UserError, match="cannot read the pilot file"):
        file_pilot(tmp_path / "missing.imrmc")


def test_file_pilot_equals_the_core_on_the_same_arrays():
    lines = VAN_DYKE.read_text(encoding="utf-8").splitlines()
    rows = [ln.split(",") for ln in lines[lines.index("BEGIN DATA:") + 1:] if ln]
    y = np.array([int(v) for r, _, _, v in rows if r == "-1"])
    s = np.zeros((2, 5, y.size))
    for r, c, m, v in rows:
        if r != "-1":
            s[int(m == "CINE_MRI"), int(r) - 1, int(c) - 1] = float(v)
    assert file_pilot(VAN_DYKE).components == pilot_from_modalities(y, s[0], s[1]).components
