"""Importing the real portraits folder (879 public-domain faces), group = sex."""

from __future__ import annotations

import pytest

from tests.conftest import PORTRAITS
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, show_study

pytestmark = pytest.mark.skipif(not (PORTRAITS / "manifest.csv").exists(),
                                reason=f"the shared portraits folder {PORTRAITS} is absent")


def test_portraits_import_lands_879_subjects(ws, tmp_path):
    proto = tmp_path / "sex.toml"
    proto.write_text('name = "portraits_sex"\ntitle = "Portraits: sex (real faces)"\n'
                     '[groups]\nnames = ["F", "M"]\npositive = "F"\n')
    create_study(ws, "portraits", proto)
    manifest = PORTRAITS / "manifest.csv"  # the shared manifest as it is: group = its sex column
    rep = import_manifest(ws, "portraits", manifest, group_column="sex")
    assert rep.subjects_added == 879 and rep.photos_added == 879
    info = show_study(ws, "portraits")
    assert info["subjects"] == 879
    assert info["groups"]["M"]["subjects"] == 722 and info["groups"]["F"]["subjects"] == 157
    s = {x.key: x for x in ws.store.subjects(ws.store.study("portraits").id)}
    assert s["A000014"].metadata == {"birth_year": "1938", "grayscale": "0"}
    assert import_manifest(ws, "portraits", manifest, group_column="sex").no_op
