"""The full Liu et al. (2021) training protocol, timed: 5 architectures x 5 folds x 100 epochs.

Meant for a GPU. Reads the hyper-parameters from ``study_protocols/liu2021_wbs.toml``
(batch 16, SGD lr 0.01, augmentation x2, 224 px) and runs :func:`wbsdesk.ml.cv.run_cv` on

- ``--crops DIR --labels CSV``: a CSV with columns ``photo`` (file name in DIR), ``label``
  (0/1) and optionally ``subject`` and ``fold`` (1..5; otherwise assigned, stratified by
  label and grouped by subject); or
- by default, 340 synthetic 224 px crops (104 positive, 236 negative, as in the paper).

``--init imagenet`` needs the five ImageNet files in torchvision's cache (see
``wbsdesk weights import``); ``--init none`` (default) trains from scratch, which takes
the same time. The 25 units (architecture x fold) go through the engine's scheduler, as
``wbsdesk train`` runs them: by default one unit per visible GPU (``--devices cuda:0,cuda:1``
picks GPUs); ``--workers N`` trains N units at once (several per GPU: the paper's batches of
16 leave a GPU idle between kernel launches, which other processes fill); ``--ray ADDRESS``
runs them as Ray tasks. Checkpoints are written at most once a minute
(``--checkpoint-seconds``), as on a GPU an epoch takes a fraction of a second. Prints ONE
JSON line: wall time in total and per architecture (summed over its units), img/s, the
workers used.

    python benchmarks/paper_protocol.py --device cuda [--epochs 100] [--workers N]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

from wbsdesk.core.folds import assign_folds
from wbsdesk.core.jobs import Progress, ProgressFn, Throttle
from wbsdesk.core.protocol import parse_protocol
from wbsdesk.core.scheduling import parse_devices
from wbsdesk.ml.cv import CVSpec, run_cv
from wbsdesk.ml.cvspec import fold_dir

try:
    from benchmarks.train_throughput import make_crops
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from train_throughput import make_crops

REPO = Path(__file__).resolve().parent.parent
log = logging.getLogger("paper_protocol")


def read_labels(crops: Path, labels_csv: Path) -> tuple[list[str], list[Path], list[int],
                                                        list[str], list[int] | None]:
    with open(labels_csv, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    ids = [r["photo"] for r in rows]
    paths = [crops / r["photo"] for r in rows]
    labels = [int(r["label"]) for r in rows]
    subjects = [r.get("subject") or r["photo"] for r in rows]
    folds = [int(r["fold"]) for r in rows] if rows and rows[0].get("fold") else None
    return ids, paths, labels, subjects, folds


def _progress_log() -> ProgressFn:
    """One log line every 15 s (and at every unit change) on stderr."""
    throttled = Throttle(lambda p: log.info("%d/%d %s", p.done, p.total, p.message),
                         per_second=1 / 15)

    def report(p: Progress) -> None:
        if p.event is not None and p.event.unit_changed:
            log.info("%d/%d %s", p.done, p.total, p.message)
        else:
            throttled(p)

    return report


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crops", type=Path)
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--archs", default=None, help="comma-separated (default: the paper's 5)")
    ap.add_argument("--init", choices=("none", "imagenet"), default="none")
    ap.add_argument("--run-dir", type=Path, default=None, help="keep the run here (resumable)")
    ap.add_argument("--compile", action="store_true", help="torch.compile on CUDA")
    ap.add_argument("--bf16", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--photos", type=int, default=340, help="synthetic crops (104/340 positive)")
    ap.add_argument("--px", type=int, default=None, help="input size (default: protocol's 224)")
    ap.add_argument("--workers", type=int, default=None,
                    help="units trained at once (default: the scheduler's choice)")
    ap.add_argument("--devices", default="", help="GPUs, e.g. cuda:0,cuda:1 (default: all)")
    ap.add_argument("--ray", default=None, help="Ray cluster address (or auto)")
    ap.add_argument("--checkpoint-seconds", type=float, default=60.0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")

    proto = parse_protocol((REPO / "study_protocols" / "liu2021_wbs.toml").read_text(),
                           source="liu2021_wbs.toml")
    with tempfile.TemporaryDirectory() as tmp:
        if args.crops:
            ids, paths, labels, subjects, folds = read_labels(args.crops, args.labels)
        else:
            paths = make_crops(Path(tmp), args.photos, proto.training.input_px)
            ids = [p.stem for p in paths]
            labels = [1 if i < round(args.photos * 104 / 340) else 0
                      for i in range(args.photos)]
            subjects, folds = ids, None
        if folds is None:
            per_subject = dict(zip(subjects, labels, strict=True))
            fold_of = assign_folds(list(per_subject), [str(v) for v in per_subject.values()],
                                   k=proto.folds.k, seed=proto.folds.seed)
            folds = [fold_of[s] for s in subjects]
        run_dir = args.run_dir or Path(tmp) / "run"
        bf16 = {"auto": None, "on": True, "off": False}[args.bf16]
        spec = CVSpec.from_protocol(
            proto.training, proto.augmentation, run_dir=run_dir, photo_ids=ids,
            crop_paths=paths, labels=labels, folds=folds, epochs=args.epochs,
            device=args.device, compile=args.compile, bf16=bf16,
            weights_dir="default" if args.init == "imagenet" else None,
            **({"input_px": args.px} if args.px else {}),
            **({"archs": tuple(args.archs.split(","))} if args.archs else {}))
        spec = dataclasses.replace(spec, checkpoint_seconds=args.checkpoint_seconds,
                                   workers=args.workers, devices=parse_devices(args.devices),
                                   ray_address=args.ray)
        workers: list[str] = []
        log_it = _progress_log()

        def progress(p: Progress) -> None:
            if p.event is not None and p.event.state == "running" and p.event.worker:
                workers.append(p.event.worker)
            log_it(p)

        t0 = time.perf_counter()
        summary = run_cv(spec, progress=progress)
        total = time.perf_counter() - t0
        per_arch = {}
        for arch in spec.archs:
            done = [json.loads((fold_dir(spec.run_dir, arch, k) / "done.json").read_text())
                    for k in spec.fold_numbers]
            secs = [d["train_seconds"] for d in done]
            n_img = sum(d["train_seconds"] * d["images_per_second"] for d in done)
            per_arch[arch] = {"train_seconds": round(sum(secs), 2),
                              "img_s": round(n_img / sum(secs), 1) if sum(secs) else None,
                              "fold_seconds": [round(x, 2) for x in secs],
                              "final_loss": [round(d["epoch_losses"][-1], 4) for d in done]}
    dev = summary.plan.device
    out = {"benchmark": "paper_protocol", "device": dev,
           "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
           "gpus_visible": torch.cuda.device_count() if torch.cuda.is_available() else 0,
           "torch": torch.__version__, "plan": summary.plan.as_dict(), "epochs": args.epochs,
           "photos": len(ids), "init": args.init, "workers_asked": args.workers,
           "devices": args.devices or None, "ray": args.ray,
           "workers_used": sorted(set(workers)) or ["in-process"],
           "checkpoint_seconds": args.checkpoint_seconds, "per_arch": per_arch,
           "total_seconds": round(total, 2)}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
