"""ImageNet weight files: where torchvision expects them, checks, and offline import.

Hospital machines are offline, so nothing here downloads. torchvision caches a weight file
at ``<torch hub dir>/checkpoints/<file name of the weights URL>`` (``torch.hub.get_dir()``
honours ``$TORCH_HOME``); :func:`import_weights` copies a user-supplied file exactly there,
under exactly that name, so both this package and torchvision's own
``weights.get_state_dict()`` find it. A file is only accepted after it loads with
``weights_only=True`` (no code can run) and its keys and tensor shapes match one registered
architecture's 1000-class ImageNet model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wbsdesk.errors import Problem, UserError
from wbsdesk.ml.checkpoints import safe_torch_load
from wbsdesk.ml.registry import arch_spec, list_archs, state_signature

__all__ = ["IMPORT_COMMAND", "ImportedWeights", "WeightsStatus", "cache_dir", "identify_arch",
           "import_weights", "missing_weights_error", "require_weights", "weights_path",
           "weights_status"]

log = logging.getLogger(__name__)

IMPORT_COMMAND = "wbsdesk weights import FILE"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")  # torch.hub's convention: name-<sha256 prefix>.pth
_CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightsStatus:
    """Whether one architecture's ImageNet weight file is in the cache."""

    arch: str
    file_name: str
    path: Path
    url: str
    present: bool
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class ImportedWeights:
    """Result of :func:`import_weights`.

    ``official`` tells whether the file's SHA-256 starts with the hash prefix in
    torchvision's file name (i.e. the file is byte-identical to torchvision's download).
    """

    arch: str
    sha256: str
    dest: Path
    official: bool


def cache_dir() -> Path:
    """torchvision's weight cache: ``torch.hub.get_dir()/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path(arch: str) -> Path:
    """Where the ImageNet weights of ``arch`` are (or would be) cached.

    Examples
    --------
    >>> weights_path("resnet18").name
    'resnet18-f37072fd.pth'
    """
    return cache_dir() / arch_spec(arch).weights_file


def weights_status(archs: Iterable[str] | None = None, *,
                   with_sha256: bool = True) -> list[WeightsStatus]:
    """Report, per architecture, whether its weight file is present.

    Parameters
    ----------
    archs : iterable of str, optional
        Architectures to report (default: all registered ones).
    with_sha256 : bool, keyword-only
        Hash present files (about a second per 500 MB); ``False`` leaves ``sha256`` None.

    Returns
    -------
    list of WeightsStatus
        One entry per architecture, in the order asked.
    """
    out = []
    for arch in list_archs() if archs is None else archs:
        spec = arch_spec(arch)
        path = weights_path(arch)
        present = path.is_file()
        out.append(WeightsStatus(
            arch=arch, file_name=spec.weights_file, path=path, url=spec.weights_url,
            present=present, size=path.stat().st_size if present else None,
            sha256=_sha256(path) if present and with_sha256 else None))
    return out


def require_weights(archs: Iterable[str]) -> dict[str, Path]:
    """Check that every architecture's ImageNet weights are in the cache (no download).

    Parameters
    ----------
    archs : iterable of str
        Architectures about to be trained from ImageNet weights.

    Returns
    -------
    dict
        Architecture -> path of its weight file.

    Raises
    ------
    UserError
        Naming every missing file's exact path and the command that installs it.
    """
    paths = {a: weights_path(a) for a in archs}
    missing = {a: p for a, p in paths.items() if not p.is_file()}
    if missing:
        raise missing_weights_error(missing)
    return paths


def missing_weights_error(missing: Mapping[str, Path]) -> UserError:
    """The :class:`UserError` for missing weight files (exact paths, URLs and the fix)."""
    listing = "; ".join(str(p) for p in missing.values())
    problems = [Problem(file=str(p), row=None,
                        reason=f"missing ImageNet weights for {a} "
                               f"(download on a connected machine: {arch_spec(a).weights_url})")
                for a, p in missing.items()]
    return UserError(
        f"ImageNet weights missing for {', '.join(missing)} (this program never downloads): "
        f"expected {listing}",
        hint=f"copy each file from a machine with internet access and run "
             f"`{IMPORT_COMMAND}` for it",
        problems=problems)


def import_weights(file: str | os.PathLike[str]) -> ImportedWeights:
    """Check a weight file and install it in torchvision's cache under torchvision's name.

    The file is first copied (and hashed) to a temporary file next to its destination, the
    copy is loaded with ``torch.load(..., map_location="cpu", weights_only=True)`` (a pickle
    that would run code is refused), its architecture is identified from keys and shapes,
    and only then is it moved into place with ``os.replace`` (atomic: the cache never holds
    a half-written file).

    Parameters
    ----------
    file : path
        A torchvision ImageNet state dict, e.g. ``resnet18-f37072fd.pth``.

    Returns
    -------
    ImportedWeights
        Architecture, SHA-256 of the installed bytes, destination path, and whether it is
        byte-identical to torchvision's published file.

    Raises
    ------
    UserError
        Missing, unreadable, corrupt or truncated file; a pickle carrying code; not a state
        dict; not the ImageNet weights of a registered architecture.
    """
    src = Path(file)
    if not src.is_file():
        raise UserError(f"{src}: no such file")
    dest_dir = cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".import-", suffix=".tmp", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            while chunk := inp.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        state = _load_state_dict(tmp, shown=src)
        arch = identify_arch(state, source=str(src))
        dest = dest_dir / arch_spec(arch).weights_file
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    m = _HASH_IN_NAME.search(dest.name)
    official = bool(m) and sha.startswith(m.group(1))
    if not official:
        log.warning("%s: accepted as %s weights, but not byte-identical to torchvision's "
                    "%s (sha256 %s)", src, arch, dest.name, sha)
    log.info("imported %s weights from %s to %s (sha256 %s)", arch, src, dest, sha)
    return ImportedWeights(arch=arch, sha256=sha, dest=dest, official=official)


def _load_state_dict(path: Path, *, shown: Path) -> dict[str, torch.Tensor]:
    """Load a state dict safely; every failure becomes a :class:`UserError` about ``shown``."""
    obj = safe_torch_load(path, path=path, shown=str(shown), kind="weight file",
                          hint_code="use the original .pth file published by torchvision",
                          hint_damaged="copy the file again and check its size")
    if not isinstance(obj, Mapping) or not obj:
        raise UserError(f"{shown}: not a model state dict (found {type(obj).__name__})",
                        hint="use the .pth file published by torchvision")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        shown_keys = ", ".join(map(repr, bad[:3]))
        raise UserError(f"{shown}: not a plain model state dict ({len(bad)} entries are not "
                        f"named tensors, e.g. {shown_keys})",
                        hint="use the .pth file published by torchvision")
    return dict(obj)


def identify_arch(state: Mapping[str, Any], *, source: str = "weights") -> str:
    """The registered architecture whose ImageNet state dict has exactly these keys and shapes.

    Parameters
    ----------
    state : mapping of str to Tensor
        A state dict (``num_batches_tracked`` entries are ignored).
    source : str, keyword-only
        Name used in error messages.

    Returns
    -------
    str
        The architecture name.

    Raises
    ------
    UserError
        When no registered architecture matches, naming the closest one and what differs.
    """
    sig = {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}
    best: tuple[float, str] | None = None
    for arch in list_archs():
        ref = state_signature(arch)
        if ref == sig:
            return arch
        overlap = len(ref.keys() & sig.keys()) / max(len(ref), len(sig))
        if best is None or overlap > best[0]:
            best = (overlap, arch)
    known = ", ".join(list_archs())
    if best is None or best[0] < 0.5:
        raise UserError(f"{source}: not the ImageNet weights of a known architecture",
                        hint=f"known architectures: {known}")
    arch = best[1]
    ref = state_signature(arch)
    missing = sorted(ref.keys() - sig.keys())
    extra = sorted(sig.keys() - ref.keys())
    shapes = [f"{k} {sig[k]} (expected {ref[k]})" for k in ref.keys() & sig.keys()
              if ref[k] != sig[k]]
    details = []
    if shapes:
        details.append("different shapes: " + "; ".join(sorted(shapes)[:3]))
    if missing:
        details.append(f"{len(missing)} missing tensors, e.g. {missing[0]}")
    if extra:
        details.append(f"{len(extra)} unexpected tensors, e.g. {extra[0]}")
    raise UserError(
        f"{source}: looks like {arch} but is not its 1000-class ImageNet weights "
        f"({'; '.join(details)})",
        hint="import the unmodified torchvision file (a fine-tuned or different-size model "
             "cannot be used as a starting point)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
