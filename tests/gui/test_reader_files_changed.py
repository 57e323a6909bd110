"""The reading screen checks the database files before each read it commits.

When something in the GUI process opened and closed the database files (a file dialog
sniffing them) and another command then deleted the WAL, the next read would go into a
deleted file. The screen refuses to store it, tells the reader to call the study lead, and
every read committed before stays in the database for any other process to see.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.gui.reading_study import make_reading_study
from tests.store.dbfiles import open_and_close_elsewhere, reads_in_fresh_process
from wbsdesk.errors import UserError
from wbsdesk.gui.dry_run import run_script
from wbsdesk.gui.reader_view import build_reader_widget
from wbsdesk.services import reading
from wbsdesk.services.reading import ScriptedAnswer

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and POSIX locks")


def _drop_locks_then_lose_the_wal(db: Path) -> None:
    """What the issue's steps did: open and close the files here, then another command."""
    for suffix in ("-shm", "", "-wal"):
        os.close(os.open(f"{db}{suffix}", os.O_RDONLY))
    open_and_close_elsewhere(db)


@linux
def test_a_read_after_the_files_changed_is_refused_and_the_reader_told(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=4, seconds=0.4, window=0.5)
    reading.add_reader(ws, "R1", role="pediatrician", years=4)
    setup = reading.open_session(ws, "tiny", "R1", seed=1)
    w = build_reader_widget(ws, setup)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    failures = []
    w.failed.connect(failures.append)

    def after_commit(line: str) -> None:
        if line == "committed 0":
            _drop_locks_then_lose_the_wal(ws.store.path)

    answers = [ScriptedAnswer(4, 0.05)] * 4
    with pytest.raises(UserError, match="changed under this window") as err:
        run_script(w, answers, echo=after_commit, timeout_s=30)
    assert "Close wbsdesk (every window) and open it again" in str(err.value)
    assert failures and failures[0] is err.value
    assert "The session has stopped" in w.message_title.text()
    assert "Please call the study lead" in w.message_text.text()
    assert "Your earlier answers are kept" in w.message_text.text()
    # The first read is in the database; the refused one left no trace.
    assert reads_in_fresh_process(ws.store.path, setup.session_id) == 1
