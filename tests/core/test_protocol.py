"""Study protocols: the bundled files, the paper's values, and strict validation."""

from __future__ import annotations

import tomllib

import pytest

from tests.conftest import PROTOCOLS
from wbsdesk.core.protocol import parse_protocol, protocol_from_dict
from wbsdesk.errors import UserError

MINIMAL = 'name = "x"\ntitle = "X"\n[groups]\nnames = ["a", "b"]\npositive = "a"\n'


def test_paper_protocol_encodes_the_paper():
    p = parse_protocol((PROTOCOLS / "liu2021_wbs.toml").read_text(), source="liu2021_wbs.toml")
    assert p.groups.names == ("wbs", "other_syndrome", "healthy")
    assert p.groups.positive == "wbs" and p.groups.controls == ("other_syndrome", "healthy")
    assert p.photos.per_subject == 1
    assert (p.folds.k, p.folds.stratify) == (5, "group")
    assert (p.faces.detector, p.faces.landmarks, p.faces.model_crop_px) == ("mtcnn", 5, 224)
    assert p.faces.reader_face_area == (0.30, 0.60)
    assert p.training.architectures == ("vgg16", "vgg19", "resnet18", "resnet34",
                                        "mobilenet_v2")
    assert (p.training.init, p.training.num_outputs) == ("imagenet", 2)
    t = p.training
    assert (t.optimizer, t.lr, t.batch_size, t.epochs) == ("sgd", 0.01, 16, 100)
    a = p.augmentation
    assert a.copies == 2 and a.hflip and a.autoaugment == "imagenet"
    assert a.normalize_mean == (0.485, 0.456, 0.406)
    r = p.reading
    assert r.seconds_per_photo == 10.0 and len(r.scale) == 5
    assert r.order == "per_reader_random"
    assert p.statistics.sd_ddof == 1


def test_paper_protocol_documents_every_open_choice():
    text = (PROTOCOLS / "liu2021_wbs.toml").read_text()
    for key in ("momentum", "weight_decay", "rotation_degrees", "crop_scale", "lr_schedule",
                "unsure_counts_as", "sd_ddof"):
        line = next(ln for ln in text.splitlines() if ln.startswith(key))
        assert "[default]" in line, key


@pytest.mark.parametrize("name", ["liu2021_wbs", "demo"])
def test_bundled_protocols_round_trip(name):
    p = parse_protocol((PROTOCOLS / f"{name}.toml").read_text())
    assert protocol_from_dict(p.to_dict()) == p
    # every key in the file is a real key (no silently ignored settings)
    data = tomllib.loads((PROTOCOLS / f"{name}.toml").read_text())
    assert set(data) <= set(p.to_dict())


def test_demo_protocol_is_cpu_sized():
    p = parse_protocol((PROTOCOLS / "demo.toml").read_text())
    assert p.synthetic and p.training.init == "none"
    # 8 epochs at 64 px train in about 2 min on 2 cores (benchmarks/demo_quality.py)
    assert p.training.epochs <= 10 and p.training.input_px <= 96


def test_defaults_fill_in():
    p = parse_protocol(MINIMAL)
    assert p.folds.k == 5 and p.reading.seconds_per_photo == 10.0


def test_the_kiosk_idle_lock_is_optional():
    assert parse_protocol(MINIMAL).kiosk.idle_lock_minutes == 5.0
    p = parse_protocol(MINIMAL + "[kiosk]\nidle_lock_minutes = 1.5\n")
    assert p.kiosk.idle_lock_minutes == 1.5 and p.to_dict()["kiosk"] == {"idle_lock_minutes": 1.5}


@pytest.mark.parametrize(("extra", "match"), [
    ("bogus = 1\n", "unknown key 'bogus' in top level"),
    ("[folds]\nk = 1\n", r"'folds.k' must be >= 2"),
    ("[folds]\nk = 2.5\n", r"'folds.k' must be an integer"),
    ("[folds]\nk = true\n", r"'folds.k' must be an integer"),
    ("[folds]\nshuffle = true\n", "unknown key 'folds.shuffle'"),
    ("[training]\nlr = 0\n", r"'training.lr' must be > 0"),
    ("[training]\nlr = \"fast\"\n", r"'training.lr' must be a number"),
    ("[training]\noptimizer = \"adam\"\n", r"'training.optimizer' must be one of 'sgd'"),
    ("[faces]\nreader_face_area = [0.6, 0.3]\n", "low < high"),
    ("[faces]\nreader_face_area = [0.3]\n", "exactly 2 items"),
    ("[faces]\nmin_confidence = 1.5\n", r"'faces.min_confidence' must be <= 1"),
    ("[reading]\nscale = [\"no\", \"yes\"]\n", "odd number of levels"),
    ("[reading]\nseconds_per_photo = -1\n", "must be >= 0.05"),
    ("[statistics]\nttest = \"paired\"\n", "'statistics.ttest' must be one of"),
    ("[augmentation]\nhflip = 1\n", "'augmentation.hflip' must be true or false"),
    ("[training]\narchitectures = []\n", "must not be empty"),
    ("[training]\narchitectures = [\"vgg16\", \"vgg16\"]\n", "duplicate"),
    ("folds = 5\n", r"\[folds\] must be a table, got int"),
    ("[kiosk]\nidle_lock_minutes = 0\n", r"'kiosk.idle_lock_minutes' must be >= 0.5"),
    ("[kiosk]\nidle_lock = 3\n", "unknown key 'kiosk.idle_lock'"),
])
def test_validation_names_file_and_key(extra, match):
    with pytest.raises(UserError, match=match) as info:
        text = MINIMAL + extra if extra.startswith("[") else extra + MINIMAL
        parse_protocol(text, source="study.toml")
    assert "study.toml" in str(info.value)


@pytest.mark.parametrize(("text", "match"), [
    ('title = "X"\n[groups]\nnames = ["a", "b"]\npositive = "a"\n', "missing required key 'name'"),
    ('name = "x"\ntitle = "X"\n[groups]\nnames = ["a", "b"]\npositive = "c"\n',
     "'groups.positive' = 'c' is not in groups.names"),
    ('name = "x"\ntitle = "X"\n[groups]\nnames = ["a"]\npositive = "a"\n', "at least two"),
    ('name = "x"\ntitle = "X"\n[groups]\nnames = ["a", "a b"]\npositive = "a"\n',
     "letters, digits"),
    ('name = "x"\ntitle = "X"\n[groups]\nnames = ["a", "b"]\npositive = "a"\n'
     'labels = { c = "C" }\n', "unknown group 'c'"),
    ('name = "x"\ntitle = [\n', "not valid TOML"),
])
def test_structural_errors(text, match):
    with pytest.raises(UserError, match=match):
        parse_protocol(text, source="study.toml")


@pytest.mark.parametrize(("unsure", "expected"), [
    ("negative", [False, False, False, True, True]),
    ("positive", [False, False, True, True, True]),
])
def test_binary_read_from_rating(unsure, expected):
    p = parse_protocol(MINIMAL + f'[reading]\nunsure_counts_as = "{unsure}"\n')
    assert [p.reading.binary_read(r) for r in range(1, 6)] == expected
