"""The aid of aided reading: out-of-fold scores and Grad-CAM overlays from a real run."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from wbsdesk.core.training_request import TrainRequest
from wbsdesk.errors import UserError
from wbsdesk.services import aid as aid_service
from wbsdesk.services import training
from wbsdesk.services.aid import heatmap_in_reader_crop, prepare_aid, require_aid
from wbsdesk.services.studies import load_study


@pytest.fixture
def trained(tiny):
    """The tiny study (2 folds, resnet18) with a finished run."""
    rep = training.train(tiny, TrainRequest("t", deterministic=True))
    return tiny, rep.run


def test_each_photo_gets_the_score_and_heatmap_of_the_fold_that_did_not_train_on_it(
        trained):
    ws, run = trained
    study = load_study(ws, "t")
    reading = study.protocol.reading
    photos = aid_service.scored_photo_ids(ws, study)
    # a session needs a prepared aid, with the heatmaps the protocol shows
    with pytest.raises(UserError, match="no aid has been prepared") as err:
        require_aid(ws, study, reading, photos)
    assert "wbsdesk aid prepare t --run RUN" in err.value.hint
    prepare_aid(ws, "t", run, heatmaps=False)
    with pytest.raises(UserError, match="has no heatmaps"):
        require_aid(ws, study, reading, photos)

    aid = prepare_aid(ws, "t", run, model="ensemble", heatmaps=True)
    row = ws.store.run(run)
    preds = {(a, p): (f, prob) for a, p, f, prob in ws.store.predictions(row.id)}
    assert sorted(aid.scores) == sorted(photos) and len(photos) == 12
    folds = ws.store.folds(study.id)
    subject_of = {p.id: p.subject_id for p in ws.store.photos(study.id)}
    for pid in photos:
        fold, prob = preds[("resnet18", pid)]
        assert aid.scores[pid] == pytest.approx(prob)
        # the fold that scored the photo is the fold the photo was held out in
        assert aid.folds[pid] == fold == folds[subject_of[pid]]
    # content-addressed, user-only PNGs at the reader crop's size
    crops = ws.store.crops(study.id)
    for pid, path in aid.heatmaps.items():
        data = path.read_bytes()
        assert path.name == hashlib.sha256(data).hexdigest() + ".png"
        assert path.parent.parent == ws.root / "aids"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        with Image.open(path) as im, Image.open(ws.root / crops[pid].reader_crop_path) as rc:
            assert im.size == rc.size
    # recorded: run, model, and the study's current aid; again is the same set
    stored = ws.store.aid_set(aid.id)
    assert (stored.run_id, stored.model, stored.archs, stored.heatmaps) == (
        row.id, "ensemble", ("resnet18",), True)
    assert aid_service.current_aid(ws, "t").id == aid.id
    again = prepare_aid(ws, "t", run, model="ensemble", heatmaps=True)
    assert again.id == aid.id and again.heatmaps == aid.heatmaps
    assert require_aid(ws, study, reading, photos).id == aid.id


def test_a_run_that_lacks_photos_or_is_unfinished_is_refused_and_nothing_is_stored(trained):
    ws, run = trained
    row = ws.store.run(run)
    victim = ws.store.predictions(row.id)[0]
    with ws.store.atomic():
        ws.store.db.execute("DELETE FROM predictions WHERE run_id = ? AND photo_id = ?",
                            [row.id, victim[1]])
    study = load_study(ws, "t")
    photo = next(p for p in ws.store.photos(study.id) if p.id == victim[1])
    subject = next(s for s in ws.store.subjects(study.id) if s.id == photo.subject_id)
    with pytest.raises(UserError) as err:
        prepare_aid(ws, "t", run, heatmaps=False)
    msg = err.value.message
    assert f"run {run!r} has no out-of-fold score of resnet18 for 1 of 12 photo(s)" in msg
    assert f"{subject.key} ({photo.original_name})" in msg
    assert ws.store.aid_sets(study.id) == [] and not (ws.root / "aids").exists()
    assert aid_service.current_aid(ws, "t") is None
    # an architecture the run lacks, or a run that is not finished
    with pytest.raises(UserError, match="has no vgg16 models"):
        prepare_aid(ws, "t", run, model="vgg16")
    with ws.store.atomic():
        ws.store.set_run_status(ws.store.run(run).id, "cancelled")
    with pytest.raises(UserError, match=f"run {run!r} is cancelled, not finished"):
        prepare_aid(ws, "t", run)


def test_the_heatmap_lands_where_the_face_is_in_the_reader_crop():
    # model crop 100 px = the photo square (100..300) scaled by 1/2; reader window = the
    # photo square (0..400) at 200 px: the model crop is the reader crop's middle half
    heat = np.zeros((50, 50), np.float32)
    heat[:25, :25] = 1.0  # the top-left quarter of the model crop
    m = [[0.5, 0.0, -50.0], [0.0, 0.5, -50.0]]
    out = heatmap_in_reader_crop(heat, model_matrix=m, reader_window=(0, 0, 400),
                                 model_crop_px=100, reader_px=200)
    assert out.shape == (200, 200)
    assert out[60, 60] == pytest.approx(1.0) and out[90, 90] == pytest.approx(1.0)
    assert out[120, 120] == 0.0 and out[10, 10] == 0.0 and out[190, 60] == 0.0
