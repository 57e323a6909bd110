"""Speed of the full report computation at the paper's size, with its audit.

Builds a workspace (in a temporary folder) with the paper's 340 subjects (104 WBS, 91 other
syndromes, 145 healthy, protocol ``liu2021_wbs``: 5 folds, 2000 bootstrap resamples), a
finished run of 24 architectures (the paper's 5 and 19 more names) with synthetic
out-of-fold probabilities for all 5 folds -- 25 models in the report with their ensemble --,
4 physician readers' finished sessions with synthetic 5-level ratings (two photos
unanswered), and for each photo a stored 224 px model crop and its alignment results (the
confound audit reads them). Then times, in this process:

- ``compute``: :func:`wbsdesk.services.analysis.build_comparison` (store queries, Table 1,
  3, 4 and 5, the ensemble, ROC curves and fold bands, DeLong CIs and every DeLong test,
  2000-resample bootstrap CIs of 29 AUCs, the MRMC analyses), then
  :func:`wbsdesk.services.report_audit.attach_audit` (calibration of 25 models and 4
  readers, subgroup AUCs by sex and age band with their tests, the confound audit reading
  340 crops, the trivial baseline on the run's folds with its Table 4 row and the paired
  DeLong tests of the 25 models against it), plus laying out every table
  (:func:`~wbsdesk.services.result_tables.comparison_tables`,
  :func:`~wbsdesk.services.report_audit.audit_tables`); the first call ("cold", which also
  fills the bootstrap's resample cache) and the median of ``--repeats`` further calls;
  ``audit_cold_s`` is the audit's part of the cold call;
- ``files``: :func:`wbsdesk.services.reports.write_report` without a renderer (the CSVs,
  the iMRMC file and its maps, the HTML and the reportlab PDF, audit section included);
- ``render``: the figure (PNG + SVG) with the Qt renderer, offscreen, and the PDF that
  embeds it (skip with ``--no-render``).

The goal (<= 3 s) is for ``compute`` + ``files`` of the cold call (``report_cold_s``, wall
clock). ``report_cold_cpu_s`` is the CPU time of the same work (all threads of the
process): on a machine busy with other work it is the better guide to what an idle one
takes; ``load_average_1min`` says how busy it was. Prints ONE JSON line.

Usage: ``python benchmarks/report_speed.py [--repeats 5] [--no-render]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wbsdesk.core.folds import assign_folds  # noqa: E402
from wbsdesk.services.analysis import build_comparison  # noqa: E402
from wbsdesk.services.report_audit import attach_audit, audit_tables  # noqa: E402
from wbsdesk.services.reports import write_report  # noqa: E402
from wbsdesk.services.result_tables import comparison_tables  # noqa: E402
from wbsdesk.services.studies import create_study, load_study  # noqa: E402
from wbsdesk.services.workspace import open_workspace  # noqa: E402

GOAL_S = 3.0
COUNTS = {"wbs": 104, "other_syndrome": 91, "healthy": 145}
#: The paper's five architectures and 19 more: 24 + their ensemble = 25 models.
ARCHS = ("vgg16", "vgg19", "resnet18", "resnet34", "mobilenet_v2",
         *(f"net{i:02d}" for i in range(1, 20)))
CROP_PX = 224
READERS = {"Pediatric cardiologist 1": 1.6, "Pediatric cardiologist 2": 1.0,
           "Pediatrician 1": 0.5, "Pediatrician 2": 0.9}


def _crop(ws, root: Path, rng: np.random.Generator, pid: int, i: int, group: str) -> None:
    """A stored 224 px model crop (smooth noise) and its alignment results."""
    from PIL import Image

    rel = f"crops/m{i:04d}.png"
    (root / "crops").mkdir(exist_ok=True)
    small = rng.integers(60, 200, (8, 8, 3)).astype(np.uint8)
    Image.fromarray(small).resize((CROP_PX, CROP_PX), Image.BILINEAR).save(root / rel)
    width = float(rng.uniform(120, 220))
    tx = float(rng.uniform(-80, 10)) if group == "healthy" else float(rng.uniform(-80, -20))
    ws.store.upsert_crop(
        pid, status="ok", reasons=[], method="mtcnn", n_faces=1,
        bbox=[80.0, 60.0, width, width * 1.2], landmarks=None,
        confidence=float(rng.uniform(0.95, 1.0)), model_crop_path=rel,
        model_crop_sha256="0" * 64, reader_crop_path=None, reader_crop_sha256=None,
        reader_window=None, model_matrix=[[0.9, 0.0, tx], [0.0, 0.9, -40.0]],
        image_width=400, image_height=480,
        settings={"model_crop_px": CROP_PX, "padding": "grey"}, seconds=0.1)


def build_store(root: Path, seed: int = 2021) -> None:
    """The paper-sized study ``bench`` with run ``bench-run`` and four readers' sessions."""
    rng = np.random.default_rng(seed)
    with open_workspace(root) as ws:
        create_study(ws, "bench", REPO / "study_protocols" / "liu2021_wbs.toml")
        study = load_study(ws, "bench")
        st = ws.store.study("bench")
        photos: list[tuple[int, str]] = []
        with ws.store.atomic():
            ids, groups = [], []
            for g, n in COUNTS.items():
                for _ in range(n):
                    i = len(ids)
                    sid = ws.store.insert_subject(
                        study.id, key=f"B{i:04d}", group=g, sex="MF"[i % 2],
                        age_months=float(rng.uniform(6, 150)), diagnosis=None, metadata={})
                    pid = ws.store.insert_photo(sid, sha256=f"{i:064x}", stored_path=f"p/{i}",
                                                original_name=f"{i}.jpg", fmt="JPEG", width=9,
                                                height=9, is_primary=True)
                    ids.append(sid)
                    groups.append(g)
                    photos.append((pid, g))
                    _crop(ws, root, rng, pid, i, g)
            folds = assign_folds(ids, groups, k=5, seed=2021)
            ws.store.replace_folds(study.id, folds, seed=2021, k=5)
            fold_of = {pid: folds[sid] for sid, (pid, _) in zip(ids, photos, strict=True)}
            run_id = ws.store.insert_run(study.id, name="bench-run", run_dir="runs/bench",
                                         archs=list(ARCHS), protocol_json=st.protocol_json,
                                         spec={}, seed=2021, device="cpu", versions={},
                                         weights={})
            shared = {pid: rng.normal(1.4 if g == "wbs" else 0.0, 0.8) for pid, g in photos}
            for arch in ARCHS:
                prob = {pid: 1 / (1 + np.exp(-2 * (shared[pid] + rng.normal(0, 0.8) - 0.7)))
                        for pid, _ in photos}
                for f in range(1, 6):
                    preds = [(pid, float(p)) for pid, p in prob.items() if fold_of[pid] == f]
                    ws.store.upsert_fold_result(
                        run_id, arch=arch, fold=f, epochs=100, losses=[0.1], checkpoint="c",
                        checkpoint_sha256="0" * 64, n_train=340 - len(preds),
                        n_test=len(preds), train_seconds=0.0, images_per_second=0.0,
                        predictions=preds)
            ws.store.set_run_status(run_id, "finished")
            reading = study.protocol.reading
            cuts = np.array([-0.4, 0.3, 0.9, 1.5])
            for j, (name, skill) in enumerate(READERS.items()):
                rid = ws.store.insert_reader(name=name, role="pediatrician", years=10,
                                             simulated=False, dry_run=False)
                sess = ws.store.insert_session(reader_id=rid, study_id=study.id,
                                               protocol_json=st.protocol_json, order_seed=j,
                                               photo_order=[(p, False) for p, _ in photos])
                for pos, (pid, g) in enumerate(photos):
                    rating = int(1 + np.searchsorted(cuts, rng.normal(
                        skill if g == "wbs" else 0.0, 1.0)))
                    answered = not (j == 0 and pos in (5, 200))
                    ws.store.insert_read(
                        sess, position=pos, photo_id=pid, practice=False,
                        rating=rating if answered else None,
                        binary_read=reading.binary_read(rating) if answered else None,
                        shown_mono=pos * 12.0, hidden_mono=pos * 12.0 + 10,
                        answered_mono=pos * 12.0 + 3 if answered else None, shown_at="t",
                        hidden_at="t", answered_at="t" if answered else None, display_s=10.0,
                        response_s=3.0 if answered else None, after_interruption=False)
                ws.store.finish_session(sess)


def main() -> None:
    """Build the store, time the report, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-render", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the two unanswered photos are named in a warning
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        t0 = time.perf_counter()
        build_store(root)
        setup_s = time.perf_counter() - t0
        with open_workspace(root) as ws:
            times, audit_times, cpu = [], [], []
            for _ in range(1 + args.repeats):
                t, c = time.perf_counter(), time.process_time()
                comp = build_comparison(ws, "bench")
                a = time.perf_counter()
                comp = attach_audit(ws, comp)
                audit_tables(comp)
                audit_times.append(time.perf_counter() - a)
                comparison_tables(comp)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            write_report(comp, Path(tmp) / "report")
            files_s = time.perf_counter() - t
            files_cpu = time.process_time() - c
            render_s = None
            if not args.no_render:
                os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
                from wbsdesk.gui.report_render import QtReportRenderer

                renderer = QtReportRenderer()
                renderer.versions()  # starts Qt; not counted
                t = time.perf_counter()
                write_report(comp, Path(tmp) / "report2", renderer=renderer)
                render_s = time.perf_counter() - t - files_s
        cold = times[0] + files_s
        out = {
            "benchmark": "report_speed", "cases": comp.counts["cases"],
            "paired_cases": comp.counts["paired_cases"], "readers": len(comp.readers),
            "architectures": len(ARCHS), "models": len(comp.models),
            "audit": {"calibrated_models": len(comp.audit.calibration.models),
                      "calibrated_readers": len(comp.audit.calibration.readers),
                      "subgroup_rows": len(comp.audit.subgroups.rows),
                      "crops_read": int(comp.audit.confound.photo_ids.size),
                      "baseline_in_table4": comp.audit.baseline_model is not None,
                      "models_vs_baseline": len(comp.audit.baseline_vs_models)},
            "audit_cold_s": round(audit_times[0], 3),
            "folds": comp.counts["folds"],
            "bootstrap_resamples": comp.protocol.statistics.bootstrap_resamples,
            "compute_cold_s": round(times[0], 3),
            "compute_warm_median_s": round(statistics.median(times[1:]), 3)
            if args.repeats else None,
            "files_s": round(files_s, 3), "report_cold_s": round(cold, 3),
            "report_cold_cpu_s": round(cpu[0] + files_cpu, 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "render_figure_pdf_s": None if render_s is None else round(render_s, 3),
            "store_setup_s": round(setup_s, 2), "goal_s": GOAL_S, "pass": cold <= GOAL_S,
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
