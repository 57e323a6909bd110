"""How good and how fast is the demo's quick training? Out-of-fold AUCs, times, estimate.

Builds the demo study (synthetic faces, crops, simulated readers; no training) in a
workspace (a temporary one unless ``--workspace`` names one; an existing demo there is
reused), then

1. asks the set-up's time estimate (:func:`wbsdesk.services.training_probe.probe_throughput`,
   the wizard's and Training view's number) for the run about to start;
2. trains the demo protocol's cross-validation as ``wbsdesk demo`` does (``--epochs``,
   ``--input-px``, ... override the protocol, as on ``wbsdesk train``);
3. reads the run's out-of-fold AUC per architecture and of the ensemble (mean probability;
   :func:`wbsdesk.services.runs.run_aucs`), and the confound audit's best trivial baseline
   (image statistics and capture metadata only; :mod:`wbsdesk.services.confound`).

Times are wall time and this process's CPU time (``resource.getrusage``, children
included); the machine's load average (``os.getloadavg``) before and after says how much
else was running. ``estimate_ratio`` is estimate / actual training wall time.

Prints ONE JSON line (``--pretty``: indented)::

    python benchmarks/demo_quality.py [--workspace W] [--epochs 8] [--input-px 64]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.services import training
from wbsdesk.services.demo import DEMO_STUDY, build_demo
from wbsdesk.services.runs import run_aucs
from wbsdesk.services.studies import load_study
from wbsdesk.services.training_probe import probe_throughput
from wbsdesk.services.workspace import open_workspace

log = logging.getLogger("demo_quality")


class _Clock:
    """Wall and CPU seconds (this process and its finished children) of a block."""

    def __enter__(self) -> _Clock:
        self._wall = time.perf_counter()
        self._cpu = _cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = _cpu_seconds() - self._cpu

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": round(self.wall, 1), "cpu_s": round(self.cpu, 1),
                "cpu_per_wall": round(self.cpu / max(self.wall, 1e-9), 2)}


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _confound(ws: Any, run: str) -> dict[str, Any]:
    """The confound audit's verdict on the run: the trivial baseline's AUC beside the CNN's."""
    from wbsdesk.services.confound import confound_audit

    res = confound_audit(ws, DEMO_STUDY, run=run)

    def auc(d: Any) -> float | None:
        return None if d is None else round(float(d.auc), 3)

    return {"baseline_auc": auc(res.baseline_auc),
            "capture_only_auc": auc(res.capture_only_auc),
            "flagged_statistics": list(res.flagged), "warning": res.warning}


def measure(root: Path, settings: RunSettings, *, estimate: bool = True,
            confound: bool = True) -> dict[str, Any]:
    """Build (or reuse) the demo in ``root``, estimate, train and score; plain data."""
    out: dict[str, Any] = {"benchmark": "demo_quality", "cpus": os.cpu_count(),
                           "load_before": _load(), "settings": settings.overrides()}
    with open_workspace(root) as ws:
        if ws.store.study(DEMO_STUDY) is None:
            with _Clock() as c:
                build_demo(ws, train=False)
            out["build"] = c.as_dict()
        study = load_study(ws, DEMO_STUDY)
        protocol = settings.apply(study.protocol)
        out["protocol"] = {k: getattr(protocol.training, k) for k in (
            "architectures", "input_px", "batch_size", "lr", "lr_schedule", "epochs")}
        out["protocol"]["copies"] = protocol.augmentation.copies
        archs = list(protocol.training.architectures)
        if estimate:
            with _Clock() as c:
                est = probe_throughput(ws, DEMO_STUDY, archs, settings=settings.overrides())
            seconds = est.seconds(archs, epochs=protocol.training.epochs)
            out["estimate"] = {"seconds": round(seconds, 1),
                               "text": est.describe(archs, epochs=protocol.training.epochs),
                               "probe": c.as_dict(), "workers": est.workers,
                               "timings": {a: {k: round(v, 4) for k, v in t.items()}
                                           for a, t in est.timings.items()}}
        with _Clock() as c:
            rep = training.train(ws, TrainRequest(DEMO_STUDY, settings=settings, demo=True))
        out["train"] = {**c.as_dict(), "run": rep.run, "device": rep.device}
        if estimate:
            out["estimate_ratio"] = round(out["estimate"]["seconds"] / c.wall, 3)
        out["auc"] = {k: round(v, 3) for k, v in run_aucs(ws, DEMO_STUDY, rep.run).items()}
        if confound:
            out["confound"] = _confound(ws, rep.run)
    out["load_after"] = _load()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspace", type=Path, default=None,
                    help="workspace to build the demo in (or reuse); default: a temporary one")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--input-px", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--lr-schedule", default=None)
    ap.add_argument("--no-estimate", action="store_true", help="skip the time estimate")
    ap.add_argument("--no-confound", action="store_true", help="skip the confound audit")
    ap.add_argument("--pretty", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    settings = RunSettings(input_px=args.input_px, batch_size=args.batch_size, lr=args.lr,
                           lr_schedule=args.lr_schedule, epochs=args.epochs)
    kwargs = {"estimate": not args.no_estimate, "confound": not args.no_confound}
    if args.workspace is not None:
        out = measure(args.workspace, settings, **kwargs)
    else:
        with tempfile.TemporaryDirectory(prefix="demo-quality-") as tmp:
            out = measure(Path(tmp), settings, **kwargs)
    print(json.dumps(out, indent=1 if args.pretty else None))
    return out


if __name__ == "__main__":
    main()
