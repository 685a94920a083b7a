"""`indexctl report`: a self-contained HTML page of figures, rendered in real headless Chromium."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from python_ext.report.build import FIGURE_KEYS, build_report
from python_ext.report.data import ReportData
from python_ext.report.figures import module_graph
from python_ext.report.page import render_page

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import catalog_data

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    root, _ = catalog_data.shared_catalog(tmp_path_factory.mktemp("report-catalog"))
    out = tmp_path_factory.mktemp("report") / "report.html"
    return build_report(root, out=out)


def test_report_has_every_figure_and_needs_no_network(report) -> None:
    assert report.figures == list(FIGURE_KEYS) and report.empty == {}
    page = report.path.read_text(encoding="utf-8")
    for key in FIGURE_KEYS:
        assert f'<section id="fig-{key}"' in page and f'id="plot-{key}"' in page
    # plotly.js is inlined once; outside it nothing points at the network (no external scripts,
    # styles, images or fonts)
    from plotly.offline import get_plotlyjs

    library = get_plotlyjs().replace("</script", "<\\/script")
    assert page.count(library) == 1
    own = page.replace(library, "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", own)
    assert "<link" not in own and "@import" not in own
    assert own.count("Plotly.newPlot(") == len(FIGURE_KEYS)
    # the worst-queries table names the fixture's hybrid miss (q3, lost in fusion, bm25 at 2)
    assert "road guide" in page and "lost_in_fusion" in page and "bm25@2" in page


def test_repository_text_cannot_break_out_of_the_page() -> None:
    hostile = "</script><img src=x onerror=alert(1)>"
    data = ReportData(
        modules=[
            {"module_id": hostile, "language": "python", "centrality": 1.0, "count_chunks": 1, "size_loc": 1}
        ]
    )
    figure = module_graph(data)
    page = render_page([figure], facts={"x": hostile}, worst=[], generated_at="now", catalog=hostile)
    assert "<img src=x" not in page
    body = page.split("</head>", 1)[1]
    assert body.count("</script>") == 1  # only the figure's own script closes


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_report_renders_in_headless_chromium(report, tmp_path: Path) -> None:
    """Chromium (Debian package; scripts/bootstrap.sh installs it) opens the file offline, runs
    the inlined plotly.js and draws every figure: each section holds a plotly SVG in the DOM."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip(
            "Chromium is not installed and could not be: scripts/bootstrap.sh installs the Debian "
            "package `chromium` with apt-get when run as root (CODEINTEL_CHROMIUM=skip opts out)"
        )
    url = report.path.as_uri()
    common = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=20000",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=180, check=True
    ).stdout
    sections = {m.group(1): m.start() for m in re.finditer(r'<section id="([^"]+)"', dom)}
    assert {f"fig-{key}" for key in FIGURE_KEYS} <= set(sections), sorted(sections)
    bounds = [*sorted(sections.values()), len(dom)]
    for key in FIGURE_KEYS:
        start = sections[f"fig-{key}"]
        end = next(b for b in bounds if b > start)
        html = dom[start:end]
        assert "js-plotly-plot" in html, f"plotly did not render figure {key}"
        assert 'class="main-svg"' in html, f"figure {key} has no SVG"
    assert dom.count('class="plot js-plotly-plot"') == len(FIGURE_KEYS)
    shot = tmp_path / "report.png"
    subprocess.run(
        [*common, "--window-size=1280,4200", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    assert _png_size(shot) == (1280, 4200)
    assert shot.stat().st_size > 60_000  # a blank page compresses to a few kB
