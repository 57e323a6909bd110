"""The PyInstaller spec and project hooks, checked without building the bundle.

``make package-test`` builds and runs the bundle; these tests only check what can be checked
quickly: the spec runs (with stand-ins for PyInstaller's build classes) and names files that
exist, and the hooks collect torchvision's operator libraries and facenet-pytorch's weights.
"""

from __future__ import annotations

import glob
import os
import runpy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "wbsdesk.spec"
HOOKS = PACKAGING / "hooks"


class _Recorder:
    """Stands in for one of PyInstaller's spec classes and keeps its arguments."""

    made: list[_Recorder]

    def __init__(self, *args, **kwargs) -> None:
        self.args = args
        self.kwargs = kwargs
        self.made.append(self)
        # attributes later spec lines read from an Analysis
        self.pure = self.scripts = self.binaries = self.datas = []


def _run_spec(platform: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[_Recorder]]:
    monkeypatch.setattr(sys, "platform", platform)
    made: dict[str, list[_Recorder]] = {}
    names = ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")
    env: dict[str, object] = {"SPECPATH": str(PACKAGING), "__file__": str(SPEC)}
    for name in names:
        made[name] = []
        env[name] = type(name, (_Recorder,), {"made": made[name]})
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), env)
    return made


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_spec_references_existing_files(platform, monkeypatch):
    made = _run_spec(platform, monkeypatch)
    (analysis,) = made["Analysis"]
    scripts = analysis.args[0]
    assert [Path(s) for s in scripts] == [PACKAGING / "entry.py"]
    for src, dest in analysis.kwargs["datas"]:
        assert glob.glob(src), f"spec data {src} matches no file"
        assert dest in ("study_protocols", "resources", "reportlab/fonts")
    assert {d for _, d in analysis.kwargs["datas"]} == {"study_protocols", "resources",
                                                        "reportlab/fonts"}
    assert [Path(p) for p in analysis.kwargs["hookspath"]] == [HOOKS]
    exes = made["EXE"]
    names = [e.kwargs["name"] for e in exes]
    (coll,) = made["COLLECT"]
    assert coll.kwargs["name"] == "wbsdesk"
    assert all(e.kwargs["exclude_binaries"] for e in exes)  # one-folder, not one-file
    if platform == "win32":
        assert names == ["wbsdesk", "wbsdesk-cli"]
        assert [e.kwargs["console"] for e in exes] == [False, True]
    else:
        assert names == ["wbsdesk"]
        assert exes[0].kwargs["console"] is (platform == "linux")
    assert len(made["BUNDLE"]) == (platform == "darwin")
    for e in exes:
        icon = e.kwargs["icon"]
        assert icon is None or Path(icon).is_file()


def test_spec_keeps_what_the_app_needs(monkeypatch):
    (analysis,) = _run_spec("linux", monkeypatch)["Analysis"]
    excludes = set(analysis.kwargs["excludes"])
    for needed in ("torch", "torchvision", "facenet_pytorch", "PySide6", "pyqtgraph", "scipy",
                   "numpy", "PIL", "wbsdesk", "multiprocessing", "sqlite3", "reportlab"):
        assert needed not in excludes
    # the PDF report's fonts travel where wbsdesk.services.report_pdf looks for them
    fonts = {Path(p).name for src, dest in analysis.kwargs["datas"] if dest == "reportlab/fonts"
             for p in glob.glob(src)}
    assert {"Vera.ttf", "VeraBd.ttf", "VeraIt.ttf", "VeraBI.ttf"} <= fonts
    # reportlab's C number formatting (rl_accel) travels too: the 25-model PDF is 30 % faster
    assert "_rl_accel" in analysis.kwargs["hiddenimports"]


def test_reportlab_formats_numbers_in_c():
    from reportlab.lib import rl_accel

    assert getattr(rl_accel.fp_str, "__module__", "") == "_rl_accel"  # reportlab[accel]


def test_icons_are_committed_and_small():
    for name in ("wbsdesk.png", "wbsdesk.ico", "wbsdesk.icns"):
        path = REPO / "resources" / name
        assert path.is_file(), name
        assert path.stat().st_size < 300_000
    from PIL import Image

    with Image.open(REPO / "resources" / "wbsdesk.png") as im:
        assert im.size == (256, 256)


def test_make_icons_writes_every_format(tmp_path):
    make_icons = runpy.run_path(str(PACKAGING / "make_icons.py"))
    written = make_icons["write_icons"](tmp_path)
    assert {p.name for p in written} >= {"wbsdesk.png", "wbsdesk.ico"}


def test_torchvision_hook_collects_the_operator_libraries():
    pytest.importorskip("PyInstaller", reason="PyInstaller comes with `make package`")
    hook = runpy.run_path(str(HOOKS / "hook-torchvision.py"))
    found = {Path(src).name.split(".")[0]: dest for src, dest in hook["binaries"]}
    assert set(found) == {"_C_stable", "image_stable"}
    assert set(found.values()) == {"torchvision"}
    assert hook["module_collection_mode"] == "pyz+py"
    assert "torchvision._C" not in hook["hiddenimports"]  # gone in torchvision 0.29


def test_facenet_hook_collects_the_mtcnn_weights_next_to_the_sources():
    pytest.importorskip("PyInstaller", reason="PyInstaller comes with `make package`")
    hook = runpy.run_path(str(HOOKS / "hook-facenet_pytorch.py"))
    datas = {Path(src).name: Path(dest).as_posix() for src, dest in hook["datas"]}
    assert datas == {f"{n}.pt": "facenet_pytorch/data" for n in ("pnet", "rnet", "onet")}
    # on disk, not only in the archive: mtcnn.py finds them as models/../data/
    assert hook["module_collection_mode"] == "pyz+py"


def test_facenet_finds_its_weights_relative_to_the_models_folder():
    """The layout the facenet hook reproduces in the bundle."""
    import importlib.util

    spec = importlib.util.find_spec("facenet_pytorch")
    assert spec is not None and spec.origin is not None
    models = Path(spec.origin).parent / "models"
    for n in ("pnet", "rnet", "onet"):
        assert os.path.isfile(os.path.join(models, "..", "data", f"{n}.pt"))
