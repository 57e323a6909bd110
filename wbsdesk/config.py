"""Where things live: the workspace folder and the bundled resources (PyInstaller-aware)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "wbsdesk"
WORKSPACE_ENV = "WBSDESK_WORKSPACE"
DB_NAME = "wbsdesk.db"
USER_ONLY_DIR = 0o700
USER_ONLY_FILE = 0o600


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


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user only; tighten it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=USER_ONLY_DIR)
    os.chmod(path, USER_ONLY_DIR)
    return path


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
