"""The reader-agreement section: its numbers from the stored reads, and the same tables in
the CSV files, the HTML and PDF report and ``wbsdesk report --json``."""

from __future__ import annotations

import html
import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import cohen_kappa_score

from tests.services.test_repeat_reads import _simulated_study
from wbsdesk.cli import cli
from wbsdesk.errors import WbsdeskWarning
from wbsdesk.services.agreement import attach_agreement
from wbsdesk.services.agreement_tables import agreement_tables
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.reports import write_report
from wbsdesk.services.table_render import result_csv


@pytest.fixture
def sim(tmp_path, monkeypatch):
    w = _simulated_study(tmp_path / "a" / "ws", monkeypatch, fraction=0.1)
    yield w
    w.close()


def _comparison(ws):
    with pytest.warns(WbsdeskWarning):
        return attach_agreement(ws, build_comparison(ws, "s", include_simulated=True))


def test_intra_reader_numbers_are_those_of_the_stored_pairs(sim):
    comp = _comparison(sim)
    a = comp.agreement
    for r, intra in zip(comp.readers, a.intra, strict=True):
        pairs = [p for p in sim.store.repeat_pairs([r.session_id])
                 if p["first_rating"] is not None and p["repeat_rating"] is not None]
        assert intra.pairs == len(pairs) and intra.repeats == 6
        first = [p["first_rating"] for p in pairs]
        again = [p["repeat_rating"] for p in pairs]
        for weights, k in (("linear", intra.linear), ("quadratic", intra.quadratic)):
            ref = cohen_kappa_score(first, again, weights=weights, labels=[1, 2, 3, 4, 5])
            assert k.kappa == pytest.approx(ref) or (np.isnan(k.kappa) and np.isnan(ref))
        same = sum(bool(p["first_binary"]) == bool(p["repeat_binary"]) for p in pairs)
        assert intra.binary.count == same and intra.binary.n == len(pairs)
    assert a.fleiss.n_cases == comp.paired.size and a.kendall.n_raters == 4
    assert (a.resamples, a.seed) == (2000, 7)


def test_the_section_is_in_the_csvs_the_html_and_the_pdf(sim, tmp_path):
    comp = _comparison(sim)
    intra, inter = agreement_tables(comp.agreement)
    files = write_report(comp, tmp_path / "out")
    assert (tmp_path / "out" / "agreement_intra.csv").read_text() == result_csv(intra)
    assert (tmp_path / "out" / "agreement_inter.csv").read_text() == result_csv(inter)
    assert files.files["agreement_intra"].name == "agreement_intra.csv"
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Reader agreement" in page and "Intra-reader agreement" in page
    assert ("a seeded hidden 10 % of the photographs were shown a second time, at least 20 "
            "photographs after the first showing") in page  # the Methods say so
    for cell in intra.texts()[0] + inter.texts()[1]:
        assert html.escape(cell.split("\n")[0]) in page
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "out" / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Reader agreement" in text and "Fleiss' kappa" in text and "Kendall's W" in text
    assert "Weighted kappa" in text and "κ" not in text  # no letter the PDF font lacks


def test_report_json_carries_the_agreement_tables(sim, tmp_path):
    root = sim.root
    sim.close()
    res = CliRunner().invoke(cli, ["--workspace", str(root), "report", "s",
                                   "--include-simulated", "--out", str(tmp_path / "r"),
                                   "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    intra = data["tables"]["agreement_intra"]
    assert len(intra["rows"]) == 4 and intra["rows"][0]["repeats"] == 6
    assert set(intra["rows"][0]["kappa_quadratic"]) == {"value", "low", "high"}
    inter = data["tables"]["agreement_inter"]
    assert [r["measure"] for r in inter["rows"]] == ["Fleiss' kappa", "Kendall's W"]
    assert (tmp_path / "r" / "agreement_inter.csv").is_file()
