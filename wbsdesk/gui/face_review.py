"""The face review: a grid of crops filtered by status, a large view, manual crops, exclusion.

Each primary photo appears as a thumbnail (its reader crop, or the photo itself when no
face was cropped) labelled with the subject ID and status. Selecting one shows the photo
large with its face box and landmarks, and both crops. From there the user crops it by hand
(:class:`~wbsdesk.gui.crop_tool.CropToolWidget`, in place of the large view) or excludes the
subject with a reason (or includes it again).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.errors import UserError
from wbsdesk.gui.crop_canvas import PhotoMarkupWidget, load_upright, show_image
from wbsdesk.gui.crop_tool import CropToolWidget
from wbsdesk.gui.image_files import image_reader
from wbsdesk.gui.wizard_common import InlineMessage
from wbsdesk.services.face_review import FILTERS, FaceEntry, face_overview, filter_counts
from wbsdesk.services.faces import exclude_subject
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

THUMB_PX = 96
_STATUS = {"ok": ("ok", None), "needs_review": ("needs review", QColor("#ffe3b8")),
           "not_aligned": ("not aligned yet", QColor("#e3ecf8"))}


def load_thumbnail(path: Path, side: int = THUMB_PX) -> QImage:
    """Decode an image scaled to fit ``side`` (JPEGs decode at a reduced size)."""
    try:
        reader = image_reader(path)
    except OSError as exc:  # not an allowed format: no thumbnail
        log.warning("%s", exc)
        return QImage()
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > side:
        size.scale(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio)
        reader.setScaledSize(size)
    return reader.read()


def status_text(e: FaceEntry, *, short: bool = False) -> str:
    """A photo's state in a few words (``short``: for a thumbnail's label)."""
    if e.excluded:
        return "excluded"
    if e.status == "ok":
        return ("ok (manual)" if short else "ok, cropped by hand") if e.method == "manual" \
            else "ok"
    if short:
        return "no face" if "no_face" in e.reasons else _STATUS[e.status][0]
    if e.status == "not_aligned":  # the service's text names the command; here a button does it
        return "not searched for a face yet"
    return e.why or _STATUS[e.status][0]


class FaceReviewWidget(QWidget):
    """Review a study's face crops and fix the photos that need attention.

    Signals
    -------
    changed()
        A crop or an exclusion changed (the list was reloaded).
    """

    changed = Signal()

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.study = ""
        self.entries: list[FaceEntry] = []
        self._icons: dict[str, QIcon] = {}
        self.filter_combo = QComboBox()
        for key, label in FILTERS.items():
            self.filter_combo.addItem(label, key)
        self.counts = QLabel()
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.grid.setGridSize(QSize(THUMB_PX + 28, THUMB_PX + 44))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.grid.setWordWrap(True)
        self.grid.setMinimumWidth(3 * (THUMB_PX + 28) + 24)
        self.empty = QLabel()
        self.empty.setWordWrap(True)

        self.header = QLabel("Select a photo on the left.")
        self.header.setWordWrap(True)
        self.photo = PhotoMarkupWidget()
        self.reader_crop = QLabel()
        self.model_crop = QLabel()
        crops = QHBoxLayout()
        for label, caption in ((self.reader_crop, "Reader crop"),
                               (self.model_crop, "Model crop")):
            label.setFixedSize(128, 128)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("background:#606060; color:#e0e0e0;")
            col = QVBoxLayout()
            col.addWidget(label)
            col.addWidget(QLabel(caption))
            crops.addLayout(col)
        crops.addStretch(1)
        self.crop_button = QPushButton("Crop by hand…")
        self.crop_button.setToolTip("Draw the face box yourself (and optionally 5 points)")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason, e.g. 'profile photo only'")
        self.exclude_button = QPushButton("Exclude this child")
        self.exclude_button.setToolTip("Leave the subject out of training and reading "
                                       "(recorded in the audit log)")
        self.include_button = QPushButton("Include again")
        actions = QHBoxLayout()
        actions.addWidget(self.crop_button)
        actions.addStretch(1)
        actions.addWidget(self.reason, 2)
        actions.addWidget(self.exclude_button)
        actions.addWidget(self.include_button)
        self.message = InlineMessage()
        detail = QWidget()
        dv = QVBoxLayout(detail)
        dv.setContentsMargins(0, 0, 0, 0)
        dv.addWidget(self.header)
        dv.addWidget(self.photo, 1)
        dv.addLayout(crops)
        dv.addLayout(actions)
        self.crop_tool = CropToolWidget(ws)
        self.right = QStackedWidget()
        self.right.addWidget(detail)
        self.right.addWidget(self.crop_tool)
        self.detail = detail

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter_combo, 1)
        lv.addLayout(top)
        lv.addWidget(self.counts)
        lv.addWidget(self.grid, 1)
        lv.addWidget(self.empty)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.right)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 620])
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(split, 1)
        v.addWidget(self.message)

        self.filter_combo.currentIndexChanged.connect(lambda _: self._fill_grid())
        self.grid.currentItemChanged.connect(lambda *_: self._show_selected())
        self.crop_button.clicked.connect(self.open_crop_tool)
        self.exclude_button.clicked.connect(lambda: self.exclude_selected(self.reason.text()))
        self.include_button.clicked.connect(self.include_selected)
        self.reason.textChanged.connect(lambda _: self._update_actions())
        self.crop_tool.applied.connect(self._on_applied)
        self.crop_tool.closed.connect(self.close_crop_tool)
        self._show_selected()

    # -- data ------------------------------------------------------------------------------
    def set_study(self, name: str) -> None:
        """Review study ``name``."""
        if name != self.study:
            self._icons.clear()
        self.study = name
        self.close_crop_tool()
        self.refresh()

    def refresh(self, select: int | None = None) -> None:
        """Reload the photos from the store, keeping (or choosing) the selection."""
        keep = select if select is not None else self.selected_id()
        self.entries = face_overview(self.ws, self.study) if self.study else []
        counts = filter_counts(self.entries)
        for i in range(self.filter_combo.count()):
            key = self.filter_combo.itemData(i)
            self.filter_combo.setItemText(i, f"{FILTERS[key]} ({counts[key]})")
        # photos not searched yet (e.g. while the wizard aligns) do not need attention yet
        not_yet = sum(e.needs_attention and e.status == "not_aligned" for e in self.entries)
        todo = sum(e.needs_attention for e in self.entries) - not_yet
        parts = [f"{len(self.entries)} photos: {counts['ok']} ok"]
        if not_yet:
            parts.append(f"{not_yet} not searched for a face yet")
        if todo:
            parts.append(f"<b>{todo} need{'s' if todo == 1 else ''} your attention</b>")
        self.counts.setText(", ".join([*parts, f"{counts['excluded']} excluded"]))
        self._fill_grid(keep)

    def set_filter(self, key: str) -> None:
        """Show only the photos of filter ``key`` (see ``FILTERS``)."""
        self.filter_combo.setCurrentIndex(self.filter_combo.findData(key))

    def visible_ids(self) -> list[int]:
        """Photo ids in the grid, in order."""
        return [self.grid.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.grid.count())]

    def selected_id(self) -> int | None:
        """The selected photo id, or ``None``."""
        item = self.grid.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def selected(self) -> FaceEntry | None:
        """The selected photo's entry."""
        pid = self.selected_id()
        return next((e for e in self.entries if e.photo_id == pid), None)

    def select_photo(self, photo_id: int) -> bool:
        """Select ``photo_id`` in the grid (``False`` if the filter hides it)."""
        for i in range(self.grid.count()):
            if self.grid.item(i).data(Qt.ItemDataRole.UserRole) == photo_id:
                self.grid.setCurrentRow(i)
                return True
        return False

    def _icon(self, e: FaceEntry) -> QIcon:
        path = e.reader_crop or e.photo_path
        key = str(path)
        if key not in self._icons:
            img = load_thumbnail(path)
            self._icons[key] = QIcon(QPixmap.fromImage(img)) if not img.isNull() else QIcon()
        return self._icons[key]

    def _fill_grid(self, keep: int | None = None) -> None:
        keep = keep if keep is not None else self.selected_id()
        key = self.filter_combo.currentData() or "all"
        shown = [e for e in self.entries if e.matches(key)]
        self.grid.blockSignals(True)
        self.grid.clear()
        row = 0
        for i, e in enumerate(shown):
            item = QListWidgetItem(self._icon(e), f"{e.subject}\n{status_text(e, short=True)}")
            item.setData(Qt.ItemDataRole.UserRole, e.photo_id)
            item.setToolTip(f"{e.subject} · {e.photo}\n{status_text(e)}")
            color = QColor("#dddddd") if e.excluded else _STATUS[e.status][1]
            if color is not None:
                item.setBackground(QBrush(color))
            self.grid.addItem(item)
            if e.photo_id == keep:
                row = i
        self.grid.blockSignals(False)
        if shown:
            self.grid.setCurrentRow(row)
        self.empty.setText("" if shown else "No photo matches this filter.")
        self._show_selected()

    # -- the selected photo ----------------------------------------------------------------
    def _show_selected(self) -> None:
        e = self.selected()
        self.message.clear_message()
        if e is None:
            self.header.setText("Select a photo on the left.")
            self.photo.set_photo(None, (1, 1))
            show_image(self.reader_crop, None)
            show_image(self.model_crop, None)
            self._update_actions()
            return
        state = status_text(e)
        if e.excluded:
            state = f"excluded: {e.exclusion_reason or 'no reason given'}"
        color = "#8a5a00" if e.needs_attention else "#555555" if e.excluded else "#1c6b2c"
        conf = (f", face confidence {e.confidence:.2f}"
                if e.confidence is not None and e.method != "manual" else "")
        self.header.setText(f"<b>{e.subject}</b> · {e.photo}<br>"
                            f"<span style='color:{color}'><b>{state}</b></span>{conf}")
        try:
            image, full = load_upright(e.photo_path)
        except OSError as exc:
            self.photo.set_photo(None, (1, 1))
            self.message.show_error(str(exc))
        else:
            self.photo.set_photo(image, full)
            self.photo.set_markup(e.bbox, e.landmarks or [])
        show_image(self.reader_crop, load_thumbnail(e.reader_crop, 128)
                   if e.reader_crop else None)
        show_image(self.model_crop, load_thumbnail(e.model_crop, 128) if e.model_crop else None)
        self._update_actions()

    def _update_actions(self) -> None:
        e = self.selected()
        self.crop_button.setEnabled(e is not None and not e.excluded)
        self.reason.setVisible(e is not None and not e.excluded)
        self.exclude_button.setVisible(e is not None and not e.excluded)
        self.exclude_button.setEnabled(bool(self.reason.text().strip()))
        self.include_button.setVisible(e is not None and e.excluded)

    def exclude_selected(self, reason: str) -> None:
        """Exclude the selected photo's subject with ``reason`` (audited)."""
        e = self.selected()
        if e is None:
            return
        try:
            exclude_subject(self.ws, self.study, e.subject, reason=reason.strip())
        except UserError as exc:
            self.message.show_error(exc)
            return
        self.reason.clear()
        self.refresh(select=e.photo_id)
        self.changed.emit()

    def include_selected(self) -> None:
        """Include the selected (excluded) subject again."""
        e = self.selected()
        if e is None:
            return
        try:
            exclude_subject(self.ws, self.study, e.subject, reason=None)
        except UserError as exc:
            self.message.show_error(exc)
            return
        self.refresh(select=e.photo_id)
        self.changed.emit()

    # -- the crop tool ---------------------------------------------------------------------
    def open_crop_tool(self) -> None:
        """Crop the selected photo by hand (the tool replaces the large view)."""
        e = self.selected()
        if e is None or e.excluded:
            return
        self.crop_tool.open(self.study, e)
        self.right.setCurrentWidget(self.crop_tool)

    def close_crop_tool(self) -> None:
        """Back to the large view."""
        self.right.setCurrentWidget(self.detail)

    def _on_applied(self, photo_id: int) -> None:
        self.close_crop_tool()
        self.refresh(select=photo_id)
        if not self.select_photo(photo_id):
            self.set_filter("all")
            self.select_photo(photo_id)
        self.message.show_text("ok", "Manual crop saved.")
        self.changed.emit()

    def shutdown(self) -> None:
        """Stop the crop tool's work (before the widget goes away)."""
        self.crop_tool.shutdown()
