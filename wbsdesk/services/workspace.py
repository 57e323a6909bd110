"""A workspace: one folder with the database, the photo store and run folders (user-only).

The database lives in the hidden ``.store/`` sub-folder (``config.db_path``), where no file
dialog or folder scan goes; a workspace made by an older wbsdesk, with ``wbsdesk.db`` at its
root, has it moved there the first time it is opened while no other process uses it. A
folder that holds photos, crops or runs but no usable database is refused: wbsdesk never
starts an empty database over existing data.
"""

from __future__ import annotations

import logging
from pathlib import Path

from wbsdesk.config import (
    DATA_DIRS,
    STORE_DIR,
    db_path,
    ensure_private_dir,
    legacy_db_path,
    resolve_workspace,
    warn_if_shared,
)
from wbsdesk.errors import UserError
from wbsdesk.store import Store, move_legacy_database, open_store, open_stores

log = logging.getLogger(__name__)


class Workspace:
    """An open workspace. Use as a context manager, or call :meth:`close`.

    Attributes
    ----------
    root : Path
        The workspace folder (0700 when wbsdesk made it; an existing folder keeps its mode).
    store : Store
        The open database of this thread.
    """

    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self.store = store

    @property
    def photos_dir(self) -> Path:
        """Content-addressed original photos (``photos/ab/abcdef....jpg``)."""
        return self.root / "photos"

    @property
    def runs_dir(self) -> Path:
        """One folder per training run."""
        return self.root / "runs"

    @property
    def tmp_dir(self) -> Path:
        """Scratch space on the same file system (for atomic renames)."""
        return ensure_private_dir(self.root / "tmp")

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(path: str | Path | None = None) -> Workspace:
    """Open (creating if needed) a workspace.

    Parameters
    ----------
    path : str or Path, optional
        The folder; by default ``$WBSDESK_WORKSPACE`` or the per-user data folder. A missing
        folder is made 0700; an existing one keeps its mode (a warning is logged when other
        users can read it).

    Returns
    -------
    Workspace

    Raises
    ------
    UserError
        When the folder holds wbsdesk data but no usable database, when the database of an
        older layout cannot move because another process has it open, or when the database
        cannot be opened (damaged, newer version).
    """
    try:
        return _open(resolve_workspace(path))
    except NotADirectoryError as exc:  # a file (or a link to nothing) where a folder goes
        raise UserError(f"{exc.filename}: is not a folder, so this workspace cannot be opened",
                        hint="Move the file of that name out of the way, or choose another "
                             "workspace folder (--workspace).") from exc


def _open(folder: Path) -> Workspace:
    root = ensure_private_dir(folder)
    warn_if_shared(root)
    db = db_path(root)
    legacy = legacy_db_path(root)
    if legacy.exists():  # made by an older wbsdesk: move it (refused if both exist)
        if not db.exists():
            _refuse_unusable(root, legacy)
        ensure_private_dir(db.parent)
        move_legacy_database(legacy, db)
    _refuse_unusable(root, db)
    store = open_store(db)
    ws = Workspace(root, store)
    try:
        ws.tmp_dir  # noqa: B018 - made now: jobs put their scratch files here, not in /tmp
    except BaseException:
        ws.close()
        raise
    return ws


def data_found(root: Path) -> list[str]:
    """The data sub-folders of ``root`` that hold anything (``photos/``, ``crops/``, ``runs/``)."""
    found = []
    for name in DATA_DIRS:
        d = root / name
        try:
            if d.is_dir() and any(d.iterdir()):
                found.append(f"{name}/")
        except OSError:
            found.append(f"{name}/")
    return found


def database_missing(db: Path) -> str | None:
    """Why ``db`` cannot be the workspace's database ("is missing", "is empty"), or ``None``."""
    if not db.exists():
        if Path(f"{db}-wal").exists():
            return "is missing (its write-ahead log is still there)"
        return "is missing"
    if db.is_file() and db.stat().st_size == 0:
        return "is empty (0 bytes)"
    return None


def _refuse_unusable(root: Path, db: Path) -> None:
    why = database_missing(db)
    if why is None:
        return
    data = data_found(root)
    if data or "write-ahead" in why:
        raise UserError(
            f"{root} holds wbsdesk data ({', '.join(data) or 'a write-ahead log'}) but its "
            f"database {db} {why}: wbsdesk will not start an empty database over it",
            hint=f"Restore {db.name} from a backup into {db.parent}, or choose another "
                 "workspace folder (--workspace). 'wbsdesk db check' shows what is there.")


#: A workspace's own folders: wbsdesk alone names and writes their files, so an export there
#: could replace the database (or, in this process, drop its SQLite locks) or a photo.
OWN_DIRS = (STORE_DIR, *DATA_DIRS, "tmp", "locks")


def refuse_own_folder(root: Path, out: Path) -> None:
    """Refuse an export, report or bundle path inside one of the workspace's own folders.

    Parameters
    ----------
    root : Path
        The workspace folder.
    out : Path
        The file or folder about to be written (it need not exist; links are followed).

    Raises
    ------
    UserError
        When ``out`` is one of :data:`OWN_DIRS` of ``root`` or lies inside one, naming it.
    """
    target = Path(out).expanduser().resolve()
    for name in OWN_DIRS:
        folder = Path(root).resolve() / name
        if target.is_relative_to(folder):
            what = ("the workspace's private database folder" if name == STORE_DIR
                    else "files wbsdesk names and checks itself")
            raise UserError(f"{out}: wbsdesk does not write into the workspace's own {name}/ "
                            f"folder ({folder}): {what}",
                            hint=f"Choose a place outside {folder}, for example "
                                 f"{Path(root) / 'reports'} or your documents folder.")


def check_open_databases() -> list[str]:
    """Problems with the files of every database open in this process (empty when none).

    Call it after anything that may have opened files in a folder the user chose (a file
    dialog): see :meth:`wbsdesk.store.Store.check_files`.
    """
    problems: list[str] = []
    for store in open_stores():
        for p in store.check_files():
            if p not in problems:
                problems.append(p)
    return problems


def open_workspace_roots() -> list[Path]:
    """The workspace folders with a database open in this process."""
    roots = []
    for store in open_stores():
        root = store.path.parent
        if root.name == STORE_DIR:
            root = root.parent
        if root not in roots:
            roots.append(root)
    return roots
