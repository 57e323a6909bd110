"""A tiny trainable study (12 synthetic faces, 2 folds, 32 px, ResNet-18) for GUI tests."""

from __future__ import annotations

from pathlib import Path

from tests.services.conftest import TINY, tiny_protocol
from wbsdesk.services import faces
from wbsdesk.services.demo import write_demo_photos
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, folds


def make_tiny_study(ws, tmp_path: Path, name: str = "t") -> str:
    """Create, import, fold and crop study ``name`` (known faces, no detection)."""
    manifest = write_demo_photos(tmp_path / f"{name}-faces", seed=5, counts=TINY,
                                 with_practice=False)
    create_study(ws, name, tiny_protocol(tmp_path))
    import_manifest(ws, name, manifest)
    folds(ws, name)
    faces.align_study(ws, name, known_faces=True, workers=1)
    return name
