"""The per-photo alignment work, importable by spawned worker processes.

Workers only read the photo and write content-addressed crop files into the workspace; the
parent process writes the database (one writer).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from wbsdesk.config import USER_ONLY_FILE, ensure_private_dir
from wbsdesk.core.jobs import watch_parent
from wbsdesk.errors import UserError

MODEL_CROP_FORMAT = "PNG"   # lossless, 224 px: what the models see
READER_CROP_FORMAT = "JPEG"  # quality 95, 4:4:4: what the readers see


def init_worker() -> None:
    """Set up a worker process: one torch thread, and exit when the parent process ends.

    Two processes beat one with two threads. A parent that dies without shutting the pool
    down (SIGKILL, a crash, a forced stop) would otherwise leave its workers waiting for
    work for ever; they hold nothing unsaved (the parent writes the database).
    """
    import torch

    torch.set_num_threads(1)
    watch_parent(lambda: os._exit(1))


def write_crop(data: bytes, root: Path, ext: str) -> tuple[str, str]:
    """Store crop bytes under their SHA-256 (atomic, user-only); returns (relpath, sha)."""
    sha = hashlib.sha256(data).hexdigest()
    rel = f"crops/{sha[:2]}/{sha}{ext}"
    dest = root / rel
    if not dest.exists():
        ensure_private_dir(dest.parent.parent)
        ensure_private_dir(dest.parent)
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.part")
        tmp.write_bytes(data)
        os.chmod(tmp, USER_ONLY_FILE)
        os.replace(tmp, dest)
    return rel, sha


def align_one(photo_id: int, path: str, root: str, settings: dict[str, Any],
              manual: dict[str, Any] | None = None) -> dict[str, Any]:
    """Align one photo and store its crops; returns the crop row values (or an error).

    Parameters
    ----------
    photo_id : int
    path : str
        Absolute path of the stored photo.
    root : str
        The workspace folder.
    settings : dict
        Detector and crop settings (the protocol's ``[faces]`` plus ``min_side_px``); stored
        with the crop, so a crop's ``padding`` can be read back.
    manual : dict, optional
        ``{"box": [x, y, w, h], "landmarks": [[x, y] x 5] or None}`` for a manual crop.
    """
    from wbsdesk.ml import faces

    kw = {k: settings[k] for k in ("model_crop_px", "reader_crop_px", "min_side_px")}
    kw["reader_face_area"] = tuple(settings["reader_face_area"])
    kw["padding"] = settings.get("padding", "grey")  # crops stored before the key: grey
    try:
        if manual is not None:
            res = faces.manual_align(path, box=manual["box"], landmarks=manual.get("landmarks"),
                                     **kw)
        else:
            res = faces.align_photo(path, min_confidence=settings["min_confidence"],
                                    min_face_px=settings["min_face_px"],
                                    detect_max_side=settings["detect_max_side"], **kw)
    except UserError as exc:
        return {"photo_id": photo_id, "error": str(exc)}
    row: dict[str, Any] = {
        "status": res.status, "reasons": list(res.reasons),
        "method": "manual" if manual is not None else "mtcnn", "n_faces": res.n_faces,
        "image_width": res.image_size[0], "image_height": res.image_size[1],
        "settings": settings, "seconds": round(res.timings.get("total", 0.0), 4),
    }
    if res.chosen is not None:
        row |= {"bbox": [round(float(v), 2) for v in res.chosen.box],
                "landmarks": [[round(float(x), 2), round(float(y), 2)]
                              for x, y in res.chosen.landmarks],
                "confidence": round(float(res.chosen.confidence), 5),
                "reader_window": [round(float(v), 2) for v in res.reader_window],
                "model_matrix": [[float(v) for v in r] for r in res.model_matrix]}
        rootp = Path(root)
        row["model_crop_path"], row["model_crop_sha256"] = write_crop(
            faces.encode_crop(res.model_crop, MODEL_CROP_FORMAT), rootp, ".png")
        row["reader_crop_path"], row["reader_crop_sha256"] = write_crop(
            faces.encode_crop(res.reader_crop, READER_CROP_FORMAT), rootp, ".jpg")
    return {"photo_id": photo_id, "row": row}
