"""Architecture registry: every registered model trains one step on a tiny input."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn
from torchvision import models

from wbsdesk.errors import UserError
from wbsdesk.ml import registry
from wbsdesk.ml.registry import arch_spec, build_model, list_archs


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_paper_architectures_are_registered():
    assert {"vgg16", "vgg19", "resnet18", "resnet34", "mobilenet_v2"} <= set(list_archs())


def test_every_registered_architecture_has_one_name_and_one_colour():
    from wbsdesk.core.architectures import ARCHITECTURES

    assert set(list_archs()) <= set(ARCHITECTURES)
    labels = {arch_spec(a).label for a in list_archs()}
    colors = {arch_spec(a).color for a in list_archs()}
    assert labels == {"ResNet-18", "MobileNet-V2", "VGG-16", "VGG-19", "ResNet-34"}
    assert len(colors) == len(list_archs()) and "#000000" not in colors  # ensemble's


@pytest.mark.parametrize("arch", list_archs())
def test_model_forward_backward(arch):
    torch.manual_seed(0)
    model = build_model(arch)
    x = torch.randn(2, 3, 32, 32)
    out = model(x)
    assert out.shape == (2, 2)
    nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert getattr(model, registry.ARCH_ATTR) == arch
    # Grad-CAM's layer exists and yields a spatial feature map.
    seen = []
    layer = model.get_submodule(arch_spec(arch).cam_layer)
    h = layer.register_forward_hook(lambda _m, _i, o: seen.append(o))
    with torch.no_grad():
        model.eval()(x)
    h.remove()
    assert seen and seen[-1].dim() == 4


@pytest.mark.parametrize("arch", list_archs())
def test_weights_file_name_is_torchvisions(arch):
    spec = arch_spec(arch)
    assert spec.weights_file == os.path.basename(spec.weights.url)
    assert spec.weights_file.endswith(".pth")


def test_head_is_the_last_linear_layer_replaced():
    m = build_model("vgg16", num_outputs=3)
    linears = [mod for mod in m.modules() if isinstance(mod, nn.Linear)]
    assert linears[-1].out_features == 3
    assert linears[-2].out_features == 4096  # the rest of the classifier is untouched
    assert build_model("mobilenet_v2").classifier[1].out_features == 2
    assert build_model("resnet18", num_outputs=5).fc.out_features == 5


def test_unknown_architecture_is_a_user_error():
    with pytest.raises(UserError, match="unknown architecture"):
        build_model("alexnet9000")


def test_registry_is_open_to_more_architectures(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @registry.register_arch("resnet_tiny", weights=models.ResNet18_Weights.IMAGENET1K_V1,
                            cam_layers=("layer4",))
    def _tiny() -> nn.Module:
        return models.resnet18(weights=None, num_classes=1000)

    assert "resnet_tiny" in list_archs()
    assert build_model("resnet_tiny").fc.out_features == 2
    with pytest.raises(ValueError, match="already registered"):
        registry.register_arch("resnet_tiny", weights=models.ResNet18_Weights.IMAGENET1K_V1,
                               cam_layers=("layer4",))(_tiny)
