"""The report package: one palette from scales.yaml, templates found as package resources,
and text from the data that matplotlib must never read as mathtext."""

from __future__ import annotations

import io

import report_fixtures as fx
from PIL import Image

from lcopia import charts, report
from lcopia.report import common


def test_band_css_and_chart_fills_follow_the_colour_in_scales_yaml() -> None:
    r = fx.results()
    bands = [b.model_copy(update={"colour": "#123456"}) if b.label == "Critical" else b
             for b in r.bundle.policy.scales.risk_bands]
    css = report.band_css(bands)
    assert ".band-critical { background: #123456; color: #ffffff;" in css
    assert charts.band_styles(bands)["Critical"]["face"] == "#123456"
    shipped = report.band_css(r.bundle.policy.scales.risk_bands)
    assert "#123456" not in shipped and shipped.count(".band-") == 4


def test_the_cover_carries_the_band_rules_so_every_page_of_the_report_has_them() -> None:
    html = report.cover(fx.results()).html
    for band in fx.results().bundle.policy.scales.risk_bands:
        assert f"background: {band.colour}" in html


def test_templates_are_found_as_package_resources() -> None:
    assert (common.templates_dir() / "lcopia_board" / "conf.json").is_file()
    assert "body" in report.read_template("vendor.css")


def test_a_dollar_pair_in_a_system_name_is_drawn_as_text_not_mathtext() -> None:
    # unescaped, "$^$" is a mathtext syntax error and the chart could not be drawn at all
    name = "Budget $^$ fines log"
    assert charts.mpl_text(name) == r"Budget \$^\$ fines log"
    r = fx.results(ils_name=name)
    chart = charts.system_risk(r.assessment)
    assert Image.open(io.BytesIO(chart.png)).size[0] > 500
    assert name in [row[0] for row in chart.table_rows]
