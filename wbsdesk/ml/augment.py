"""Training augmentation on decoded uint8 tensors (torchvision.transforms.v2), and seeds.

Liu et al. (2021): "the training dataset was augmented twice by rotation transformation,
random cropping, horizontal flipping, and AutoAugment", then ImageNet mean/std
normalisation. Here that is read as: **every epoch shows each training image ``copies``
times (2 for the paper), each time as an independently augmented view** (on-the-fly
augmentation; the epoch is ``copies`` x the training set). The un-augmented original is not
added separately: with random crops and flips it is one of the views the pipeline can draw.

Every image draws its own random parameters, but each operation runs on the whole batch
(:mod:`wbsdesk.ml.batch_augment`), on tensors already in memory, on whatever device the
batch is on (the GPU when training there); conversion to float and normalisation then run
once on the whole batch. The parameters come from the global torch RNG (CPU generator, also
for CUDA tensors), so :func:`derive_seed` + ``torch.manual_seed`` at every epoch start
makes a run, and a resumed run, reproducible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch
from torchvision.transforms import v2

from wbsdesk.ml.batch_augment import BatchAutoAugment, BatchGeometry
from wbsdesk.ml.data import normalize

__all__ = ["EvalPreset", "TrainPreset", "derive_seed"]


class TrainPreset:
    """Random augmentation drawn per image, applied batched; then float and normalisation.

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
        self.geometry = BatchGeometry(size=size, rotation_degrees=rotation_degrees,
                                      crop_scale=crop_scale, hflip=hflip)
        if autoaugment == "imagenet":
            self.autoaugment: BatchAutoAugment | None = BatchAutoAugment(
                v2.AutoAugmentPolicy.IMAGENET)
        elif autoaugment == "none":
            self.autoaugment = None
        else:
            raise ValueError(f"unknown AutoAugment policy {autoaugment!r}")
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, 3, H, W)`` -> augmented, normalised float32 ``(B, 3, size, size)``."""
        views = self.geometry(batch)
        if self.autoaugment is not None:
            views = self.autoaugment(views)
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
