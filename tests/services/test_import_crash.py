"""A killed import leaves no row without its file, and 'db check --repair' removes what it left.

The import is run in a child process and killed with SIGKILL: once while it writes its
staging copies (a real kill from outside, as soon as the first file appears), and once right
after it has moved some photos into photos/ inside its still open transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.conftest import PROTOCOLS, REPO, snapshot, write_manifest
from wbsdesk.cli import cli
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.photos import (
    CROP_GRACE_S,
    find_orphan_files,
    remove_orphan_files,
    staging_folder,
)
from wbsdesk.services.studies import create_study
from wbsdesk.services.workspace import open_workspace

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from wbsdesk.services.importer import import_manifest
    from wbsdesk.services.workspace import open_workspace

    root, manifest, die_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if die_after:
        real, moved = os.replace, []
        def replace(src, dst):
            real(src, dst)
            if "/photos/" in str(dst):
                moved.append(dst)
                if len(moved) == die_after:
                    os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace
    with open_workspace(root) as ws:
        import_manifest(ws, "s", Path(manifest))
    print("finished")
""")


def _files(root: Path) -> dict[str, str]:
    """The photo, crop and tmp trees of a workspace (the database is compared by content)."""
    return {k: v for k, v in snapshot(root).items()
            if k.split("/")[0] in ("photos", "crops", "tmp")}


def _content(root: Path) -> tuple:
    with open_workspace(root) as w:
        st = w.store.study("s")
        return ([(s.key, s.group) for s in w.store.subjects(st.id)],
                [(p.sha256, p.stored_path, p.is_primary) for p in w.store.photos(st.id)],
                len(w.store.audit_log()))


@pytest.fixture
def crash_setup(tmp_path):
    root = tmp_path / "ws"
    rng = np.random.default_rng(0)
    first = tmp_path / "first"
    first.mkdir()
    Image.fromarray(rng.integers(0, 256, (300, 240, 3), np.uint8)).save(first / "a.png")
    with open_workspace(root) as w:
        create_study(w, "s", PROTOCOLS / "liu2021_wbs.toml")
        import_manifest(w, "s", write_manifest(first / "m.csv", [
            {"subject_id": "A", "photo": "a.png", "group": "wbs"}]))
    folder = tmp_path / "many"
    folder.mkdir()
    rows = []
    for i in range(30):  # TIFFs: each is re-encoded when staged, which takes a moment
        arr = rng.integers(0, 256, (600, 800, 3), np.uint8)
        Image.fromarray(arr).save(folder / f"p{i:02d}.tif")
        rows.append({"subject_id": f"S{i:02d}", "photo": f"p{i:02d}.tif", "group": "healthy"})
    return root, write_manifest(folder / "m.csv", rows)


def _child(root: Path, manifest: Path, die_after: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(manifest),
                             str(die_after)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _repair_and_check(root: Path, files_before: dict, content_before: tuple) -> None:
    assert _content(root) == content_before, "the killed import changed the database"
    listing = CliRunner().invoke(cli, ["--workspace", str(root), "db", "check"])
    assert listing.exit_code == 0, listing.output
    assert "orphaned file:" in listing.output
    with open_workspace(root) as w:
        orphans = find_orphan_files(w)
    assert orphans and _files(root) != files_before
    res = CliRunner().invoke(cli, ["--workspace", str(root), "db", "check", "--repair", "--yes"])
    assert res.exit_code == 0, res.output
    assert f"Removed {len(orphans)} orphaned files." in res.output
    assert _files(root) == files_before and _content(root) == content_before


def test_kill_while_staging_leaves_only_tmp_files(crash_setup):
    root, manifest = crash_setup
    files_before, content_before = _files(root), _content(root)
    child = _child(root, manifest)
    deadline = time.monotonic() + 120
    try:
        while not list((root / "tmp").glob("import-*/*.tif")):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "no staged file appeared"
            time.sleep(0.002)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    leftovers = [k for k in set(_files(root)) - set(files_before)]
    assert leftovers and all(k.startswith("tmp/import-") for k in leftovers), leftovers
    _repair_and_check(root, files_before, content_before)
    with open_workspace(root) as w:  # the workspace imports normally afterwards
        assert import_manifest(w, "s", manifest).photos_added == 30


def test_kill_inside_the_transaction_leaves_unreferenced_photos(crash_setup):
    root, manifest = crash_setup
    files_before, content_before = _files(root), _content(root)
    child = _child(root, manifest, die_after=3)
    child.wait(180)
    assert child.returncode == -signal.SIGKILL, child.communicate()
    new = set(_files(root)) - set(files_before)
    moved = [k for k in new if k.startswith("photos/") and k.endswith(".tif")]
    assert len(moved) == 3, sorted(new)
    _repair_and_check(root, files_before, content_before)


def test_repair_asks_first_and_spares_a_running_import(crash_setup, tmp_path):
    root, _ = crash_setup
    stray = root / "photos" / "ff" / ("f" * 64 + ".png")
    stray.parent.mkdir()
    stray.write_bytes(b"left over")
    old_crop = root / "crops" / "aa" / ("a" * 64 + ".png")
    old_crop.parent.mkdir(parents=True)
    old_crop.write_bytes(b"crop")
    os.utime(old_crop, (time.time() - CROP_GRACE_S - 5,) * 2)
    new_crop = old_crop.with_name("b" * 64 + ".png")
    new_crop.write_bytes(b"an alignment is about to record this one")
    with open_workspace(root) as w, staging_folder(w.tmp_dir) as running:
        (running / "x.tif").write_bytes(b"staged by a running import")
        assert find_orphan_files(w) == sorted([stray, old_crop])
        res = CliRunner().invoke(cli, ["--workspace", str(root), "db", "check", "--repair"],
                                 input="n\n")
        assert res.exit_code == 1 and stray.exists() and old_crop.exists()
        assert remove_orphan_files(w, [stray, old_crop, new_crop, running]) == 2
        assert not stray.exists() and not stray.parent.exists() and not old_crop.exists()
        assert new_crop.exists() and (running / "x.tif").exists()
