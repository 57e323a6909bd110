"""ImageNet weight files: offline checks, safe import into torchvision's cache."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pytest
import torch
from torchvision import models

from wbsdesk.errors import UserError
from wbsdesk.ml.registry import build_model, list_archs, state_signature
from wbsdesk.ml.weights import (
    cache_dir,
    identify_arch,
    import_weights,
    require_weights,
    weights_path,
    weights_status,
)


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    """An empty torch home: torchvision's cache is ``<it>/hub/checkpoints``."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory) -> Path:
    """A real (randomly initialised) 1000-class resnet18 state dict, as torchvision ships."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "resnet18-downloaded.pth"
    torch.save(models.resnet18(weights=None).state_dict(), path)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cache_is_torchvisions(torch_home):
    assert cache_dir() == torch_home / "hub" / "checkpoints"
    assert weights_path("resnet18") == cache_dir() / "resnet18-f37072fd.pth"
    assert weights_path("vgg19").name == os.path.basename(models.VGG19_Weights.IMAGENET1K_V1.url)


def test_missing_weights_message_names_file_and_fix(torch_home):
    with pytest.raises(UserError) as err:
        require_weights(["resnet18", "vgg16"])
    text = str(err.value)
    assert str(torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in err.value.message
    assert str(torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth") in err.value.message
    assert "wbsdesk weights import" in text
    assert "download.pytorch.org/models/resnet18-f37072fd.pth" in text  # where to fetch it
    assert "never downloads" in text
    assert [p.file for p in err.value.problems] == [str(weights_path("resnet18")),
                                                    str(weights_path("vgg16"))]


def test_import_accepts_and_installs_under_torchvision_name(torch_home, resnet18_file):
    got = import_weights(resnet18_file)
    assert got.arch == "resnet18"
    assert got.dest == torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert got.sha256 == _sha(resnet18_file) == _sha(got.dest)
    assert got.official is False  # random weights are not torchvision's published bytes
    assert [p.name for p in got.dest.parent.iterdir()] == [got.dest.name]  # no temp left
    assert require_weights(["resnet18"]) == {"resnet18": got.dest}
    status = {s.arch: s for s in weights_status()}
    assert status["resnet18"].present and status["resnet18"].sha256 == got.sha256
    assert status["resnet18"].size == resnet18_file.stat().st_size
    assert not status["vgg16"].present and status["vgg16"].sha256 is None
    # torchvision's own loader finds the file where we put it (no download is attempted).
    sd = models.ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    assert torch.equal(sd["conv1.weight"], torch.load(resnet18_file)["conv1.weight"])


def test_build_model_loads_weights_then_replaces_head(resnet18_file):
    saved = torch.load(resnet18_file, weights_only=True)
    torch.manual_seed(123)
    m = build_model("resnet18", weights_path=resnet18_file)
    assert torch.equal(m.conv1.weight, saved["conv1.weight"])
    assert torch.equal(m.layer4[1].bn2.running_var, saved["layer4.1.bn2.running_var"])
    assert m.fc.out_features == 2 and m.fc.weight.shape == (2, 512)


def _refused(path: Path, match: str) -> UserError:
    with pytest.raises(UserError, match=match) as err:
        import_weights(path)
    assert not any(cache_dir().glob("*")), "nothing may land in the cache"
    return err.value


def test_refuses_wrong_shapes(torch_home, resnet18_file, tmp_path):
    sd = torch.load(resnet18_file, weights_only=True)
    sd["fc.weight"], sd["fc.bias"] = torch.zeros(2, 512), torch.zeros(2)  # a fine-tuned model
    bad = tmp_path / "finetuned.pth"
    torch.save(sd, bad)
    err = _refused(bad, "looks like resnet18 but is not its 1000-class ImageNet weights")
    assert "fc.weight (2, 512) (expected (1000, 512))" in err.message


def test_refuses_unknown_architecture(torch_home, tmp_path):
    bad = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3), "encoder.bias": torch.zeros(3)}, bad)
    _refused(bad, "not the ImageNet weights of a known architecture")


def test_refuses_truncated_and_corrupt_files(torch_home, resnet18_file, tmp_path):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(resnet18_file.read_bytes()[: resnet18_file.stat().st_size // 2])
    _refused(cut, "corrupt or truncated")
    noise = tmp_path / "noise.pth"
    noise.write_bytes(os.urandom(4096))
    _refused(noise, "corrupt or truncated")
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    _refused(empty, "corrupt or truncated")


def test_refuses_non_state_dicts(torch_home, tmp_path):
    lst = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], lst)
    _refused(lst, "not a model state dict")
    mixed = tmp_path / "mixed.pth"
    torch.save({"model": {"a": torch.zeros(1)}, "epoch": 3}, mixed)
    _refused(mixed, "not a plain model state dict")


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_refuses_pickle_carrying_code_without_running_it(torch_home, tmp_path, writer):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pth"
    payload = {"conv1.weight": torch.zeros(1), "x": _Evil(marker)}
    if writer == "torch.save":
        torch.save(payload, bad)
    else:
        bad.write_bytes(pickle.dumps(payload))
    err = _refused(bad, "refused")
    assert "code" in err.message
    assert not marker.exists(), "the pickle's code must not have run"


def test_missing_source_file(torch_home, tmp_path):
    with pytest.raises(UserError, match="no such file"):
        import_weights(tmp_path / "nope.pth")


@pytest.mark.parametrize("arch", list_archs())
def test_identifies_every_architecture_from_keys_and_shapes(arch):
    fake = {k: torch.empty(shape, device="meta") for k, shape in state_signature(arch).items()}
    assert identify_arch(fake) == arch
