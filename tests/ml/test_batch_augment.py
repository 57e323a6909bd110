"""Batched augmentation against torchvision's per-image transforms, op by op."""

from __future__ import annotations

import math

import pytest
import torch
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as tvf

from wbsdesk.ml import batch_augment as ba
from wbsdesk.ml.augment import TrainPreset


@pytest.fixture
def images() -> torch.Tensor:
    """Four smooth 64 px RGB images (smooth, so nearest-neighbour ties are rare)."""
    g = torch.Generator().manual_seed(0)
    small = torch.rand(4, 3, 8, 8, generator=g) * 255
    return torch.nn.functional.interpolate(small, size=(64, 64), mode="bilinear").round().to(
        torch.uint8)


def _reference(name: str, img: torch.Tensor, m: float) -> torch.Tensor:
    nearest = InterpolationMode.NEAREST
    return {
        "Color": lambda: tvf.adjust_saturation(img, 1 + m),
        "Contrast": lambda: tvf.adjust_contrast(img, 1 + m),
        "Brightness": lambda: tvf.adjust_brightness(img, 1 + m),
        "Sharpness": lambda: tvf.adjust_sharpness(img, 1 + m),
        "Posterize": lambda: tvf.posterize(img, int(m)),
        "Solarize": lambda: tvf.solarize(img, 255 * m),
        "Rotate": lambda: tvf.rotate(img, m, interpolation=nearest),
        "ShearX": lambda: tvf.affine(img, angle=0.0, translate=[0, 0], scale=1.0,
                                     shear=[math.degrees(math.atan(m)), 0.0],
                                     interpolation=nearest, center=[0, 0]),
        "AutoContrast": lambda: tvf.autocontrast(img),
        "Equalize": lambda: tvf.equalize(img),
        "Invert": lambda: tvf.invert(img),
    }[name]()


MAGNITUDES = {
    "Color": [0.3, -0.5, 0.9, 0.0], "Contrast": [0.3, -0.5, 0.9, -0.9],
    "Brightness": [0.3, -0.5, 0.9, 0.1], "Sharpness": [0.3, -0.5, 0.9, -0.9],
    "Posterize": [8, 7, 5, 4], "Solarize": [1.0, 0.5, 0.2, 0.0],
    "Rotate": [10.0, -20.0, 30.0, 0.0], "ShearX": [0.1, -0.2, 0.3, 0.0],
    "AutoContrast": [0] * 4, "Equalize": [0] * 4, "Invert": [0] * 4,
}


@pytest.mark.parametrize("name", sorted(MAGNITUDES))
def test_each_op_with_per_image_magnitudes_matches_torchvision(images, name):
    ms = MAGNITUDES[name]
    got = ba.AUTOAUGMENT_OPS[name](images.clone(), torch.tensor(ms, dtype=torch.float64))
    want = torch.stack([_reference(name, images[i], float(m)) for i, m in enumerate(ms)])
    assert got.dtype == torch.uint8 and got.shape == want.shape
    diff = (got.int() - want.int()).abs()
    if name == "Color":  # float32 rounding of the blend weight: off by one at most
        assert diff.max() <= 1 and (diff == 0).float().mean() > 0.99
    elif name == "ShearX":  # nearest-neighbour ties on the sheared grid
        assert (diff == 0).float().mean() > 0.98
    else:
        assert torch.equal(got, want)


def test_every_op_of_the_imagenet_policy_is_covered():
    policy = v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)._policies
    assert {op for sub in policy for op, _, _ in sub} <= set(ba.AUTOAUGMENT_OPS)


def _seeded(fn, seed):
    torch.manual_seed(seed)
    return fn()


def test_geometry_without_randomness_is_the_identity(images):
    g = ba.BatchGeometry(size=64, rotation_degrees=0, crop_scale=(1, 1), hflip=False,
                         ratio=(1, 1))
    assert torch.equal(g(images), images)


def test_geometry_rotation_and_flip_match_torchvision(images):
    rot = ba.BatchGeometry(size=64, rotation_degrees=30, crop_scale=(1, 1), hflip=False,
                           ratio=(1, 1))
    got = _seeded(lambda: rot(images), 5)
    u = _seeded(lambda: torch.rand(4, 6, dtype=torch.float64), 5)
    angles = ((2 * u[:, 0] - 1) * 30).tolist()
    assert len({round(a) for a in angles}) == 4  # each image has its own angle
    want = torch.stack([tvf.rotate(images[i], a, interpolation=InterpolationMode.BILINEAR)
                        for i, a in enumerate(angles)])
    assert (got.int() - want.int()).abs().max() <= 1

    flip = ba.BatchGeometry(size=64, rotation_degrees=0, crop_scale=(1, 1), hflip=True,
                            ratio=(1, 1))
    got = _seeded(lambda: flip(images), 5)
    for i in range(4):
        mirrored = bool(u[i, 5] < 0.5)
        assert torch.equal(got[i], tvf.horizontal_flip(images[i]) if mirrored else images[i])


def test_geometry_crops_cover_the_requested_area_fraction():
    g = ba.BatchGeometry(size=32, rotation_degrees=15, crop_scale=(0.5, 0.7), hflip=True)
    theta = _seeded(lambda: g.draw(2000, 100, 100), 1)
    area = torch.linalg.det(theta[:, :, :2].double()).abs()  # rotation keeps area
    assert area.min() >= 0.5 - 1e-6 and area.max() <= 0.7 + 1e-6
    assert area.mean() == pytest.approx(0.6, abs=0.01)


def test_autoaugment_applies_each_op_as_often_as_the_policy_says(monkeypatch):
    aa = ba.BatchAutoAugment(v2.AutoAugmentPolicy.IMAGENET)
    counts: dict[str, int] = {}

    def counting(name):
        def op(x, m):
            counts[name] = counts.get(name, 0) + len(x)
            return x
        return op

    monkeypatch.setattr(ba, "AUTOAUGMENT_OPS", {n: counting(n) for n in ba.AUTOAUGMENT_OPS})
    n = 20_000
    torch.manual_seed(0)
    aa(torch.zeros(n, 3, 2, 2, dtype=torch.uint8))
    policies = aa.policies
    for name in aa.names:
        p = sum(prob for sub in policies for op, prob, _ in sub if op == name) / len(policies)
        sd = math.sqrt(n * p)  # Poisson-ish bound; each slot is an independent draw
        assert abs(counts.get(name, 0) - n * p) < 5 * sd + 1, name


def test_train_preset_draws_per_image_and_is_reproducible():
    t = TrainPreset(size=32, rotation_degrees=15, crop_scale=(0.8, 1.0), hflip=True,
                    autoaugment="imagenet", mean=(0.5,) * 3, std=(0.5,) * 3)
    same = torch.arange(40 * 40 * 3, dtype=torch.int64).reshape(1, 3, 40, 40) % 251
    batch = same.to(torch.uint8).repeat(8, 1, 1, 1)
    a = _seeded(lambda: t(batch), 3)
    b = _seeded(lambda: t(batch), 3)
    assert a.shape == (8, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert len({tuple(v.flatten()[:50].tolist()) for v in a}) == 8  # no two views alike


def test_normalize_matches_torchvision_and_leaves_its_input_alone():
    from wbsdesk.ml.data import normalize

    g = torch.Generator().manual_seed(2)
    batch = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8, generator=g)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    want = tvf.normalize(tvf.to_dtype(batch, torch.float32, scale=True), list(mean), list(std))
    assert torch.equal(normalize(batch, mean, std), want)
    floats = tvf.to_dtype(batch, torch.float32, scale=True)
    before = floats.clone()
    normalize(floats, mean, std)
    assert torch.equal(floats, before)
