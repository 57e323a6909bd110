"""The paper's protocol end to end, as ``wbsdesk train`` runs it: plan, train, OOF import.

Where ``paper_protocol.py`` times the engine alone (``run_cv`` on crops in a folder), this
benchmark goes through the product: a workspace, a study on
``study_protocols/liu2021_wbs.toml`` (5 architectures x 5 folds, batch 16, 224 px), 340
synthetic subjects (104 WBS, 118 other syndromes, 118 healthy: the demo's generator, as
many as the paper's photos), imported and cropped through the known-face path (not timed:
the goal is about training), then

1. **plan**: :func:`wbsdesk.services.training_plan.plan_run` without the time probe (what
   ``wbsdesk train NAME --plan --json`` prints), timed;
2. **train**: :func:`wbsdesk.services.training.train` with a :class:`TrainRequest` (the
   scheduler over every visible GPU, checkpoints, and each finished unit's out-of-fold
   probabilities written into the store), timed;
3. **check**: the run is ``finished`` and the store holds one out-of-fold probability per
   photo and architecture.

``plan_s + train_s`` is the end-to-end time the issue's goal (<= 5 min on one H200) is
about. Weights start from scratch (``--init none``: no ImageNet download here), which costs
the same time as transfer. Prints ONE JSON line. Usage::

    python benchmarks/paper_protocol_e2e.py --device cuda [--epochs 100] [--workers N]
    python benchmarks/paper_protocol_e2e.py --device cpu --epochs 1 --archs resnet18 \\
        --input-px 32 --subjects 8,6,6        # a smoke run on a CPU
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from wbsdesk.config import bundled_protocol
from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.services import faces, studies, training
from wbsdesk.services.demo import write_demo_photos
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.training_plan import plan_run
from wbsdesk.services.workspace import open_workspace

STUDY = "paper"
log = logging.getLogger("paper_protocol_e2e")


def _counts(text: str) -> dict[str, int]:
    wbs, other, healthy = (int(x) for x in text.split(","))
    return {"wbs": wbs, "other_syndrome": other, "healthy": healthy}


def build_study(root: Path, counts: dict[str, int]) -> float:
    """A workspace with the paper's study on synthetic faces, cropped; returns seconds."""
    t0 = time.perf_counter()
    with open_workspace(root) as ws:
        manifest = write_demo_photos(root / "incoming", counts=counts, with_practice=False)
        studies.create_study(ws, STUDY, bundled_protocol("liu2021_wbs"))
        import_manifest(ws, STUDY, manifest)
        studies.folds(ws, STUDY)
        faces.align_study(ws, STUDY, known_faces=True, workers=1)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    """Build, plan, train and check; print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--devices", default="", help="GPUs, e.g. cuda:0,cuda:1")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None, help="default: the protocol's 100")
    ap.add_argument("--input-px", type=int, default=None, help="default: the protocol's 224")
    ap.add_argument("--archs", default="", help="default: the protocol's five")
    ap.add_argument("--subjects", default="104,118,118", help="WBS,other,healthy")
    ap.add_argument("--workspace", type=Path, default=None, help="default: a temporary one")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    counts = _counts(args.subjects)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workspace or Path(tmp) / "ws"
        setup_s = build_study(root, counts)
        request = TrainRequest(
            STUDY, archs=tuple(a for a in args.archs.split(",") if a) or None,
            settings=RunSettings(input_px=args.input_px, epochs=args.epochs),
            device=args.device, devices=tuple(d for d in args.devices.split(",") if d),
            workers=args.workers, weights="none")
        with open_workspace(root) as ws:
            t0 = time.perf_counter()
            plan = plan_run(ws, request, probe=False)
            plan_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            result = training.train(ws, request)
            train_s = time.perf_counter() - t0
            row = ws.store.run(result.run)
            oof = len(ws.store.predictions(row.id))
        units = len(plan.units)
        out = {
            "benchmark": "paper_protocol_e2e", "subjects": sum(counts.values()),
            "units": units, "run": result.run, "status": row.status,
            "oof_predictions": oof, "setup_s": round(setup_s, 1), "plan_s": round(plan_s, 2),
            "train_s": round(train_s, 1), "end_to_end_s": round(plan_s + train_s, 1),
            "goal_s": 300, "device": args.device,
        }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
