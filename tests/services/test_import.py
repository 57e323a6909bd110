"""Photo import: the happy paths, and every refused case leaves the workspace untouched."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import PROTOCOLS, make_photo, snapshot, write_manifest
from wbsdesk.errors import UserError
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, show_study
from wbsdesk.services.workspace import open_workspace


def test_happy_path_copies_content_addressed_and_keeps_metadata(ws, study, photo_set):
    manifest = photo_set(6)
    rep = import_manifest(ws, "s", manifest)
    assert (rep.subjects_added, rep.photos_added, rep.files_copied) == (6, 6, 6)
    photos = ws.store.photos(study.id)
    for p in photos:
        stored = ws.root / p.stored_path
        assert stored.read_bytes() == (manifest.parent / p.original_name).read_bytes()
        assert p.sha256 in p.stored_path and p.is_primary
        assert oct(os.stat(stored).st_mode & 0o777) == "0o600"
        assert (p.width, p.height, p.format) == (96, 112, "PNG")
    subjects = {s.key: s for s in ws.store.subjects(study.id)}
    assert subjects["S001"].group == "other_syndrome" and subjects["S001"].sex == "F"
    assert subjects["S001"].age_months == 13.0
    assert subjects["S001"].metadata == {"site": "site1"}
    audit = ws.store.audit_log(study.id)
    assert audit[-1]["action"] == "import" and audit[-1]["detail"]["subjects_added"] == 6


def test_reimport_is_a_no_op(ws, study, photo_set):
    manifest = photo_set(4)
    import_manifest(ws, "s", manifest)
    n_audit = len(ws.store.audit_log())
    rep = import_manifest(ws, "s", manifest)
    assert rep.no_op and rep.photos_already_present == 4 and rep.files_copied == 0
    assert len(ws.store.subjects(study.id)) == 4 and len(ws.store.photos(study.id)) == 4
    assert len(ws.store.audit_log()) == n_audit


def test_second_manifest_adds_subjects(ws, study, photo_set):
    import_manifest(ws, "s", photo_set(3))
    rep = import_manifest(ws, "s", photo_set(2, folder="more", start=3))
    assert rep.subjects_added == 2
    assert show_study(ws, "s")["subjects"] == 5


def test_bom_semicolons_crlf_decimal_comma_and_sex_words(ws, study, tmp_path):
    d = tmp_path / "in"
    make_photo(d / "a.jpg", seed=1, fmt="JPEG")
    make_photo(d / "b.jpg", seed=2, fmt="JPEG")
    text = ("subject_id;photo;group;sex;age_months;Diagnosis\r\n"
            "A;a.jpg;WBS;female;32,5;Williams\r\n"
            "B;b.jpg;healthy;Male;;\r\n")
    (d / "m.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    import_manifest(ws, "s", d / "m.csv")
    subj = {s.key: s for s in ws.store.subjects(study.id)}
    assert subj["A"].group == "wbs" and subj["A"].sex == "F" and subj["A"].age_months == 32.5
    assert subj["A"].diagnosis == "Williams"
    assert subj["B"].sex == "M" and subj["B"].age_months is None


def test_several_photos_with_one_primary(ws, study, tmp_path):
    d = tmp_path / "in"
    for i in range(3):
        make_photo(d / f"x{i}.png", seed=50 + i)
    m = write_manifest(d / "m.csv", [
        {"subject_id": "X", "photo": "x0.png", "group": "wbs", "primary": "0"},
        {"subject_id": "X", "photo": "x1.png", "group": "wbs", "primary": "1"},
        {"subject_id": "X", "photo": "sub/../x2.png", "group": "wbs", "primary": ""},
    ])
    import_manifest(ws, "s", m)
    photos = ws.store.photos(study.id)
    assert [p.original_name for p in photos if p.is_primary] == ["x1.png"]
    assert len(photos) == 3


def test_photos_folder_option(ws, study, tmp_path):
    make_photo(tmp_path / "pics" / "deep" / "a.png", seed=9)
    m = write_manifest(tmp_path / "m.csv", [{"subject_id": "A", "photo": "deep/a.png",
                                            "group": "healthy"}])
    import_manifest(ws, "s", m, tmp_path / "pics")
    assert len(ws.store.photos(study.id)) == 1


# ---------------------------------------------------------------------------------------------
# Refused imports: each case writes one bad row next to a good one and checks the message and
# that the workspace is byte-for-byte unchanged.


def _png_header_only(path: Path, w: int, h: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


def _bad_file(d: Path, kind: str) -> str:
    p = d / f"bad_{kind}.jpg"
    if kind == "zero":
        p.write_bytes(b"")
    elif kind == "truncated":
        make_photo(p, seed=77, size=(200, 200), fmt="JPEG")
        p.write_bytes(p.read_bytes()[:600])
    elif kind == "garbage":
        p.write_bytes(os.urandom(4000))
    elif kind == "heic":
        p = d / "bad.heic"
        p.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + os.urandom(500))
    elif kind == "text":
        p = d / "notes.png"
        p.write_text("these are my notes, not a photo\n" * 20)
    elif kind == "pillow_bomb":
        p = d / "bomb.png"
        _png_header_only(p, 60000, 60000)
    elif kind == "over_cap":
        p = d / "big.png"
        Image.new("RGB", (1500, 1000), (90, 90, 90)).save(p)
    elif kind == "tiny":
        p = d / "tiny.png"
        make_photo(p, seed=3, size=(40, 40))
    elif kind == "folder":
        p = d / "afolder"
        p.mkdir()
    return p.name


GOOD = {"subject_id": "G1", "photo": "good.png", "group": "healthy"}

BAD_ROWS = {
    # id: (row dict or file kind, expected words in the reason)
    "missing_file": ({"photo": "nope.jpg"}, "nope.jpg: file not found"),
    "zero_bytes": ("zero", "empty (0 bytes)"),
    "truncated": ("truncated", "truncated or corrupt"),
    "garbage": ("garbage", "not an image format"),
    "heic": ("heic", "convert it to JPEG"),
    "text_as_png": ("text", "not an image format"),
    "pillow_bomb": ("pillow_bomb", "decompression bomb"),
    "over_pixel_cap": ("over_cap", "over the cap of 1,000,000"),
    "tiny": ("tiny", "only 40x40 pixels"),
    "folder": ("folder", "is a folder"),
    "dotdot": ({"photo": "../outside.png"}, "outside the photos folder"),
    "absolute": ({"photo": "/etc/passwd"}, "absolute paths are not allowed"),
    "symlink_out": ({"photo": "link.png"}, "link that points outside"),
    "unknown_group": ({"group": "noonan"}, "unknown group 'noonan'"),
    "bad_sex": ({"sex": "x"}, "sex 'x' is not M or F"),
    "bad_age": ({"age_months": "three"}, "age_months 'three' is not a number"),
    "negative_age": ({"age_months": "-4"}, "outside 0..1500"),
    "bad_primary": ({"primary": "maybe"}, "primary 'maybe' is not"),
    "empty_subject": ({"subject_id": ""}, "subject_id is empty"),
    "empty_photo": ({"photo": ""}, "photo is empty"),
}


@pytest.fixture
def bad_ws(tmp_path):
    """A workspace with one imported subject, a strict pixel cap, closed; and a photo dir."""
    proto = tmp_path / "p.toml"
    proto.write_text((PROTOCOLS / "liu2021_wbs.toml").read_text().replace(
        "max_pixels = 120_000_000", "max_pixels = 1_000_000"))
    root = tmp_path / "ws"
    with open_workspace(root) as w:
        create_study(w, "s", proto)
        d0 = tmp_path / "first"
        make_photo(d0 / "f.png", seed=500)
        import_manifest(w, "s", write_manifest(d0 / "m.csv", [
            {"subject_id": "F1", "photo": "f.png", "group": "wbs", "sex": "M"}]))
    d = tmp_path / "in"
    make_photo(d / "good.png", seed=501)
    make_photo(tmp_path / "outside.png", seed=502)
    (d / "link.png").symlink_to(tmp_path / "outside.png")
    return root, d


def _refused(root: Path, manifest: Path, photos: Path | None = None) -> UserError:
    before = snapshot(root)
    with open_workspace(root) as w, pytest.raises(UserError) as info:
        import_manifest(w, "s", manifest, photos)
    assert snapshot(root) == before, "a refused import changed the workspace"
    assert "Nothing was imported" in info.value.message
    return info.value


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_is_refused_and_named(bad_ws, case):
    root, d = bad_ws
    spec, words = BAD_ROWS[case]
    row = {"subject_id": "B1", "photo": "x", "group": "wbs", "sex": "", "age_months": "",
           "primary": ""}
    if isinstance(spec, str):
        row["photo"] = _bad_file(d, spec)
    else:
        row.update(spec)
    good = {**GOOD, "sex": "", "age_months": "", "primary": ""}
    manifest = write_manifest(d / "m.csv", [good, row])
    err = _refused(root, manifest)
    assert len(err.problems) == 1, err.problems
    p = err.problems[0]
    assert p.file == str(manifest) and p.row == 3
    assert words in p.reason


@pytest.mark.parametrize(("rows", "row", "words"), [
    ([{**GOOD, "primary": "1"}, {**GOOD, "photo": "g2.png", "group": "wbs", "primary": "0"}], 3,
     "group 'wbs' disagrees with row 2"),
    ([GOOD, {"subject_id": "G2", "photo": "copy.png", "group": "wbs"}], 3,
     "identical bytes to good.png of subject G1"),
    ([GOOD, {**GOOD}], 3, "listed twice"),
    ([{"subject_id": "F1", "photo": "good.png", "group": "healthy", "primary": "0"}], 2,
     "already in the study with group 'wbs'"),
    ([{"subject_id": "G9", "photo": "f_copy.png", "group": "healthy"}], 2,
     "already imported for subject F1"),
])
def test_cross_row_problems(bad_ws, rows, row, words):
    root, d = bad_ws
    make_photo(d / "g2.png", seed=700)
    (d / "copy.png").write_bytes((d / "good.png").read_bytes())
    (d / "f_copy.png").write_bytes((root.parent / "first" / "f.png").read_bytes())
    err = _refused(root, write_manifest(d / "m.csv", rows))
    assert [(p.row, words in p.reason) for p in err.problems] == [(row, True)], err.problems


def test_several_photos_need_exactly_one_primary(bad_ws):
    root, d = bad_ws
    make_photo(d / "g2.png", seed=700)
    err = _refused(root, write_manifest(d / "m.csv", [GOOD, {**GOOD, "photo": "g2.png"}]))
    assert "has 2 photos and none is marked primary" in err.problems[0].reason
    err = _refused(root, write_manifest(d / "m.csv", [
        {**GOOD, "primary": "1"}, {**GOOD, "photo": "g2.png", "primary": "yes"}]))
    assert "2 photos are marked primary" in err.problems[0].reason


@pytest.mark.parametrize(("content", "words", "row"), [
    (b"", "the manifest is empty", None),
    (b"\n\n  \n", "the manifest is empty", None),
    (b"subject_id,photo,group\n", "header but no rows", None),
    (b"subject_id,group\nA,wbs\n", "missing required column(s): photo", 1),
    (b"subject_id,photo,group,photo\nA,a,wbs,b\n", "named twice: photo", 1),
    (b"subject_id,photo,group\nA,good.png,healthy\nB,b.png\n", "has 2 fields", 3),
    (b"subject_id,photo,group\nA,good.png,healthy\nB\xe9,b.png,wbs\n", "not UTF-8", 3),
])
def test_malformed_csv(bad_ws, content, words, row):
    root, d = bad_ws
    m = d / "m.csv"
    m.write_bytes(content)
    err = _refused(root, m)
    assert any(words in p.reason and p.row == row and p.file == str(m)
               for p in err.problems), err.problems


def test_all_problems_are_reported_at_once(bad_ws):
    root, d = bad_ws
    m = write_manifest(d / "m.csv", [
        GOOD,
        {"subject_id": "B1", "photo": "missing.png", "group": "wbs"},
        {"subject_id": "B2", "photo": "good.png", "group": "unknown"},
        {"subject_id": "B3", "photo": "../outside.png", "group": "healthy"},
    ])
    err = _refused(root, m)
    assert [p.row for p in err.problems] == [3, 4, 5]
    text = str(err)
    assert "missing.png" in text and "unknown group" in text and "outside" in text


def test_missing_photos_folder(ws, study, tmp_path, photo_set):
    with pytest.raises(UserError, match="photos folder does not exist"):
        import_manifest(ws, "s", photo_set(1), tmp_path / "nowhere")


def test_unknown_study(ws, photo_set):
    with pytest.raises(UserError, match="no study named 'zzz'") as info:
        import_manifest(ws, "zzz", photo_set(1))
    assert "wbsdesk demo" in info.value.hint


def test_cancel_during_copy_leaves_nothing(tmp_path, photo_set):
    from wbsdesk.core.jobs import CancelToken
    from wbsdesk.errors import Cancelled

    root = tmp_path / "ws"
    with open_workspace(root) as w:
        create_study(w, "s", PROTOCOLS / "liu2021_wbs.toml")
    before = snapshot(root)
    manifest = photo_set(5)
    token = CancelToken()

    def progress(p):
        if p.message == "copying photos" and p.done == 3:
            token.cancel()

    with open_workspace(root) as w, pytest.raises(Cancelled):
        import_manifest(w, "s", manifest, progress=progress, cancel=token)
    assert snapshot(root) == before
