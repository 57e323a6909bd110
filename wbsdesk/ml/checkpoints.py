"""Run checkpoints: written atomically with a SHA-256 record, verified before every load.

:func:`save_checkpoint` writes ``torch.save(payload)`` to a temporary file in the same
folder, hashing the bytes as they are written, fsyncs it, and moves it into place with
``os.replace``. Its SHA-256 is kept next to it in ``<name>.sha256`` (``sha256sum`` format,
so ``sha256sum -c checkpoint.pt.sha256`` checks it by hand). The record is written *before*
the new file replaces the old one and lists both hashes until the replacement is done, so a
process killed at any instant leaves a checkpoint its record accepts::

    1. write .checkpoint.pt.XXXX.tmp, fsync            record: old
    2. record: new + old (atomic)                      file:   old   (accepted)
    3. os.replace(tmp, checkpoint.pt), fsync folder    file:   new   (accepted)
    4. record: new (atomic)

:func:`load_checkpoint` hashes the file through the descriptor it then loads from, refuses a
file whose hash is not in every record it is given (the record file, a fold's ``done.json``,
the workspace database), and loads with ``torch.load(..., weights_only=True)``. Every
failure becomes a :class:`~wbsdesk.errors.UserError` that names the file and the reason; none
suggests ``weights_only=False``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import pickletools
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

from wbsdesk.errors import UserError

__all__ = ["DATABASE_RECORD", "DONE_RECORD", "atomic_write_bytes", "atomic_write_text",
           "checkpoint_records", "load_checkpoint", "load_state_checked", "pickle_parses",
           "record_path", "recorded_sha256", "safe_torch_load", "save_checkpoint",
           "save_checkpoint_bytes", "verify_file"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
#: Names of the places a checkpoint's SHA-256 is recorded, as messages show them.
DONE_RECORD = "done.json"
DATABASE_RECORD = "the workspace database"
_HINT_REPLACED = ("restore the run folder from a backup, or train a new run (files of a "
                  "run are never edited by hand)")


class _HashingWriter:
    """A binary file wrapper that hashes every byte written through it."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.digest = hashlib.sha256()

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows has no directory handles)."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, write: Callable[[Any], object], *,
                      before_replace: Callable[[str], None] | None = None) -> str:
    """Write through ``write(fh)`` to a temporary file, fsync, ``os.replace``; the SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            hashing = _HashingWriter(fh)
            write(hashing)
            fh.flush()
            os.fsync(fh.fileno())
        sha = hashing.digest.hexdigest()
        if before_replace is not None:
            before_replace(sha)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return sha


def atomic_write_bytes(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically (temporary file + fsync + ``os.replace``).

    Returns
    -------
    str
        The SHA-256 (hex) of ``data``.
    """
    return _write_atomically(Path(path), lambda fh: fh.write(data))


def atomic_write_text(path: Path, text: str) -> str:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def record_path(path: Path) -> Path:
    """The SHA-256 record of a checkpoint: ``checkpoint.pt`` -> ``checkpoint.pt.sha256``."""
    path = Path(path)
    return path.with_name(f"{path.name}.sha256")


def recorded_sha256(path: Path) -> list[str]:
    """The hashes the record of ``path`` accepts (empty when there is no readable record)."""
    try:
        lines = record_path(path).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        sha = line.split(" ", 1)[0].strip().lower()
        if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha):
            out.append(sha)
    return out


def _write_record(path: Path, hashes: Iterable[str]) -> None:
    atomic_write_text(record_path(path), "".join(f"{h}  {path.name}\n" for h in hashes))


def save_checkpoint(path: Path, payload: dict[str, Any]) -> str:
    """``torch.save`` atomically and record the file's SHA-256 (see the module docstring).

    Parameters
    ----------
    path : Path
        The checkpoint file; its record is :func:`record_path` of it.
    payload : dict
        Tensors and plain data only (what ``torch.load(..., weights_only=True)`` reads).

    Returns
    -------
    str
        The SHA-256 (hex) of the bytes now at ``path``.
    """
    return _save_recorded(Path(path), lambda fh: torch.save(payload, fh))


def save_checkpoint_bytes(path: Path, data: bytes) -> str:
    """Write a checkpoint's bytes (e.g. sent back by a Ray task) as :func:`save_checkpoint`
    does: atomically, its record listing the old and the new hash while it is replaced.

    Returns
    -------
    str
        The SHA-256 (hex) of ``data``.
    """
    return _save_recorded(Path(path), lambda fh: fh.write(data))


def _save_recorded(path: Path, write: Callable[[Any], object]) -> str:
    old = recorded_sha256(path) if path.is_file() else []

    def record_both(sha: str) -> None:  # step 2: the old file stays accepted until replaced
        _write_record(path, [sha, *(h for h in old if h != sha)])

    sha = _write_atomically(path, write, before_replace=record_both)
    if old and old != [sha]:
        _write_record(path, [sha])
    return sha


def checkpoint_records(path: Path, *, done: Mapping[str, Any] | None = None,
                       stored: str | None = None) -> dict[str, list[str]]:
    """Where the SHA-256 of a fold checkpoint is recorded, and the hashes each accepts.

    Parameters
    ----------
    path : Path
        The checkpoint file.
    done : mapping, optional, keyword-only
        The fold's ``done.json`` (a finished fold): its ``checkpoint_sha256`` is the fold
        model's hash; without one (older run folders) the record file is used.
    stored : str, optional, keyword-only
        The hash the workspace database holds for this fold.

    Returns
    -------
    dict
        Source name -> accepted hashes; sources without a hash are left out.
    """
    out: dict[str, list[str]] = {}
    if done is not None and done.get("checkpoint_sha256"):
        out[DONE_RECORD] = [str(done["checkpoint_sha256"])]
    else:
        out[record_path(path).name] = recorded_sha256(path)
    if stored:
        out[DATABASE_RECORD] = [stored]
    return {k: v for k, v in out.items() if v}


def _sha256_of(fh: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _check_hash(path: Path, sha: str, records: Mapping[str, Collection[str]], label: str
                ) -> None:
    if not records:
        raise UserError(f"{label}: {path} has no recorded SHA-256, so it cannot be verified "
                        "and is not used", hint=_HINT_REPLACED)
    for source, accepted in records.items():
        if sha not in accepted:
            raise UserError(
                f"{label}: {path} is not the checkpoint training wrote: its SHA-256 "
                f"({sha[:16]}...) differs from the one recorded in {source} "
                f"({next(iter(accepted))[:16]}...), so it was replaced or damaged and is "
                "not used", hint=_HINT_REPLACED)


def verify_file(path: Path, records: Mapping[str, Collection[str]], *, label: str) -> str:
    """Hash ``path`` and check it against every record; its SHA-256.

    Parameters
    ----------
    path : Path
    records : mapping of str to collection of str
        Source name (for the message) -> hashes it accepts (see :func:`checkpoint_records`).
    label : str, keyword-only
        What the file is, e.g. ``"run 'r1', resnet18 fold 2"``.

    Raises
    ------
    UserError
        A missing file, no record, or a hash that a record does not accept.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            sha = _sha256_of(fh)
    except OSError as exc:
        raise UserError(f"{label}: cannot read {path} ({exc.strerror or exc})") from None
    _check_hash(path, sha, records, label)
    return sha


def load_checkpoint(path: Path, records: Mapping[str, Collection[str]], *, label: str,
                    required: Collection[str] = ("model", "config"),
                    map_location: str = "cpu", mmap: bool = False) -> tuple[dict[str, Any], str]:
    """Verify a checkpoint's SHA-256, then load it with ``weights_only=True``.

    The hash is computed through the descriptor the file is then loaded from, so a file
    swapped in between is never the one loaded.

    Parameters
    ----------
    path : Path
    records : mapping of str to collection of str
        Source name -> accepted hashes (see :func:`checkpoint_records`); the file's hash
        must be in every one.
    label : str, keyword-only
        What the file is, for messages: ``"run 'r1', resnet18 fold 2"``.
    required : collection of str, keyword-only
        Keys the checkpoint must have.
    map_location : str, keyword-only
    mmap : bool, keyword-only
        Map tensors from the file (cheap peeks at ``epoch`` and ``config``).

    Returns
    -------
    (dict, str)
        The checkpoint and its SHA-256.

    Raises
    ------
    UserError
        No record, a hash mismatch, a damaged file, a pickle that could run code, or a
        checkpoint without the ``required`` keys; the message names the file.
    """
    path = Path(path)
    shown = f"{label}: {path}"
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UserError(f"{label}: cannot read {path} ({exc.strerror or exc})") from None
    with fh:
        sha = _sha256_of(fh)
        _check_hash(path, sha, records, label)
        fh.seek(0)
        if mmap:  # torch maps by file name: make sure the name still is the verified file
            obj = safe_torch_load(path, path=path, shown=shown, map_location=map_location,
                                  mmap=True, kind="checkpoint")
            if not os.path.samestat(os.fstat(fh.fileno()), os.stat(path)):
                raise UserError(f"{shown} was replaced while it was being loaded",
                                hint="make sure no other program writes into the run folder")
        else:
            obj = safe_torch_load(fh, path=path, shown=shown, map_location=map_location,
                                  kind="checkpoint")
    if not isinstance(obj, dict):
        raise UserError(f"{shown} is not a wbsdesk checkpoint (it holds a "
                        f"{type(obj).__name__})", hint=_HINT_REPLACED)
    missing = [k for k in required if k not in obj]
    if missing:
        raise UserError(f"{shown} is not a wbsdesk checkpoint (no {', '.join(missing)})",
                        hint=_HINT_REPLACED)
    if "model" in obj and not (isinstance(obj["model"], Mapping) and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj["model"].items())):
        raise UserError(f"{shown} is not a wbsdesk checkpoint (its model is not a state dict)",
                        hint=_HINT_REPLACED)
    if "config" in obj and not (isinstance(obj["config"], dict) and "arch" in obj["config"]):
        raise UserError(f"{shown} is not a wbsdesk checkpoint (no model configuration)",
                        hint=_HINT_REPLACED)
    return obj, sha


def _short(exc: BaseException) -> str:
    """The first sentence of an error, unless it is torch's advice about ``weights_only``."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text.split(". ")[0].strip().rstrip(".")
    if not text or "weights_only" in text or "weights only" in text.lower():
        return type(exc).__name__
    return text[:160]


def safe_torch_load(src: Path | IO[bytes], *, path: Path, shown: str, kind: str = "file",
                    map_location: str = "cpu", mmap: bool = False,
                    hint_code: str | None = None, hint_damaged: str | None = None) -> Any:
    """``torch.load(src, weights_only=True)``; every failure becomes a :class:`UserError`.

    Parameters
    ----------
    src : path or binary file
        What to load.
    path : Path, keyword-only
        The file on disk (read, without executing anything, to tell a pickle that carries
        code from a damaged file).
    shown : str, keyword-only
        How the message names the file.
    kind : str, keyword-only
        What the file is, e.g. ``"weight file"`` or ``"checkpoint"``.
    map_location, mmap : keyword-only
        Passed to ``torch.load``.
    hint_code, hint_damaged : str, optional, keyword-only
        Hints for a pickle that carries code and for a damaged file.

    Raises
    ------
    UserError
        ``"<shown>: refused: ... can run code"`` or ``"<shown>: not a readable PyTorch
        <kind> (corrupt or truncated...)"``; never torch's advice to use
        ``weights_only=False``.
    """
    try:
        with warnings.catch_warnings():  # torch's notice about unusual pickle protocols
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(src, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if pickle_parses(path):  # a well-formed pickle whose content weights_only refused
            log.warning("%s: refused a pickle that carries more than tensors", path)
            raise UserError(
                f"{shown}: refused: the file holds Python objects beyond tensors and plain "
                "data, and loading such a pickle can run code",
                hint=hint_code or _HINT_REPLACED) from None
        reason = _short(exc)
    except Exception as exc:  # torch raises many types for damaged files
        reason = _short(exc)
    log.info("%s: not a readable PyTorch %s (%s)", path, kind, reason)
    raise UserError(f"{shown}: not a readable PyTorch {kind} (corrupt or truncated: {reason})",
                    hint=hint_damaged or _HINT_REPLACED) from None


def pickle_parses(path: Path) -> bool:
    """Whether the file's (first) pickle stream is well-formed, read without executing it.

    Looks inside torch's zip format (``*/data.pkl``); ``pickletools.genops`` only decodes
    opcodes, it never imports or calls anything.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                name = next(n for n in zf.namelist() if n.endswith("data.pkl"))
                data = zf.read(name)
        else:
            data = Path(path).read_bytes()
        for _ in pickletools.genops(data):
            pass
    except Exception:  # anything unreadable counts as damaged
        return False
    return True


def load_state_checked(model: nn.Module, state: Mapping[str, Any], *, shown: str,
                       assign: bool = False) -> None:
    """``model.load_state_dict(state)``; wrong keys or shapes become a :class:`UserError`.

    Parameters
    ----------
    model : torch.nn.Module
    state : mapping
        A state dict.
    shown : str, keyword-only
        How the message names the file the state came from.
    assign : bool, keyword-only
        Passed to ``load_state_dict`` (models built on the ``meta`` device).
    """
    try:
        model.load_state_dict(state, assign=assign)
    except (RuntimeError, TypeError, ValueError, KeyError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0] if lines else type(exc).__name__)
        raise UserError(f"{shown} does not fit a {type(model).__name__} model "
                        f"({detail[:200]})", hint=_HINT_REPLACED) from None
