"""Where things live: the workspace folder and the bundled resources (PyInstaller-aware)."""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
from pathlib import Path

APP_NAME = "wbsdesk"
WORKSPACE_ENV = "WBSDESK_WORKSPACE"
DB_NAME = "wbsdesk.db"
# The database lives in this hidden, user-only sub-folder of the workspace, where no file
# dialog, thumbnailer or folder scan goes: a program that opens and closes the database files
# inside a process holding a connection drops that process's SQLite locks (see store.files).
STORE_DIR = ".store"
# Sub-folders that hold a workspace's data: their presence means a database must exist too.
DATA_DIRS = ("photos", "crops", "runs")
USER_ONLY_DIR = 0o700
USER_ONLY_FILE = 0o600

log = logging.getLogger(__name__)
_warned_shared: set[str] = set()


def default_workspace() -> Path:
    """The per-user data folder used when neither ``--workspace`` nor the env var is set."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_workspace(explicit: str | os.PathLike | None = None) -> Path:
    """Pick the workspace folder: ``explicit`` > ``$WBSDESK_WORKSPACE`` > per-user default."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return default_workspace()


def db_path(root: Path) -> Path:
    """The workspace database: ``<root>/.store/wbsdesk.db``."""
    return Path(root) / STORE_DIR / DB_NAME


def legacy_db_path(root: Path) -> Path:
    """Where older workspaces kept the database: ``<root>/wbsdesk.db`` (moved on opening)."""
    return Path(root) / DB_NAME


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents readable by the user only (0700).

    A folder that already exists keeps its mode: wbsdesk never changes the permissions of a
    folder it did not create (``--workspace /tmp`` must not lose its sticky bit).

    Raises
    ------
    NotADirectoryError
        If ``path`` exists and is not a folder.
    """
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p.parent != p:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, USER_ONLY_DIR)
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours, its mode stays
        os.chmod(d, USER_ONLY_DIR)  # ours: exactly 0700 whatever the umask
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
    return path


def warn_if_shared(path: Path) -> bool:
    """Log a warning (once per folder) when ``path`` is open to other users; never chmod it.

    Returns
    -------
    bool
        Whether the folder is group- or world-accessible.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return False
    shared = bool(mode & 0o077)
    if shared and os.name == "posix" and str(path) not in _warned_shared:
        _warned_shared.add(str(path))
        log.warning("the workspace folder %s can be read by other users (mode %04o); wbsdesk "
                    "leaves its mode alone and keeps its own files in 0700 sub-folders",
                    path, mode)
    return shared


def is_frozen() -> bool:
    """Whether this is the PyInstaller-built app (``sys.frozen`` and ``sys._MEIPASS`` set)."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def resource_root() -> Path:
    """The folder holding ``study_protocols/`` and ``resources/`` (source tree or frozen app).

    In the one-folder build this is ``sys._MEIPASS`` (``dist/wbsdesk/_internal``), where
    ``packaging/wbsdesk.spec`` puts both folders.
    """
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    """The bundled ``resources/`` folder (the app icon ``wbsdesk.png`` / ``wbsdesk.ico``)."""
    return resource_root() / "resources"


def protocols_dir() -> Path:
    """The bundled study-protocol folder."""
    return resource_root() / "study_protocols"


def bundled_protocol(name: str) -> Path:
    """Path of a bundled protocol by its stem, e.g. ``"demo"`` or ``"liu2021_wbs"``."""
    return protocols_dir() / f"{name}.toml"
