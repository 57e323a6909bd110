"""Logging set-up: a rotating log file in the workspace, stderr only when there is one."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FILE_HANDLER_NAME = "wbsdesk-file"


def setup_logging(workspace: Path | None, *, verbose: bool = False) -> Path | None:
    """Send ``wbsdesk`` logs to ``<workspace>/logs/wbsdesk.log`` and, if present, stderr.

    Returns the log file path (``None`` when no workspace is given). Safe to call twice.
    """
    root = logging.getLogger("wbsdesk")
    root.setLevel(logging.DEBUG)
    for h in list(root.handlers):
        if h.get_name() == _FILE_HANDLER_NAME or getattr(h, "_wbsdesk_stderr", False):
            root.removeHandler(h)
            h.close()
    log_path = None
    if workspace is not None:
        log_dir = workspace / "logs"
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = log_dir / "wbsdesk.log"
        fh = logging.handlers.RotatingFileHandler(log_path, maxBytes=2_000_000, backupCount=3,
                                                  encoding="utf-8")
        fh.set_name(_FILE_HANDLER_NAME)
        fh.setFormatter(logging.Formatter(LOG_FORMAT))
        fh.setLevel(logging.DEBUG)
        root.addHandler(fh)
        os.chmod(log_path, 0o600)
    if sys.stderr is not None:  # a frozen app without console has no stderr
        sh = logging.StreamHandler(sys.stderr)
        sh._wbsdesk_stderr = True  # type: ignore[attr-defined]
        sh.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        sh.setLevel(logging.DEBUG if verbose else logging.WARNING)
        root.addHandler(sh)
    return log_path
