"""Checking photo files (full decode, formats, size caps) and the content-addressed store."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from wbsdesk.config import USER_ONLY_FILE, ensure_private_dir
from wbsdesk.core.image_formats import ALLOWED

_EXT = {**{name: f.extension for name, f in ALLOWED.items()}, "MPO": ".jpg"}


@dataclass(frozen=True)
class PhotoInfo:
    """What a readable photo file holds."""

    sha256: str
    format: str
    width: int
    height: int
    n_bytes: int

    @property
    def extension(self) -> str:
        """File extension used in the photo store."""
        return _EXT.get(self.format, ".img")


class PhotoProblem(Exception):  # noqa: N818 - carries a reason, caught by the importer
    """Why a photo file cannot be used (the message is the reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def probe_photo(path: Path, *, max_pixels: int, min_side_px: int) -> PhotoInfo:
    """Fully check one photo file and describe it.

    The file goes through :func:`wbsdesk.ml.image_io.open_image` with ``strict=True``: only
    an allow-listed format (recognised by its magic bytes, whatever its name) reaches a
    decoder, the pixel count is checked before decoding (decompression bombs), the whole
    image is decoded (truncated or corrupt data is refused), and a JPEG's image data is
    checked for damage libjpeg would repair silently. HEIC/HEIF files get a hint to convert.

    Raises
    ------
    PhotoProblem
        With a reason a user can act on.
    """
    from wbsdesk.ml.image_io import ImageRefusedError, open_image

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PhotoProblem(f"the file cannot be read ({exc.strerror or exc})") from None
    try:
        with open_image(data, name=str(path), max_pixels=max_pixels, strict=True) as im:
            fmt = im.format or "unknown"
            w, h = im.size
    except ImageRefusedError as exc:
        raise PhotoProblem(exc.reason) from None
    if min(w, h) < min_side_px:
        raise PhotoProblem(f"the image is only {w}x{h} pixels; at least {min_side_px} px on "
                           "each side is needed")
    return PhotoInfo(sha256=hashlib.sha256(data).hexdigest(), format=fmt, width=w, height=h,
                     n_bytes=len(data))


def stored_relpath(info: PhotoInfo) -> str:
    """Workspace-relative path of a photo in the content-addressed store."""
    return f"photos/{info.sha256[:2]}/{info.sha256}{info.extension}"


def store_photo(src: Path, workspace_root: Path, info: PhotoInfo) -> bool:
    """Copy ``src`` into the photo store (atomic rename, user-only); False if already there."""
    dest = workspace_root / stored_relpath(info)
    if dest.exists():
        return False
    ensure_private_dir(dest.parent.parent)
    ensure_private_dir(dest.parent)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    os.chmod(tmp, USER_ONLY_FILE)
    os.replace(tmp, dest)
    return True
