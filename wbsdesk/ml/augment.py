"""Training augmentation on decoded uint8 tensors (torchvision.transforms.v2), and seeds.

Liu et al. (2021): "the training dataset was augmented twice by rotation transformation,
random cropping, horizontal flipping, and AutoAugment", then ImageNet mean/std
normalisation. Here that is read as: **every epoch shows each training image ``copies``
times (2 for the paper), each time as an independently augmented view** (on-the-fly
augmentation; the epoch is ``copies`` x the training set). The un-augmented original is not
added separately: with random crops and flips it is one of the views the pipeline can draw.

The transforms are applied per image (v2 draws one set of random parameters per call, so a
whole batch in one call would share them) on tensors already in memory, on whatever device
the batch is on (the GPU when training there); conversion to float and normalisation then
run once on the whole batch. v2 draws its random parameters from the global torch RNG
(CPU generator, also for CUDA tensors), so :func:`derive_seed` + ``torch.manual_seed`` at
every epoch start makes a run, and a resumed run, reproducible.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence

import torch
from torchvision.transforms import v2

from wbsdesk.ml.data import normalize

__all__ = ["EvalPreset", "TrainPreset", "derive_seed"]


class TrainPreset:
    """Per-image random augmentation, then batched float conversion and normalisation.

    Order: RandomRotation(``rotation_degrees``) -> RandomResizedCrop(``size``,
    ``crop_scale``) -> RandomHorizontalFlip -> AutoAugment(ImageNet policy) ->
    ToDtype(float32, scale) -> Normalize(``mean``, ``std``).

    Parameters
    ----------
    size : int, keyword-only
        Output side.
    rotation_degrees : float, keyword-only
        Rotation drawn uniformly from ``[-d, d]``; 0 turns it off.
    crop_scale : (float, float), keyword-only
        Area range of RandomResizedCrop.
    hflip : bool, keyword-only
        Random horizontal flip with p = 0.5.
    autoaugment : {"imagenet", "none"}, keyword-only
        AutoAugment policy.
    mean, std : sequence of 3 floats, keyword-only
        Normalisation.

    Examples
    --------
    >>> t = TrainPreset(size=16, rotation_degrees=10, crop_scale=(0.8, 1.0), hflip=True,
    ...                 autoaugment="imagenet", mean=(0.5,) * 3, std=(0.5,) * 3)
    >>> t(torch.zeros(2, 3, 20, 20, dtype=torch.uint8)).shape
    torch.Size([2, 3, 16, 16])
    """

    def __init__(self, *, size: int, rotation_degrees: float, crop_scale: Sequence[float],
                 hflip: bool, autoaugment: str, mean: Sequence[float],
                 std: Sequence[float]) -> None:
        ops: list[v2.Transform] = []
        if rotation_degrees > 0:
            ops.append(v2.RandomRotation(float(rotation_degrees)))
        ops.append(v2.RandomResizedCrop(size, scale=tuple(crop_scale), antialias=True))
        if hflip:
            ops.append(v2.RandomHorizontalFlip(0.5))
        if autoaugment == "imagenet":
            ops.append(v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET))
        elif autoaugment != "none":
            raise ValueError(f"unknown AutoAugment policy {autoaugment!r}")
        self.per_image = v2.Compose(ops)
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, 3, H, W)`` -> augmented, normalised float32 ``(B, 3, size, size)``."""
        if batch.device.type == "cpu":
            with _single_thread():
                views = torch.stack([self.per_image(img) for img in batch])
        else:
            views = torch.stack([self.per_image(img) for img in batch])
        return normalize(views, self.mean, self.std)


class EvalPreset:
    """Evaluation transform: resize only if needed, then float conversion and normalisation."""

    def __init__(self, *, size: int, mean: Sequence[float], std: Sequence[float]) -> None:
        self.size = size
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, 3, H, W)`` -> normalised float32 ``(B, 3, size, size)``."""
        if batch.shape[-2:] != (self.size, self.size):
            batch = v2.functional.resize(batch, [self.size, self.size], antialias=True)
        return normalize(batch, self.mean, self.std)


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    """One intra-op thread: per-image ops are too small to split, and splitting them was
    measured 20x slower on a busy 2-core machine (OpenMP threads waiting on each other)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed derived from any values (stable across processes and platforms).

    Examples
    --------
    >>> derive_seed(2021, "resnet18", 1, 0) == derive_seed(2021, "resnet18", 1, 0)
    True
    >>> derive_seed(2021, "resnet18", 1, 0) == derive_seed(2021, "resnet18", 1, 1)
    False
    """
    text = "\x1f".join(repr(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1
