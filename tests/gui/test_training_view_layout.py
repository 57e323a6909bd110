"""The Training view's runs table in the default window: every column whole."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tests.gui.test_dashboard import _add_demo_run
from wbsdesk.gui.main_window import MainWindow


def test_the_runs_table_shows_every_column_whole_at_the_default_window(qtbot, demo_ws):
    """A finished run's name, settings and out-of-fold AUCs read whole at 1200 x 760 (the
    AUC column was cut off at the right and the run's name elided)."""
    run = _add_demo_run(demo_ws)
    w = MainWindow(demo_ws, "demo", admin=True, fullscreen_reader=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_view("Training")
    QApplication.processEvents()
    assert (w.width(), w.height()) == (1200, 760)
    t = w.training.runs_table
    assert t.rowCount() == 1 and t.item(0, 0).text() == run
    header, fm = t.horizontalHeader(), t.fontMetrics()
    widths = [header.sectionSize(c) for c in range(t.columnCount())]
    assert sum(widths) <= t.viewport().width(), "columns cut off at the right"
    for c, width in enumerate(widths):
        for text in (t.horizontalHeaderItem(c).text(), t.item(0, c).text()):
            wide = max(fm.horizontalAdvance(line) for line in text.split("\n"))
            assert width >= wide, (t.horizontalHeaderItem(c).text(), text)
    aucs = t.item(0, 6).text().split("\n")
    assert [a.rsplit(" ", 1)[0] for a in aucs] == ["ResNet-18", "MobileNet-V2",
                                                        "Ensemble"]
    lines = len(aucs)
    # every AUC line shows, and the row is no taller than its text
    assert lines * fm.lineSpacing() <= t.rowHeight(0) <= (lines + 1) * fm.lineSpacing() + 8
