"""Two connections writing one workspace database (a job process and the GUI, say)."""

from __future__ import annotations

import threading
import time

from wbsdesk.store.db import open_store


def test_a_transaction_that_reads_then_writes_is_not_broken_by_another_writer(tmp_path):
    path = tmp_path / "wbsdesk.db"
    a, b = open_store(path), open_store(path)
    a.db.execute("CREATE TABLE t (who TEXT)")
    a.db.conn.commit()
    inside, errors = threading.Event(), []

    def other_writer() -> None:
        inside.wait()
        c = open_store(path)  # its own connection, as a job process has
        try:
            with c.atomic():
                c.db.execute("INSERT INTO t VALUES ('b')")
        except Exception as exc:  # pragma: no cover - the failure this test guards against
            errors.append(exc)

    t = threading.Thread(target=other_writer)
    t.start()
    with a.atomic():
        seen = a.db.execute("SELECT count(*) FROM t").fetchone()[0]
        inside.set()
        time.sleep(0.3)  # the other connection tries to write now, and must wait
        a.db.execute("INSERT INTO t VALUES ('a')")
    t.join(timeout=30)
    assert seen == 0 and not errors
    rows = [r[0] for r in b.db.execute("SELECT who FROM t ORDER BY rowid").fetchall()]
    assert rows == ["a", "b"]  # the waiting writer landed after the first committed


def test_nested_blocks_are_savepoints_and_a_failure_undoes_the_whole(tmp_path):
    s = open_store(tmp_path / "wbsdesk.db")
    s.db.execute("CREATE TABLE t (x INTEGER)")
    s.db.conn.commit()
    try:
        with s.atomic():
            s.db.execute("INSERT INTO t VALUES (1)")
            with s.atomic():
                s.db.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert s.db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    with s.atomic():
        s.db.execute("INSERT INTO t VALUES (3)")
    assert [r[0] for r in s.db.execute("SELECT x FROM t").fetchall()] == [3]
