"""The reproducibility bundle of the demo study: contents, pseudonyms, verify and tampering."""

from __future__ import annotations

import json
import re
import shutil
import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from tests.gui.test_dashboard import _add_demo_run
from wbsdesk.errors import UserError
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.bundle import verify_bundle, write_bundle
from wbsdesk.services.bundle_checklist import CLAIM_2024, TRIPOD_AI
from wbsdesk.services.bundle_data import gather, read_inputs, write_inputs
from wbsdesk.services.result_tables import comparison_tables
from wbsdesk.services.studies import load_study
from wbsdesk.services.table_render import result_csv
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import open_workspace

MAGIC = {"JPEG": b"\xff\xd8\xff", "PNG": b"\x89PNG\r\n\x1a\n"}


@pytest.fixture(scope="module")
def demo_bundle(demo_template, tmp_path_factory):
    """The demo workspace with a quick synthetic run, and its bundle (simulated readers)."""
    root = tmp_path_factory.mktemp("bundle") / "ws"
    shutil.copytree(demo_template, root)
    with open_workspace(root) as ws:
        _add_demo_run(ws)
        res = write_bundle(ws, "demo", root.parent / "demo.zip", include_simulated=True)
    return root, res


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rewrite(src: Path, dst: Path, change: dict[str, bytes], *, fix_manifest: bool = False):
    """A copy of a bundle with some members replaced (and the manifest's hashes updated)."""
    import hashlib

    members = {**_members(src), **change}
    if fix_manifest:
        manifest = json.loads(members["MANIFEST.json"])
        for name in change:
            manifest["files"][name] = hashlib.sha256(change[name]).hexdigest()
        members["MANIFEST.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


def test_the_demo_bundle_holds_what_the_issue_lists(demo_bundle):
    _, res = demo_bundle
    names = set(res.files)
    for needed in ("MANIFEST.json", "README.md", "protocol.json", "seeds.json", "analysis.json",
                   "environment.json", "run/run.json", "run/checkpoints.csv",
                   "run/pretrained_weights.csv", "data/cases.csv", "data/predictions.csv",
                   "data/readers.csv", "data/reads.csv", "methods.md", "model_card.md",
                   "checklist.md", "report/report.html", "report/report.pdf"):
        assert needed in names, needed
    tables = {n for n in names if n.startswith("tables/")}
    assert tables == {f"tables/{t}.csv" for t in (
        "table1", "table3", "table4", "table4_folds", "auc", "table5",
        "delong_model_vs_reader", "delong_model_vs_model", "mrmc_readers", "mrmc")}
    m = _members(res.path)
    seeds = json.loads(m["seeds.json"])
    assert seeds["folds"] == 7 and seeds["k"] == 5 and seeds["training"] == 7
    assert set(seeds["reading_orders"]) == {"R1", "R2", "R3", "R4"}
    env = json.loads(m["environment.json"])
    assert env["bundle_written_with"]["platform"] and env["training"]["versions"]
    assert "numpy" in env["bundle_written_with"]["packages"]
    assert m["run/checkpoints.csv"].decode().count("\n") == 1 + 2 * 5  # 2 archs x 5 folds
    manifest = json.loads(m["MANIFEST.json"])
    assert manifest["format"] == "wbsdesk-bundle" and manifest["include_simulated"] is True
    assert set(manifest["files"]) == names - {"MANIFEST.json"}


def test_verify_recomputes_every_table_of_the_demo_bundle_without_a_workspace(demo_bundle):
    _, res = demo_bundle
    result = verify_bundle(res.path)
    assert result.ok, [m.describe() for m in result.mismatches]
    assert len(result.tables) == 10 and result.cells > 500
    assert result.study == "demo" and not result.changed_files


def test_the_bundled_tables_have_the_workspace_reports_numbers(demo_bundle):
    root, res = demo_bundle
    with open_workspace(root) as ws, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = build_comparison(ws, "demo", include_simulated=True)
    m = _members(res.path)
    for t in comparison_tables(comp):
        ours = m[f"tables/{t.name}.csv"].decode()
        theirs = result_csv(t)
        # only the readers' names differ (R1.. in the bundle)
        strip = re.compile(r"Simulated [a-z ]+ \d( \(sim\))?|R\d( \(sim\))?")
        assert strip.sub("X", ours) == strip.sub("X", theirs), t.name


def test_a_changed_prediction_makes_verify_fail_naming_the_table_and_cell(demo_bundle,
                                                                         tmp_path):
    _, res = demo_bundle
    text = _members(res.path)["data/predictions.csv"].decode()
    lines = text.splitlines(keepends=True)
    case, photo, arch, fold, p = lines[1].rstrip("\n").split(",")
    new_p = repr(1.0 - float(p))
    lines[1] = ",".join([case, photo, arch, fold, new_p]) + "\n"
    bad = _rewrite(res.path, tmp_path / "bad.zip",
                   {"data/predictions.csv": "".join(lines).encode()})
    result = verify_bundle(bad)
    assert not result.ok
    assert result.changed_files == ("data/predictions.csv",)
    auc = [m for m in result.mismatches if m.table == "auc" and m.column == "AUC"]
    assert auc and auc[0].label == "ResNet-18" and auc[0].row == 1
    assert "table auc, row 1 (ResNet-18), column 'AUC': bundled " in auc[0].describe()


def test_verify_recomputes_and_does_not_only_check_hashes(demo_bundle, tmp_path):
    """A table edited together with the manifest's hash still fails: the data disagree."""
    _, res = demo_bundle
    text = _members(res.path)["tables/auc.csv"].decode()
    header, first, *rest = text.splitlines(keepends=True)
    cells = first.split(",")
    cells[4] = "0.5"  # the AUC column
    bad = _rewrite(res.path, tmp_path / "edited.zip",
                   {"tables/auc.csv": "".join([header, ",".join(cells), *rest]).encode()},
                   fix_manifest=True)
    result = verify_bundle(bad)
    assert not result.changed_files and not result.ok
    assert [(m.table, m.row, m.column, m.bundled) for m in result.mismatches] == \
        [("auc", 1, "AUC", "0.5")]


def test_no_photo_or_crop_is_bundled_without_with_crops(demo_bundle):
    _, res = demo_bundle
    assert not res.with_crops
    for name, data in _members(res.path).items():
        assert not name.startswith("crops/"), name
        assert not name.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff",
                                          ".bmp")), name
        for kind, magic in MAGIC.items():
            assert magic not in data, f"{kind} bytes in {name}"


def test_with_crops_bundles_the_model_crops_by_photo_pseudonym(demo_bundle, tmp_path):
    root, _ = demo_bundle
    with open_workspace(root) as ws:
        res = write_bundle(ws, "demo", tmp_path / "crops.zip", include_simulated=True,
                           with_crops=True)
    m = _members(res.path)
    crops = sorted(n for n in m if n.startswith("crops/"))
    cases = m["data/cases.csv"].decode().splitlines()[1:]
    assert len(crops) == len(cases) == 150
    assert all(re.fullmatch(r"crops/P\d{4}\.(png|jpg)", n) for n in crops)
    assert all(m[n].startswith((MAGIC["PNG"], MAGIC["JPEG"])) for n in crops)
    assert "are in `crops/`" in m["README.md"].decode()
    assert verify_bundle(res.path).ok


def test_no_subject_key_reader_name_or_file_name_is_in_the_bundle(demo_bundle):
    root, res = demo_bundle
    with open_workspace(root) as ws:
        study = ws.store.study("demo")
        keys = [s.key for s in ws.store.subjects(study.id)]
        readers = {ws.store.reader_by_id(s.reader_id).name for s in ws.store.sessions(study.id)}
        files = [p.original_name for p in ws.store.photos(study.id)]
    blob = b"\n".join(_members(res.path).values())
    for secret in [*keys, *readers, *files]:
        assert secret.encode() not in blob, secret
    readers_csv = _members(res.path)["data/readers.csv"].decode()
    assert "R1,pediatric cardiologist,18,simulated," in readers_csv


def test_the_data_files_read_back_to_the_gathered_values(demo_bundle):
    root, _ = demo_bundle
    with open_workspace(root) as ws:
        st = load_study(ws, "demo")
        inputs = gather(ws, st, get_run(ws, st, None), include_simulated=True)
    files: dict[str, bytes] = {}
    write_inputs(inputs, files.__setitem__)
    assert read_inputs(files.__getitem__) == inputs


def test_an_existing_file_is_not_replaced_without_force(demo_bundle, tmp_path):
    root, _ = demo_bundle
    out = tmp_path / "b.zip"
    out.write_bytes(b"keep me")
    with open_workspace(root) as ws:
        with pytest.raises(UserError, match="exists already") as err:
            write_bundle(ws, "demo", out)
        assert "--force" in err.value.hint
        assert out.read_bytes() == b"keep me"
        res = write_bundle(ws, "demo", out, force=True)
    assert zipfile.is_zipfile(out) and res.path == out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["b.zip"]  # no temporary file left
    with zipfile.ZipFile(out) as zf:
        assert all((i.external_attr >> 16) & 0o777 == 0o600 for i in zf.infolist())
    # without the simulated readers the demo's comparison holds the models only
    m = _members(out)
    assert "included" in m["data/readers.csv"].decode().splitlines()[0]
    assert m["data/reads.csv"].decode().count("\n") == 1
    assert verify_bundle(out).ok


def test_the_model_card_methods_and_checklist_follow_the_data(demo_bundle):
    _, res = demo_bundle
    m = {k: v.decode() for k, v in _members(res.path).items() if k.endswith(".md")}
    card = m["model_card.md"]
    assert card.startswith("---\n") and '\nintended_use: "research only"\n' in card
    front = card.split("\n---\n", 1)[0]
    assert "synthetic: true" in front and "simulated: 4" in front
    assert "## Subgroup results" in card and "| ResNet-18 | sex |" in card
    assert "## Limitations" in card and "Simulated readers are computer-generated" in card
    methods = m["methods.md"]
    assert "Four simulated readers (computer-generated ratings, not physicians)" in methods
    assert "Readers saw each photo" not in methods
    assert "Obuchowski NA, Rockette HE" in methods
    checklist = m["checklist.md"]
    rows = [r for r in checklist.splitlines() if re.match(r"\| \d", r)]
    assert len(rows) == len(TRIPOD_AI) + len(CLAIM_2024) == 52 + 44
    members = set(_members(res.path))
    for row in rows:
        status, where = [c.strip() for c in row.strip("|").split(" | ")][3:5]
        assert status in ("answered", "partly", "not answered"), row
        if status == "not answered":
            assert where == "—"
            continue
        for place in where.split(" — ")[0].split(";"):
            path = place.strip().split(" ")[0]
            assert path in members or any(n.startswith(path) for n in members), (row, path)


def test_front_matter_strings_are_quoted_so_yaml_reads_them_back():
    from wbsdesk.services.model_card import yaml_front_matter

    data = {"title": 'x: "y" # z', "a": {"b": [1.5, "- w"], "c": None}, "d": float("nan"),
            "e": [], "f": True}
    lines = yaml_front_matter(data).splitlines()
    assert lines[0] == lines[-1] == "---"
    assert lines[1] == 'title: "x: \\"y\\" # z"'
    assert json.loads(lines[1].split(": ", 1)[1]) == data["title"]
    assert lines[2:] == ["a:", "  b:", "    - 1.5", '    - "- w"', "  c: null", "d: .nan",
                         "e: []", "f: true", "---"]
    try:
        import yaml
    except ImportError:  # not a dependency; the expected lines above are YAML
        return
    parsed = yaml.safe_load("\n".join(lines[1:-1]))
    assert parsed["title"] == data["title"] and parsed["a"] == data["a"]
