"""`wbsdesk exclude NAME --from FILE`: many exclusions from a CSV, all or nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.gui.training_study import make_tiny_study
from wbsdesk.cli import cli


def _excluded(ws) -> dict[str, str | None]:
    study = ws.store.study("t")
    return {s.key: s.exclusion_reason for s in ws.store.subjects(study.id) if s.excluded}


def test_exclude_from_a_csv_checks_every_row_before_changing_anything(ws, tmp_path):
    make_tiny_study(ws, tmp_path)
    keys = [s.key for s in ws.store.subjects(ws.store.study("t").id)]
    run = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"subject,reason\n{keys[0]},blurred photo\nNOBODY,x\n{keys[0]},again\n"
                   f"{keys[1]},\n", encoding="utf-8")
    out = run.invoke(cli, ["--workspace", str(ws.root), "exclude", "t", "--from", str(bad)])
    assert out.exit_code == 1
    assert "3 row(s) cannot be applied; nothing was changed" in out.output
    assert f"{bad}, row 3: study 't' has no subject 'NOBODY'" in out.output
    assert f"row 4: subject '{keys[0]}' is listed again (first in row 2)" in out.output
    assert f"row 5: subject '{keys[1]}' has no reason" in out.output
    assert _excluded(ws) == {}  # the good first row was not applied either
    # a spreadsheet's export: BOM, semicolons, another column, a blank line
    good = tmp_path / "good.csv"
    good.write_text(f"\ufeffSubject;Reason;note\n{keys[0]};blurred photo;a\n\n"
                    f"{keys[1]};consent withdrawn;b\n", encoding="utf-8")
    out = run.invoke(cli, ["--workspace", str(ws.root), "exclude", "t", "--from", str(good),
                           "--json"])
    assert out.exit_code == 0, out.output
    assert [r["subject"] for r in json.loads(out.stdout)] == keys[:2]
    assert _excluded(ws) == {keys[0]: "blurred photo", keys[1]: "consent withdrawn"}
    log = [e for e in ws.store.audit_log(ws.store.study("t").id) if e["action"] == "exclude"]
    assert [e["detail"]["subject"] for e in log] == keys[:2]
    assert log[0]["detail"]["file"] == "good.csv"
    out = run.invoke(cli, ["--workspace", str(ws.root), "exclude", "t", "--from", str(good),
                           "--undo"])
    assert out.exit_code == 0 and "Included 2 subject(s)" in out.output and _excluded(ws) == {}
    nohead = tmp_path / "nohead.csv"
    nohead.write_text(f"{keys[0]},blurred\n", encoding="utf-8")
    out = run.invoke(cli, ["--workspace", str(ws.root), "exclude", "t", "--from", str(nohead)])
    assert out.exit_code == 1 and "no 'subject' or 'reason' column" in out.output
    out = run.invoke(cli, ["--workspace", str(ws.root), "exclude", "t", keys[0], "--from",
                           str(good)])
    assert out.exit_code == 2 and "not both" in out.output
