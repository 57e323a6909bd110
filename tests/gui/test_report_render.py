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
from wbsdesk.core.architectures import arch_color
from wbsdesk.errors import WbsdeskWarning
from wbsdesk.gui.report_render import (
    PNG_SCALE,
    READER_COLORS,
    QtReportRenderer,
    figure_size,
    html_to_pdf,
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


def test_html_prints_to_a_pdf_with_its_image(tmp_path, qapp):
    from PySide6.QtGui import QColor, QImage

    img = QImage(40, 30, QImage.Format.Format_RGB32)
    img.fill(QColor("red"))
    img.save(str(tmp_path / "fig.png"))
    out = tmp_path / "r.pdf"
    html_to_pdf("<h1>Report</h1><p><img src='fig.png'></p>" + "<p>row</p>" * 200, out,
                images={"fig.png": tmp_path / "fig.png"})
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + \
        data.count(b"/Type/Page") >= 2  # the long body spans several pages
    assert QtReportRenderer().versions()["pyqtgraph"]
