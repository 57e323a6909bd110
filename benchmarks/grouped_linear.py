"""``GroupedLinear``: k independent linear layers applied as one batched layer.

The fully connected layers of ``benchmarks/stacked.py``'s fold-batched models: fold ``f``
of the input's last dimension goes through fold ``f``'s own weights. One batched matrix
product per pass, with a hand-written backward (see :class:`_GroupedLinearFn`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = ["GroupedLinear"]


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The autocast dtype active for ``device_type``, or None."""
    try:
        on = torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        if device_type == "cpu":
            return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
        return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None
    return torch.get_autocast_dtype(device_type) if on else None


class _GroupedLinearFn(torch.autograd.Function):
    """``y[f] = x[f] @ w[f].T + b[f]`` for ``x`` (k, N, in), ``w`` (k, out, in), ``b`` (k, out).

    Autograd of a ``bmm`` formulation computes one of the two gradients in a layout that
    costs a transposed copy or a slow batched GEMM (measured on the CPU for VGG's
    25088 x 4096 layer: 3-4x the time of k separate ``nn.Linear``); here each gradient is
    one plain ``bmm`` in the parameter's own layout. Under autocast it computes in the
    autocast dtype, as ``nn.Linear`` does, and returns gradients in the inputs' dtypes.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor,
                b: torch.Tensor | None) -> torch.Tensor:
        ctx.dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
        dt = _autocast_dtype(x.device.type)
        if dt is not None:
            x, w = x.to(dt), w.to(dt)
            b = None if b is None else b.to(dt)
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        wt = w.transpose(1, 2)
        return torch.bmm(x, wt) if b is None else torch.baddbmm(b.unsqueeze(1), x, wt)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w = ctx.saved_tensors
        g = g.to(w.dtype)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = torch.bmm(g, w).to(ctx.dtypes[0])  # (k, N, in)
        if ctx.needs_input_grad[1]:
            gw = torch.bmm(g.transpose(1, 2), x).to(ctx.dtypes[1])  # (k, out, in)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g.sum(dim=1).to(ctx.dtypes[2])
        return gx, gw, gb


class GroupedLinear(nn.Module):
    """``k`` independent linear layers on the ``k`` contiguous blocks of the features.

    Maps ``(..., k*in_features)`` -> ``(..., k*out_features)``: block ``f`` of the output is
    ``x_f @ weight[f].T + bias[f]`` where ``x_f`` is block ``f`` of the input.

    Parameters
    ----------
    k : int
        Number of folds (blocks).
    in_features, out_features : int
        Sizes of one fold's linear layer.
    bias : bool, keyword-only
        Whether each fold has a bias.
    device, dtype : optional, keyword-only
        Where and how the parameters are created.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (k, out_features, in_features)
    bias : torch.nn.Parameter of shape (k, out_features), or None

    Examples
    --------
    >>> g = GroupedLinear(3, 4, 2)
    >>> g(torch.zeros(5, 12)).shape
    torch.Size([5, 6])
    """

    def __init__(self, k: int, in_features: int, out_features: int, *, bias: bool = True,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.k = int(k)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(self.k, self.out_features, self.in_features,
                                               **kw))
        if bias:
            self.bias: nn.Parameter | None = nn.Parameter(
                torch.empty(self.k, self.out_features, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise every fold as ``nn.Linear`` does: uniform in +-1/sqrt(in_features)."""
        if self.weight.is_meta:
            return
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., k*in_features)`` -> ``(..., k*out_features)``."""
        if x.shape[-1] != self.k * self.in_features:
            raise ValueError(f"GroupedLinear expects {self.k} x {self.in_features} = "
                             f"{self.k * self.in_features} features, got {x.shape[-1]}")
        lead = x.shape[:-1]
        xk = x.reshape(-1, self.k, self.in_features).transpose(0, 1)  # (k, N, in)
        y = _GroupedLinearFn.apply(xk, self.weight, self.bias)  # (k, N, out)
        return y.transpose(0, 1).reshape(*lead, self.k * self.out_features)

    def extra_repr(self) -> str:
        return (f"k={self.k}, in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
