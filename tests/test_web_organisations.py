"""One organization per vendor, rated by what it receives (rubric W2, W3, W4)."""

from __future__ import annotations

import json
from pathlib import Path

from lcopia import cli, web
from lcopia.models import System

SITE = "https://www.library.example"


def _entry(url: str, *, referer: str | None = None, cookies: dict[str, str] | None = None,
           document: bool = False) -> dict:
    headers = [{"name": "Referer", "value": referer}] if referer else []
    return {"pageref": "page_1",
            "request": {"method": "GET", "url": url, "headers": headers,
                        "cookies": [{"name": k, "value": v}
                                    for k, v in (cookies or {}).items()]},
            "response": {"status": 200, "headers": [], "cookies": [],
                         "content": {"mimeType": "text/html" if document else "image/gif"}}}


def _har(folder: Path, page: str, entries: list[dict], name: str = "capture.har") -> Path:
    doc = {"log": {"pages": [{"id": "page_1", "title": page}],
                   "entries": [_entry(page, document=True), *entries]}}
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _org(report: web.WebReport, name: str) -> web.WebOrganisation:
    return next(o for o in report.organisations if name in o.name)


def test_meta_pixel_loader_and_endpoint_are_one_organisation_and_one_finding(tmp_path):
    page = f"{SITE}/events"
    report = web.audit_files([_har(tmp_path, page, [
        _entry("https://connect.facebook.net/en_US/fbevents.js", referer=page),
        _entry(f"https://www.facebook.com/tr/?id=1&ev=PageView&dl={page}&fbp=fb.1.2.3",
               referer=page),
    ])])
    meta = _org(report, "Meta")
    assert meta.domains == ["facebook.com", "facebook.net"]
    assert meta.category == "advertising"
    assert meta.receives == ["identifiers_with_pages"] and meta.rank == 3
    assert [(i.kind, i.domains) for i in report.issues] == [
        ("advertising_pixel", ["facebook.com", "facebook.net"])]


def test_google_analytics_tag_manager_and_fonts_are_one_google_with_search_terms_once(
        tmp_path):
    page = f"{SITE}/search?q=coping+with+debt"
    report = web.audit_files([_har(tmp_path, page, [
        _entry("https://www.googletagmanager.com/gtag/js?id=G-1", referer=page),
        _entry("https://region1.google-analytics.com/g/collect?v=2&cid=123.456"
               f"&dl={page}", referer=page),
        _entry("https://fonts.googleapis.com/css2?family=Lato", referer=page),
        _entry("https://fonts.gstatic.com/s/lato.woff2", referer=SITE + "/"),
    ])])
    assert [o.name for o in report.organisations] == ["Google"]
    google = report.organisations[0]
    # fonts.googleapis.com is its own registrable domain (googleapis.com is a public suffix)
    assert google.domains == ["fonts.googleapis.com", "google-analytics.com",
                              "googletagmanager.com", "gstatic.com"]
    assert google.receives == ["search_terms", "identifiers_with_pages"]
    assert google.rank == 4
    search = [i for i in report.issues if i.kind == "analytics_search_terms"]
    assert len(search) == 1 and search[0].organisation == "Google"


def test_a_font_alone_is_ip_only(tmp_path):
    report = web.audit_files([_har(tmp_path, f"{SITE}/", [
        _entry("https://fonts.gstatic.com/s/lato.woff2", referer=SITE + "/")])])
    google = _org(report, "Google")
    assert (google.category, google.receives, google.rank) == ("cdn", ["ip_only"], 1)


def test_a_record_page_sent_to_a_party_gives_it_the_title(tmp_path):
    page = f"{SITE}/eg/opac/record/4711"
    report = web.audit_files([_har(tmp_path, page, [
        _entry("https://cdn.segment.com/analytics.js", referer=page)])])
    assert _org(report, "Segment").receives == ["titles", "pages_viewed"]


def test_before_consent_follows_the_consent_cookie(tmp_path):
    page = f"{SITE}/"
    before = web.audit_files([_har(tmp_path, page, [
        _entry("https://script.hotjar.com/h.js", referer=page)], "a.har")])
    after = web.audit_files([_har(tmp_path, page, [
        _entry(f"{SITE}/app.js", cookies={"OptanonConsent": "groups=C0001"}),
        _entry("https://script.hotjar.com/h.js", referer=page)], "b.har")])
    assert _org(before, "Hotjar").before_consent is True
    assert _org(after, "Hotjar").before_consent is False


def test_contracted_system_is_named(tmp_path):
    page = f"{SITE}/"
    system = System(system_id="SYS-GA", name="Analytics", vendor="Google", service="web",
                    kind="website", external=True, holds_library_records=True,
                    contract_binds_policy="yes", contract_binds_missouri_law="yes",
                    uses=["analytics"], shares_with_third_parties="no",
                    patron_accounts=False, owner="IT", domains=["google-analytics.com"])
    report = web.audit_files([_har(tmp_path, page, [
        _entry("https://region1.google-analytics.com/g/collect?v=2", referer=page)])],
        systems=[system])
    assert _org(report, "Google").system_id == "SYS-GA"


def test_first_party_is_the_union_of_website_domains_and_the_captured_site(tmp_path, capsys):
    page = f"{SITE}/"
    path = _har(tmp_path, page, [_entry("https://catalog.library-ils.example/x.js"),
                                 _entry(f"{SITE}/site.css")])
    report = web.audit_files([path], first_party=["library-ils.example"])
    assert report.captures[0].first_party == ["library-ils.example", "library.example"]
    assert report.third_parties == []
    assert len(report.warnings) == 1 and "library.example" in report.warnings[0]
    assert "website_domains" in report.warnings[0]
    assert cli.main(["web", str(path), "--first-party", "library-ils.example"]) == 0
    assert "Warning:" in capsys.readouterr().out
    quiet = web.audit_files([path], first_party=["library.example", "library-ils.example"])
    assert quiet.warnings == []
