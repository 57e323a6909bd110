"""The training engine, shaped like torchvision's classification references.

:func:`train_one_epoch` and :func:`evaluate` work on decoded uint8 crops already in memory
(on the training device), so the loop never touches files, a DataLoader or PIL.
:func:`plan_execution` picks the device and the fast path once:

- **CUDA**: data and augmentation on the GPU, bf16 autocast (when the GPU supports it),
  channels_last, optional ``torch.compile``, cuDNN autotuning.
- **CPU**: channels_last, and bf16 autocast only when the CPU has native bf16 support
  (oneDNN's check, i.e. AVX512-BF16 or AMX); on CPUs without it, bf16 is emulated and was
  measured ~5x *slower* here, so it stays off.
- **deterministic**: exact fp32, contiguous tensors, no compile,
  ``torch.use_deterministic_algorithms(True)`` and a fixed thread count, so a resumed run
  reproduces an uninterrupted one bit for bit on the same machine.

Checkpoints (:mod:`wbsdesk.ml.checkpoints`) are written atomically with a SHA-256 record and
verified before every load; they carry their configuration (``{"model", "optimizer",
"lr_scheduler", "epoch", "config", "losses", "rng"}``), so a fold model can be rebuilt from
its checkpoint alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from wbsdesk.ml.checkpoints import (
    atomic_write_bytes,
    atomic_write_text,
    load_checkpoint,
    save_checkpoint,
)

__all__ = ["ExecPlan", "atomic_write_bytes", "atomic_write_text", "batch_slices",
           "cpu_has_native_bf16", "evaluate", "execution_context", "load_checkpoint",
           "plan_execution", "resolve_device", "rng_state", "save_checkpoint",
           "set_rng_state", "train_one_epoch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecPlan:
    """How training runs: device and speed options (never changes the maths in fp32 mode)."""

    device: str
    bf16: bool
    channels_last: bool
    compile: bool
    deterministic: bool
    num_threads: int

    @property
    def precision(self) -> str:
        """``"bf16-autocast"`` or ``"fp32"``."""
        return "bf16-autocast" if self.bf16 else "fp32"

    def as_dict(self) -> dict[str, Any]:
        """Plain form, stored in run files."""
        return asdict(self)


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is usable, else ``"cpu"``; others are checked.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        from wbsdesk.errors import UserError

        raise UserError("training on the GPU was asked for, but no usable CUDA GPU was found",
                        hint="use device 'auto' or 'cpu'")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 / AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return False


def plan_execution(device: str = "auto", *, deterministic: bool = False,
                   bf16: bool | None = None, channels_last: bool | None = None,
                   compile: bool = False, num_threads: int | None = None) -> ExecPlan:
    """Choose device, precision and memory layout.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses CUDA when available.
    deterministic : bool, keyword-only
        Exact, reproducible fp32 (overrides ``bf16``, ``channels_last`` and ``compile``).
    bf16 : bool or None, keyword-only
        bf16 autocast; ``None`` = on for CUDA GPUs with bf16 and CPUs with native bf16.
    channels_last : bool or None, keyword-only
        NHWC memory layout; ``None`` = on.
    compile : bool, keyword-only
        ``torch.compile`` the training model (CUDA only; ignored on the CPU).
    num_threads : int or None, keyword-only
        CPU threads for torch; ``None`` keeps torch's current setting.

    Returns
    -------
    ExecPlan
    """
    dev = resolve_device(device)
    threads = num_threads or torch.get_num_threads()
    if deterministic:
        return ExecPlan(device=dev, bf16=False, channels_last=False, compile=False,
                        deterministic=True, num_threads=threads)
    if bf16 is None:
        bf16 = torch.cuda.is_bf16_supported() if dev == "cuda" else cpu_has_native_bf16()
    return ExecPlan(device=dev, bf16=bool(bf16),
                    channels_last=True if channels_last is None else channels_last,
                    compile=bool(compile) and dev == "cuda", deterministic=False,
                    num_threads=threads)


@contextlib.contextmanager
def execution_context(plan: ExecPlan) -> Iterator[None]:
    """Apply the plan's global torch settings for the duration of a run, then restore them."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_bench = torch.backends.cudnn.benchmark
    old_cudnn_det = torch.backends.cudnn.deterministic
    try:
        torch.set_num_threads(plan.num_threads)
        if plan.deterministic:
            if plan.device == "cuda":
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        elif plan.device == "cuda":
            torch.backends.cudnn.benchmark = True
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)
        torch.backends.cudnn.benchmark = old_bench
        torch.backends.cudnn.deterministic = old_cudnn_det


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive batches over ``n`` samples; a trailing batch of one sample is dropped.

    BatchNorm cannot train on a single sample once the feature map is 1 x 1, so a lone
    last sample is left out of that epoch (it is in other epochs, the order is reshuffled).

    Examples
    --------
    >>> [(s.start, s.stop) for s in batch_slices(33, 16)]
    [(0, 16), (16, 32)]
    """
    out = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    if out and out[-1].stop - out[-1].start == 1 and n > 1:
        out.pop()
    return out


def _autocast(plan: ExecPlan) -> contextlib.AbstractContextManager[Any]:
    return torch.autocast(plan.device, dtype=torch.bfloat16, enabled=plan.bf16)


def _layout(x: torch.Tensor, plan: ExecPlan) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if plan.channels_last else x


def train_one_epoch(model: nn.Module, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                    images: torch.Tensor, labels: torch.Tensor, order: torch.Tensor, *,
                    batch_size: int, transform: Callable[[torch.Tensor], torch.Tensor],
                    plan: ExecPlan,
                    before_batch: Callable[[int, int], None] | None = None) -> float:
    """Train ``model`` for one epoch over ``images[order]``.

    Parameters
    ----------
    model : torch.nn.Module
        On ``plan.device``; put in training mode here.
    criterion : torch.nn.Module
        Loss on (logits, labels), e.g. ``CrossEntropyLoss``.
    optimizer : torch.optim.Optimizer
    images : torch.Tensor of shape (N, 3, H, W), dtype uint8
        All decoded crops, on ``plan.device``.
    labels : torch.Tensor of shape (N,), dtype int64
        On ``plan.device``.
    order : torch.Tensor of shape (M,), dtype int64
        Indices into ``images`` in training order (repeats = augmented copies).
    batch_size : int, keyword-only
    transform : callable, keyword-only
        uint8 batch -> normalised float batch (e.g. :class:`~wbsdesk.ml.augment.TrainPreset`).
    plan : ExecPlan, keyword-only
    before_batch : callable, optional, keyword-only
        Called as ``before_batch(i, n_batches)`` before each batch (cancel checks, progress).

    Returns
    -------
    float
        Mean training loss over the epoch's samples.
    """
    model.train()
    slices = batch_slices(len(order), batch_size)
    total = torch.zeros((), dtype=torch.float64, device=images.device)
    count = 0
    for i, sl in enumerate(slices):
        if before_batch is not None:
            before_batch(i, len(slices))
        idx = order[sl]
        x = _layout(transform(images[idx]), plan)
        y = labels[idx]
        with _autocast(plan):
            loss = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach().to(torch.float64) * len(idx)
        count += len(idx)
    return float(total.item() / max(count, 1))


@torch.inference_mode()
def evaluate(model: nn.Module, images: torch.Tensor, *,
             transform: Callable[[torch.Tensor], torch.Tensor], plan: ExecPlan,
             batch_size: int = 64) -> np.ndarray:
    """Softmax probability of class 1 for every image (model in eval mode, exact fp32).

    Parameters
    ----------
    model : torch.nn.Module
    images : torch.Tensor of shape (N, 3, H, W), dtype uint8
    transform : callable, keyword-only
        uint8 batch -> normalised float batch (e.g. :class:`~wbsdesk.ml.augment.EvalPreset`).
    plan : ExecPlan, keyword-only
        Device and layout (bf16 is not used for predictions).
    batch_size : int, keyword-only

    Returns
    -------
    numpy.ndarray of shape (N,), dtype float64
    """
    model.eval()
    out = []
    for sl in [slice(i, i + batch_size) for i in range(0, len(images), batch_size)]:
        x = _layout(transform(images[sl].to(plan.device)), plan)
        logits = model(x).float()
        out.append(torch.softmax(logits, dim=1)[:, 1].double().cpu())
    if not out:
        return np.zeros(0, dtype=np.float64)
    return torch.cat(out).numpy()


# ---------------------------------------------------------------------------------------------
# RNG state (checkpoint files: wbsdesk.ml.checkpoints)


def rng_state() -> dict[str, Any]:
    """torch (CPU and CUDA), numpy and python RNG states, as plain data + tensors."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])
