"""The app's file dialogs: they start outside the workspace and check the database afterwards.

Qt's file dialog opens and closes files in the folder it shows (to sniff MIME types and
draw icons). Inside a process holding a SQLite connection that drops the process's locks on
any database file it touches (see :mod:`wbsdesk.store.files`). The database lives in the
workspace's hidden ``.store/`` folder, which no dialog lists; on top of that every dialog
here starts in the last folder the user chose outside the workspace (or the home folder),
never in the workspace, and once it returns the files of every open database are checked:
if they changed, the user is told to close and reopen the app (the store refuses writes).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from wbsdesk.errors import UserError
from wbsdesk.gui.dialogs import present_error
from wbsdesk.services.workspace import (
    check_open_databases,
    open_workspace_roots,
    refuse_own_folder,
)

log = logging.getLogger(__name__)
_last_folder: list[Path] = []
_shown: list[QWidget] = []  # parentless message boxes live until closed


def _show(parent: QWidget | None, error: UserError) -> None:
    box = present_error(parent, error)
    if box is not None and parent is None:
        _shown.append(box)
        box.finished.connect(lambda *_: _shown.remove(box) if box in _shown else None)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def in_workspace(path: Path | str) -> bool:
    """Whether ``path`` lies inside a workspace that has a database open in this process."""
    return any(_inside(Path(path), root) for root in open_workspace_roots())


def start_folder(suggested: Path | str | None = None) -> Path:
    """Where a dialog opens: ``suggested`` unless it is in a workspace; else the last folder
    chosen outside a workspace, else the home folder."""
    if suggested and Path(suggested).is_dir() and not in_workspace(suggested):
        return Path(suggested)
    if _last_folder and _last_folder[0].is_dir() and not in_workspace(_last_folder[0]):
        return _last_folder[0]
    return Path.home()


def _start(start: Path | str | None, *, with_name: bool) -> str:
    if not with_name or start is None:
        return str(start_folder(start))
    start = Path(start)
    folder = None if start.parent == Path() else start.parent  # a bare name: no preference
    return str(start_folder(folder) / start.name)


def after_dialog(parent: QWidget | None, chosen: Path | None = None) -> bool:
    """Check the open databases' files once a dialog has returned; tell the user if not ok.

    Parameters
    ----------
    parent : QWidget or None
        Parent of the error dialog.
    chosen : Path, optional
        The path the user picked; remembered as the next start folder when it is outside
        the workspace.

    Returns
    -------
    bool
        Whether the files are intact.
    """
    if chosen is not None and not in_workspace(chosen):
        _last_folder[:] = [chosen if chosen.is_dir() else chosen.parent]
    problems = check_open_databases()
    if problems:
        log.error("database files changed while a file dialog was open: %s", problems)
        _show(parent, UserError(
            "the workspace database files changed while the file dialog was open, so "
            "wbsdesk writes nothing more to them: " + "; ".join(problems),
            hint="Close wbsdesk (every window) and open it again. Everything committed "
                 "before this message is safe."))
    return not problems


def _refuse_own_folder(parent: QWidget | None, chosen: Path) -> bool:
    """Refuse (and say why) a save into an open workspace's own folders, as the commands'
    ``--out`` are refused (:func:`~wbsdesk.services.workspace.refuse_own_folder`)."""
    try:
        for root in open_workspace_roots():
            refuse_own_folder(root, chosen)
    except UserError as exc:
        _show(parent, exc)
        return True
    return False


def open_file(parent: QWidget | None, caption: str, start: Path | str | None = None,
              filters: str = "") -> Path | None:
    """Ask for an existing file (``None`` when cancelled)."""
    path, _ = QFileDialog.getOpenFileName(parent, caption, _start(start, with_name=False),
                                          filters)
    chosen = Path(path) if path else None
    after_dialog(parent, chosen)
    return chosen


def save_file(parent: QWidget | None, caption: str, start: Path | str | None = None,
              filters: str = "") -> Path | None:
    """Ask where to save (``start`` may end in a file name); ``None`` when cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, caption, _start(start, with_name=True),
                                          filters)
    chosen = Path(path) if path else None
    after_dialog(parent, chosen)
    if chosen is not None and _refuse_own_folder(parent, chosen):
        return None
    return chosen


def existing_folder(parent: QWidget | None, caption: str,
                    start: Path | str | None = None) -> Path | None:
    """Ask for a folder (``None`` when cancelled)."""
    path = QFileDialog.getExistingDirectory(parent, caption, _start(start, with_name=False))
    chosen = Path(path) if path else None
    after_dialog(parent, chosen)
    if chosen is not None and _refuse_own_folder(parent, chosen):
        return None
    return chosen
