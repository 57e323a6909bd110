"""What running units elsewhere costs: in-process vs worker processes vs Ray tasks.

Trains the same tiny units (resnet18, ``--px`` px synthetic crops, one epoch each, ``--folds``
folds) three ways through :func:`wbsdesk.ml.cv.run_cv`:

- **inline**: one unit after another in this process (``workers=1``);
- **workers**: ``--workers`` spawned worker processes of the local scheduler;
- **ray**: Ray tasks on a local Ray cluster (``ray.init(num_cpus=--workers)``; skipped when
  Ray is not installed).

For each it reports the wall time, the seconds the units spent in their training loops
(``train_seconds`` summed over units) and the overhead per unit: ``(wall x workers - train
seconds) / units``, i.e. what each worker spends per unit outside training steps (process
start and torch import, decoding or receiving the crops, building the model, the test pass,
writing or shipping files back). The units are tiny on purpose, so the overhead shows; on a
real protocol a unit trains for minutes. Ray's own start (``ray.init``) is reported apart.
Prints ONE JSON line::

    python benchmarks/scheduler_overhead.py [--folds 4] [--workers 2] [--px 32] [--photos 48] \
        [--device cpu|cuda] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from wbsdesk.ml.cv import CVSpec, run_cv

try:
    from benchmarks.train_throughput import make_crops
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from train_throughput import make_crops

log = logging.getLogger("scheduler_overhead")


def _measure(name: str, spec: CVSpec, workers: int) -> dict:
    t0 = time.perf_counter()
    summary = run_cv(spec)
    wall = time.perf_counter() - t0
    units = len(summary.folds)
    train = sum(f.train_seconds for f in summary.folds)
    out = {"executor": name, "units": units, "workers": workers, "wall_s": round(wall, 2),
           "unit_train_s": round(train, 2),
           "overhead_per_unit_s": round((wall * workers - train) / units, 2)}
    log.info("%s", out)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--px", type=int, default=32)
    ap.add_argument("--photos", type=int, default=48)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    rows = []
    ray_init = None
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_crops(Path(tmp), args.photos, args.px)
        base = {"archs": ("resnet18",), "photo_ids": [p.stem for p in paths],
                "crop_paths": paths, "labels": [i % 2 for i in range(args.photos)],
                "folds": [i % args.folds + 1 for i in range(args.photos)], "epochs": 1,
                "batch_size": 16, "input_px": args.px, "device": args.device, "copies": 1,
                "checkpoint_seconds": 0.0}
        threads = max(1, (os.cpu_count() or 1) // args.workers)
        rows.append(_measure("inline", CVSpec(run_dir=Path(tmp) / "inline", **base,
                                              workers=1), 1))
        rows.append(_measure("workers", CVSpec(run_dir=Path(tmp) / "workers", **base,
                                               workers=args.workers, num_threads=threads),
                             args.workers))
        if not args.no_ray:
            try:
                import ray
            except ImportError:
                log.info("Ray is not installed: the ray row is skipped")
            else:
                t0 = time.perf_counter()
                ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
                ray_init = round(time.perf_counter() - t0, 2)
                try:
                    rows.append(_measure("ray", CVSpec(run_dir=Path(tmp) / "ray", **base,
                                                       ray_address="auto",
                                                       num_threads=threads), args.workers))
                finally:
                    ray.shutdown()
    out = {"benchmark": "scheduler_overhead", "cpus": os.cpu_count(), "device": args.device,
           "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
           "px": args.px, "photos": args.photos, "ray_init_s": ray_init, "rows": rows}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
