"""The patron page, in English and Spanish: for each contracted vendor what it receives and
why, how long it is kept, what a patron can do; and where the website sends data."""

from __future__ import annotations

import re

import report_fixtures as fx

from lcopia import report
from lcopia.report.language import style_problems


def _text(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_each_contracted_vendor_says_what_it_receives_why_and_for_how_long() -> None:
    r = fx.results(ils_name="Ozark Catalog")  # the fixture's own name is British
    page = report.vendor_page(r)
    text = _text(page)
    assert '<html lang="en">' in page
    for row in report.vendor_rows(r):
        assert row["vendor"] in text
        for purpose in row["purposes"]:
            assert purpose in text
    for label in ("What it receives", "Why", "How long it is kept", "What you can do",
                  "Whom to ask", "Where our website sends data"):
        assert label in text, label
    assert r.bundle.policy.contact in text
    assert style_problems(text) == []


def test_only_vendors_in_the_inventory_are_listed_as_contracted() -> None:
    r = fx.results()
    listed = {row["vendor"] for row in report.vendor_rows(r)}
    expected = {s.vendor for s in r.bundle.inventory.systems
                if s.external and s.holds_library_records}
    assert listed == expected


def test_the_spanish_page_says_the_same_in_spanish_and_links_back(tmp_path) -> None:
    r = fx.results()
    es = report.vendor_page(r, "es")
    text = _text(es)
    assert '<html lang="es">' in es and 'href="vendor-privacy-policies.html"' in es
    for label in ("Qué recibe", "Para qué", "Cuánto tiempo se guarda", "Qué puede hacer usted",
                  "A quién preguntar"):
        assert label in text, label
    assert re.search(r"\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
                     r"septiembre|octubre|noviembre|diciembre) de \d{4}", text)
    for row in report.vendor_rows(r):
        assert row["vendor"] in text
        assert not row["reviewed"] or row["reviewed"] not in text  # no English date left
    assert 'href="vendor-privacy-policies.es.html"' in report.vendor_page(r)
    paths = report.write_exports(r, tmp_path)
    assert tmp_path / "vendor-privacy-policies.es.html" in paths
