"""Checking photo files (full decode, formats, size caps) and the content-addressed store."""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

from wbsdesk.config import USER_ONLY_FILE, ensure_private_dir

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"heim", b"heis")
_EXT = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "BMP": ".bmp", "WEBP": ".webp",
        "GIF": ".gif", "MPO": ".jpg"}


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

    The whole image is decoded (so truncated or corrupt data is caught), its pixel count is
    checked against ``max_pixels`` before decoding (decompression bombs), and HEIC/HEIF files
    get a hint to convert.

    Raises
    ------
    PhotoProblem
        With a reason a user can act on.
    """
    size = path.stat().st_size
    if size == 0:
        raise PhotoProblem("the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(32)
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        raise PhotoProblem("HEIC/HEIF photos cannot be read; convert it to JPEG first "
                           "(e.g. export as JPEG from the phone or photo app)")
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = im.format or "unknown"
                w, h = im.size
                if w * h > max_pixels:
                    raise PhotoProblem(f"the image is {w}x{h} = {w * h:,} pixels, over the cap "
                                       f"of {max_pixels:,} (possible decompression bomb)")
                if min(w, h) < min_side_px:
                    raise PhotoProblem(f"the image is only {w}x{h} pixels; at least "
                                       f"{min_side_px} px on each side is needed")
                im.load()  # full decode: truncated or corrupt data fails here
    except PhotoProblem:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoProblem(f"the image is too large ({exc})") from None
    except UnidentifiedImageError:
        raise PhotoProblem("not an image format wbsdesk can read (use JPEG or PNG)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoProblem(f"the image is truncated or corrupt ({exc})") from None
    return PhotoInfo(sha256=sha256_file(path), format=fmt, width=w, height=h, n_bytes=size)


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
