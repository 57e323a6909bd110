"""Shared fixtures of the service tests: a tiny, aligned demo-like study."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS
from wbsdesk.services import faces
from wbsdesk.services.demo import write_demo_photos
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, folds

TINY = {"wbs": 5, "other_syndrome": 3, "healthy": 4}


def tiny_protocol(tmp_path: Path, **training_overrides) -> Path:
    text = (PROTOCOLS / "demo.toml").read_text()
    text = text.replace("k = 5", "k = 2").replace("input_px = 64", "input_px = 32")
    text = text.replace('architectures = ["resnet18", "mobilenet_v2"]',
                        'architectures = ["resnet18"]')
    text = text.replace("epochs = 8", "epochs = 2").replace("batch_size = 16", "batch_size = 4")
    for setting in ("k = 2", "input_px = 32", "epochs = 2", "batch_size = 4"):
        assert setting in text, f"demo.toml changed: the tiny protocol lacks {setting!r}"
    for key, value in training_overrides.items():
        text = text.replace(f'{key} = "none"', f'{key} = "{value}"')
    p = tmp_path / "tiny.toml"
    p.write_text(text)
    return p


@pytest.fixture
def tiny(ws, tmp_path):
    manifest = write_demo_photos(tmp_path / "faces", seed=5, counts=TINY, with_practice=False)
    create_study(ws, "t", tiny_protocol(tmp_path))
    import_manifest(ws, "t", manifest)
    folds(ws, "t")
    faces.align_study(ws, "t", known_faces=True, workers=1)
    return ws
