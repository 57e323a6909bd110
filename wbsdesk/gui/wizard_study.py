"""Wizard page 1: create a study from a protocol, or continue with one in the workspace."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.config import protocols_dir
from wbsdesk.core.protocol import Protocol
from wbsdesk.errors import UserError
from wbsdesk.gui.file_dialogs import open_file
from wbsdesk.gui.widgets import fill_study_combo
from wbsdesk.gui.wizard_common import WizardPageBase
from wbsdesk.services import studies as study_service
from wbsdesk.services.training import list_runs
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
OTHER_FILE = "__file__"


def protocol_summary(p: Protocol) -> str:
    """A protocol in a few readable lines (rich text)."""
    e = html.escape
    g = p.groups
    groups = ", ".join(f"<b>{e(g.label(n))}</b> (the target group)" if n == g.positive
                       else e(g.label(n)) for n in g.names)
    t = p.training
    init = "ImageNet weights" if t.init == "imagenet" else "from scratch (no weight files)"
    r = p.reading
    tag = " <span style='color:#a0522d'>[synthetic data]</span>" if p.synthetic else ""
    return (f"<p><b>{e(p.title)}</b>{tag}</p>"
            f"<table cellspacing='2'>"
            f"<tr><td><i>Groups</i></td><td>{groups}</td></tr>"
            f"<tr><td><i>Folds</i></td><td>{p.folds.k}-fold cross-validation, "
            f"stratified by group, seed {p.folds.seed}</td></tr>"
            f"<tr><td><i>Training</i></td><td>{', '.join(map(e, t.architectures))}; "
            f"{t.epochs} epoch{'s' if t.epochs != 1 else ''}, {t.input_px} px input, "
            f"{init}</td></tr>"
            f"<tr><td><i>Faces</i></td><td>model crop {p.faces.model_crop_px} px, reader "
            f"crop {p.faces.reader_crop_px} px</td></tr>"
            f"<tr><td><i>Reading</i></td><td>{r.seconds_per_photo:g} s per photo, "
            f"{len(r.scale)}-level scale ({e(r.scale[0])} … {e(r.scale[-1])}), "
            f"{r.practice_photos} practice photo{'s' if r.practice_photos != 1 else ''}, "
            f"{'random order per reader' if r.order == 'per_reader_random' else 'fixed order'}"
            f"</td></tr></table>")


def study_state(ws: Workspace, name: str) -> str:
    """Where an existing study stands, in one line (rich text)."""
    info = study_service.show_study(ws, name)
    f = info["faces"]
    runs = [r for r in list_runs(ws, name) if r["status"] == "finished"]
    parts = [f"{info['subjects']} subjects, {info['photos']} photos"]
    if info["subjects"]:
        parts.append(f"faces: {f['ok']} ok, {f['needs_review'] + f['not_aligned']} to do")
    parts.append(f"{len(runs)} finished training run{'s' if len(runs) != 1 else ''}")
    return "This study has " + "; ".join(parts) + "."


class StudyPage(WizardPageBase):
    """Create a study (name + protocol) or pick an existing one; shows the protocol."""

    def __init__(self, ws: Workspace, study: str | None = None) -> None:
        super().__init__(
            ws, "Study",
            "Start a new study: give it a short name and choose the protocol it follows. "
            "Or continue with a study you started before.")
        self.new_radio = QRadioButton("Start a new study")
        self.existing_radio = QRadioButton("Continue with a study in this workspace")
        group = QButtonGroup(self)
        group.addButton(self.new_radio)
        group.addButton(self.existing_radio)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. wbs2025 (letters, digits, '_', '-', '.')")
        self.protocol_combo = QComboBox()
        self.file_button = QPushButton("Other protocol file…")
        self.protocol_file: Path | None = None
        self.study_combo = QComboBox()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.protocol: Protocol | None = None

        proto_row = QHBoxLayout()
        proto_row.addWidget(self.protocol_combo, 1)
        proto_row.addWidget(self.file_button)
        proto_help = QLabel("A protocol fixes the groups, the folds, the training and the "
                            "reading rules, so the study can be repeated from its file. "
                            "'liu2021_wbs' is the published one; 'demo' is small enough for "
                            "any computer.")
        proto_help.setWordWrap(True)
        proto_help.setStyleSheet("color:#555555;")
        new_form = QFormLayout()
        new_form.addRow("Study name", self.name_edit)
        new_form.addRow("Protocol", proto_row)
        self.new_box = QWidget()
        new_v = QVBoxLayout(self.new_box)
        new_v.addLayout(new_form)
        new_v.addWidget(proto_help)
        ex_form = QFormLayout()
        ex_form.addRow("Study", self.study_combo)
        self.existing_box = QWidget()
        self.existing_box.setLayout(ex_form)
        v = QVBoxLayout(self)
        v.addWidget(self.new_radio)
        v.addWidget(self.new_box)
        v.addWidget(self.existing_radio)
        v.addWidget(self.existing_box)
        v.addWidget(QLabel("<b>The protocol</b>"))
        v.addWidget(self.summary)
        v.addWidget(self.state)
        v.addStretch(1)
        v.addWidget(self.message)

        for f in sorted(protocols_dir().glob("*.toml")):
            try:
                title = study_service.load_protocol_file(f).title
            except UserError:
                title = "(cannot be read)"
            self.protocol_combo.addItem(f"{f.stem} — {title}", str(f))
        self.protocol_combo.addItem("Other file…", OTHER_FILE)
        paper = self.protocol_combo.findData(str(protocols_dir() / "liu2021_wbs.toml"))
        self.protocol_combo.setCurrentIndex(max(paper, 0))
        fill_study_combo(self.study_combo, ws, study)
        has_studies = self.study_combo.count() > 0
        self.existing_radio.setEnabled(has_studies)
        (self.existing_radio if study and has_studies else self.new_radio).setChecked(True)
        self.new_radio.toggled.connect(lambda _: self._update())
        self.name_edit.textChanged.connect(lambda _: self._update())
        self.protocol_combo.currentIndexChanged.connect(self._on_protocol_chosen)
        self.file_button.clicked.connect(self._choose_file)
        self.study_combo.currentTextChanged.connect(lambda _: self._update())
        self._update()

    # -- inputs ----------------------------------------------------------------------------
    @property
    def creating(self) -> bool:
        """Whether a new study is being made (rather than continuing one)."""
        return self.new_radio.isChecked()

    def protocol_path(self) -> Path | None:
        """The protocol file chosen for a new study."""
        data = self.protocol_combo.currentData()
        if data == OTHER_FILE:
            return self.protocol_file
        return Path(data) if data else None

    def set_protocol_file(self, path: Path) -> None:
        """Use the protocol in ``path`` (what "Other protocol file…" does)."""
        self.protocol_file = Path(path)
        self.protocol_combo.blockSignals(True)
        self.protocol_combo.setCurrentIndex(self.protocol_combo.findData(OTHER_FILE))
        self.protocol_combo.setItemText(self.protocol_combo.currentIndex(), Path(path).name)
        self.protocol_combo.blockSignals(False)
        self._update()

    def _on_protocol_chosen(self) -> None:
        if self.protocol_combo.currentData() == OTHER_FILE and self.protocol_file is None:
            self._choose_file()
        self._update()

    def _choose_file(self) -> None:
        path = open_file(self, "Study protocol", protocols_dir(), "Study protocols (*.toml)")
        if path:
            self.set_protocol_file(path)

    def _update(self) -> None:
        creating = self.creating
        self.new_box.setEnabled(creating)
        self.existing_box.setEnabled(not creating)
        self.message.clear_message()
        self.state.clear()
        self.protocol = None
        try:
            if creating:
                path = self.protocol_path()
                if path is None:
                    self.summary.setText("Choose a protocol file (a .toml file).")
                else:
                    self.protocol = study_service.load_protocol_file(path)
                name = self.name_edit.text().strip()
                if name and not _NAME.match(name):
                    self.message.show_text("warn", "Use 1–64 letters, digits, '_', '-' or '.' "
                                           "for the name, starting with a letter or digit.")
                elif name and self.ws.store.study(name) is not None:
                    self.message.show_text("warn", f"A study named '{name}' already exists. "
                                           "Choose another name, or continue with it below.")
            elif self.study_combo.currentText():
                name = self.study_combo.currentText()
                self.protocol = study_service.load_study(self.ws, name).protocol
                self.state.setText(study_state(self.ws, name))
        except UserError as exc:
            self.summary.setText("")
            self.message.show_error(exc)
        if self.protocol is not None:
            self.summary.setText(protocol_summary(self.protocol))
        self.completeChanged.emit()

    # -- QWizardPage -----------------------------------------------------------------------
    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        if self.protocol is None:
            return False
        if not self.creating:
            return bool(self.study_combo.currentText())
        name = self.name_edit.text().strip()
        return bool(_NAME.match(name)) and self.ws.store.study(name) is None

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        if not self.creating:
            self.wizard().study = self.study_combo.currentText()
            return True
        name = self.name_edit.text().strip()
        path = self.protocol_path()
        try:
            study_service.create_study(self.ws, name, path)
        except UserError as exc:
            self.message.show_error(exc)
            return False
        log.info("wizard created study %s (%s)", name, path)
        self.wizard().study = name
        if hasattr(self.wizard(), "notify_changed"):
            self.wizard().notify_changed()
        # next time this page shows, the new study is an existing one
        fill_study_combo(self.study_combo, self.ws, name)
        self.existing_radio.setEnabled(True)
        self.existing_radio.setChecked(True)
        return True
