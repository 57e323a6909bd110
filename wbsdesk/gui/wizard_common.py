"""What the study wizard's pages share: page ids, the inline message, the page base class.

Errors never pop up in the wizard: a page shows them in its :class:`InlineMessage` (a
user error's message and hint; for a bug a short line, with the traceback in the log).
Jobs a page starts are kept by the wizard until they finish (see
:meth:`WizardPageBase.run_job`), so closing the wizard can cancel and join them.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QWizardPage

from wbsdesk.errors import UserError
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

PAGE_STUDY = 0
PAGE_IMPORT = 1
PAGE_FACES = 2
PAGE_SETUP = 3
PAGE_TRAINING = 4
PAGE_SUMMARY = 5

_STYLES = {
    "info": "background:#eef3fb; border:1px solid #b7c8e6; color:#1b2a44;",
    "ok": "background:#eaf6ec; border:1px solid #9ccfa6; color:#173d1f;",
    "warn": "background:#fff5e0; border:1px solid #e8c178; color:#4a3300;",
    "error": "background:#fdecec; border:1px solid #e0a0a0; color:#5c0f0f;",
}


class InlineMessage(QLabel):
    """A coloured box under a page's controls: what happened, or what to do next."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.kind = ""
        self.hide()

    def show_text(self, kind: str, text: str, *, rich: bool = False) -> None:
        """Show ``text`` in the style ``kind`` (info, ok, warn, error)."""
        self.kind = kind
        self.setStyleSheet(f"QLabel {{ {_STYLES[kind]} border-radius:4px; padding:6px; }}")
        self.setText(text if rich else html.escape(text).replace("\n", "<br>"))
        self.show()

    def show_error(self, error: BaseException | JobFailure | str) -> None:
        """A user error's message and hint; anything else is logged and named briefly."""
        if isinstance(error, str):
            self.show_text("error", error)
            return
        if isinstance(error, UserError):
            error = JobFailure(error.message, error.hint, user_error=True)
        elif not isinstance(error, JobFailure):
            error = JobFailure.from_exception(error)
        if error.user_error:
            text = f"<b>{html.escape(error.message)}</b>".replace("\n", "<br>")
            if error.hint:
                text += f"<br>{html.escape(error.hint)}"
        else:
            log.error("unexpected error in the wizard: %s\n%s", error.message, error.traceback)
            text = (f"<b>Something went wrong.</b> {html.escape(error.message)}<br>"
                    "The details are in the log file (logs/wbsdesk.log in the workspace).")
        self.show_text("error", text, rich=True)

    def clear_message(self) -> None:
        """Hide the box."""
        self.kind = ""
        self.clear()
        self.hide()


class WizardPageBase(QWizardPage):
    """A wizard page with an inline message, access to the wizard's study and job keeping."""

    def __init__(self, ws: Workspace, title: str, subtitle: str) -> None:
        super().__init__()
        self.ws = ws
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.message = InlineMessage()

    @property
    def study(self) -> str:
        """The study the wizard works on ('' before page 1 is done)."""
        wiz = self.wizard()
        return getattr(wiz, "study", None) or ""

    def run_job(self, job: Any, *, on_ok: Callable[[Any], None] | None = None,
                on_failed: Callable[[Any], None] | None = None,
                on_done: Callable[[], None] | None = None) -> Any:
        """Start ``job``; the wizard keeps it until it finishes. Failures show inline."""
        if on_ok is not None:
            job.succeeded.connect(on_ok)
        job.failed.connect(on_failed or self.message.show_error)
        if on_done is not None:
            job.finished.connect(on_done)
        job.finished.connect(self.completeChanged)
        wiz = self.wizard()
        if wiz is not None and hasattr(wiz, "keep_job"):
            wiz.keep_job(job)
        job.start()
        return job


def pil_to_qimage(img: Any) -> QImage:
    """A PIL image as a QImage (RGB, copied so it owns its pixels)."""
    rgb = img.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width,
                  QImage.Format.Format_RGB888).copy()
