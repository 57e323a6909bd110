"""The report figure renders offscreen at the expected size, its SVG is valid, the PDF prints."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.core import stats
from wbsdesk.core.architectures import arch_color
from wbsdesk.errors import WbsdeskWarning
from wbsdesk.gui.report_render import (
    PNG_SCALE,
    READER_COLORS,
    QtReportRenderer,
    figure_size,
    render_roc_figure,
)
from wbsdesk.services.analysis import build_comparison


@pytest.fixture
def study_ws(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["vgg16", "resnet18", "mobilenet_v2"]))
    return ws, subjects


def _has_color(img: Image.Image, hex_color: str, *, min_pixels: int = 30) -> bool:
    arr = np.asarray(img.convert("RGB")).astype(int)
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(arr - rgb).sum(axis=2) < 30).sum()) >= min_pixels


def test_the_two_panel_figure_renders_at_the_expected_size(study_ws, tmp_path, qapp):
    ws, subjects = study_ws
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Sim B", synthetic_ratings(subjects, seed=2), simulated=True)
    comp = build_comparison(ws, "s", include_simulated=True)
    png, svg = tmp_path / "roc.png", tmp_path / "roc.svg"
    size = render_roc_figure(comp.roc_data, png=png, svg=svg, title="WBS vs. all controls")
    w, h = figure_size(comp.roc_data)
    assert size == (w * PNG_SCALE, h * PNG_SCALE) and w > h  # two panels side by side
    with Image.open(png) as img:
        assert img.size == size
        archs = [arch_color(a) for a in ("vgg16", "resnet18", "mobilenet_v2")]
        for color in (*archs, *READER_COLORS[:2], "#000000"):
            assert _has_color(img, color), color  # each architecture in its one colour
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == f"0 0 {w} {h}"
    text = svg.read_text()
    assert "Sim B (sim)" in text and "1 − specificity" in text and "AUC" in text

    from PySide6.QtSvg import QSvgRenderer

    assert QSvgRenderer(str(svg)).isValid()


def test_without_readers_the_figure_has_one_panel(study_ws, tmp_path, qapp):
    ws, _ = study_ws
    with pytest.warns(WbsdeskWarning, match="No reader"):
        comp = build_comparison(ws, "s")
    png = tmp_path / "roc.png"
    size = render_roc_figure(comp.roc_data, png=png, svg=tmp_path / "roc.svg", title="x vs. y")
    w, h = figure_size(comp.roc_data)
    assert w < h and size == (w * PNG_SCALE, h * PNG_SCALE)
    with Image.open(png) as img:
        assert img.size == size


def test_the_readers_panel_shows_the_model_on_the_paired_photos_only(study_ws, tmp_path,
                                                                     qapp):
    """The right panel's title says 'N photos': the ensemble's curve and legend AUC there are
    of those N paired photos, not of every case (the left panel keeps every case)."""
    ws, subjects = study_ws
    late = synthetic_ratings(subjects, seed=1)
    for photo in list(late)[:12]:  # mostly positives: the paired set differs a lot
        late[photo] = None
    add_reader(ws, "s", "Dr A", late)
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))
    with pytest.warns(WbsdeskWarning):  # Dr A's missing reads
        comp = build_comparison(ws, "s")
    roc = comp.roc_data
    ens = comp.model("ensemble")
    paired_auc = stats.auc_score(comp.y[comp.paired], ens.scores[comp.paired])
    assert roc.reference.name == "ensemble" and roc.reference.auc == paired_auc
    assert f"{paired_auc:.3f}" != f"{ens.roc.auc:.3f}"  # the two sets give two AUCs
    svg = tmp_path / "roc.svg"
    render_roc_figure(roc, png=tmp_path / "roc.png", svg=svg, title="t")
    text = svg.read_text()
    n = roc.paired_pos + roc.paired_neg
    assert n == comp.paired.size < comp.y.size
    assert f"({n} photos, {roc.paired_pos} positive)" in text
    assert f"same photos: AUC {paired_auc:.3f}" in text  # right panel, paired photos
    assert f"(mean of models): AUC {ens.roc.auc:.3f}" in text  # left panel, every case
    with Image.open(tmp_path / "roc.png") as img:
        assert round(img.info["dpi"][0]) == 300  # the PDF places it at 300 dpi
    assert QtReportRenderer().versions()["pyqtgraph"]
