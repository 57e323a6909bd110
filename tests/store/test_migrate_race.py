"""Two processes opening a brand-new workspace at once: both get it, one migrates."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys, time
from wbsdesk.services.workspace import open_workspace
start = float(sys.argv[2])
while time.time() < start:
    pass
with open_workspace(sys.argv[1]) as ws:
    print(ws.store.schema_version()[-1])
"""


def test_two_processes_create_one_workspace_without_a_traceback(tmp_path):
    import time

    for i in range(3):
        root = tmp_path / f"ws{i}"
        start = time.time() + 2.5  # both past their imports, then open at the same instant
        procs = [subprocess.Popen([sys.executable, "-c", CODE, str(root), str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err[-2000:]
            assert "Traceback" not in err
        assert outs[0][0] == outs[1][0] != ""  # the same, latest schema for both
