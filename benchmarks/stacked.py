"""Fold-batched training: the k fold models of one architecture as one grouped model.

With the paper's batches of 16 a GPU is bound by per-step overhead (kernel launches and
Python), not by arithmetic. :func:`stack_models` turns ``k`` models of the same architecture
into one :class:`StackedModel` whose layers are *grouped*, so that one step trains all ``k``
folds at once and every fold still gets exactly the maths it would get alone:

- ``Conv2d(in, out, groups=g)`` -> ``Conv2d(k*in, k*out, groups=k*g)``, the ``k`` weights (and
  biases) concatenated along dim 0: fold ``f`` owns channels ``f*out .. (f+1)*out - 1``, and
  each group only sees the input channels of its own fold;
- ``BatchNorm2d(C)`` -> ``BatchNorm2d(k*C)``, affine parameters and running statistics
  concatenated (batch statistics are per channel, so per fold);
- ``Linear(in, out)`` -> :class:`GroupedLinear` holding ``(k, out, in)`` weights, mapping
  ``(B, k*in)`` -> ``(B, k*out)`` with one batched matrix product;
- activations, pooling, ``Dropout`` and the architectures' own ``forward`` code (residual
  additions, ``torch.flatten(x, 1)``) work per channel and are left as they are.

``torch.flatten(x, 1)`` of a ``(B, k*C, H, W)`` map keeps fold ``f``'s features in the
contiguous block ``f*C*H*W .. (f+1)*C*H*W - 1``, in the order a single model flattens them
(memory format does not matter: flatten orders by logical index), which is what
:class:`GroupedLinear` relies on. The input ``(k, B, 3, H, W)`` is packed to
``(B, k*3, H, W)`` (fold ``f``'s image ``b`` in channels ``3f .. 3f+2``); the output is
``(k, B, num_classes)``.

Parameters of different folds are disjoint and every operation is per channel or grouped,
so with the loss of :func:`stacked_cross_entropy` (the sum over folds of each fold's mean
cross-entropy) each fold's gradient is the gradient it would get alone, and SGD with
momentum and weight decay (elementwise) takes the same steps. Only the floating-point
summation order of the grouped kernels differs (equal to ~1e-6 relative in fp32). Dropout
draws its masks for all folds at once, so the masks differ from those of separate runs
with the same seed (same distribution, independent per element).

Only layer types known to be fold-separable are accepted (see ``_LEAF_STACKERS``,
``_PER_CHANNEL`` and ``_CONTAINERS``); anything else, e.g. a new architecture's layer or a
block whose ``forward`` mixes channels, is refused with a :class:`ValueError` rather than
stacked silently wrong. :func:`unstack_state_dicts`, :func:`unstack_models`,
:func:`unstack_optimizer_state` and :func:`unstack_tensors` give back per-fold state in
today's single-model format.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as nnf
from torch import nn
from torchvision.models.mobilenetv2 import InvertedResidual, MobileNetV2
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.models.vgg import VGG
from torchvision.ops.misc import Conv2dNormActivation

from wbsdesk.ml.registry import ARCH_ATTR

try:
    from benchmarks.grouped_linear import GroupedLinear
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from grouped_linear import GroupedLinear

__all__ = ["GroupedLinear", "StackedModel", "pack_folds", "stack_models",
           "stacked_cross_entropy", "unstack_models", "unstack_optimizer_state",
           "unstack_state_dicts", "unstack_tensors"]

log = logging.getLogger(__name__)


def pack_folds(x: torch.Tensor,
               memory_format: torch.memory_format = torch.contiguous_format) -> torch.Tensor:
    """``(k, B, C, H, W)`` -> ``(B, k*C, H, W)``, fold ``f``'s image in channels ``f*C ..``.

    Parameters
    ----------
    x : torch.Tensor of shape (k, B, C, H, W)
    memory_format : torch.memory_format
        ``torch.channels_last`` writes the packed tensor directly in NHWC order (one copy).

    Returns
    -------
    torch.Tensor of shape (B, k*C, H, W)

    Examples
    --------
    >>> x = torch.arange(2 * 1 * 3).view(2, 1, 3, 1, 1)
    >>> pack_folds(x).flatten().tolist()
    [0, 1, 2, 3, 4, 5]
    """
    if x.dim() != 5:
        raise ValueError(f"expected a (k, B, C, H, W) tensor, got shape {tuple(x.shape)}")
    k, b, c, h, w = x.shape
    if memory_format == torch.channels_last:
        return x.permute(1, 3, 4, 0, 2).reshape(b, h, w, k * c).permute(0, 3, 1, 2)
    return x.transpose(0, 1).reshape(b, k * c, h, w)


class StackedModel(nn.Module):
    """``k`` models of one architecture trained as one (built by :func:`stack_models`).

    Parameters
    ----------
    net : torch.nn.Module
        The grouped network, ``(B, k*3, H, W)`` -> ``(B, k*num_classes)``.
    k : int
        Number of folds.
    skeleton : torch.nn.Module
        One fold's model on the ``meta`` device (structure only, no memory); used by
        :func:`unstack_models` when no template is given. Not a registered submodule.
    input_memory_format : torch.memory_format or None
        Layout of the packed input; ``None`` follows the first convolution's weight (so
        ``stacked.to(memory_format=torch.channels_last)`` is enough).

    Notes
    -----
    The module tree under ``net`` has the single model's module paths, so parameter and
    buffer names are the single model's names prefixed with ``net.``, in the same order.
    """

    def __init__(self, net: nn.Module, k: int, skeleton: nn.Module, *,
                 input_memory_format: torch.memory_format | None = None) -> None:
        super().__init__()
        self.net = net
        self.k = int(k)
        self.input_memory_format = input_memory_format
        # Plain attributes, not submodules: .to() leaves the skeleton on meta, and the stem
        # (the first convolution, which sees the packed input) is not saved twice.
        object.__setattr__(self, "skeleton", skeleton)
        object.__setattr__(self, "_stem",
                           next((m for m in net.modules() if type(m) is nn.Conv2d), None))
        arch = getattr(skeleton, ARCH_ATTR, None)
        if arch is not None:
            setattr(self, ARCH_ATTR, arch)

    def _packed_format(self) -> torch.memory_format:
        if self.input_memory_format is not None:
            return self.input_memory_format
        w = self._stem.weight if self._stem is not None else None
        if (w is not None and w.dim() == 4 and not w.is_contiguous()
                and w.is_contiguous(memory_format=torch.channels_last)):
            return torch.channels_last
        return torch.contiguous_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(k, B, 3, H, W)`` images -> ``(k, B, num_classes)`` logits."""
        if x.dim() != 5 or x.shape[0] != self.k:
            raise ValueError(f"expected a ({self.k}, B, C, H, W) input, "
                             f"got shape {tuple(x.shape)}")
        b = x.shape[1]
        out = self.net(pack_folds(x, self._packed_format()))
        return out.reshape(b, self.k, -1).transpose(0, 1)

    def extra_repr(self) -> str:
        return f"k={self.k}"


# ---------------------------------------------------------------------------------------------
# What can be stacked

def _stack_conv(mods: Sequence[nn.Module]) -> nn.Module:
    ref = mods[0]
    assert isinstance(ref, nn.Conv2d)
    k = len(mods)
    new = nn.Conv2d(k * ref.in_channels, k * ref.out_channels, ref.kernel_size,
                    stride=ref.stride, padding=ref.padding, dilation=ref.dilation,
                    groups=k * ref.groups, bias=ref.bias is not None,
                    padding_mode=ref.padding_mode, device="meta", dtype=ref.weight.dtype)
    new.weight = _cat_param([m.weight for m in mods])
    if ref.bias is not None:
        new.bias = _cat_param([m.bias for m in mods])
    return new


def _stack_bn(mods: Sequence[nn.Module]) -> nn.Module:
    ref = mods[0]
    assert isinstance(ref, nn.BatchNorm2d)
    k = len(mods)
    dtype = ref.weight.dtype if ref.affine else ref.running_mean.dtype
    new = nn.BatchNorm2d(k * ref.num_features, eps=ref.eps, momentum=ref.momentum,
                         affine=ref.affine, track_running_stats=ref.track_running_stats,
                         device="meta", dtype=dtype)
    if ref.affine:
        new.weight = _cat_param([m.weight for m in mods])
        # recent torch: BatchNorm2d(..., bias=False) keeps a weight but no bias
        new.bias = None if ref.bias is None else _cat_param([m.bias for m in mods])
    if ref.track_running_stats:
        counts = {int(m.num_batches_tracked) for m in mods
                  if not m.num_batches_tracked.is_meta}
        if len(counts) > 1:
            # One stacked layer holds one counter; with momentum=None it sets the averaging
            # factor, so differing counters cannot be stacked faithfully.
            raise ValueError(f"BatchNorm num_batches_tracked differs between the models "
                             f"({sorted(counts)}): they were trained for different numbers "
                             f"of steps and cannot share one stacked layer")
        with torch.no_grad():
            new.running_mean = torch.cat([m.running_mean for m in mods])
            new.running_var = torch.cat([m.running_var for m in mods])
            new.num_batches_tracked = ref.num_batches_tracked.detach().clone()
    return new


def _stack_linear(mods: Sequence[nn.Module]) -> nn.Module:
    ref = mods[0]
    assert isinstance(ref, nn.Linear)
    new = GroupedLinear(len(mods), ref.in_features, ref.out_features,
                        bias=ref.bias is not None, device="meta", dtype=ref.weight.dtype)
    new.weight = _stack_param([m.weight for m in mods])
    if ref.bias is not None:
        new.bias = _stack_param([m.bias for m in mods])
    return new


def _cat_param(ps: Sequence[torch.Tensor]) -> nn.Parameter:
    with torch.no_grad():
        return nn.Parameter(torch.cat([p.detach() for p in ps]),
                            requires_grad=ps[0].requires_grad)


def _stack_param(ps: Sequence[torch.Tensor]) -> nn.Parameter:
    with torch.no_grad():
        return nn.Parameter(torch.stack([p.detach() for p in ps]),
                            requires_grad=ps[0].requires_grad)


# Exact types only: a subclass may override forward() with something that mixes folds.
_LEAF_STACKERS: dict[type[nn.Module], Callable[[Sequence[nn.Module]], nn.Module]] = {
    nn.Conv2d: _stack_conv,
    nn.BatchNorm2d: _stack_bn,
    nn.Linear: _stack_linear,
}
"""Layers with weights, and how k of them become one grouped layer."""

_PER_CHANNEL: frozenset[type[nn.Module]] = frozenset({
    nn.ReLU, nn.ReLU6, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Dropout,
    nn.Identity,
})
"""Weightless layers that act on every channel (or feature) alone: kept as they are."""

_CONTAINERS: frozenset[type[nn.Module]] = frozenset({
    nn.Sequential, Conv2dNormActivation, InvertedResidual, MobileNetV2, BasicBlock,
    Bottleneck, ResNet, VGG,
})
"""Modules whose own forward() code was checked to keep folds apart (residual additions,
``torch.flatten(x, 1)``, per-channel functional pooling), so only their children matter."""


def _type_name(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


def _check_stackable(model: nn.Module) -> None:
    """Raise ValueError on the first module that is not known to keep folds apart."""
    for path, mod in model.named_modules():
        t = type(mod)
        where = path or "<root>"
        if t in _LEAF_STACKERS:
            continue
        if t in _PER_CHANNEL or t in _CONTAINERS:
            own = list(mod.named_parameters(recurse=False)) + list(
                mod.named_buffers(recurse=False))
            if own:
                raise ValueError(f"cannot stack {where}: {_type_name(t)} holds its own "
                                 f"tensor {own[0][0]!r}, which fold-batching does not know "
                                 f"how to split")
            continue
        raise ValueError(
            f"cannot stack {where}: layer type {_type_name(t)} is not known to keep the "
            f"folds apart. Check that it acts per channel (or write a grouped version) and "
            f"add it to benchmarks/stacked.py before fold-batching this architecture.")


def _signature(model: nn.Module) -> list[tuple[Any, ...]]:
    """What must agree between models to be stacked: structure, hyper-parameters, tensors."""
    sig: list[tuple[Any, ...]] = [("arch", getattr(model, ARCH_ATTR, None))]
    for path, mod in model.named_modules():
        sig.append(("module", path, type(mod), mod.extra_repr(), mod.training))
    for name, p in model.named_parameters():
        sig.append(("param", name, tuple(p.shape), p.dtype, p.device, p.requires_grad))
    for name, buf in model.named_buffers():
        sig.append(("buffer", name, tuple(buf.shape), buf.dtype, buf.device))
    return sig


def _describe(item: tuple[Any, ...]) -> str:
    kind, *rest = item
    if kind == "module":
        path, t, extra, training = rest
        return (f"module {path or '<root>'}: {t.__qualname__}({extra}), "
                f"{'train' if training else 'eval'} mode")
    return f"{kind} " + ", ".join(str(r) for r in rest)


def _meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every parameter and buffer on the ``meta`` device."""
    memo: dict[int, Any] = {}
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(torch.empty_like(p, device="meta"),
                                   requires_grad=p.requires_grad)
    for buf in model.buffers():
        memo[id(buf)] = torch.empty_like(buf, device="meta")
    return copy.deepcopy(model, memo)


def _replace(root: nn.Module, path: str, new: nn.Module) -> nn.Module:
    if not path:
        return new
    parent_path, _, attr = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, attr, new)  # an existing key keeps its place: parameter order is kept
    return root


def stack_models(models: Sequence[nn.Module]) -> StackedModel:
    """Stack ``k`` models of one architecture into one fold-batched :class:`StackedModel`.

    Parameters
    ----------
    models : sequence of torch.nn.Module
        ``k >= 1`` models with identical structure, hyper-parameters, tensor shapes,
        dtypes, devices, ``requires_grad`` flags and train/eval modes (e.g. the fold models
        :func:`wbsdesk.ml.registry.build_model` returns, one per fold). They are not
        modified, and the result shares no tensor with them.

    Returns
    -------
    StackedModel
        ``(k, B, 3, H, W)`` -> ``(k, B, num_classes)``; fold ``f`` computes what
        ``models[f]`` computes. Carries ``wbsdesk_arch`` when the models do.

    Raises
    ------
    ValueError
        When ``models`` is empty, the models differ in any of the above, their BatchNorm
        ``num_batches_tracked`` counters differ, or a module type is not known to keep
        the folds apart (see the module docstring).

    Examples
    --------
    >>> from torchvision.models import resnet18
    >>> s = stack_models([resnet18(num_classes=2) for _ in range(3)])
    >>> s(torch.zeros(3, 2, 3, 32, 32)).shape
    torch.Size([3, 2, 2])
    """
    models = list(models)
    if not models:
        raise ValueError("stack_models needs at least one model")
    for i, m in enumerate(models):
        if not isinstance(m, nn.Module):
            raise ValueError(f"models[{i}] is a {type(m).__name__}, not a torch.nn.Module")
    ref = models[0]
    _check_stackable(ref)
    ref_sig = _signature(ref)
    for i, m in enumerate(models[1:], start=1):
        sig = _signature(m)
        for a, b in zip(ref_sig, sig, strict=False):
            if a != b:
                raise ValueError(f"cannot stack models of different architectures: models[0] "
                                 f"has {_describe(a)}, models[{i}] has {_describe(b)}")
        if len(sig) != len(ref_sig):
            raise ValueError(f"cannot stack models of different architectures: models[{i}] "
                             f"has {len(sig)} modules and tensors, models[0] {len(ref_sig)}")

    net = _meta_copy(ref)
    paths = [path for path, mod in ref.named_modules() if type(mod) in _LEAF_STACKERS]
    for path in paths:
        peers = [m.get_submodule(path) for m in models]
        new = _LEAF_STACKERS[type(peers[0])](peers)
        new.train(peers[0].training)  # e.g. an eval-mode BatchNorm stays in eval mode
        net = _replace(net, path, new)
    owners = set(paths)
    left = [n for n, _ in list(net.named_parameters()) + list(net.named_buffers())
            if n.rpartition(".")[0] not in owners]
    if left:  # cannot happen for the known layer types; a guard for future ones
        raise ValueError(f"cannot stack: no values for {', '.join(left[:3])}")
    stacked = StackedModel(net, len(models), _meta_copy(ref))
    log.debug("stacked %d x %s: %d parameters", len(models),
              getattr(ref, ARCH_ATTR, type(ref).__name__),
              sum(p.numel() for p in stacked.parameters()))
    return stacked


# ---------------------------------------------------------------------------------------------
# Back to per-fold models

def _split_rules(stacked: StackedModel) -> dict[str, str]:
    """Name (without ``net.``) -> how fold ``f``'s slice is taken: cat, index or shared."""
    rules: dict[str, str] = {}
    for path, mod in stacked.net.named_modules():
        prefix = f"{path}." if path else ""
        t = type(mod)
        own = [n for n, _ in mod.named_parameters(recurse=False)] + [
            n for n, _ in mod.named_buffers(recurse=False)]
        for n in own:
            if t in (nn.Conv2d, nn.BatchNorm2d):
                rules[prefix + n] = "shared" if n == "num_batches_tracked" else "cat"
            elif t is GroupedLinear:
                rules[prefix + n] = "index"
            else:
                raise ValueError(f"cannot unstack {prefix + n}: unexpected {_type_name(t)}")
    return rules


def _fold_slice(t: torch.Tensor, rule: str, k: int, f: int) -> torch.Tensor:
    if rule == "index":
        return t[f]
    if rule == "cat":
        n = t.shape[0] // k
        return t[f * n:(f + 1) * n]
    return t


def unstack_tensors(stacked: StackedModel,
                    tensors: Mapping[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Split tensors named and shaped like the stacked parameters or buffers, per fold.

    For gradients, state dicts or optimizer buffers of the stacked model.

    Parameters
    ----------
    stacked : StackedModel
    tensors : mapping of str to torch.Tensor
        Names as in ``stacked.named_parameters()`` / ``state_dict()`` (``net.`` prefix
        optional); each tensor has the shape of the stacked tensor of that name.

    Returns
    -------
    list of dict
        ``k`` dicts, keys without the ``net.`` prefix (a single model's names), values
        *views* of the given tensors.

    Examples
    --------
    >>> from torchvision.models import resnet18
    >>> s = stack_models([resnet18(num_classes=2) for _ in range(3)])
    >>> grads = {n: torch.zeros_like(p) for n, p in s.named_parameters()}
    >>> unstack_tensors(s, grads)[2]["fc.weight"].shape
    torch.Size([2, 512])
    """
    rules = _split_rules(stacked)
    out: list[dict[str, torch.Tensor]] = [{} for _ in range(stacked.k)]
    for name, t in tensors.items():
        key = name.removeprefix("net.")
        if key not in rules:
            raise KeyError(f"{name!r} is not a parameter or buffer of the stacked model")
        for f in range(stacked.k):
            out[f][key] = _fold_slice(t, rules[key], stacked.k, f)
    return out


def unstack_state_dicts(stacked: StackedModel) -> list[dict[str, torch.Tensor]]:
    """Per-fold state dicts, with the keys, shapes and order of a single model's.

    Parameters
    ----------
    stacked : StackedModel

    Returns
    -------
    list of dict
        ``k`` state dicts (detached copies, on the stacked model's device), loadable with
        ``load_state_dict`` into the single-fold model: today's checkpoint format.
    """
    return [{n: t.detach().clone() for n, t in fold.items()}
            for fold in unstack_tensors(stacked, stacked.net.state_dict())]


def unstack_models(stacked: StackedModel,
                   template: nn.Module | None = None) -> list[nn.Module]:
    """Give back the ``k`` fold models as ordinary single models.

    Parameters
    ----------
    stacked : StackedModel
    template : torch.nn.Module, optional
        A model of the architecture (e.g. ``build_model(arch)``); each fold is a copy of
        its structure (not its values) with the fold's state loaded (``strict``: keys and
        shapes must match). By default the one-fold skeleton kept by :func:`stack_models`
        is used. The models are created on the stacked model's device.

    Returns
    -------
    list of torch.nn.Module
        ``k`` models, each module in the train/eval mode (and each parameter with the
        ``requires_grad``) of its stacked counterpart, sharing no tensor with the
        stacked model.
    """
    states = unstack_state_dicts(stacked)
    flags = {n.removeprefix("net."): p.requires_grad for n, p in stacked.named_parameters()}
    skeleton = stacked.skeleton if template is None else _meta_copy(template)
    out = []
    for state in states:
        model = _meta_copy(skeleton)  # the structure only: the template's data is not copied
        # assign: the fresh per-fold tensors become the parameters, no copy
        model.load_state_dict(state, strict=True, assign=True)
        for name, p in model.named_parameters():
            p.requires_grad_(flags[name])
        for path, mod in model.named_modules():
            mod.training = stacked.net.get_submodule(path).training
        out.append(model)
    return out


def unstack_optimizer_state(stacked: StackedModel,
                            optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Per-fold optimizer state dicts, as each fold's own optimizer would hold them.

    ``optimizer`` must have been built over ``stacked.parameters()`` in their order (e.g.
    ``SGD(stacked.parameters(), ...)``); each fold's state dict then loads into the same
    optimizer built over the fold model's ``parameters()``. Per-parameter tensors of the
    parameter's shape (SGD's ``momentum_buffer``, Adam's moments) are split like the
    parameter; anything else (e.g. a ``step`` count) is copied to every fold.

    Parameters
    ----------
    stacked : StackedModel
    optimizer : torch.optim.Optimizer

    Returns
    -------
    list of dict
        ``k`` optimizer state dicts (``{"state", "param_groups"}``).
    """
    names = [n.removeprefix("net.") for n, _ in stacked.named_parameters()]
    params = list(stacked.parameters())
    in_opt = [p for g in optimizer.param_groups for p in g["params"]]
    if len(in_opt) != len(params) or any(a is not b for a, b in zip(in_opt, params,
                                                                     strict=True)):
        raise ValueError("the optimizer must hold exactly stacked.parameters(), in order")
    rules = _split_rules(stacked)
    sd = optimizer.state_dict()
    out = []
    for f in range(stacked.k):
        state = {}
        for idx, entry in sd["state"].items():
            p = params[idx]
            state[idx] = {
                key: (_fold_slice(v, rules[names[idx]], stacked.k, f).detach().clone()
                      if isinstance(v, torch.Tensor) and v.shape == p.shape
                      else copy.deepcopy(v))
                for key, v in entry.items()}
        out.append({"state": state, "param_groups": copy.deepcopy(sd["param_groups"])})
    return out


# ---------------------------------------------------------------------------------------------
# Loss

def stacked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, *,
                          label_smoothing: float = 0.0
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum over folds of each fold's mean cross-entropy, and the per-fold means.

    The sum's gradient with respect to fold ``f``'s parameters is the gradient of fold
    ``f``'s own ``CrossEntropyLoss()`` (mean over its batch), as in separate training.

    Parameters
    ----------
    logits : torch.Tensor of shape (k, B, num_classes)
    targets : torch.Tensor of shape (k, B), dtype int64
    label_smoothing : float, keyword-only
        As in :func:`torch.nn.functional.cross_entropy`.

    Returns
    -------
    total : torch.Tensor, scalar
        The loss to call ``backward()`` on.
    per_fold : torch.Tensor of shape (k,)
        Each fold's mean loss (still attached to the graph; ``.detach()`` to log it).

    Examples
    --------
    >>> total, per_fold = stacked_cross_entropy(torch.zeros(3, 4, 2),
    ...                                         torch.zeros(3, 4, dtype=torch.long))
    >>> per_fold.shape, round(total.item(), 4)
    (torch.Size([3]), 2.0794)
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(f"expected logits (k, B, C) and targets (k, B), got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    k, b, c = logits.shape
    per_sample = nnf.cross_entropy(logits.reshape(k * b, c), targets.reshape(k * b),
                                   reduction="none", label_smoothing=label_smoothing)
    per_fold = per_sample.view(k, b).mean(dim=1)
    return per_fold.sum(), per_fold
