"""Starting the Qt application: the window, or an offscreen screenshot of one view."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)
VIEWS = ("main",)


def run_gui(*, workspace: Path, study: str | None = None, screenshot: Path | None = None,
            view: str = "main") -> int:
    """Open the main window on ``workspace`` (or save a screenshot of ``view`` and exit).

    Returns
    -------
    int
        The process exit status.
    """
    if screenshot is not None:
        if view not in VIEWS:
            log.error("unknown view %r; choose one of %s", view, ", ".join(VIEWS))
            return 2
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from wbsdesk.config import ensure_private_dir
    from wbsdesk.gui.main_window import MainWindow
    from wbsdesk.log import setup_logging
    from wbsdesk.services.workspace import open_workspace

    setup_logging(ensure_private_dir(workspace))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("wbsdesk")
    ws = open_workspace(workspace)
    try:
        window = MainWindow(ws, study=study)
        if screenshot is not None:
            window.resize(1280, 800)
            window.show()
            app.processEvents()
            ok = window.grab().save(str(screenshot), "PNG")
            window.close()
            log.info("saved screenshot of %s to %s", view, screenshot)
            return 0 if ok else 1
        window.show()
        return app.exec()
    finally:
        ws.close()
