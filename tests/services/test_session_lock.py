"""One reader's session runs in one process: a second is refused by name; a crash frees it."""

from __future__ import annotations

import os
import socket
import stat
import sys

import pytest

from tests.gui.reading_study import make_reading_study
from tests.services.session_holder import holding_session, kill, wait_until
from wbsdesk.config import DB_NAME
from wbsdesk.core.session import ReadRecord
from wbsdesk.errors import UserError
from wbsdesk.services import reading
from wbsdesk.services.session_lock import session_in_use, session_lock_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _read(setup, position):
    s = setup.plan[position]
    return ReadRecord(position=s.position, photo_id=s.photo_id, practice=s.practice, rating=4,
                      binary_read=True, shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1,
                      shown_at="a", hidden_at="b", answered_at="c", display_s=0.2,
                      response_s=0.1, after_interruption=False)


def test_a_second_process_is_refused_until_the_holder_is_killed(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=3)
    reading.add_reader(ws, "R1", role="pediatrician")
    reading.add_reader(ws, "R2", role="pediatrician")
    study, r1 = ws.store.study("tiny").id, ws.store.reader("R1").id
    with holding_session(ws.root, "tiny", "R1") as child:
        assert session_in_use(ws.root, study, r1)
        busy = (rf"R1's session on 'tiny' is open in another process \(process {child.pid} "
                rf"on {socket.gethostname()}, since ")
        with pytest.raises(UserError, match=busy) as refused:
            reading.open_session(ws, "tiny", "R1")
        assert "finish or stop the session there" in refused.value.hint
        row = ws.store.session_of(r1, study)
        assert row.interruptions == 0  # the refused start counted nothing
        other = reading.open_session(ws, "tiny", "R2")  # another reader is not affected
        other.release()
        kill(child)  # kill -9: the OS drops the lock with the process
    assert wait_until(lambda: not session_in_use(ws.root, study, r1))
    setup = reading.open_session(ws, "tiny", "R1")
    try:
        assert setup.resumed and setup.session_id == row.id and setup.interruptions == 1
        assert reading.record_read(ws, setup.session_id, _read(setup, 0))
    finally:
        setup.release()


def test_the_lock_file_is_private_and_not_a_database_file(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=2)
    reading.add_reader(ws, "Dr. Secret Name", role="pediatrician")
    setup = reading.open_session(ws, "tiny", "Dr. Secret Name")
    path = session_lock_path(ws.root, ws.store.study("tiny").id,
                             ws.store.reader("Dr. Secret Name").id)
    try:
        assert path.parent == ws.root / "locks" and path.is_file()
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        assert not path.name.startswith(DB_NAME) and "Secret" not in path.name
        # this process holds it too: a second open here is refused until it is released
        with pytest.raises(UserError, match=f"process {os.getpid()} "):
            reading.open_session(ws, "tiny", "Dr. Secret Name")
    finally:
        setup.release()
    again = reading.open_session(ws, "tiny", "Dr. Secret Name")
    again.release()
    assert not session_in_use(ws.root, ws.store.study("tiny").id,
                              ws.store.reader("Dr. Secret Name").id)


def test_a_failed_start_releases_the_lock(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=2, crops=False)  # no crops: the start is refused
    reading.add_reader(ws, "R1", role="pediatrician")
    for _ in range(2):  # the second try is refused for the crops again, not for the lock
        with pytest.raises(UserError, match="cannot start reading"):
            reading.open_session(ws, "tiny", "R1")
