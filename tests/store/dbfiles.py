"""Helpers for the database-file tests: a session to commit reads to, other processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def make_session(store, n_photos: int = 6) -> tuple[int, list[int]]:
    """A study with ``n_photos`` photos and one reader's session; (session id, photo ids)."""
    with store.atomic():
        study = store.insert_study(name="files", protocol_name="p", protocol_json="{}",
                                   protocol_source="", synthetic=False)
        photos = []
        for i in range(n_photos):
            subj = store.insert_subject(study, key=f"S{i}", group="g", sex=None,
                                        age_months=None, diagnosis=None, metadata={})
            photos.append(store.insert_photo(
                subj, sha256=f"{i:064x}", stored_path=f"photos/{i}.jpg",
                original_name=f"{i}.jpg", fmt="JPEG", width=10, height=10, is_primary=True))
        reader = store.insert_reader(name="R", role="pediatrician", years=5, simulated=False,
                                     dry_run=False)
        sid = store.insert_session(reader_id=reader, study_id=study, protocol_json="{}",
                                   order_seed=1, photo_order=[(p, False) for p in photos])
    return sid, photos


def commit_read(store, sid: int, photo: int, position: int) -> None:
    """Commit one read the way a reading session does (one transaction)."""
    with store.atomic():
        store.insert_read(sid, photo_id=photo, position=position, practice=False, rating=4,
                          binary_read=True, shown_mono=1.0, hidden_mono=2.0,
                          answered_mono=1.5, shown_at="t0", hidden_at="t1", answered_at="t2",
                          display_s=1.0, response_s=0.5, after_interruption=False)


def python(code: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (the repository on its path)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120, check=check)


def reads_in_fresh_process(db: Path, sid: int) -> int:
    """How many reads of session ``sid`` another process sees in the database."""
    out = python("import sys; from pathlib import Path; from wbsdesk.store import open_store\n"
                 "s = open_store(Path(sys.argv[1])); print(len(s.reads(int(sys.argv[2]))))\n"
                 "s.close()", str(db), str(sid))
    return int(out.stdout.strip())


def open_and_close_elsewhere(db: Path) -> None:
    """Another process opens the database and closes it again (as any wbsdesk command does)."""
    python("import sys; from pathlib import Path; from wbsdesk.store import open_store\n"
           "open_store(Path(sys.argv[1])).close()", str(db))


def wbsdesk(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m wbsdesk --workspace ROOT ARGS`` in another process."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "wbsdesk", "--workspace", str(root), *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
                          check=check)


def listing(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root``: (mode, size, mtime_ns, sha256) of each."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
        out[p.relative_to(root).as_posix()] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return out
