"""Photo files: the full check, the metadata-free stored copy, and orphaned files.

The store keeps each photo under the SHA-256 of the *original* file (the photo's identity:
re-importing the same file finds it, two subjects with the same file are caught), but what
it stores is a copy without metadata: JPEGs and PNGs are rebuilt from their pixel-bearing
parts byte for byte (:mod:`wbsdesk.core.photo_metadata`), TIFF, WebP and BMP are re-encoded
losslessly from their pixels. Only the EXIF orientation is kept, so the copy shows upright.

An import writes the copies into a staging folder under the workspace's ``tmp/`` and
renames them into ``photos/`` inside the database transaction that records them, so a
killed import leaves files only in ``tmp/`` or in ``photos/`` unreferenced;
:func:`find_orphan_files` lists them and :func:`remove_orphan_files` removes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wbsdesk.config import USER_ONLY_FILE, ensure_private_dir
from wbsdesk.core.image_formats import ALLOWED
from wbsdesk.core.photo_metadata import orientation_exif, strip_jpeg, strip_png
from wbsdesk.errors import UserError

if TYPE_CHECKING:
    from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

_EXT = {**{name: f.extension for name, f in ALLOWED.items()}, "MPO": ".jpg"}
# Pillow modes each re-encoded format can store without loss.
_LOSSLESS_MODES = {
    "TIFF": frozenset({"1", "CMYK", "F", "I", "I;16", "I;16B", "I;16L", "L", "LA", "LAB", "P",
                       "PA", "RGB", "RGBA", "RGBX", "YCbCr"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
    "BMP": frozenset({"1", "L", "P", "RGB", "RGBA"}),
}
#: Prefix of an import's staging folder under the workspace's ``tmp/``.
STAGING_PREFIX = "import-"
_LOCK_NAME = ".lock"
#: Crop files younger than this are never orphans (an alignment may be about to record them).
CROP_GRACE_S = 600.0


@dataclass(frozen=True)
class PhotoInfo:
    """What a readable photo file holds (``orientation``: its EXIF orientation, 1..8)."""

    sha256: str
    format: str
    width: int
    height: int
    n_bytes: int
    orientation: int = 1

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
    from wbsdesk.ml.image_io import ImageRefusedError, exif_orientation, open_image, sniff_file

    try:
        sniff_file(path)  # a file in another format is refused before it is read whole
        data = path.read_bytes()
    except ImageRefusedError as exc:
        raise PhotoProblem(exc.reason) from None
    except OSError as exc:
        raise PhotoProblem(f"the file cannot be read ({exc.strerror or exc})") from None
    try:
        with open_image(data, name=str(path), max_pixels=max_pixels, strict=True) as im:
            fmt = im.format or "unknown"
            w, h = im.size
            orientation = exif_orientation(im, str(path))
            mode = im.mode
    except ImageRefusedError as exc:
        raise PhotoProblem(exc.reason) from None
    if min(w, h) < min_side_px:
        raise PhotoProblem(f"the image is only {w}x{h} pixels; at least {min_side_px} px on "
                           "each side is needed")
    if fmt in _LOSSLESS_MODES and mode not in _LOSSLESS_MODES[fmt]:
        raise PhotoProblem(f"a {ALLOWED[fmt].label} image in Pillow mode {mode} cannot be "
                           "stored without loss; save it as PNG or JPEG")
    return PhotoInfo(sha256=hashlib.sha256(data).hexdigest(), format=fmt, width=w, height=h,
                     n_bytes=len(data), orientation=orientation)


def clean_copy(data: bytes, info: PhotoInfo, name: str = "<photo>") -> bytes:
    """The bytes to store for a photo: no metadata but its orientation, same pixels.

    Parameters
    ----------
    data : bytes
        The original file, as checked by :func:`probe_photo` into ``info``.
    info : PhotoInfo
    name : str
        For messages.

    Returns
    -------
    bytes
        JPEG and PNG: the original's pixel-bearing parts, unchanged; TIFF (deflate), WebP
        (lossless) and BMP: re-encoded from the decoded pixels.
    """
    if info.format in ("JPEG", "MPO"):
        return strip_jpeg(data, info.orientation)
    if info.format == "PNG":
        return strip_png(data, info.orientation)
    from wbsdesk.ml.image_io import open_image

    with open_image(data, name=name, max_pixels=info.width * info.height) as im:
        fresh = im.copy()
        icc = im.info.get("icc_profile")
    fresh.info = {k: v for k, v in fresh.info.items() if k == "transparency"}
    options: dict = {"icc_profile": icc} if icc else {}
    if info.format == "TIFF":
        options["compression"] = "tiff_adobe_deflate"
        if info.orientation != 1:
            options["tiffinfo"] = {0x0112: info.orientation}
    elif info.format == "WEBP":
        options |= {"lossless": True, "exact": True, "quality": 100}
        if info.orientation != 1:
            options["exif"] = b"Exif\x00\x00" + orientation_exif(info.orientation)
    buffer = io.BytesIO()
    fresh.save(buffer, info.format, **options)
    return buffer.getvalue()


@contextlib.contextmanager
def staging_folder(tmp_dir: Path) -> Iterator[Path]:
    """A private folder under ``tmp_dir`` for one import's files, locked while it is used.

    The lock (an OS lock, dropped when the process ends, even when it is killed) tells
    :func:`find_orphan_files` that the folder belongs to a running import. The folder and
    whatever is left in it are removed on leaving.
    """
    from wbsdesk.services.os_lock import FileLock

    folder = ensure_private_dir(tmp_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}")
    try:
        with FileLock(folder / _LOCK_NAME, _staging_busy):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _staging_busy(holder: dict) -> UserError:
    return UserError(f"an import staging folder is in use by another process ({holder})")


def stage_photo(src: Path, info: PhotoInfo, folder: Path) -> Path:
    """Write the clean copy of ``src`` into the staging ``folder`` (user-only, synced).

    Raises
    ------
    PhotoProblem
        When ``src`` changed since it was checked (its SHA-256 differs).
    """
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise PhotoProblem(f"the file cannot be read ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != info.sha256:
        raise PhotoProblem("the file changed after it was checked; import again")
    staged = folder / f"{info.sha256}{info.extension}"
    with open(staged, "xb") as fh:
        os.chmod(staged, USER_ONLY_FILE)
        fh.write(clean_copy(data, info, str(src)))
        fh.flush()
        os.fsync(fh.fileno())
    return staged


def stored_relpath(info: PhotoInfo) -> str:
    """Workspace-relative path of a photo in the content-addressed store."""
    return f"photos/{info.sha256[:2]}/{info.sha256}{info.extension}"


def find_orphan_files(ws: Workspace) -> list[Path]:
    """Files in the workspace's photo and crop stores that no database row references.

    Parameters
    ----------
    ws : Workspace
        An open workspace (a read-only store is enough).

    Returns
    -------
    list of Path
        Sorted: files under ``photos/`` and ``crops/`` that no photo or crop row names
        (crop files younger than :data:`CROP_GRACE_S` are left out: an alignment may be
        about to record them), and the staging folders of imports that were killed
        (``tmp/import-*`` whose lock no process holds).
    """
    from wbsdesk.services.os_lock import lock_in_use

    root = Path(ws.root)
    used = ws.store.photo_paths_in_use() | ws.store.crop_paths_in_use()
    now = time.time()
    out: list[Path] = []
    for folder in ("photos", "crops"):
        base = root / folder
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.is_dir() or path.relative_to(root).as_posix() in used:
                continue
            if folder == "crops" and _age(path, now) < CROP_GRACE_S:
                continue
            out.append(path)
    tmp = root / "tmp"
    if tmp.is_dir():
        for staging in tmp.glob(f"{STAGING_PREFIX}*"):
            if staging.is_dir() and not lock_in_use(staging / _LOCK_NAME):
                out.append(staging)
    return sorted(out)


def list_orphan_files(root: str | os.PathLike) -> list[Path]:
    """:func:`find_orphan_files` of the workspace at ``root``, opened read-only (writes nothing).

    Returns an empty list when the workspace has no readable database.
    """
    from wbsdesk.config import db_path
    from wbsdesk.services.workspace import Workspace
    from wbsdesk.store import open_store_readonly

    root = Path(root)
    try:
        store = open_store_readonly(db_path(root))
    except UserError:
        return []
    try:
        return find_orphan_files(Workspace(root, store))
    finally:
        store.close()


def remove_orphan_files(ws: Workspace, paths: Iterable[Path]) -> int:
    """Remove orphans found by :func:`find_orphan_files`, checked again under the write lock.

    The database's write lock is held while files are removed, so an import that is
    recording its photos right now finishes first (its files are then referenced and
    stay). Folders left empty under ``photos/`` and ``crops/`` are removed too.

    Parameters
    ----------
    ws : Workspace
        The workspace, opened for writing.
    paths : iterable of Path
        What to remove; only those still orphaned now are removed.

    Returns
    -------
    int
        How many files and staging folders were removed.
    """
    root = Path(ws.root).resolve()
    wanted = {Path(p).resolve() for p in paths}
    removed = 0
    with ws.store.atomic():  # IMMEDIATE: waits for a writer in the middle of an import
        for path in find_orphan_files(ws):
            if path.resolve() not in wanted or not path.resolve().is_relative_to(root):
                continue
            try:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
            log.info("removed orphaned file %s", path)
        for folder in ("photos", "crops"):
            _prune_empty(root / folder)
    return removed


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def _prune_empty(base: Path) -> None:
    """Remove empty sub-folders of ``base`` (not ``base`` itself)."""
    if not base.is_dir():
        return
    for folder in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()
