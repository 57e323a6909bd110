"""The dashboard's "Disagreement triage" tab: photos where readers and models disagree most.

The rows come from :func:`wbsdesk.services.triage.disagreements` on the comparison on show,
so the tab follows the sub-analysis and the simulated-readers switch like every other tab.
Each row has the model crop as a thumbnail; double-clicking a row opens the reader crop
large in a non-modal window; "Grad-CAM" computes the overlay of the selected photo for the
chosen architecture in a :class:`~wbsdesk.gui.runners.ThreadJob` (torch is imported there,
never on the GUI thread) and shows it in a non-modal window. The tab is part of the
Dashboard, which is admin-only (it shows the ground truth).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.architectures import arch_label, split_run_model
from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.gui.image_files import read_pixmap
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.tables import make_result_table
from wbsdesk.services.result_tables import triage_table
from wbsdesk.services.triage import gradcam_overlay
from wbsdesk.services.workspace import open_workspace

log = logging.getLogger(__name__)

#: Side of the thumbnails in the table, in pixels.
THUMB_PX = 56
#: Longest side of the large photo / overlay windows, in pixels.
LARGE_PX = 512
PHOTO_ROLE = Qt.ItemDataRole.UserRole + 2


def compute_gradcam(root: Path, study: str, run: str, photo_id: int, arch: str, *,
                    progress: Any, cancel: CancelToken) -> Any:
    """Grad-CAM overlay of one photo with a private connection to the workspace (a job).

    Returns
    -------
    PIL.Image.Image
        See :func:`wbsdesk.services.triage.gradcam_overlay`.
    """
    progress(Progress(0, 1, "Grad-CAM"))
    cancel.raise_if_cancelled()
    arch, own_run = split_run_model(arch)  # a model of one of several runs: that run's
    with open_workspace(root) as ws:
        image = gradcam_overlay(ws, study, own_run or run, photo_id, arch=arch)
    progress(Progress(1, 1, "done"))
    return image


def pil_to_pixmap(image: Any) -> QPixmap:
    """An RGB PIL image as a ``QPixmap`` (copied, so the image may go)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    q = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(q.copy())


class ImageWindow(QDialog):
    """A non-modal window showing one picture, scaled to at most :data:`LARGE_PX`."""

    def __init__(self, parent: QWidget | None, title: str, pixmap: QPixmap,
                 caption: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if not pixmap.isNull() and max(pixmap.width(), pixmap.height()) != LARGE_PX:
            pixmap = pixmap.scaled(LARGE_PX, LARGE_PX, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        self.image.setPixmap(pixmap)
        v = QVBoxLayout(self)
        v.addWidget(self.image, 1)
        if caption:
            label = QLabel(caption)
            label.setWordWrap(True)
            v.addWidget(label)


class TriageWidget(QWidget):
    """The triage table with its Grad-CAM controls.

    Signals
    -------
    overlay_ready(QPixmap)
        A Grad-CAM overlay was computed and is on show.
    overlay_failed(str)
        A Grad-CAM job failed (the message is also shown under the table).
    """

    overlay_ready = Signal(object)
    overlay_failed = Signal(str)

    def __init__(self, root: Path) -> None:
        super().__init__()
        self._root = Path(root)
        self.rows: list[dict[str, Any]] = []
        self.study = self.run = ""
        self.job: ThreadJob | None = None
        self.windows: list[ImageWindow] = []
        self.table: QTableWidget = make_result_table(triage_table([]))
        self.arch_combo = QComboBox()
        self.arch_combo.setToolTip("Architecture whose fold models Grad-CAM averages")
        self.gradcam_button = QPushButton("Grad-CAM")
        self.gradcam_button.setToolTip("Heatmap of the selected photo: where the chosen "
                                       "architecture looked (mean over its fold models)")
        self.status = QLabel()
        self.status.setWordWrap(True)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("Architecture"))
        controls.addWidget(self.arch_combo)
        controls.addWidget(self.gradcam_button)
        controls.addWidget(self.status, 1)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.table, 1)
        self._layout.addLayout(controls)
        self.gradcam_button.clicked.connect(self.start_gradcam)
        self._wire()

    def _wire(self) -> None:
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.table.cellDoubleClicked.connect(lambda r, _c: self.open_large(r))
        self.table.itemSelectionChanged.connect(self._update_button)
        self._update_button()

    def set_rows(self, study: str, run: str, rows: list[dict[str, Any]],
                 archs: list[str], labels: dict[str, str]) -> None:
        """Show ``rows`` (from :func:`~wbsdesk.services.triage.disagreements`)."""
        self.study, self.run, self.rows = study, run, rows
        keep = self.arch_combo.currentData()
        self.arch_combo.clear()
        for a in archs:
            self.arch_combo.addItem(labels.get(a, a), a)
        if keep in archs:
            self.arch_combo.setCurrentIndex(archs.index(keep))
        old = self.table
        self.table = make_result_table(triage_table(rows))
        self._layout.replaceWidget(old, self.table)
        old.deleteLater()
        for r, row in enumerate(rows):
            item = self.table.item(r, 0)
            item.setData(PHOTO_ROLE, r)
            path = row["model_crop_path"]
            if path is not None and Path(path).is_file():
                pix = read_pixmap(path).scaled(THUMB_PX, THUMB_PX,
                                                Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.SmoothTransformation)
                item.setIcon(QIcon(pix))
        self.table.verticalHeader().setDefaultSectionSize(THUMB_PX + 4)
        for r in range(self.table.rowCount()):
            self.table.setRowHeight(r, THUMB_PX + 4)
        self.status.setText("" if rows else "No photo rated by every included reader.")
        self._wire()

    def row_at(self, table_row: int) -> dict[str, Any]:
        """The triage row shown at ``table_row`` (after any sorting)."""
        return self.rows[int(self.table.item(table_row, 0).data(PHOTO_ROLE))]

    def selected(self) -> dict[str, Any] | None:
        """The selected triage row, or ``None``."""
        picked = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.row_at(picked[0].row()) if picked else None

    def _update_button(self) -> None:
        self.gradcam_button.setEnabled(self.job is None and self.selected() is not None
                                       and self.arch_combo.count() > 0)

    def open_large(self, table_row: int) -> ImageWindow:
        """Open the photo of ``table_row`` large (reader crop, else model crop), non-modal."""
        row = self.row_at(table_row)
        path = row["reader_crop_path"] or row["model_crop_path"]
        pix = read_pixmap(path)
        reads = ", ".join(f"{r['label']}: {r['rating']}" for r in row["readers"])
        caption = (f"<b>{row['subject']}</b> — truth: {row['group']}; "
                   f"{arch_label(row['model_name'])} P = {row['model_probability']:.3f}; "
                   f"readers: {reads}")
        if pix.isNull():
            caption += "<br><i>No crop file for this photo.</i>"
        return self._show_window(f"Photo {row['subject']}", pix, caption)

    def _show_window(self, title: str, pix: QPixmap, caption: str) -> ImageWindow:
        w = ImageWindow(self, title, pix, caption)
        w.destroyed.connect(lambda *_: self.windows.remove(w) if w in self.windows else None)
        self.windows.append(w)
        w.show()
        return w

    def start_gradcam(self) -> ThreadJob | None:
        """Compute the Grad-CAM of the selected photo in a worker thread."""
        row = self.selected()
        arch = self.arch_combo.currentData()
        if row is None or arch is None or self.job is not None:
            return None
        job = ThreadJob(compute_gradcam, self._root, self.study, self.run, row["photo_id"],
                        arch, title="Grad-CAM")
        job.succeeded.connect(lambda image: self._on_overlay(row, arch, image))
        job.failed.connect(self._on_failed)
        job.finished.connect(self._on_finished)
        self.job = job
        self.status.setText(f"Computing Grad-CAM of {row['subject']} ({arch_label(arch)})…")
        self._update_button()
        job.start()
        return job

    def _on_overlay(self, row: dict[str, Any], arch: str, image: Any) -> None:
        pix = pil_to_pixmap(image)
        name = arch_label(arch)
        self.status.setText(f"Grad-CAM of {row['subject']} ({name}) is open.")
        self._show_window(f"Grad-CAM {row['subject']} · {name}", pix,
                          f"<b>{row['subject']}</b> — {name}, mean over its fold models "
                          f"(class: positive group); P = {row['models'].get(arch, 0.0):.3f}")
        self.overlay_ready.emit(pix)

    def _on_failed(self, failure: Any) -> None:
        hint = f" ({failure.hint})" if getattr(failure, "hint", None) else ""
        message = f"Cannot compute Grad-CAM: {failure.message}{hint}"
        self.status.setText(message)
        if not getattr(failure, "user_error", False):
            log.error("Grad-CAM failed:\n%s", failure.traceback)
        self.overlay_failed.emit(message)

    def _on_finished(self) -> None:
        self.job = None
        self._update_button()

    def shutdown(self) -> None:
        """Cancel and wait for a running Grad-CAM job (window closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
