"""The full Liu et al. (2021) training protocol, timed: 5 architectures x 5 folds x 100 epochs.

Meant for a GPU. Reads the hyper-parameters from ``study_protocols/liu2021_wbs.toml``
(batch 16, SGD lr 0.01, augmentation x2, 224 px) and runs :func:`wbsdesk.ml.cv.run_cv` on

- ``--crops DIR --labels CSV``: a CSV with columns ``photo`` (file name in DIR), ``label``
  (0/1) and optionally ``subject`` and ``fold`` (1..5; otherwise assigned, stratified by
  label and grouped by subject); or
- by default, 340 synthetic 224 px crops (104 positive, 236 negative, as in the paper).

``--init imagenet`` needs the five ImageNet files in torchvision's cache (see
``wbsdesk weights import``); ``--init none`` (default) trains from scratch, which takes
the same time. ``--fold-procs N`` trains the folds in N processes side by side (one GPU:
its small batches of 16 leave it idle between kernel launches, which other processes fill).
Checkpoints are written at most once a minute (``--checkpoint-seconds``), as on a GPU an
epoch takes a fraction of a second. Prints ONE JSON line: wall time per architecture and in
total, img/s, peak GPU memory.

    python benchmarks/paper_protocol.py --device cuda [--epochs 100] [--archs vgg16,...]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import torch

from wbsdesk.core.folds import assign_folds
from wbsdesk.core.jobs import Throttle
from wbsdesk.core.protocol import parse_protocol
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


def _train(spec: CVSpec) -> float | None:
    """Run (part of) the protocol; returns the process's peak GPU memory in MiB."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    tag = "" if spec.fold_subset is None else f"[folds {','.join(map(str, spec.fold_subset))}] "
    progress = Throttle(lambda p: log.info("%s%d/%d %s", tag, p.done, p.total, p.message),
                        per_second=1 / 15)
    run_cv(spec, progress=progress)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return None


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
    ap.add_argument("--fold-procs", type=int, default=1, help="processes training folds")
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
        spec = dataclasses.replace(spec, checkpoint_seconds=args.checkpoint_seconds)
        t0 = time.perf_counter()
        if args.fold_procs <= 1:
            peaks = [_train(spec)]
        else:
            groups = [tuple(spec.fold_numbers[i::args.fold_procs])
                      for i in range(args.fold_procs)]
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(len(groups)) as pool:
                peaks = pool.map(_train, [dataclasses.replace(spec, fold_subset=g)
                                          for g in groups])
        total = time.perf_counter() - t0
        summary = run_cv(spec)  # every fold is done: collects the timings from the folder
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
           "gpu": torch.cuda.get_device_name() if dev == "cuda" else None,
           "torch": torch.__version__, "plan": summary.plan.as_dict(), "epochs": args.epochs,
           "photos": len(ids), "init": args.init, "fold_procs": args.fold_procs,
           "checkpoint_seconds": args.checkpoint_seconds, "per_arch": per_arch,
           "peak_gpu_mib_per_process": peaks, "total_seconds": round(total, 2)}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
