"""Training throughput: wbsdesk's engine vs a naive torchvision-references-style loop.

Both train the same architecture on the same synthetic 224 px crops, with the same batch
size, device, augmentation (rotation, random resized crop, flip, AutoAugment, ImageNet
normalisation), loss and optimiser; only the pipeline differs:

- **naive**: a ``Dataset`` that opens and decodes the PNG with PIL on every access, CPU
  ``torchvision.transforms`` (v1) per image, a ``DataLoader``, fp32 contiguous model and a
  ``loss.item()`` per step, as in torchvision's classification references;
- **engine**: :func:`wbsdesk.ml.train.train_one_epoch` on crops decoded once into a uint8
  tensor, v2 augmentation on tensors (on the GPU when training there), and the execution
  plan :func:`wbsdesk.ml.train.plan_execution` picks (channels_last; bf16 autocast where
  the hardware runs it natively).

A third timing, **model only**, steps the engine's model on one fixed, ready batch (no data
work at all). ``ceiling_ratio`` = model only / naive is the most that any data pipeline could
gain over the naive loop on this device: when it is below the goal, the goal needs faster
arithmetic (bf16, a GPU), not a better pipeline.

Rounds alternate naive/engine/model-only so a change in machine load hits all alike. Prints
ONE JSON line. Usage::

    python benchmarks/train_throughput.py [--archs resnet18,mobilenet_v2] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T  # noqa: N812 - the references' spelling

from wbsdesk.ml.augment import TrainPreset
from wbsdesk.ml.data import decode_crops
from wbsdesk.ml.registry import build_model
from wbsdesk.ml.train import cpu_has_native_bf16, plan_execution, train_one_epoch

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
log = logging.getLogger("train_throughput")


def make_crops(folder: Path, n: int, px: int, seed: int = 0) -> list[Path]:
    """Synthetic face-like drawings (ellipse, eyes, mouth) on noise, saved as PNG."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 90, size=(px, px, 3), dtype=np.uint8)
        img = Image.fromarray(arr)
        d = ImageDraw.Draw(img)
        c = tuple(int(v) for v in rng.integers(120, 255, 3))
        m = px // 8
        d.ellipse([m, m // 2, px - m, px - m // 2], fill=c)
        for ex in (0.35, 0.65):
            d.ellipse([ex * px - px // 20, 0.4 * px, ex * px + px // 20, 0.46 * px], fill=0)
        d.arc([0.35 * px, 0.55 * px, 0.65 * px, 0.75 * px], 20, 160, fill=(90, 20, 20),
              width=max(1, px // 50))
        paths.append(folder / f"crop{i:03d}.png")
        img.save(paths[-1])
    return paths


class CropFiles(Dataset):
    """References-style dataset: decode the file with PIL on every access."""

    def __init__(self, paths: list[Path], labels: list[int], transform) -> None:
        self.paths, self.labels, self.transform = paths, labels, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        with Image.open(self.paths[i]) as img:
            return self.transform(img.convert("RGB")), self.labels[i]


def naive_images_per_second(arch: str, paths: list[Path], labels: list[int], *, px: int,
                            batch: int, steps: int, device: str, workers: int) -> float:
    tf = T.Compose([T.RandomRotation(15), T.RandomResizedCrop(px, scale=(0.8, 1.0)),
                    T.RandomHorizontalFlip(), T.AutoAugment(T.AutoAugmentPolicy.IMAGENET),
                    T.PILToTensor(), T.ConvertImageDtype(torch.float), T.Normalize(MEAN, STD)])
    loader = DataLoader(CropFiles(paths, labels, tf), batch_size=batch, shuffle=True,
                        num_workers=workers, drop_last=True)
    model = build_model(arch).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss()
    model.train()

    def run(n: int) -> int:
        done = 0
        while done < n:
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                loss = crit(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss.item()  # the references log the loss every step
                done += 1
                if done == n:
                    break
        return n * batch

    run(1)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    n_img = run(steps)
    _sync(device)
    return n_img / (time.perf_counter() - t0)


def engine_images_per_second(arch: str, images: torch.Tensor, labels: list[int], *, px: int,
                             batch: int, steps: int, plan) -> float:
    model = build_model(arch).to(plan.device, memory_format=(
        torch.channels_last if plan.channels_last else torch.contiguous_format))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss()
    preset = TrainPreset(size=px, rotation_degrees=15, crop_scale=(0.8, 1.0), hflip=True,
                         autoaugment="imagenet", mean=MEAN, std=STD)
    y = torch.as_tensor(labels, device=plan.device)
    gen = torch.Generator().manual_seed(0)

    def run(n: int) -> int:
        order = torch.randint(0, len(images), (n * batch,), generator=gen).to(plan.device)
        train_one_epoch(model, crit, opt, images, y, order, batch_size=batch, transform=preset,
                        plan=plan)
        return n * batch

    run(1)
    _sync(plan.device)
    t0 = time.perf_counter()
    n_img = run(steps)
    _sync(plan.device)
    return n_img / (time.perf_counter() - t0)


def model_only_images_per_second(arch: str, labels: list[int], *, px: int, batch: int,
                                 steps: int, plan) -> float:
    """The engine's model and plan stepping on one fixed, ready batch: no data work at all.

    No data pipeline can make training faster than this, so ``model_only / naive`` is the
    most any engine can gain over the naive loop on this device.
    """
    model = build_model(arch).to(plan.device, memory_format=(
        torch.channels_last if plan.channels_last else torch.contiguous_format))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss()
    x = torch.randn(batch, 3, px, px, device=plan.device)
    if plan.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.as_tensor([labels[i % len(labels)] for i in range(batch)], device=plan.device)
    model.train()

    def run(n: int) -> None:
        for _ in range(n):
            with torch.autocast(plan.device, dtype=torch.bfloat16, enabled=plan.bf16):
                loss = crit(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    run(1)
    _sync(plan.device)
    t0 = time.perf_counter()
    run(steps)
    _sync(plan.device)
    return steps * batch / (time.perf_counter() - t0)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", default="resnet18,mobilenet_v2")
    ap.add_argument("--px", type=int, default=224)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=2, help="alternating naive/engine rounds")
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--naive-workers", type=int, default=0, help="DataLoader workers (naive)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    plan = plan_execution(args.device)
    torch.manual_seed(0)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_crops(Path(tmp), args.images, args.px)
        labels = [i % 2 for i in range(args.images)]
        t0 = time.perf_counter()
        images = decode_crops(paths, size=args.px).to(plan.device)
        decode_s = time.perf_counter() - t0
        for arch in args.archs.split(","):
            naive_t = engine_t = bare_t = 0.0
            n = args.steps * args.batch
            for r in range(args.rounds):
                ips = naive_images_per_second(arch, paths, labels, px=args.px,
                                              batch=args.batch, steps=args.steps,
                                              device=plan.device, workers=args.naive_workers)
                naive_t += n / ips
                ips = engine_images_per_second(arch, images, labels, px=args.px,
                                               batch=args.batch, steps=args.steps, plan=plan)
                engine_t += n / ips
                ips = model_only_images_per_second(arch, labels, px=args.px, batch=args.batch,
                                                   steps=args.steps, plan=plan)
                bare_t += n / ips
                log.info("%s round %d: naive %.2f img/s, engine %.2f img/s, model only "
                         "%.2f img/s", arch, r + 1, n * (r + 1) / naive_t,
                         n * (r + 1) / engine_t, n * (r + 1) / bare_t)
            naive = n * args.rounds / naive_t
            engine = n * args.rounds / engine_t
            bare = n * args.rounds / bare_t
            results[arch] = {"engine_img_s": round(engine, 2), "naive_img_s": round(naive, 2),
                             "ratio": round(engine / naive, 3),
                             "model_only_img_s": round(bare, 2),
                             "ceiling_ratio": round(bare / naive, 3)}
    out = {"benchmark": "train_throughput", "device": plan.device,
           "cpu": platform.processor() or platform.machine(),
           "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "cpu_native_bf16": cpu_has_native_bf16(), "threads": torch.get_num_threads(),
           "px": args.px, "batch": args.batch, "steps_per_round": args.steps,
           "rounds": args.rounds, "naive_workers": args.naive_workers,
           "engine_plan": plan.as_dict(), "engine_decode_once_s": round(decode_s, 3),
           "results": results}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
