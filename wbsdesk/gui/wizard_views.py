"""Screenshot views of the study wizard and the face review (``wbsdesk gui --screenshot``).

Each function opens a :class:`~wbsdesk.gui.wizard.StudyWizard` over the main window on one
page, waits for the work that page does on opening, and returns the wizard for the caller
to grab. Nothing is written to the workspace: the study page shows a new study's form
without creating it, the import page checks a small made-up manifest (a dry run), and no
alignment or training is started. Qt is imported inside the functions so that importing
this module (as :mod:`wbsdesk.gui.app` does) stays cheap.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: How long a view waits for a page's background work (seconds).
WAIT_S = 120.0


def wait_until(done: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    """Run the event loop until ``done()`` is true (or the time is up); whether it became so."""
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > end:
            return False
        QApplication.processEvents()
        time.sleep(0.01)
    return True


def _wizard(window: Any, study: str | None, page: int | None = None) -> Any:
    from wbsdesk.gui.wizard import StudyWizard

    wiz = StudyWizard(window.ws, window, study=study)
    wiz.faces_page.autostart = False     # a screenshot never starts a job process
    wiz.training_page.autostart = False
    if study:
        wiz.study = study
    if page is not None:
        wiz.show_page(page)
    wiz.show()
    wait_until(lambda: not wiz.jobs)
    return wiz


def view_study(window: Any, study: str) -> Any:
    """Page 1, filled in as for a new study following the paper's protocol."""
    wiz = _wizard(window, None)
    page = wiz.study_page
    page.new_radio.setChecked(True)
    page.name_edit.setText("wbs2025")
    index = page.protocol_combo.findText("liu2021_wbs")
    if index >= 0:
        page.protocol_combo.setCurrentIndex(index)
    return wiz


def _bad_example(folder: Path) -> Path:
    """A small manifest with three typical mistakes, and one photo that is fine."""
    from PIL import Image

    Image.new("RGB", (160, 200), (180, 150, 130)).save(folder / "S001_front.jpg")
    (folder / "S003_front.jpg").write_bytes(b"")
    manifest = folder / "subjects.csv"
    manifest.write_text("subject_id,photo,group,sex,age_months\n"
                        "S001,S001_front.jpg,wbs,F,32\n"
                        "S002,S002_front.jpg,healthy,M,41\n"
                        "S003,S003_front.jpg,helthy,X,29\n", encoding="utf-8")
    return manifest


def view_import(window: Any, study: str) -> Any:
    """Page 2 after checking a manifest with mistakes (a dry run: nothing is imported)."""
    from wbsdesk.gui.wizard import PAGE_IMPORT

    wiz = _wizard(window, study, PAGE_IMPORT)
    page = wiz.import_page
    with tempfile.TemporaryDirectory(prefix="wbsdesk-shot-") as tmp:
        manifest = _bad_example(Path(tmp))
        page.set_inputs(tmp, manifest)
        page.start_check()
        wait_until(lambda: page.job is None and not wiz.jobs)
    return wiz


def view_faces(window: Any, study: str) -> Any:
    """Page 3: the review grid with the first photo selected."""
    from wbsdesk.gui.wizard import PAGE_FACES

    wiz = _wizard(window, study, PAGE_FACES)
    wiz.faces_page.review.set_filter("all")
    return wiz


def view_review(window: Any, study: str) -> Any:
    """Page 3 with the manual crop tool open on the first photo, its preview computed."""
    from wbsdesk.gui.wizard import PAGE_FACES

    wiz = _wizard(window, study, PAGE_FACES)
    review = wiz.faces_page.review
    review.set_filter("all")
    if review.selected() is not None:
        review.open_crop_tool()
        tool = review.crop_tool
        tool.preview_now()
        wait_until(lambda: tool.job is None)
    return wiz


def _finished_runs(window: Any, study: str) -> list[str]:
    from wbsdesk.services.training import list_runs

    return [r["run"] for r in list_runs(window.ws, study) if r["status"] == "finished"]


def view_setup(window: Any, study: str) -> Any:
    """Page 4: the training set-up, once it has checked this computer."""
    from wbsdesk.gui.wizard import PAGE_SETUP

    wiz = _wizard(window, study, PAGE_SETUP)
    panel = wiz.setup_page.panel
    wait_until(lambda: not panel.busy())
    return wiz


def view_training(window: Any, study: str) -> Any:
    """Page 5 as it looks when training has finished (the study's latest run; none is
    started)."""
    from wbsdesk.gui.wizard import PAGE_TRAINING
    from wbsdesk.services.training import run_losses

    wiz = _wizard(window, study, PAGE_TRAINING)
    runs = _finished_runs(window, study)
    page = wiz.training_page
    if runs:
        run, panel = runs[-1], page.panel
        panel.loss_plot.set_losses(run_losses(window.ws, study, run))
        panel.loss_plot.set_title(f"Training loss · {run}")
        panel.title.setText(f"<b>Training run {run}</b> of study <b>{study}</b>")
        panel.bar.setValue(panel.bar.maximum())
        panel.where_label.setText("Finished")
        page.show_finished(run)
    return wiz


def view_summary(window: Any, study: str) -> Any:
    """Page 6 on the study's latest finished run."""
    from wbsdesk.gui.wizard import PAGE_SUMMARY

    runs = _finished_runs(window, study)
    wiz = _wizard(window, study)
    wiz.run = runs[-1] if runs else None
    wiz.show_page(PAGE_SUMMARY)
    wait_until(lambda: not wiz.jobs)
    return wiz


#: The views this module adds to :data:`wbsdesk.gui.app.VIEWS`.
WIZARD_VIEWS: dict[str, Callable[[Any, str], Any]] = {
    "wizard-study": view_study,
    "wizard-import": view_import,
    "wizard-faces": view_faces,
    "wizard-setup": view_setup,
    "wizard-training": view_training,
    "wizard-summary": view_summary,
    "review": view_review,
}
