"""A tiny study whose reader crops exist, for reading-session tests (no face detection)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import make_photo, write_manifest
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, set_practice

GROUPS = ("wbs", "other_syndrome", "healthy")
LABELS = {"wbs": "Williams-Beuren syndrome", "other_syndrome": "Other genetic syndrome",
          "healthy": "Healthy"}


def protocol_text(*, seconds: float = 0.2, window: float = 0.3, practice: int = 0,
                  order: str = "per_reader_random", extra: str = "") -> str:
    """A protocol with the paper's groups and short reading times (``extra``: more
    ``[reading]`` lines)."""
    labels = ", ".join(f'{k} = "{v}"' for k, v in LABELS.items())
    return (f'name = "tiny"\ntitle = "Tiny reading study"\n'
            f'[groups]\nnames = ["wbs", "other_syndrome", "healthy"]\npositive = "wbs"\n'
            f"labels = {{ {labels} }}\n"
            f"[reading]\nseconds_per_photo = {seconds}\nresponse_window_seconds = {window}\n"
            f'practice_photos = {practice}\norder = "{order}"\n{extra}')


def subject_key(i: int) -> str:
    """Subject IDs that would stand out if they leaked onto the screen."""
    return f"SUBJ-Q{i:03d}"


def file_name(i: int) -> str:
    """Photo file names that would stand out if they leaked onto the screen."""
    return f"kid_photo_{i:03d}.png"


def _crop_bytes(i: int, side: int) -> bytes:
    rng = np.random.default_rng(5000 + i)
    base = rng.integers(60, 200, size=3)
    arr = np.empty((side, side, 3), dtype=np.uint8)
    arr[:] = base
    arr[side // 4: 3 * side // 4, side // 3: 2 * side // 3] = 255 - base
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def make_reading_study(ws, tmp_path: Path, *, n: int = 5, name: str = "tiny",
                       crops: bool = True, side: int = 256, **protocol) -> str:
    """Create study ``name`` with ``n`` subjects, each with an ``ok`` reader crop.

    ``practice=k`` (a protocol setting) also adds ``k`` practice-only subjects after them,
    the set the practice photos are drawn from.
    """
    proto = tmp_path / f"{name}.toml"
    proto.write_text(protocol_text(**protocol), encoding="utf-8")
    create_study(ws, name, proto)
    folder = tmp_path / f"{name}-photos"
    rows = []
    n_practice = protocol.get("practice", 0)
    for i in range(n + n_practice):
        make_photo(folder / file_name(i), seed=300 + i)
        rows.append({"subject_id": subject_key(i), "photo": file_name(i),
                     "group": GROUPS[i % 3]})
    import_manifest(ws, name, write_manifest(folder / "m.csv", rows))
    if n_practice:
        set_practice(ws, name, [subject_key(i) for i in range(n, n + n_practice)])
    if crops:
        study = ws.store.study(name)
        with ws.store.atomic():
            for p in ws.store.photos(study.id):
                data = _crop_bytes(p.id, side)
                sha = hashlib.sha256(data).hexdigest()
                rel = f"crops/{sha[:2]}/{sha}.jpg"
                (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
                (ws.root / rel).write_bytes(data)
                ws.store.upsert_crop(p.id, status="ok", reasons=[], method="manual",
                                     n_faces=1, reader_crop_path=rel, reader_crop_sha256=sha,
                                     settings={})
    return name
