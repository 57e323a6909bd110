"""Why a unit of training failed, in words a user can act on."""

from __future__ import annotations

import torch

from wbsdesk.errors import UserError

__all__ = ["describe_failure", "is_out_of_memory"]


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says the device (or the host) ran out of memory."""
    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text
                                              or "can't allocate memory" in text)


def describe_failure(exc: BaseException, device: str) -> str:
    """One line on why a unit failed (its architecture and fold are added by the caller).

    Examples
    --------
    >>> describe_failure(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "cuda:1")
    'ran out of memory on cuda:1 (use a smaller --batch-size or --input-px, or fewer --workers)'
    >>> describe_failure(ValueError("bad value"), "cpu")
    'ValueError: bad value'
    """
    if is_out_of_memory(exc):
        return (f"ran out of memory on {device} (use a smaller --batch-size or --input-px, "
                "or fewer --workers)")
    if isinstance(exc, UserError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
