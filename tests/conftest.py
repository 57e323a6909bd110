"""Shared fixtures: offscreen Qt, fresh workspaces, small generated photos and manifests."""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("WBSDESK_WORKSPACE", None)

REPO = Path(__file__).resolve().parent.parent
PROTOCOLS = REPO / "study_protocols"
PORTRAITS = REPO.parent / "shared" / "data" / "portraits"


@pytest.fixture
def ws(tmp_path: Path):
    """A fresh, empty workspace (closed after the test)."""
    from wbsdesk.services.workspace import open_workspace

    w = open_workspace(tmp_path / "ws")
    yield w
    w.close()


@pytest.fixture
def fast_scrypt(monkeypatch):
    """Cheap scrypt parameters for new admin passphrase hashes (N=2^17 costs ~0.4 s each)."""
    from wbsdesk.services import admin

    monkeypatch.setattr(admin, "SCRYPT_PARAMS", {"n": 2**10, "r": 8, "p": 1, "dklen": 32})


@pytest.fixture
def study(ws):
    """Study ``s`` following the paper's protocol, in the fresh workspace."""
    from wbsdesk.services.studies import create_study

    return create_study(ws, "s", PROTOCOLS / "liu2021_wbs.toml")


def make_photo(path: Path, *, seed: int = 0, size: tuple[int, int] = (96, 112),
               fmt: str | None = None, mode: str = "RGB") -> Path:
    """Write a small unique photo (noise, so every seed gives different bytes)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(arr, "RGB")
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt)
    return path


def write_manifest(path: Path, rows: Iterable[dict[str, object]], *,
                   delimiter: str = ",", encoding: str = "utf-8") -> Path:
    """Write a manifest CSV from dict rows (keys of the first row are the header)."""
    rows = list(rows)
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def photo_set(tmp_path: Path) -> Callable[..., Path]:
    """Make ``n`` photos + a manifest in a folder; returns the manifest path."""

    def make(n: int = 6, groups: tuple[str, ...] = ("wbs", "other_syndrome", "healthy"),
             folder: str = "incoming", start: int = 0) -> Path:
        d = tmp_path / folder
        rows = []
        for i in range(start, start + n):
            name = f"P{i:03d}.png"
            make_photo(d / name, seed=1000 + i)
            rows.append({"subject_id": f"S{i:03d}", "photo": name,
                         "group": groups[i % len(groups)], "sex": "MF"[i % 2],
                         "age_months": 12 + i, "site": f"site{i % 2}"})
        return write_manifest(d / "subjects.csv", rows)

    return make


def snapshot(root: Path) -> dict[str, str]:
    """Hash of every file under a (closed) workspace, except the log folder."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith("logs"):
            continue
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A workspace with the full demo study (without its training run: tests that need a run
    make a small one), built once per test session; read it, or copy it."""
    from wbsdesk.services.demo import build_demo
    from wbsdesk.services.workspace import open_workspace

    root = tmp_path_factory.mktemp("demo") / "ws"
    with open_workspace(root) as w:
        build_demo(w, train=False)
    return root


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path):
    """A private copy of the demo workspace, open."""
    import shutil

    from wbsdesk.services.workspace import open_workspace

    root = tmp_path / "demo_ws"
    shutil.copytree(demo_template, root)
    w = open_workspace(root)
    yield w
    w.close()
