"""Where the heat falls at the paper's 224 px input, on a freshly trained demo run.

At 224 px every architecture's heatmap is classic Grad-CAM at its last block (7 x 7 for
ResNet and MobileNet-V2); the demo's 64 px reads an earlier stage instead
(:func:`wbsdesk.ml.explain.cam_map`). This builds the demo study in a new workspace without
its quick training, trains it at 224 px (``--epochs``, ``--arch``, ``--device``) through the
command line, and runs ``benchmarks/gradcam_focus.py`` on that run: heat on the face against
its area (lift) for the astronaut photo, a new demo face and the study's crops.

Prints ONE JSON line: the run's training time and the focus numbers.

    python benchmarks/gradcam_224.py --device cuda --epochs 30          # GPU (a few minutes)
    python benchmarks/gradcam_224.py --device cpu --epochs 4 --arch resnet18   # CPU (~4 min)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gradcam_focus

log = logging.getLogger("gradcam_224")


def _cli(ws: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "wbsdesk", "--workspace", str(ws), *args]
    log.warning("$ %s", " ".join(cmd[2:]))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--arch", action="append", help="default: the demo protocol's")
    ap.add_argument("--crops", type=int, default=40)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        _cli(ws, "demo", "--no-train")
        t0 = time.perf_counter()
        train = ["train", "demo", "--input-px", "224", "--epochs", str(args.epochs),
                 "--device", args.device]
        for arch in args.arch or []:
            train += ["--arch", arch]
        _cli(ws, *train)
        seconds = time.perf_counter() - t0
        with contextlib.redirect_stdout(sys.stderr):  # its own JSON line is in ours
            focus = gradcam_focus.main(["--workspace", str(ws), "--crops", str(args.crops),
                                        "--device", args.device, "--pretty"])
    out = {"input_px": 224, "epochs": args.epochs, "device": args.device,
           "train_seconds": round(seconds, 1), "focus": focus}
    sys.stdout.write(json.dumps(out) + "\n")
    return out


if __name__ == "__main__":
    main()
