"""The website/catalog tracking audit: what the library's pages hand to third parties."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from conftest import load_script, run_cli, run_entry_point

from lcopia import cli, web
from lcopia.errors import EvidenceError, InventoryError, UsageError
from lcopia.models import System

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "evidence" / "web"
LEAKY = SAMPLES / "catalog-search-leaky.har"
CLEAN = SAMPLES / "homepage-clean.har"
SEARCH_TERMS = "coping with gambling debt"
CATALOG = "https://catalog.lcozarks.example.org"
SITE = "https://www.lcozarks.example.org"


def _load_script():
    return load_script("scripts/make_sample_har.py")


def _capture_secrets(*paths: Path) -> set[str]:
    """Every cookie value, query value and body value in the captures: none may be output."""
    secrets = {SEARCH_TERMS, SEARCH_TERMS.replace(" ", "+"), SEARCH_TERMS.replace(" ", "%20")}
    for path in paths:
        for entry in json.loads(path.read_text())["log"]["entries"]:
            request, response = entry["request"], entry["response"]
            values = [c["value"] for c in request["cookies"] + response["cookies"]]
            values += [v for _, v in parse_qsl(urlsplit(request["url"]).query)]
            body = request.get("postData", {}).get("text", "")
            if body.startswith("{"):
                values += [str(v) for v in json.loads(body).values()]
            secrets |= {v for v in values if len(v) >= 6}
    return secrets


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """``lcopia ARGS`` in this process, from the repository root."""
    return run_cli(*args, cwd=ROOT)


# ----------------------------------------------------------------------------- HAR builder


def _entry(url: str, *, referer: str | None = None, cookies: dict[str, str] | None = None,
           set_cookies: dict[str, str] | None = None, post: str | None = None,
           document: bool = False) -> dict:
    request = {
        "method": "POST" if post is not None else "GET", "url": url, "httpVersion": "h2",
        "headers": ([{"name": "Referer", "value": referer}] if referer else []),
        "queryString": [], "cookies": [{"name": k, "value": v}
                                       for k, v in (cookies or {}).items()],
        "headersSize": -1, "bodySize": 0,
    }
    if post is not None:
        request["postData"] = {"mimeType": "text/plain", "text": post}
    return {
        "pageref": "page_1", "startedDateTime": "2026-05-01T10:00:00.000Z", "time": 1,
        "request": request,
        "response": {"status": 200, "statusText": "", "httpVersion": "h2", "headers": [],
                     "cookies": [{"name": k, "value": v}
                                 for k, v in (set_cookies or {}).items()],
                     "content": {"size": 1, "mimeType": "text/html" if document
                                 else "image/gif"},
                     "redirectURL": "", "headersSize": -1, "bodySize": 1},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0},
    }


def _har(tmp_path: Path, page_url: str, entries: list[dict], name: str = "capture.har"
         ) -> Path:
    doc = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                   "pages": [{"id": "page_1", "title": page_url,
                              "startedDateTime": "2026-05-01T10:00:00.000Z",
                              "pageTimings": {}}],
                   "entries": [_entry(page_url, document=True), *entries]}}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _party(report: web.WebReport, domain: str) -> web.ThirdParty:
    return next(p for p in report.third_parties if p.domain == domain)


def _kinds(report: web.WebReport) -> set[tuple[str, str, bool]]:
    return {(i.kind, i.domain, i.hard) for i in report.issues}


# ----------------------------------------------------------------------------- shipped captures


def test_cli_json_reports_every_third_party_with_category_and_what_it_receives():
    done = _run("web", str(CLEAN.relative_to(ROOT)), str(LEAKY.relative_to(ROOT)),
                "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    parties = {p["domain"]: p for p in report["third_parties"]}
    assert {d: p["category"] for d, p in parties.items()} == {
        "facebook.com": "advertising",
        "facebook.net": "advertising",
        "google-analytics.com": "analytics",
        "googletagmanager.com": "tag_manager",
        "gstatic.com": "cdn_fonts",
        "readwell.example": "econtent_vendor",
        "unknownchat.example": "unknown",
    }
    assert parties["gstatic.com"]["receives"] == ["ip_address"]
    assert parties["gstatic.com"]["hosts"] == ["fonts.gstatic.com"]
    assert parties["google-analytics.com"]["receives"] == [
        "ip_address", "page_url", "search_terms", "ad_ids"]
    assert parties["facebook.com"]["receives"] == [
        "ip_address", "page_url", "search_terms", "ad_ids", "cookies"]
    assert parties["facebook.com"]["cookies_set"] == 1
    assert parties["unknownchat.example"]["receives"] == [
        "ip_address", "page_url", "search_terms", "session_id", "cookies"]
    assert parties["unknownchat.example"]["organisation"] == "unknown organization"
    assert parties["readwell.example"]["requests"] == 2
    kinds = {(i["kind"], i["domain"], i["hard"]) for i in report["issues"]}
    assert kinds == {  # one finding per organisation: Meta's pixel once, Google once
        ("advertising_pixel", "facebook.com", True),
        ("analytics_search_terms", "google-analytics.com", True),
        ("unknown_third_party", "unknownchat.example", False),
    }
    assert {i["control_hint"] for i in report["issues"]} == {"website_tracking"}


def test_cli_json_page_summaries_split_first_and_third_party():
    done = _run("web", str(LEAKY.relative_to(ROOT)), str(CLEAN.relative_to(ROOT)),
                "--format", "json")
    assert done.returncode == 0, done.stderr
    leaky, clean = (c["pages"][0] for c in json.loads(done.stdout)["captures"])
    assert leaky["url"] == f"{CATALOG}/search?q=…&type=…"
    assert leaky["page_type"] == "catalog_search"
    assert (leaky["requests"], leaky["first_party_requests"],
            leaky["third_party_requests"]) == (11, 3, 8)
    assert leaky["cookies_set"] == {"first_party": 1, "third_party": 2}
    assert clean["url"] == f"{SITE}/"
    assert clean["page_type"] == "home"
    assert clean["third_party_domains"] == ["gstatic.com"]
    assert clean["cookies_set"] == {"first_party": 0, "third_party": 0}


def test_cli_outputs_never_show_search_terms_cookie_values_or_session_id():
    secrets = _capture_secrets(LEAKY, CLEAN)
    session = json.loads(LEAKY.read_text())["log"]["entries"][0]["request"]["cookies"][0]
    assert session["name"] == "ses" and session["value"] in secrets
    for fmt in ("json", "text"):
        done = _run("web", str(LEAKY.relative_to(ROOT)), str(CLEAN.relative_to(ROOT)),
                    "--format", fmt)
        assert done.returncode == 0, done.stderr
        output = done.stdout + done.stderr
        leaked = sorted(s for s in secrets if s in output)
        assert leaked == [], f"{fmt} output shows capture values"
        assert SEARCH_TERMS.split()[2] not in output.lower()  # "gambling"


def test_cli_text_names_each_third_party_category_and_hard_findings():
    done = _run("web", str(LEAKY.relative_to(ROOT)), str(CLEAN.relative_to(ROOT)))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "gstatic.com: CDN/fonts, Google" in text
    assert "unknownchat.example: unknown, unknown organization" in text
    assert "readwell.example: e-content vendor" in text
    assert "Findings (3, 2 hard)" in text
    assert "[HARD] advertising_pixel" in text
    assert "[finding] unknown_third_party" in text


def test_sample_script_rebuilds_the_shipped_captures_byte_for_byte(tmp_path):
    written = _load_script().write(tmp_path)
    assert sorted(p.name for p in written) == ["catalog-search-leaky.har", "homepage-clean.har"]
    for path in written:
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes()


def test_audit_folder_reads_every_capture_sorted_and_empty_folder_is_empty(tmp_path):
    report = web.audit_folder(SAMPLES, first_party=["lcozarks.example.org"])
    assert [Path(c.file).name for c in report.captures] == [
        "catalog-search-leaky.har", "homepage-clean.har"]
    assert web.audit_folder(tmp_path / "none").captures == []
    assert web.audit_folder(tmp_path).third_parties == []


# ----------------------------------------------------------------------------- domains


def test_registrable_domain_groups_hosts_of_one_party():
    rd = web.registrable_domain
    assert rd("cdn.lcozarks.example.org") == rd("lcozarks.example.org") == "lcozarks.example.org"
    assert rd("fonts.gstatic.com") == rd("www.gstatic.com") == "gstatic.com"
    assert rd("static.bbc.co.uk") == rd("www.bbc.co.uk") == "bbc.co.uk"
    assert rd("alice.github.io") != rd("bob.github.io")
    assert rd("docs.alice.github.io") == "alice.github.io"
    assert rd("192.0.2.7") == "192.0.2.7"


def test_subdomain_cdn_of_the_library_is_first_party(tmp_path):
    page = "https://www.library.example/events"
    path = _har(tmp_path, page, [
        _entry("https://cdn.library.example/app.js", referer=page),
        _entry("https://static.library.example/logo.png", referer=page),
    ])
    report = web.audit_files([path])
    summary = report.captures[0]
    assert summary.first_party == ["library.example"]
    assert summary.pages[0].first_party_requests == 3
    assert report.third_parties == []


def test_first_party_given_as_host_or_url_is_reduced_to_its_registrable_domain(tmp_path):
    page = "https://catalog.lcozarks.example.org/home"
    path = _har(tmp_path, page, [_entry("https://www.lcozarks.example.org/a.css")])
    report = web.audit_files([path], first_party=["https://www.lcozarks.example.org/"])
    assert report.captures[0].first_party == ["lcozarks.example.org"]
    assert report.third_parties == []
    with pytest.raises(UsageError):
        web.audit_files([path], first_party=["<b>not a domain</b>"])


def test_match_system_finds_the_contracted_system_by_host_or_domain():
    def system(system_id: str, domains: list[str]) -> System:
        return System(system_id=system_id, name=system_id, vendor="v", service="s",
                      kind="econtent", external=True, holds_library_records=True,
                      contract_binds_policy="yes", contract_binds_missouri_law="yes",
                      uses=["service"], shares_with_third_parties="no",
                      patron_accounts=True, domains=domains, owner="IT")

    systems = [system("SYS-ECON", ["covers.readwell.example"]),
               system("SYS-GA", ["google-analytics.com", "googletagmanager.com"]),
               system("SYS-ILS", ["catalog.lcozarks.example.org"])]
    assert web.match_system("readwell.example", systems) == "SYS-ECON"
    assert web.match_system("googletagmanager.com", systems) == "SYS-GA"
    assert web.match_system("region1.google-analytics.com", systems) == "SYS-GA"
    assert web.match_system("unknownchat.example", systems) is None
    assert web.match_system("facebook.com", []) is None
    exact = [system("SYS-A", ["readwell.example"]), system("SYS-B", ["covers.readwell.example"])]
    assert web.match_system("covers.readwell.example", exact) == "SYS-B"


# ----------------------------------------------------------------------------- classification


def test_shipped_tracker_list_is_dated_sourced_and_registrable():
    listing = web.load_trackers()
    assert listing.as_of.year >= 2026
    assert listing.sources.strip()
    domains = [t.domain for t in listing.trackers]
    assert len(domains) == len(set(domains))
    assert all(t.source.strip() for t in listing.trackers)
    assert all(web.registrable_domain(d) == d for d in domains)
    categories = {t.category for t in listing.trackers}  # library vendors only
    assert categories == {"econtent_vendor", "ils_vendor", "library_vendor"}


def test_tracker_list_entry_that_is_a_host_not_a_domain_is_refused(tmp_path):
    listing = tmp_path / "trackers.yaml"
    listing.write_text("as_of: 2026-05-01\nsources: test\ntrackers:\n"
                       "  - {domain: fonts.gstatic.com, organisation: Google LLC,\n"
                       "     category: cdn_fonts, source: test}\n")
    with pytest.raises(InventoryError) as err:
        web.load_trackers(listing)
    assert "gstatic.com" in str(err.value)


@pytest.mark.parametrize(("text", "said"), [
    ("as_of: 2026-05-01\nas_of: 2026-06-01\n", "it is not valid YAML at line 2: duplicate key"),
    ("- a\n- b\n", "it should be a YAML mapping")])
def test_a_broken_tracker_list_is_refused_in_a_sentence_naming_the_line(tmp_path, text, said):
    listing = tmp_path / "trackers.yaml"
    listing.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError) as err:
        web.load_trackers(listing)
    assert f"must be readable UTF-8 YAML; {said}" in str(err.value)


def test_unlisted_third_party_is_unknown_not_harmless(tmp_path):
    listing = tmp_path / "trackers.yaml"
    listing.write_text("as_of: 2026-05-01\nsources: test list\ntrackers:\n"
                       "  - {domain: jsdelivr.net, organisation: jsDelivr,\n"
                       "     category: cdn_fonts, source: jsDelivr docs}\n")
    page = "https://www.library.example/"
    path = _har(tmp_path, page, [
        _entry("https://cdn.jsdelivr.net/npm/x.js", referer=page),
        _entry("https://px.mystery-metrics.example/p.gif", referer=page),
    ])
    report = web.audit_files([path], trackers=listing)
    assert _party(report, "jsdelivr.net").category == "cdn_fonts"
    mystery = _party(report, "mystery-metrics.example")
    assert (mystery.category, mystery.organisation) == ("unknown", "unknown organization")
    assert _kinds(report) == {("unknown_third_party", "mystery-metrics.example", False)}


# ----------------------------------------------------------------------------- what is received


def test_origin_only_referer_is_not_the_page_url_but_a_full_referer_is(tmp_path):
    page = "https://www.library.example/events/storytime"
    path = _har(tmp_path, page, [
        _entry("https://fonts.gstatic.com/a.woff2", referer="https://www.library.example/"),
        _entry("https://cdn.jsdelivr.net/b.js", referer=page),
    ])
    report = web.audit_files([path])
    assert _party(report, "gstatic.com").receives == ["ip_address"]
    assert _party(report, "jsdelivr.net").receives == ["ip_address", "page_url"]


def test_search_terms_found_in_a_double_encoded_page_url_parameter(tmp_path):
    page = f"{CATALOG}/eg/opac/results?" + urlencode({"query": "hiv testing clinics",
                                                      "qtype": "keyword"})
    beacon = "https://www.google-analytics.com/g/collect?" + urlencode(
        {"v": "2", "dl": page, "cid": "123456789.1700000000"})
    path = _har(tmp_path, page, [_entry(beacon, referer=f"{CATALOG}/")])
    report = web.audit_files([path])
    ga = _party(report, "google-analytics.com")
    assert ga.receives == ["ip_address", "page_url", "search_terms", "ad_ids"]
    out = report.model_dump_json() + web.render_text(report)
    assert "hiv" not in out.lower()
    assert "123456789" not in out


def test_session_cookie_value_in_a_third_party_body_is_a_session_id(tmp_path):
    page = f"{CATALOG}/search?q=tax+forms"
    path = _har(tmp_path, page, [
        _entry(f"{CATALOG}/js/app.js", cookies={"JSESSIONID": "A1B2C3D4E5F60718"}),
        _entry("https://api.chatbox.example/visit", referer=f"{CATALOG}/",
               post='{"visitor": "A1B2C3D4E5F60718"}'),
    ])
    report = web.audit_files([path])
    assert _party(report, "chatbox.example").receives == ["ip_address", "session_id"]
    assert "A1B2C3D4E5F60718" not in report.model_dump_json()


# ----------------------------------------------------------------------------- each issue kind


def test_advertising_and_social_pixels_are_hard_on_any_page(tmp_path):
    page = "https://www.library.example/about"
    path = _har(tmp_path, page, [
        _entry("https://googleads.g.doubleclick.net/pagead/viewthroughconversion/1/"),
        _entry("https://platform.twitter.com/widgets.js"),
    ])
    report = web.audit_files([path])
    assert report.captures[0].pages[0].page_type == "other"
    assert _kinds(report) == {("advertising_pixel", "doubleclick.net", True),
                              ("social_pixel", "twitter.com", True)}


def test_analytics_without_search_terms_on_home_page_is_no_finding(tmp_path):
    page = "https://www.library.example/"
    beacon = "https://www.google-analytics.com/g/collect?" + urlencode(
        {"v": "2", "dl": page, "cid": "123456789.1700000000"})
    report = web.audit_files([_har(tmp_path, page, [_entry(beacon)])])
    assert _party(report, "google-analytics.com").receives == [
        "ip_address", "page_url", "ad_ids"]
    assert report.issues == []


def test_analytics_receiving_search_terms_on_catalogue_search_is_hard(tmp_path):
    page = f"{CATALOG}/search?" + urlencode({"q": "bankruptcy chapter 7"})
    report = web.audit_files([_har(tmp_path, page, [
        _entry("https://static.hotjar.com/c/hotjar-1.js?sv=6", referer=page)])])
    issue = next(i for i in report.issues if i.kind == "analytics_search_terms")
    assert (issue.domain, issue.hard, issue.page_type) == ("hotjar.com", True, "catalog_search")
    assert "search terms" in issue.detail
    assert "bankruptcy" not in issue.detail


def test_tracker_on_account_page_is_hard_when_it_receives_the_patron_id(tmp_path):
    barcode = "21234000987654"
    page = f"{CATALOG}/eg/opac/myopac/main?" + urlencode({"patron": barcode})
    report = web.audit_files([_har(tmp_path, page, [
        _entry("https://www.google-analytics.com/g/collect?" + urlencode({"uid": barcode}),
               referer=f"{CATALOG}/")])])
    assert report.captures[0].pages[0].page_type == "account"
    assert report.captures[0].pages[0].url == f"{CATALOG}/eg/opac/myopac/main?patron=…"
    ga = _party(report, "google-analytics.com")
    assert "patron_id" in ga.receives
    assert ("tracker_on_account_page", "google-analytics.com", True) in _kinds(report)
    assert barcode not in report.model_dump_json() + web.render_text(report)


def test_tracker_on_account_page_without_ids_is_a_soft_finding(tmp_path):
    page = "https://www.library.example/my-account/holds"
    report = web.audit_files([_har(tmp_path, page, [
        _entry("https://www.googletagmanager.com/gtag/js?id=G-X")])])
    assert _kinds(report) == {("tracker_on_account_page", "googletagmanager.com", False)}


# ----------------------------------------------------------------------------- masking


def test_page_url_masks_query_values_and_id_like_path_segments():
    assert (web.mask_url(f"{CATALOG}/eg/opac/record/1234567?locg=4&detail_record_view=1")
            == f"{CATALOG}/eg/opac/record/…?locg=…&detail_record_view=…")
    assert web.mask_url(f"{SITE}/patron/a1b2c3d4e5f6a7b8c9d0/holds") ==\
        f"{SITE}/patron/…/holds"
    assert web.mask_url(f"{SITE}/search/%E2%80%9Cdebt%E2%80%9D") == f"{SITE}/search/…"
    assert web.mask_url(f"{SITE}/search/coping-with-gambling-debt") == f"{SITE}/search/…"
    assert web.mask_url(f"{SITE}/my-account/index.html") == f"{SITE}/my-account/index.html"


# ----------------------------------------------------------------------------- bad captures


def _bad_cli(path: Path, capsys) -> str:
    code = cli.main(["web", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert str(path) in captured.err
    assert "Traceback" not in captured.err
    for secret in (SEARCH_TERMS, "gambling", "S3CR3TSESSION42"):
        assert secret not in captured.err
    return captured.err


def test_malformed_json_fails_cleanly_without_echoing_content(tmp_path, capsys):
    path = tmp_path / "broken.har"
    path.write_text('{"log": {"entries": [{"request": {"url": "https://x.example/?q='
                    'coping with gambling debt", "cookies": [{"value": "S3CR3TSESSION42"')
    assert "not valid JSON" in _bad_cli(path, capsys)


def test_json_that_is_not_a_har_fails_cleanly(tmp_path, capsys):
    path = tmp_path / "export.har"
    path.write_text(json.dumps({"patrons": [{"barcode": "S3CR3TSESSION42"}]}))
    assert "not a HAR capture" in _bad_cli(path, capsys)
    path.write_text(json.dumps({"log": {"pages": []}}))
    assert "log.entries" in _bad_cli(path, capsys)


def test_oversized_capture_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(web, "MAX_HAR_BYTES", 1000)
    path = _har(tmp_path, f"{SITE}/", [_entry(f"{SITE}/x{i}.png") for i in range(20)])
    assert "limit" in _bad_cli(path, capsys)
    with pytest.raises(EvidenceError):
        web.audit_files([path], max_bytes=500)


def test_script_in_a_url_fails_cleanly(tmp_path, capsys):
    path = _har(tmp_path, f"{SITE}/", [
        _entry('https://evil.example/<script>alert("S3CR3TSESSION42")</script>')])
    err = _bad_cli(path, capsys)
    assert "entry 2" in err and "<script>" not in err


def test_huge_header_fails_cleanly(tmp_path, capsys):
    entry = _entry(f"{SITE}/a.js")
    entry["request"]["headers"].append({"name": "Cookie", "value": "S3CR3TSESSION42" * 9000})
    assert "longer than" in _bad_cli(_har(tmp_path, f"{SITE}/", [entry]), capsys)


def test_wrong_types_and_deep_nesting_fail_cleanly(tmp_path, capsys):
    entry = _entry(f"{SITE}/a.js")
    entry["request"]["headers"] = {"Cookie": "S3CR3TSESSION42"}
    assert "name/value pairs" in _bad_cli(_har(tmp_path, f"{SITE}/", [entry]), capsys)
    for depth in (200, 50_000):  # caught by the depth check, and by the parser's guard
        deep = tmp_path / f"deep{depth}.har"
        deep.write_text('{"log": {"entries": [], "x": ' + "[" * depth + "]" * depth + "}}")
        assert "nested" in _bad_cli(deep, capsys)


def test_bad_capture_via_subprocess_exits_2_with_one_line_and_no_traceback(tmp_path):
    path = tmp_path / "x.har"
    path.write_text("<html>S3CR3TSESSION42</html>")
    done = run_entry_point("web", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"lcopia web: {path}: ")
    assert "Traceback" not in done.stderr and "S3CR3TSESSION42" not in done.stderr


def test_missing_file_names_the_file(tmp_path, capsys):
    _bad_cli(tmp_path / "absent.har", capsys)


def test_capture_without_pages_uses_the_first_document_and_skips_data_urls(tmp_path):
    page = f"{CATALOG}/search?q=tax+forms"
    doc = {"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "138"},
                   "entries": [_entry("data:image/png;base64,AAAA"),
                               _entry(page, document=True),
                               _entry("https://cdn.jsdelivr.net/x.js", referer=page)]}}
    for entry in doc["log"]["entries"]:
        del entry["pageref"]
    path = tmp_path / "firefox.har"
    path.write_text(json.dumps(doc))
    report = web.audit_files([path])
    (summary,) = report.captures[0].pages
    assert (summary.url, summary.page_type) == (f"{CATALOG}/search?q=…", "catalog_search")
    assert summary.requests == 2
    assert _party(report, "jsdelivr.net").receives == ["ip_address", "page_url", "search_terms"]


def test_document_title_is_never_shown(tmp_path):
    page = f"{SITE}/"
    path = _har(tmp_path, page, [])
    doc = json.loads(path.read_text())
    doc["log"]["pages"][0]["title"] = "<script>S3CR3TSESSION42</script> results"
    path.write_text(json.dumps(doc))
    report = web.audit_files([path])
    assert report.captures[0].pages[0].url == f"{SITE}/"
    assert "S3CR3TSESSION42" not in report.model_dump_json() + web.render_text(report)
