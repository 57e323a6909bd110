"""Display timing of the reading screen: exact display time, switch latency, memory.

Runs the real reader widget (the same code path as a physician's session and as
``wbsdesk session dry-run``) on a temporary workspace whose reader crops are 768 x 768
JPEGs, like the paper protocol's (``reader_crop_px = 768``):

1. timing: ``--photos`` photos (default 20) shown for ``--seconds`` each (default 10 s,
   the real protocol), each answered by a key press ``--answer-after`` seconds after the
   photo has gone grey. Reported: |measured display - seconds| (p50/p99/max, goal p99
   <= 17 ms) and the photo-to-photo switch latency from the answer to the next photo on
   screen (p50/p99/max, goal p99 <= 50 ms), and the share of it spent committing the read
   (``commit_ms``: the store fsyncs each read, ``synchronous = FULL``, before the next photo
   may appear). "Measured" is the store's ``display_s``: monotonic clock after the photo was
   painted to after the grey was painted.
2. aided: a sequential aided session (``--aided-photos`` photos, default 20, shown for
   ``--aided-seconds`` each, default 2 s, in both views; the aid with 768 x 768 heatmap
   overlays), each view answered ``--answer-after`` seconds after it has gone grey.
   Reported: the blind-to-aided switch latency, from the blind answer to the same photo's
   aided view on screen (p50/p99/max, goal p99 <= 50 ms; it includes committing the locked
   blind read), beside the photo-to-photo switch of part 1.
3. memory: a ``--memory-photos`` session (default 340, the paper's count) with a short
   display time (``--memory-seconds``, default 0.05 s; 340 x 10 s would take an hour), in a
   fresh process. Reported: that process's peak resident memory and how much its resident
   memory grew between the first and the last photo.

Prints one JSON line. Runs offscreen unless ``$DISPLAY`` is set (e.g. under Xvfb) or
``--platform`` says otherwise.

Usage: ``python benchmarks/display_timing.py [--seconds 10] [--photos 20]``
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_DISPLAY_P99_MS = 17.0
GOAL_SWITCH_P99_MS = 50.0


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_workspace(root: Path, n: int, *, aided: bool = False) -> None:
    """A workspace with study ``bench`` (paper protocol) whose ``n`` photos have crops.

    ``aided``: the protocol's design is ``sequential_aided`` with probability and heatmap,
    and the study has a finished run's scores and a prepared aid with heatmap overlays.
    """
    import hashlib

    import numpy as np
    from PIL import Image

    from wbsdesk.services.importer import import_manifest
    from wbsdesk.services.studies import create_study
    from wbsdesk.services.workspace import open_workspace

    src = root / "incoming"
    src.mkdir(parents=True)
    rows = ["subject_id,photo,group"]
    groups = ("wbs", "other_syndrome", "healthy")
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (80, 64, 3), dtype=np.uint8)).save(
            src / f"p{i}.png")
        rows.append(f"B{i:04d},p{i}.png,{groups[i % 3]}")
    (src / "m.csv").write_text("\n".join(rows) + "\n")
    yy, xx = np.mgrid[0:768, 0:768]
    protocol = REPO / "study_protocols" / "liu2021_wbs.toml"
    if aided:
        text = protocol.read_text().replace(
            "[reading]\n", '[reading]\ndesign = "sequential_aided"\n'
            'aid = ["probability", "heatmap"]\n', 1)
        protocol = root / "aided.toml"
        protocol.write_text(text)
    with open_workspace(root / "ws") as ws:
        create_study(ws, "bench", protocol)
        import_manifest(ws, "bench", src / "m.csv")
        study = ws.store.study("bench")
        with ws.store.atomic():
            for k, p in enumerate(ws.store.photos(study.id)):
                # a smooth, face-sized picture: JPEG-decoding cost like a real crop
                r = np.hypot(xx - 384, yy - 384 - 10 * (k % 7))
                arr = np.stack([(200 - r / 4) % 256, (150 + k) % 256 - r / 8, 120 + 0 * r],
                               axis=-1).clip(0, 255).astype(np.uint8)
                buf = io.BytesIO()
                Image.fromarray(arr).save(buf, "JPEG", quality=95, subsampling=0)
                data = buf.getvalue()
                sha = hashlib.sha256(data).hexdigest()
                rel = f"crops/{sha[:2]}/{sha}.jpg"
                (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
                (ws.root / rel).write_bytes(data)
                ws.store.upsert_crop(p.id, status="ok", reasons=[], method="manual", n_faces=1,
                                     reader_crop_path=rel, reader_crop_sha256=sha, settings={})
        if aided:
            _add_aid(ws, study.id)


def _add_aid(ws, study_id: int) -> None:
    """A finished run's scores and an aid set with 768 x 768 heatmap overlays (PNG)."""
    import hashlib

    import numpy as np
    from PIL import Image

    photos = ws.store.photos(study_id)
    crops = ws.store.crops(study_id)
    with ws.store.atomic():
        run_id = ws.store.insert_run(study_id, name="bench-run", run_dir="runs/bench-run",
                                     archs=["resnet18"], protocol_json="{}", spec={}, seed=0,
                                     device="cpu", versions={}, weights={})
        rows = []
        for k, p in enumerate(photos):
            with Image.open(ws.root / crops[p.id].reader_crop_path) as im:
                arr = np.asarray(im.convert("RGB")).copy()
            arr[200:560, 250:520, 0] = 255  # a hot region
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, "PNG")
            data = buf.getvalue()
            sha = hashlib.sha256(data).hexdigest()
            rel = f"aids/{sha[:2]}/{sha}.png"
            (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (ws.root / rel).write_bytes(data)
            rows.append((p.id, (k * 0.37) % 1.0, 1 + k % 5, rel, sha))
        set_id = ws.store.insert_aid_set(study_id, run_id=run_id, model="ensemble",
                                         archs=["resnet18"], heatmaps=True, aids=rows)
        ws.store.set_setting(f"aid_set.{study_id}", str(set_id))


COMMIT_MS: list[float] = []


def _time_commits() -> None:
    """Record how long each read's commit takes (it sits inside the switch latency)."""
    from wbsdesk.services import reading

    original = reading.record_read

    def timed(ws, session_id, record):
        t = time.perf_counter()
        try:
            return original(ws, session_id, record)
        finally:
            COMMIT_MS.append((time.perf_counter() - t) * 1000)

    reading.record_read = timed


def run_session(ws_root: Path, *, seconds: float, answer_at: float, window: float,
                reader: str, synchronous: str = "default",
                aided_at: float | None = None) -> tuple[list[dict], dict]:
    """One full session through the real reader widget; returns its reads and RSS samples."""
    from PySide6.QtWidgets import QApplication

    from wbsdesk.gui.dry_run import run_script
    from wbsdesk.gui.reader_view import build_reader_widget
    from wbsdesk.services import reading
    from wbsdesk.services.workspace import open_workspace

    app = QApplication.instance() or QApplication(sys.argv[:1])
    mem: dict[str, float] = {}
    with open_workspace(ws_root) as ws:
        if synchronous != "default":  # what-if: the store opens with synchronous = FULL
            ws.store.db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        setup = reading.open_dry_run(ws, "bench", reader=reader, seconds=seconds,
                                     response_window=window, seed=1)
        answers = [reading.ScriptedAnswer(4 if i % 2 else 2, answer_at,
                                          None if aided_at is None else 3, aided_at)
                   for i in range(len(setup.plan))]
        widget = build_reader_widget(ws, setup)
        if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
            widget.resize(1600, 1000)
            widget.show()
        else:
            widget.showFullScreen()
        app.processEvents()

        def sample(position: int) -> None:
            if position == 0:
                mem["rss_first_mb"] = _rss_mb()
            mem["rss_last_mb"] = _rss_mb()

        widget.photo_shown.connect(sample)
        run_script(widget, answers)
        widget.shutdown()
        widget.close()
        reads = ws.store.reads(setup.session_id)
    return reads, mem


def _pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def timing(ws_root: Path, seconds: float, answer_after: float, synchronous: str) -> dict:
    _time_commits()
    reads, _ = run_session(ws_root, seconds=seconds, answer_at=seconds + answer_after,
                           window=seconds + 5.0, reader="bench-timing", synchronous=synchronous)
    errors = [abs(r["display_s"] - seconds) * 1000 for r in reads]
    switches = [(b["shown_mono"] - a["answered_mono"]) * 1000
                for a, b in itertools.pairwise(reads)]
    return {"photos": len(reads),
            "display_error_ms": {"p50": round(_pct(errors, 50), 2),
                                 "p99": round(_pct(errors, 99), 2),
                                 "max": round(max(errors), 2)},
            "switch_latency_ms": {"p50": round(_pct(switches, 50), 2),
                                  "p99": round(_pct(switches, 99), 2),
                                  "max": round(max(switches), 2)},
            "commit_ms": {"p50": round(_pct(COMMIT_MS, 50), 2),
                          "p99": round(_pct(COMMIT_MS, 99), 2),
                          "max": round(max(COMMIT_MS), 2)}}


def aided_timing(ws_root: Path, seconds: float, answer_after: float) -> dict:
    """The blind-to-aided switch of a sequential aided session (answers on the grey)."""
    COMMIT_MS.clear()
    reads, _ = run_session(ws_root, seconds=seconds, answer_at=seconds + answer_after,
                           window=seconds + 5.0, reader="bench-aided",
                           aided_at=seconds + answer_after)
    by = {(r["position"], r["phase"]): r for r in reads}
    # commits come in read order: blind (phase 1) then aided (phase 2) of each photo
    blind_commit = dict(zip(sorted(by), COMMIT_MS, strict=False))
    pairs = [p for p, phase in sorted(by) if phase == 1 and (p, 2) in by]
    switches = [(by[(p, 2)]["shown_mono"] - by[(p, 1)]["answered_mono"]) * 1000 for p in pairs]
    commits = [blind_commit[(p, 1)] for p in pairs]
    screen = [s - c for s, c in zip(switches, commits, strict=True)]
    errors = [abs(r["display_s"] - seconds) * 1000 for r in reads if r["phase"] == 2]
    return {"photos": len(switches), "seconds_per_view": seconds,
            "blind_to_aided_ms": {"p50": round(_pct(switches, 50), 2),
                                  "p99": round(_pct(switches, 99), 2),
                                  "max": round(max(switches), 2)},
            "blind_commit_ms": {"p50": round(_pct(commits, 50), 2),
                                "p99": round(_pct(commits, 99), 2)},
            "switch_without_commit_ms": {"p50": round(_pct(screen, 50), 2),
                                         "p99": round(_pct(screen, 99), 2)},
            "aided_display_error_ms": {"p99": round(_pct(errors, 99), 2)}}


def memory_child(ws_root: Path, seconds: float) -> None:
    reads, mem = run_session(ws_root, seconds=seconds, answer_at=seconds / 4, window=1.0,
                             reader="bench-memory")
    print(json.dumps({"photos": len(reads), "peak_rss_mb": round(_peak_mb(), 1),
                      "rss_growth_mb": round(mem["rss_last_mb"] - mem["rss_first_mb"], 1)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="display time (default 10 s)")
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--answer-after", type=float, default=0.3,
                    help="answer this long after the photo has gone grey")
    ap.add_argument("--aided-photos", type=int, default=20,
                    help="photos of the aided session (0: skip it)")
    ap.add_argument("--aided-seconds", type=float, default=2.0,
                    help="display time of both views in the aided session (default 2 s)")
    ap.add_argument("--memory-photos", type=int, default=340)
    ap.add_argument("--memory-seconds", type=float, default=0.05)
    ap.add_argument("--platform", choices=("auto", "offscreen", "xcb"), default="auto")
    ap.add_argument("--synchronous", choices=("default", "normal"), default="default",
                    help="what-if: run the timing session with PRAGMA synchronous = NORMAL "
                         "instead of the store's FULL")
    ap.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    platform = args.platform
    if platform == "auto":
        platform = os.environ.get("QT_QPA_PLATFORM") or (
            "xcb" if os.environ.get("DISPLAY") else "offscreen")
    os.environ["QT_QPA_PLATFORM"] = platform
    if args.memory_child:
        memory_child(args.memory_child, args.memory_seconds)
        return
    sys.path.insert(0, str(REPO))
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wbs-bench-") as tmp:
        tmp_path = Path(tmp)
        build_workspace(tmp_path / "t", args.photos)
        build_workspace(tmp_path / "m", args.memory_photos)
        result = {"benchmark": "display_timing", "platform": platform,
                  "seconds_per_photo": args.seconds, "synchronous": args.synchronous}
        result |= timing(tmp_path / "t" / "ws", args.seconds, args.answer_after,
                         args.synchronous)
        if args.aided_photos:
            build_workspace(tmp_path / "a", args.aided_photos, aided=True)
            result["aided"] = aided_timing(tmp_path / "a" / "ws", args.aided_seconds,
                                           args.answer_after)
        out = subprocess.run([sys.executable, __file__, "--memory-child",
                              str(tmp_path / "m" / "ws"), "--memory-seconds",
                              str(args.memory_seconds), "--platform", platform],
                             capture_output=True, text=True, check=True)
        mem = json.loads(out.stdout.strip().splitlines()[-1])
    result["memory"] = {"photos": mem["photos"], "seconds_per_photo": args.memory_seconds,
                        "peak_rss_mb": mem["peak_rss_mb"], "rss_growth_mb": mem["rss_growth_mb"]}
    result["goals"] = {
        "display_p99_le_17ms": result["display_error_ms"]["p99"] <= GOAL_DISPLAY_P99_MS,
        "switch_p99_le_50ms": result["switch_latency_ms"]["p99"] <= GOAL_SWITCH_P99_MS}
    if "aided" in result:
        result["goals"]["blind_to_aided_p99_le_50ms"] = (
            result["aided"]["blind_to_aided_ms"]["p99"] <= GOAL_SWITCH_P99_MS)
    result["wall_s"] = round(time.monotonic() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
