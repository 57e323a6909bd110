"""Fold-batched training: k stacked models compute, learn and save as k separate ones.

``benchmarks/stacked.py`` is a benchmark's model (the engine trains units one model each;
it is not shipped): these tests keep its "same maths per fold" claim true.
"""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from torch import nn
from torchvision import models as tvm

from benchmarks.stacked import (
    GroupedLinear,
    StackedModel,
    pack_folds,
    stack_models,
    stacked_cross_entropy,
    unstack_models,
    unstack_optimizer_state,
    unstack_state_dicts,
    unstack_tensors,
)
from wbsdesk.ml.registry import ARCH_ATTR, build_model, list_archs

PAPER_ARCHS = ("vgg16", "vgg19", "resnet18", "resnet34", "mobilenet_v2")
K, BATCH, PX = 3, 2, 32
TOL = 1e-5  # relative to the largest magnitude of the reference tensor


def _train_px(arch: str) -> int:
    """Image side for train-mode comparisons: 64 px where there is BatchNorm.

    At 32 px the last blocks' train-mode BatchNorm normalises 2 values (batch 2, 1 x 1
    map), which amplifies rounding so much that a separate fp32 model is itself 0.2-0.7
    (relative) away from its float64 twin (resnet34, mobilenet_v2); at 64 px it is ~2e-5
    away. VGG has no BatchNorm and stays at 32 px.
    """
    return PX if arch.startswith("vgg") else 64


def _init(model: nn.Module, seed: int) -> nn.Module:
    """Fresh values everywhere, different per seed, including BatchNorm affine and stats."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Conv2d):
                fan_out = mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1]
                fan_out //= mod.groups
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g)
                                 * (2.0 / fan_out) ** 0.5)
                if mod.bias is not None:
                    mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
            elif isinstance(mod, nn.BatchNorm2d):
                mod.weight.copy_(0.5 + torch.rand(mod.weight.shape, generator=g))
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
                mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=g) * 0.1)
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=g))
                mod.num_batches_tracked.fill_(7)
            elif isinstance(mod, nn.Linear):
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g)
                                 * mod.in_features ** -0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
    return model


def _fold_model(arch: str, seed: int, *, dropout: float | None = 0.0) -> nn.Module:
    """The registry's model with values from ``seed`` (a copy of a cached one).

    VGG's first two classifier layers (4096 wide, 120 M parameters) are narrowed to 32
    outputs to keep the tests fast; their input is still VGG's 512 x 7 x 7 = 25088 flattened
    features, so the flatten-then-GroupedLinear layout is tested as in the real model.
    ``dropout=0`` makes train mode deterministic (masks are drawn jointly when stacked).
    """
    model = copy.deepcopy(_cached_model(arch, seed))
    if dropout is not None:
        for mod in model.modules():
            if isinstance(mod, nn.Dropout):
                mod.p = dropout
    return model


@functools.cache
def _cached_model(arch: str, seed: int) -> nn.Module:
    with torch.device("meta"):  # no time spent on an initialisation about to be replaced
        model = build_model(arch)
    if arch.startswith("vgg"):
        c = model.classifier
        c[0] = nn.Linear(c[0].in_features, 32, device="meta")
        c[3] = nn.Linear(32, 32, device="meta")
        c[6] = nn.Linear(32, c[6].out_features, device="meta")
    return _init(model.to_empty(device="cpu"), seed)


def _folds(arch: str, k: int = K, **kw) -> list[nn.Module]:
    return [_fold_model(arch, 100 + f, **kw) for f in range(k)]


def _inputs(k: int = K, batch: int = BATCH, px: int = PX) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return (torch.randn(k, batch, 3, px, px, generator=g),
            torch.randint(0, 2, (k, batch), generator=g))


def _absmax(t: torch.Tensor) -> float:
    lo, hi = torch.aminmax(t.detach())
    return max(-lo.item(), hi.item())


def _assert_close(got: torch.Tensor, want: torch.Tensor, tol: float = TOL, what: str = ""):
    assert got.shape == want.shape, what
    scale = _absmax(want)
    err = _absmax(got.detach() - want.detach()) if want.numel() else 0.0
    assert err <= tol * max(scale, 1e-12), f"{what}: max error {err:.3g} vs scale {scale:.3g}"


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="module")
def _free_cached_models():
    yield
    _cached_model.cache_clear()  # ~1 GB of fold models, not kept for the rest of the session


def test_the_paper_architectures_are_covered():
    assert set(PAPER_ARCHS) <= set(list_archs())


@pytest.mark.parametrize("arch", list_archs())
def test_registry_models_as_built_stack(arch):
    """build_model's own models (Dropout on, full-size heads) stack and unstack exactly."""
    if arch.startswith("vgg"):  # 134 M parameters each: check the structure on meta
        with torch.device("meta"):
            ms = [build_model(arch) for _ in range(2)]
        head = stack_models(ms).net.classifier[0]
        assert isinstance(head, GroupedLinear) and head.weight.shape == (2, 4096, 25088)
        return
    ms = [build_model(arch) for _ in range(2)]
    stacked = stack_models(ms)
    assert getattr(stacked, ARCH_ATTR) == arch
    for f, state in enumerate(unstack_state_dicts(stacked)):
        assert list(state) == list(ms[f].state_dict())
        for name, t in ms[f].state_dict().items():
            assert torch.equal(state[name], t), name


@pytest.mark.parametrize("arch", PAPER_ARCHS)
def test_forward_matches_separate_models(arch):
    """fp32, eval mode (running stats) and train mode (batch stats; running stats update).

    In train mode the separate fp32 models are themselves up to ~2e-5 (relative) away from
    float64 (see :func:`_train_px`), hence the looser train-mode tolerance.
    """
    ms = [m.eval() for m in _folds(arch)]
    stacked = stack_models(ms)  # the eval mode is taken over, module by module
    x, _ = _inputs()
    with torch.no_grad():
        got = stacked(x)
        want = torch.stack([m(x[f]) for f, m in enumerate(ms)])
    assert got.shape == (K, BATCH, 2)
    _assert_close(got, want, what=f"{arch} eval")

    stacked.train()
    x, _ = _inputs(px=_train_px(arch))
    with torch.no_grad():
        got = stacked(x)
        want = torch.stack([m.train()(x[f]) for f, m in enumerate(ms)])
    _assert_close(got, want, tol=1e-4, what=f"{arch} train")
    for f, state in enumerate(unstack_state_dicts(stacked)):
        for name, t in ms[f].state_dict().items():
            if name.endswith(("running_mean", "running_var")):
                _assert_close(state[name], t, tol=1e-4, what=f"{arch} fold {f} {name}")
            else:
                assert torch.equal(state[name], t) or t.is_floating_point(), name


def _assert_grads_close(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor],
                        tol: float, what: str) -> None:
    """Per tensor, relative to its own scale, floored at 1e-3 of the largest in the model.

    The floor matters for gradients that are zero in exact arithmetic (e.g. the bias of a
    BatchNorm whose output reaches the next train-mode BatchNorm only through a linear map:
    the next BatchNorm removes any constant shift); they hold rounding noise only.
    """
    assert got.keys() == want.keys()
    floor = 1e-3 * max(_absmax(t) for t in want.values())
    for name, w in want.items():
        err = _absmax(got[name] - w)
        scale = max(_absmax(w), floor)
        assert err <= tol * scale, f"{what} {name}: max error {err:.3g} vs scale {scale:.3g}"


@pytest.mark.parametrize("arch", PAPER_ARCHS)
def test_training_matches_separate_models(arch):
    """Train mode, summed per-fold loss: losses, gradients, then two SGD steps (momentum,
    weight decay): parameters, BN running stats and counters, momentum buffers.

    In float64, so that rounding is out of the way (measured here: bitwise equal for the
    ResNets and MobileNetV2, VGG within 4e-15 relative). In float32 the grouped
    and plain kernels round differently (~1e-7), and a ReLU or max-pool decision that
    flips on such a difference moves a gradient entry elsewhere: a separate fp32 model's
    own gradients were up to 1e-1 (relative) away from float64, so elementwise fp32
    gradient equality is not a meaningful test.
    """
    tol, k = 1e-9, 2  # k = 2 keeps float64 (no oneDNN kernels) fast enough
    batch = 1 if arch.startswith("vgg") else BATCH  # no BatchNorm: batch 1 works, and is fast
    ms = [m.double() for m in _folds(arch, k=k)]
    stacked = stack_models(ms)
    x, y = _inputs(k=k, batch=batch, px=_train_px(arch))
    x = x.double()
    sgd = {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}
    opts = [torch.optim.SGD(m.parameters(), **sgd) for m in ms]
    s_opt = torch.optim.SGD(stacked.parameters(), **sgd)
    for step in range(2):
        logits = stacked(x)
        total, per_fold = stacked_cross_entropy(logits, y)
        s_opt.zero_grad()
        total.backward()
        grads = unstack_tensors(stacked, {n: p.grad for n, p in stacked.named_parameters()})
        for f, (m, opt) in enumerate(zip(ms, opts, strict=True)):
            out = m(x[f])
            loss = nn.functional.cross_entropy(out, y[f])
            opt.zero_grad()
            loss.backward()
            _assert_close(logits[f], out, tol=tol, what=f"{arch} step {step} fold {f} logits")
            _assert_close(per_fold[f], loss, tol=tol, what=f"{arch} fold {f} loss")
            _assert_grads_close(grads[f], {n: p.grad for n, p in m.named_parameters()}, tol,
                                what=f"{arch} step {step} fold {f} grad")
            opt.step()
        s_opt.step()
        x = x.flip(-1)  # a different batch for the second step
    states = unstack_state_dicts(stacked)
    opt_states = unstack_optimizer_state(stacked, s_opt)
    for f, m in enumerate(ms):
        for name, t in m.state_dict().items():
            if t.is_floating_point():
                _assert_close(states[f][name], t, tol=tol, what=f"{arch} fold {f} {name}")
            else:
                assert torch.equal(states[f][name], t), name  # num_batches_tracked: 7 + 2
        want = opts[f].state_dict()
        got = opt_states[f]
        assert got["param_groups"] == want["param_groups"]
        assert got["state"].keys() == want["state"].keys()
        _assert_grads_close({str(i): v["momentum_buffer"] for i, v in got["state"].items()},
                            {str(i): v["momentum_buffer"] for i, v in want["state"].items()},
                            tol, what=f"{arch} fold {f} momentum")
        torch.optim.SGD(m.parameters(), **sgd).load_state_dict(got)  # today's format


@pytest.mark.parametrize("arch", PAPER_ARCHS)
def test_unstack_of_stack_round_trips_exactly(arch):
    k = 2
    ms = _folds(arch, k=k, dropout=None)
    before = [copy.deepcopy(m.state_dict()) for m in ms]
    stacked = stack_models(ms)
    template = _fold_model(arch, 0, dropout=None)
    for got_models in (unstack_models(stacked), unstack_models(stacked, template)):
        assert len(got_models) == k
        for f, got in enumerate(got_models):
            assert type(got) is type(ms[f]) and got.training
            got_state, want_state = got.state_dict(), ms[f].state_dict()
            assert list(got_state) == list(template.state_dict())
            for name, t in want_state.items():
                assert got_state[name].shape == t.shape and got_state[name].dtype == t.dtype
                assert torch.equal(got_state[name], t), name
            assert [mod.p for mod in got.modules() if isinstance(mod, nn.Dropout)] == [
                mod.p for mod in ms[f].modules() if isinstance(mod, nn.Dropout)]
    for t in stacked.state_dict().values():  # no aliasing: the inputs never change ...
        t.add_(1)
    for f, (m, state) in enumerate(zip(ms, unstack_state_dicts(stacked), strict=True)):
        for name, t in m.state_dict().items():
            assert torch.equal(before[f][name], t), name
            assert torch.equal(state[name], t + 1), name  # ... and unstack reads the stack
    # the unstacked models are independent of the stacked one and of each other
    a, b = unstack_models(stacked)[:2]
    with torch.no_grad():
        next(a.parameters()).add_(1)
    assert not torch.equal(next(a.parameters()), next(b.parameters()))
    assert not any(m.training for m in unstack_models(stack_models(
        [m.eval() for m in ms]))[0].modules())


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v2"])
def test_channels_last_matches(arch):
    ms = [m.eval() for m in _folds(arch)]
    stacked = stack_models(ms).to(memory_format=torch.channels_last)
    assert stacked._packed_format() == torch.channels_last
    seen = []
    h = stacked.net.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    x, _ = _inputs()
    with torch.no_grad():
        got = stacked(x)
        want = torch.stack([m.to(memory_format=torch.channels_last)(
            x[f].contiguous(memory_format=torch.channels_last)) for f, m in enumerate(ms)])
    h.remove()
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    _assert_close(got, want, what=arch)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v2"])
def test_bf16_autocast_runs_and_is_close(arch):
    """As close to the fp32 result as the separate models under the same autocast."""
    ms = [m.eval() for m in _folds(arch)]
    stacked = stack_models(ms).to(memory_format=torch.channels_last)
    x, y = _inputs()
    with torch.no_grad():
        ref = torch.stack([m(x[f]) for f, m in enumerate(ms)])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            sep = torch.stack([m(x[f]) for f, m in enumerate(ms)]).float()
            got = stacked(x)
    assert got.dtype == torch.bfloat16
    scale = ref.abs().max().item()
    err_sep = (sep - ref).abs().max().item() / scale
    err_got = (got.float() - ref).abs().max().item() / scale
    assert err_got <= 2 * err_sep + 0.01, (err_got, err_sep)

    stacked.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, per_fold = stacked_cross_entropy(stacked(x), y)
    total.backward()
    assert per_fold.dtype == torch.float32 and torch.isfinite(per_fold).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in stacked.parameters())


def test_grouped_linear_is_k_linears():
    lins = [nn.Linear(5, 3) for _ in range(4)]
    g = stack_models(lins).net
    assert isinstance(g, GroupedLinear) and g.weight.shape == (4, 3, 5)
    x = torch.randn(2, 6, 20)
    want = torch.cat([lin(x[..., 5 * f:5 * (f + 1)]) for f, lin in enumerate(lins)], dim=-1)
    _assert_close(g(x), want)
    with pytest.raises(ValueError, match="expects 4 x 5 = 20 features"):
        g(torch.zeros(2, 19))
    fresh = GroupedLinear(2, 8, 3, bias=False)
    assert fresh.bias is None and fresh.weight.abs().max() <= 8 ** -0.5
    assert fresh(torch.ones(1, 16)).shape == (1, 6)


def test_grouped_linear_gradients_and_autocast():
    g = GroupedLinear(3, 5, 4).double()
    x = torch.randn(2, 15, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: torch.func.functional_call(
        g, {"weight": w, "bias": b}, (x,)), (x, g.weight, g.bias))
    lin = nn.Linear(5, 4)
    g = stack_models([lin, nn.Linear(5, 4), nn.Linear(5, 4)]).net
    x = torch.randn(2, 15, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = g(x), lin(x[:, :5])
    assert got.dtype == want.dtype == torch.bfloat16
    assert torch.equal(got[:, :4], want)
    got.float().sum().backward()
    assert g.weight.grad.dtype == g.bias.grad.dtype == x.grad.dtype == torch.float32


def test_bottleneck_resnet_stacks():
    """resnet50 (the registry docstring's example of a next architecture) stacks too."""
    ms = [tvm.resnet50(num_classes=2).eval() for _ in range(2)]
    stacked = stack_models(ms).eval()
    x, _ = _inputs(k=2, batch=1)
    with torch.no_grad():
        _assert_close(stacked(x), torch.stack([m(x[f]) for f, m in enumerate(ms)]))


def test_pack_folds_layout():
    x = torch.randn(3, 2, 3, 4, 5)
    for fmt in (torch.contiguous_format, torch.channels_last):
        p = pack_folds(x, fmt)
        assert p.shape == (2, 9, 4, 5) and p.is_contiguous(memory_format=fmt)
        for f in range(3):
            assert torch.equal(p[:, 3 * f:3 * f + 3], x[f])
    with pytest.raises(ValueError, match="k, B, C, H, W"):
        pack_folds(torch.zeros(2, 3, 4, 4))


def test_stacked_cross_entropy_is_sum_of_fold_means():
    logits = torch.randn(3, 4, 2)
    y = torch.randint(0, 2, (3, 4))
    total, per_fold = stacked_cross_entropy(logits, y, label_smoothing=0.1)
    want = [nn.functional.cross_entropy(logits[f], y[f], label_smoothing=0.1)
            for f in range(3)]
    _assert_close(per_fold, torch.stack(want))
    _assert_close(total, sum(want))
    with pytest.raises(ValueError, match="expected logits"):
        stacked_cross_entropy(logits, y[:, :3])


def test_input_shape_is_checked():
    stacked = stack_models(_folds("resnet18", k=2))
    with pytest.raises(ValueError, match=r"expected a \(2, B, C, H, W\) input"):
        stacked(torch.zeros(3, 1, 3, PX, PX))


def test_mismatched_architectures_are_refused():
    r18 = _fold_model("resnet18", 0)
    with pytest.raises(ValueError, match="different architectures"):
        stack_models([r18, _fold_model("resnet34", 1)])
    with pytest.raises(ValueError, match=r"different architectures.*fc"):
        stack_models([r18, build_model("resnet18", num_outputs=3)])
    with pytest.raises(ValueError, match=r"different architectures.*eval mode"):
        stack_models([r18, _fold_model("resnet18", 1).eval()])
    with pytest.raises(ValueError, match=r"different architectures.*float64"):
        stack_models([r18, _fold_model("resnet18", 1).double()])
    frozen = _fold_model("resnet18", 1)
    frozen.conv1.weight.requires_grad_(False)
    with pytest.raises(ValueError, match=r"different architectures.*conv1.weight"):
        stack_models([r18, frozen])
    ahead = _fold_model("resnet18", 1)
    ahead.bn1.num_batches_tracked += 1
    with pytest.raises(ValueError, match="num_batches_tracked differs"):
        stack_models([r18, ahead])
    with pytest.raises(ValueError, match="at least one model"):
        stack_models([])
    with pytest.raises(ValueError, match=r"not a torch\.nn\.Module"):
        stack_models([r18, "resnet18"])


class _ConvSubclass(nn.Conv2d):
    """A conv subclass: its forward could do anything, so it is not stacked."""


class _Wrapper(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=1)  # mixes channels, i.e. folds


@pytest.mark.parametrize(("make", "match"), [
    (lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU()), r"cannot stack 1: .*GELU"),
    (lambda: nn.Sequential(_ConvSubclass(3, 4, 3)), r"cannot stack 0: .*_ConvSubclass"),
    (lambda: _Wrapper(), r"cannot stack <root>: .*_Wrapper"),
    (lambda: tvm.shufflenet_v2_x0_5(), r"cannot stack <root>: .*ShuffleNetV2"),
    (lambda: nn.Sequential(nn.LayerNorm(4)), r"cannot stack 0: .*LayerNorm"),
])
def test_unknown_layer_types_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        stack_models([make(), make()])


def test_unknown_layer_deep_in_a_registry_model_is_refused():
    ms = _folds("resnet18", k=2)
    for m in ms:
        m.layer3[1].relu = nn.SiLU()
    with pytest.raises(ValueError, match=r"cannot stack layer3\.1\.relu: .*SiLU"):
        stack_models(ms)


def test_stacked_model_is_a_module_with_single_model_names():
    ms = _folds("mobilenet_v2", k=2)
    stacked = stack_models(ms)
    assert isinstance(stacked, StackedModel) and stacked.k == 2
    names = [n.removeprefix("net.") for n, _ in stacked.named_parameters()]
    assert names == [n for n, _ in ms[0].named_parameters()]
    assert list(stacked.state_dict()) == [f"net.{n}" for n in ms[0].state_dict()]
    assert stacked.skeleton.features[0][0].weight.is_meta  # no memory for the skeleton
    moved = copy.deepcopy(stacked).double()
    assert moved.skeleton.features[0][0].weight.is_meta


def test_docstring_examples():
    import doctest

    from benchmarks import grouped_linear, stacked

    for module in (stacked, grouped_linear):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
