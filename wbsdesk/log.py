"""Logging set-up: a rotating log file in the workspace, stderr only when there is one.

A frozen app without a console (a windowed Windows build, a macOS ``.app``) starts with
``sys.stdout`` and ``sys.stderr`` set to ``None``. :func:`redirect_missing_streams` replaces
them with streams that forward every line to the ``wbsdesk.stdout`` / ``wbsdesk.stderr``
loggers, so command output and stray library warnings land in the workspace log file instead
of crashing a ``write`` on ``None``.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FILE_HANDLER_NAME = "wbsdesk-file"


class LogStream(io.TextIOBase):
    """A text stream that sends each complete line to a logger (stands in for a missing console).

    Parameters
    ----------
    logger_name : str
        Logger that receives the lines.
    level : int
        Level of the records.
    """

    def __init__(self, logger_name: str, level: int) -> None:
        super().__init__()
        self._logger = logging.getLogger(logger_name)
        self._level = level
        self._pending = ""
        self._busy = False  # a handler that writes back here must not recurse

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """Text is kept as ``str``; reported as UTF-8 for code that asks."""
        return "utf-8"

    def writable(self) -> bool:
        """Always writable."""
        return True

    def isatty(self) -> bool:
        """Never a terminal (no colours, no progress bars redrawn in place)."""
        return False

    def write(self, s: str) -> int:
        """Buffer ``s`` and log every complete line of it.

        Parameters
        ----------
        s : str
            Text to write; bytes are refused with ``TypeError`` like any text stream.

        Returns
        -------
        int
            The number of characters taken.
        """
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if self._busy:
            return len(s)
        self._pending += s.replace("\r\n", "\n").replace("\r", "\n")
        *lines, self._pending = self._pending.split("\n")
        self._emit(lines)
        return len(s)

    def flush(self) -> None:
        """Log a pending partial line only at close; flushing keeps it for the next write."""

    def close(self) -> None:
        """Log what is left and close."""
        if self._pending:
            self._emit([self._pending])
            self._pending = ""
        super().close()

    def _emit(self, lines: list[str]) -> None:
        self._busy = True
        try:
            for line in lines:
                if line.strip():
                    self._logger.log(self._level, "%s", line.rstrip())
        finally:
            self._busy = False


def redirect_missing_streams() -> list[str]:
    """Replace a ``None`` ``sys.stdout`` / ``sys.stderr`` with a :class:`LogStream`.

    Standard output goes to the ``wbsdesk.stdout`` logger at INFO and standard error to
    ``wbsdesk.stderr`` at WARNING; both reach the workspace log file once
    :func:`setup_logging` has run (before that they are dropped). Safe to call twice.

    Returns
    -------
    list of str
        The names of the streams replaced (``[]`` when a console exists).
    """
    replaced = []
    if sys.stdout is None:
        sys.stdout = LogStream("wbsdesk.stdout", logging.INFO)
        replaced.append("stdout")
    if sys.stderr is None:
        sys.stderr = LogStream("wbsdesk.stderr", logging.WARNING)
        replaced.append("stderr")
    if replaced:
        # Without a handler on "wbsdesk", logging's last resort would write to sys.stderr,
        # i.e. back into a LogStream.
        root = logging.getLogger("wbsdesk")
        if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
            root.addHandler(logging.NullHandler())
    return replaced


def _is_real(stream: object) -> bool:
    return stream is not None and not isinstance(stream, LogStream)


def has_console() -> bool:
    """Whether ``sys.stdout`` and ``sys.stderr`` are real streams (not missing, not a
    :class:`LogStream`)."""
    return _is_real(sys.stdout) and _is_real(sys.stderr)


def setup_logging(workspace: Path | None, *, verbose: bool = False) -> Path | None:
    """Send ``wbsdesk`` logs to ``<workspace>/logs/wbsdesk.log`` and, if present, stderr.

    Parameters
    ----------
    workspace : pathlib.Path or None
        Workspace folder; ``None`` logs to stderr only.
    verbose : bool, keyword-only
        Log DEBUG records to stderr too (default: WARNING and above).

    Returns
    -------
    pathlib.Path or None
        The log file path (``None`` when no workspace is given). Safe to call twice.
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
    if _is_real(sys.stderr):  # a frozen app without console has no stderr (or a LogStream)
        sh = logging.StreamHandler(sys.stderr)
        sh._wbsdesk_stderr = True  # type: ignore[attr-defined]
        sh.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        sh.setLevel(logging.DEBUG if verbose else logging.WARNING)
        root.addHandler(sh)
    return log_path
