"""Charts: embedded PNG with real alt text, a table equivalent, grayscale-safe, deterministic."""

from __future__ import annotations

import io
import itertools
import re
from html.parser import HTMLParser

import matplotlib
import report_fixtures as fx
from matplotlib import colors
from PIL import Image

from lcopia import charts


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(html)
    return p.tags


def test_risk_map_counts_every_flow_in_its_table_equivalent() -> None:
    r = fx.results()
    chart = charts.risk_map(r.assessment, r.bundle.policy.scales.risk_bands)
    assert sum(int(row[-1]) for row in chart.table_rows) == len(r.assessment.flows)
    # the circulation flow moves from likelihood 4 to 3 at severity 4: 16 Critical → 12 Critical
    assert ["4", "4 → 3", "16 Critical → 12 Critical", "1"] in chart.table_rows
    assert "2 data flows" in chart.alt and "Controls in place today lower" in chart.alt


def test_chart_html_has_alt_text_caption_and_a_headed_table() -> None:
    r = fx.results()
    html = charts.risk_map(r.assessment, r.bundle.policy.scales.risk_bands).to_html()
    tags = _tags(html)
    img = next(a for t, a in tags if t == "img")
    assert img["alt"] and len(img["alt"]) > 40
    assert (img["src"] or "").startswith("data:image/png;base64,")
    assert any(t == "figcaption" for t, _ in tags)
    assert [a.get("scope") for t, a in tags if t == "th"] == ["col"] * 4
    assert "Table equivalent: Risk map" in html


def test_chart_png_is_byte_identical_across_runs_and_carries_no_software_stamp() -> None:
    r = fx.results()
    one = charts.risk_map(r.assessment, r.bundle.policy.scales.risk_bands).png
    two = charts.risk_map(r.assessment, r.bundle.policy.scales.risk_bands).png
    assert one == two
    assert one.startswith(b"\x89PNG") and b"matplotlib" not in one.lower()


def test_charts_survive_an_agg_backend_because_they_never_use_pyplot() -> None:
    previous = matplotlib.get_backend()
    matplotlib.use("agg")
    try:
        chart = charts.system_risk(fx.results().assessment)
    finally:
        matplotlib.use(previous)
    assert Image.open(io.BytesIO(chart.png)).size[0] > 500
    assert [row[0] for row in chart.table_rows] == ["Ozark Catalog", "Events Calendar"]


def test_band_fills_step_in_lightness_and_hatches_differ_so_grayscale_keeps_them_apart() -> None:
    def lum(hex_colour: str) -> float:
        r, g, b = colors.to_rgb(hex_colour)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    order = ["Critical", "High", "Moderate", "Low"]
    styles = charts.band_styles(fx.results().bundle.policy.scales.risk_bands)
    lums = [lum(styles[b]["face"]) for b in order]
    assert all(b - a > 0.08 for a, b in itertools.pairwise(lums))
    assert len({styles[b]["hatch"] for b in order}) == 4


def test_risk_map_in_grayscale_still_shows_four_distinct_cell_tones() -> None:
    r = fx.results()
    png = charts.risk_map(r.assessment, r.bundle.policy.scales.risk_bands).png
    grey = Image.open(io.BytesIO(png)).convert("L")
    tones = {v for v, n in enumerate(grey.histogram()) if n > 2000}
    # white plus the band fills (and hatch lines) give several well-populated grey levels
    assert len(tones) >= 4 and max(tones) - min(tones) > 100


def test_system_names_in_chart_alt_text_are_escaped_in_html() -> None:
    r = fx.results(ils_name='<script>alert(1)</script> "x"')
    html = charts.system_risk(r.assessment).to_html()
    assert "<script>" not in html
    assert re.search(r"&lt;script&gt;alert\(1\)&lt;/script&gt; &quot;x&quot;", html)
