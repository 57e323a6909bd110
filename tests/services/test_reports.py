"""The written report: CSVs parse back to the comparison, the iMRMC file reproduces the
readers' AUCs, the HTML holds the tables and the embedded figure, the PDF is a PDF."""

from __future__ import annotations

import base64
import csv
import io
import math
import re
from html import escape as html_escape

import numpy as np
import pytest

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.core import stats
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.reports import (
    CSV_FILES,
    default_report_dir,
    imrmc_text,
    read_imrmc,
    write_report,
)
from wbsdesk.services.result_tables import table_map


@pytest.fixture
def comp(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    for i, name in enumerate(["Dr A", "Dr B", "Sim C"]):
        add_reader(ws, "s", name, synthetic_ratings(subjects, seed=i, skill=0.8 + 0.4 * i),
                   simulated=name.startswith("Sim"))
    return build_comparison(ws, "s", include_simulated=True)


@pytest.fixture(scope="module")
def renderer():
    from wbsdesk.gui.report_render import QtReportRenderer

    return QtReportRenderer()


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _same_value(text: str, value) -> bool:
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == str(value)
    if isinstance(value, float | np.floating):
        return (text == "NaN") if math.isnan(value) else float(text) == float(value)
    if isinstance(value, int | np.integer):
        return int(text) == int(value)
    return text == str(value)


def test_every_file_is_written_and_the_csvs_match_the_comparison(comp, tmp_path, renderer):
    files = write_report(comp, tmp_path / "rep", renderer=renderer)
    assert files.skipped == {}
    for key in [*CSV_FILES, "imrmc", "imrmc_cases", "imrmc_readers", "figure_png",
                "figure_svg", "html", "pdf"]:
        assert files.files[key].is_file() and files.files[key].stat().st_size > 0, key
    tables = table_map(comp)
    for name, fname in CSV_FILES.items():
        text = (tmp_path / "rep" / fname).read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == tables[name].export_header(), name  # the tables' own headers
        assert len(rows) - 1 == len(tables[name].rows) > 0, name
        for got, want in zip(rows[1:], tables[name].export_rows(), strict=True):
            for text, value in zip(got, want, strict=True):
                assert _same_value(text, value), (name, text, value)
    # spot checks against the statistics themselves (percent columns in percent)
    t4 = {r["Model"]: r for r in _read_csv(tmp_path / "rep" / "table4_models.csv")}
    assert float(t4["Ensemble"]["AUC % mean"]) == \
        100 * comp.model("ensemble").summary.mean["auc"]
    t5 = {r["Reader"]: r for r in _read_csv(tmp_path / "rep" / "table5_readers.csv")}
    assert float(t5["Average"]["F1 score %"]) == 100 * comp.table5.average.f1
    assert t5["Sim C (sim)"]["Role"] == "pediatrician · simulated"
    mrmc = _read_csv(tmp_path / "rep" / "mrmc_readers.csv")
    assert float(mrmc[0]["95% CI low"]) == comp.mrmc.readers_rating.ci_low
    assert (tmp_path / "rep" / "report.pdf").read_bytes().startswith(b"%PDF")


def test_the_imrmc_file_parses_and_reproduces_the_readers_aucs(comp, tmp_path):
    write_report(comp, tmp_path / "rep")
    text = (tmp_path / "rep" / "readers.imrmc").read_text()
    head, _, data = text.partition("BEGIN DATA:\n")
    # free text must not contain the keys iMRMC looks for anywhere in a header line
    free = [ln for ln in head.splitlines() if not re.fullmatch(r"(NR|N0|N1|NM): \d+", ln)]
    assert not any(k in ln.upper() for ln in free for k in ("NR:", "N0:", "N1:", "NM:"))
    assert all(re.fullmatch(r"-?\d+,\d+,[012],\d+", ln) for ln in data.splitlines())
    parsed = read_imrmc(text)
    y = comp.y[comp.paired]
    assert (parsed["NR"], parsed["N0"], parsed["N1"], parsed["NM"]) == (
        3, int((~y).sum()), int(y.sum()), 2)
    n = comp.paired.size
    truth = np.array([parsed["truth"][str(c)] for c in range(1, n + 1)])
    assert np.array_equal(truth, y.astype(int))
    ratings = np.array([[parsed["scores"][(str(j), str(c), "1")] for c in range(1, n + 1)]
                        for j in range(1, 4)])
    binary = np.array([[parsed["scores"][(str(j), str(c), "2")] for c in range(1, n + 1)]
                       for j in range(1, 4)])
    for j, r in enumerate(comp.readers):
        assert stats.auc_score(truth, ratings[j]) == r.rating_roc.auc
        assert stats.auc_score(truth, binary[j]) == pytest.approx(comp.table5.rows[j].auc)
    est = stats.reader_average_auc(truth, ratings, name="readers (ratings)",
                                   reader_names=[r.name for r in comp.readers])
    assert est == comp.mrmc.readers_rating
    # the maps name the cases and readers
    cases = _read_csv(tmp_path / "rep" / "imrmc_cases.csv")
    assert [c["subject"] for c in cases] == list(np.asarray(comp.subjects)[comp.paired])
    assert [int(c["truth"]) for c in cases] == truth.tolist()
    readers = _read_csv(tmp_path / "rep" / "imrmc_readers.csv")
    assert [(r["reader_id"], r["reader"], r["kind"]) for r in readers] == [
        ("1", "Dr A", "physician"), ("2", "Dr B", "physician"), ("3", "Sim C", "simulated")]


def test_the_html_holds_the_tables_the_figure_and_the_provenance(comp, tmp_path, renderer):
    write_report(comp, tmp_path / "rep", renderer=renderer)
    html = (tmp_path / "rep" / "report.html").read_text()
    png = (tmp_path / "rep" / "roc.png").read_bytes()
    m = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m and base64.b64decode(m.group(1)) == png  # self-contained
    assert "http://" not in html and "https://" not in html
    for table in table_map(comp).values():
        assert html_escape(table.title) in html
    ens = comp.model("ensemble").summary
    assert f"{100 * ens.mean['auc']:.1f} ± {100 * ens.sd['auc']:.1f}" in html
    assert f"{100 * comp.table5.average.accuracy:.1f}" in html
    assert "Research use only" in html
    assert "SIMULATED READERS INCLUDED" in html and "Sim C" in html
    # the synthetic label follows the photos (none of these subjects is marked synthetic)
    assert ("SYNTHETIC DATA" in html) is comp.synthetic is False
    assert (f"bootstrap percentile interval ({comp.protocol.statistics.bootstrap_resamples} "
            "resamples") in html  # the generated Methods (services.methods_text)
    assert "numpy" in html and "pyqtgraph" in html  # versions, renderer's included
    assert "Seeds" in html and str(comp.seeds["bootstrap"]) in html
    assert "report.pdf" in html and "readers.imrmc" in html


def test_without_a_renderer_only_the_figure_is_skipped_and_said_so(comp, tmp_path):
    files = write_report(comp, tmp_path / "rep")
    assert set(files.skipped) == {"figure"}
    assert not (tmp_path / "rep" / "roc.png").exists()
    html = files.files["html"].read_text()
    assert "The figure was not drawn" in html and "data:image" not in html
    assert files.files["pdf"].read_bytes().startswith(b"%PDF")  # reportlab needs no Qt


def test_a_model_only_report(ws, tmp_path, renderer):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    add_reader(ws, "s", "Sim", synthetic_ratings(subjects, seed=1), simulated=True)
    with pytest.warns(WbsdeskWarning, match="No reader is included"):
        comp = build_comparison(ws, "s")
    files = write_report(comp, default_report_dir(ws, comp), renderer=renderer)
    assert files.out_dir == ws.root / "reports" / "s_run1_all"
    assert {"table5", "mrmc", "imrmc", "delong_model_vs_reader",
            "delong_model_vs_model"} <= set(files.skipped)
    html = files.files["html"].read_text()
    assert "No reader is included" in html and "SIMULATED READERS INCLUDED" not in html
    assert "1 simulated reader(s) left out: Sim." in html
    with pytest.raises(UserError, match="no reader"):
        imrmc_text(comp)
    assert files.files["pdf"].read_bytes().startswith(b"%PDF")
