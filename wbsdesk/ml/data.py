"""Crops into tensors: every crop is decoded once into one uint8 tensor.

Training and inference never touch image files inside the loop: :func:`decode_crops` reads
each PNG/JPEG crop once, makes it square (centre crop of the shorter side; model crops are
already square) and resizes it with antialiasing to the protocol's input size. The result,
an ``(N, 3, S, S)`` uint8 tensor (150 KB per 224 px crop, 51 MB for 340 crops), is what
augmentation and the model read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as tvf

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import UserError
from wbsdesk.ml.image_io import ImageRefusedError, open_image

__all__ = ["decode_crops", "load_crop", "normalize", "preprocess"]

PathLike = str | os.PathLike[str]


def load_crop(source: PathLike | Image.Image, *, size: int) -> np.ndarray:
    """One crop as an ``(S, S, 3)`` uint8 RGB array.

    A non-square image is centre-cropped to its shorter side first; the resize uses PIL's
    antialiased bilinear filter (no-op when the crop already has the size).

    Parameters
    ----------
    source : path or PIL.Image.Image
        A PNG/JPEG file or an image already in memory.
    size : int, keyword-only
        Output side in pixels.

    Returns
    -------
    numpy.ndarray of shape (size, size, 3), dtype uint8

    Raises
    ------
    UserError
        When the file is missing or is not a readable image.
    """
    if isinstance(source, Image.Image):
        return _square(source, size)
    try:
        with open_image(source) as img:
            return _square(img, size)
    except ImageRefusedError as exc:
        raise UserError(f"{source}: cannot read the crop ({exc.reason})",
                        hint="re-run face alignment for this photo") from None


def _square(img: Image.Image, size: int) -> np.ndarray:
    img = img.convert("RGB")
    w, h = img.size
    if w != h:
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.array(img, dtype=np.uint8)  # a writable copy


def decode_crops(paths: Sequence[PathLike], *, size: int, progress: ProgressFn = no_progress,
                 cancel: CancelToken | None = None, threads: int = 4) -> torch.Tensor:
    """Decode every crop once into one uint8 tensor.

    Parameters
    ----------
    paths : sequence of path, length N
        Crop files (PNG or JPEG, any size).
    size : int, keyword-only
        Side S of the output (the protocol's ``training.input_px``).
    progress : callable, keyword-only
        Receives ``Progress(done, N, message)``.
    cancel : CancelToken, optional, keyword-only
        Checked once per image.
    threads : int, keyword-only
        Decoder threads (PIL releases the GIL while decoding).

    Returns
    -------
    torch.Tensor of shape (N, 3, S, S), dtype uint8
        RGB, channels first, contiguous, on the CPU.

    Examples
    --------
    >>> decode_crops([], size=32).shape
    torch.Size([0, 3, 32, 32])
    """
    n = len(paths)
    if n == 0:
        return torch.empty((0, 3, size, size), dtype=torch.uint8)

    def one(i: int) -> np.ndarray:
        if cancel is not None:
            cancel.raise_if_cancelled()
        return load_crop(paths[i], size=size)

    arrays = []
    with ThreadPoolExecutor(max_workers=max(1, min(threads, n))) as pool:
        for done, arr in enumerate(pool.map(one, range(n)), start=1):
            arrays.append(arr)
            progress(Progress(done, n, f"decoding crops {done}/{n}"))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def to_device(t: torch.Tensor, device: torch.device, dtype: torch.dtype | None = None
              ) -> torch.Tensor:
    """Copy a small CPU tensor to ``device`` without waiting for the device's queue.

    Parameters
    ----------
    t : torch.Tensor
        On the CPU.
    device : torch.device
    dtype : torch.dtype, optional
        Converted on the CPU first.

    Returns
    -------
    torch.Tensor
        ``t`` itself (converted) on the CPU; otherwise an asynchronous copy from pinned
        memory (PyTorch's host allocator keeps the pinned block until the copy is done).
    """
    if dtype is not None:
        t = t.to(dtype)
    if device.type != "cuda":
        return t
    return t.pin_memory().to(device, non_blocking=True)


def normalize(batch: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` -> float32 in 0..1, minus ``mean``, over ``std``.

    The arithmetic of ``torchvision.transforms.v2.functional.normalize``, with the mean and
    std sent to the GPU without waiting for it (:func:`to_device`).
    """
    x = tvf.to_dtype(batch, torch.float32, scale=True)
    m = to_device(torch.tensor(list(mean), dtype=torch.float32).view(-1, 1, 1), x.device)
    s = to_device(torch.tensor(list(std), dtype=torch.float32).view(-1, 1, 1), x.device)
    return (x - m) / s


def preprocess(source: PathLike | Image.Image, *, size: int, mean: Sequence[float],
               std: Sequence[float]) -> torch.Tensor:
    """One crop as a normalised ``(1, 3, S, S)`` float tensor, exactly as evaluation sees it."""
    arr = torch.from_numpy(load_crop(source, size=size)).permute(2, 0, 1).unsqueeze(0)
    return normalize(arr, mean, std)
