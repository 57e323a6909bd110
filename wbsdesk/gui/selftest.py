"""``wbsdesk --self-test``: prove an installation works end to end, offscreen, in minutes.

It checks, in a temporary workspace that is removed afterwards:

1. the store: a new workspace, its migrations and an integrity check;
2. the demo study: synthetic faces, import, folds, crops and simulated readers;
3. MTCNN: a face is detected on a generated synthetic photo;
4. training: a one-epoch CPU training run in a spawned process (the GUI's job path);
5. rendering: the dashboard drawn offscreen to a PNG;
6. the report: figure, HTML and the PDF laid out with reportlab (its fonts included).

Each step is logged with its time; the exit status is 0 only when all of them pass.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: Small demo sizes: enough for two folds and both classes, fast on any CPU.
SELFTEST_COUNTS = {"wbs": 6, "other_syndrome": 4, "healthy": 6}


def _step_store(root: Path) -> str:
    from wbsdesk.services.workspace import open_workspace

    with open_workspace(root) as ws:
        problems = ws.store.integrity_check()
        if problems:
            raise RuntimeError(f"integrity check failed: {problems}")
        return f"schema {len(ws.store.schema_version())} migrations, integrity ok"


def _step_demo(root: Path) -> str:
    from wbsdesk.services import demo
    from wbsdesk.services.workspace import open_workspace

    with open_workspace(root) as ws:
        res = demo.build_demo(ws, train=False, counts=SELFTEST_COUNTS)
    return f"{res.subjects} synthetic subjects, crops and simulated readers"


def _step_mtcnn(root: Path) -> str:
    import numpy as np

    from wbsdesk.ml.faces import align_photo
    from wbsdesk.services.synthetic_faces import draw_subject

    found = 0
    for i in range(4):  # MTCNN finds ~97 % of synthetic faces; any of four suffices
        _, face = draw_subject("healthy", np.random.default_rng([2021, i]), sex="F",
                               age_months=48)
        path = root / f"mtcnn_{i}.jpg"
        face.image.save(path, "JPEG", quality=92)
        res = align_photo(path)
        if res.chosen is not None and res.model_crop is not None:
            found += 1
            break
    if not found:
        raise RuntimeError("MTCNN found no face on four generated photos")
    return f"face found (confidence {res.chosen.confidence:.3f}), crops made"


def _train_in_child(root: str, queue: multiprocessing.Queue) -> None:
    try:
        from wbsdesk.services import training
        from wbsdesk.services.workspace import open_workspace

        with open_workspace(Path(root)) as ws:
            rep = training.train(ws, training.TrainRequest(
                "demo", archs=("resnet18",), settings=training.RunSettings(epochs=1),
                device="cpu", weights="none"))
        queue.put(("ok", rep.run))
    except BaseException:  # report anything to the parent
        queue.put(("error", traceback.format_exc()))


def _step_train(root: Path) -> str:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_train_in_child, args=(str(root), queue), daemon=True)
    proc.start()
    proc.join(timeout=600)
    if proc.is_alive():
        proc.terminate()
        raise RuntimeError("training in the spawned process did not finish in 10 minutes")
    status, detail = queue.get(timeout=5) if not queue.empty() else ("error", "no result")
    if status != "ok" or proc.exitcode != 0:
        raise RuntimeError(f"training in the spawned process failed: {detail}")
    return f"one-epoch CPU run {detail} in a spawned process"


def _step_dashboard(root: Path) -> str:
    from PIL import Image

    from wbsdesk.gui.app import run_gui

    shot = root / "dashboard.png"
    code = run_gui(workspace=root, study="demo", screenshot=shot, view="dashboard")
    if code != 0 or not shot.exists():
        raise RuntimeError(f"dashboard rendering failed (status {code})")
    with Image.open(shot, formats=["PNG"]) as im:  # the screenshot written just now
        size = im.size
    return f"dashboard rendered to PNG {size[0]}x{size[1]}"


def _step_report(root: Path) -> str:
    import warnings

    from wbsdesk.gui.report_render import QtReportRenderer
    from wbsdesk.services.analysis import build_comparison
    from wbsdesk.services.reports import write_report
    from wbsdesk.services.workspace import open_workspace

    with open_workspace(root) as ws, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny demo's undefined values, named in it
        comp = build_comparison(ws, "demo", include_simulated=True)
        files = write_report(comp, root / "report", renderer=QtReportRenderer())
    pdf = files.files["pdf"].read_bytes()
    pages = pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ")
    if not pdf.startswith(b"%PDF") or b"Vera" not in pdf or pages < 2:
        raise RuntimeError(f"the report PDF is incomplete ({len(pdf)} bytes, {pages} pages)")
    return f"report PDF of {pages} pages ({len(pdf) // 1024} KiB) with the figure and tables"


STEPS: list[tuple[str, Callable[[Path], str]]] = [
    ("store", _step_store),
    ("demo study", _step_demo),
    ("MTCNN", _step_mtcnn),
    ("training (spawned process)", _step_train),
    ("dashboard", _step_dashboard),
    ("report PDF", _step_report),
]


def run_self_test(report: Callable[[str], None] = log.info) -> int:
    """Run every step in a temporary workspace; 0 when all pass, else 1.

    Parameters
    ----------
    report : callable
        Receives one line per step (the CLI prints them; the frozen app logs them).
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(tempfile.mkdtemp(prefix="wbsdesk-selftest-"))
    failures = 0
    try:
        for name, step in STEPS:
            t0 = time.perf_counter()
            try:
                detail = step(root)
            except Exception as exc:  # the self-test reports every failure, then goes on
                failures += 1
                log.exception("self-test step %s failed", name)
                report(f"FAIL {name}: {exc}")
                if name in ("store", "demo study"):
                    break  # later steps need these
                continue
            report(f"ok   {name} ({time.perf_counter() - t0:.1f} s): {detail}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report("self-test passed" if not failures else f"self-test FAILED ({failures} step(s))")
    return 0 if not failures else 1
