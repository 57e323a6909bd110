"""A workspace: one folder with the database, the photo store and run folders (user-only)."""

from __future__ import annotations

import logging
from pathlib import Path

from wbsdesk.config import DB_NAME, ensure_private_dir, resolve_workspace
from wbsdesk.store import Store, open_store

log = logging.getLogger(__name__)


class Workspace:
    """An open workspace. Use as a context manager, or call :meth:`close`.

    Attributes
    ----------
    root : Path
        The workspace folder (0700).
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
        The folder; by default ``$WBSDESK_WORKSPACE`` or the per-user data folder.

    Returns
    -------
    Workspace
    """
    root = ensure_private_dir(resolve_workspace(path))
    store = open_store(root / DB_NAME)
    ws = Workspace(root, store)
    ws.tmp_dir  # noqa: B018 - made now: jobs put their scratch files here, not in /tmp
    return ws
