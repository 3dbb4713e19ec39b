"""lcopia capture: a real Chromium over a fake library site on 127.0.0.1, then lcopia web.

Every host name (the library, Google Analytics, Meta, a chat widget, a OneTrust-like
banner) is mapped to the loopback server with Chromium's --host-resolver-rules, so no test
touches the internet. The browser starts three times in this file: one capture of the
good site shared by most tests (once per session, even under xdist), one of a troubled
site, one from the command line.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from conftest import run_cli
from fakesite.server import ELSEWHERE, LIBRARY, MANY_LINKS, TROUBLED, FakeSite, Hit

from lcopia import web
from lcopia.capture import canary as canary_mod
from lcopia.capture import capture_site, links, read_manifest, session
from lcopia.capture.har import REQUEST_HEADERS, RESPONSE_HEADERS
from lcopia.capture.refresh import keep_opt_in_rules
from lcopia.capture.session import check_urls
from lcopia.errors import UsageError
from lcopia.run_guard import find_browser

BROWSER = find_browser()
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="Chromium is not installed (apt-get install chromium)")


@dataclass
class Captured:
    hits: list[Hit]
    out: Path
    manifest: dict
    hars: list[Path]
    report: web.WebReport


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """One capture of the fake library (both passes), audited by lcopia web.

    Under pytest-xdist it is made once per session, as ``shared_run`` is: the first worker
    makes it under a file lock; any other reads what it wrote.
    """
    if BROWSER is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    base = root / "capture-fakesite"
    base.mkdir(exist_ok=True)
    out, saved = base / "web", base / "hits.json"
    with (base / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            site = FakeSite()
            try:
                capture_site([f"http://{LIBRARY}/"], out, pages=1,
                             host_resolver_rules=site.resolver_rules, ignore_tls_errors=True)
            finally:
                site.close()
            saved.write_text(json.dumps([asdict(h) for h in site.hits]), encoding="utf-8")
    hits = [Hit(**h) for h in json.loads(saved.read_text(encoding="utf-8"))]
    manifest = read_manifest(next(out.glob("*.capture.json")))
    return Captured(hits, out, manifest, sorted(out.glob("*.har")), web.audit_folder(out))


def _org(report: web.WebReport, name: str) -> web.WebOrganisation:
    return next(o for o in report.organisations if o.name == name)


# ----------------------------------------------------------------------------- the good site


@needs_browser
def test_capture_records_every_step_of_both_passes(captured: Captured) -> None:
    kinds = [[p["kind"] for p in run["pages"]] for run in captured.manifest["passes"]]
    assert kinds == [["home", "results", "item", "login", "link"],
                     ["consent", "home", "results", "item", "login", "link"]]
    recorded = [p["har"] for run in captured.manifest["passes"] for p in run["pages"]
                if p["har"]]
    assert sorted(recorded) == [h.name for h in captured.hars]
    assert all(p["outcome"] == "ok" for run in captured.manifest["passes"]
               for p in run["pages"])


@needs_browser
def test_manifest_records_browser_consent_and_canary_and_is_not_read_as_a_har(
        captured: Captured) -> None:
    m = captured.manifest
    assert m["browser"].startswith("Chromium ")
    assert m["canary"]["generated"] is True
    assert [run["consent_action"] for run in m["passes"]] == ["banner_seen_not_touched",
                                                              "accepted"]
    assert m["passes"][1]["consent_managers"] == ["Onetrust"]
    assert len(captured.report.captures) == len(captured.hars)  # the manifest is no capture


@needs_browser
def test_every_planted_third_party_is_found(captured: Captured) -> None:
    domains = {t.domain: t.category for t in captured.report.third_parties}
    assert domains == {"google-analytics.com": "analytics", "facebook.com": "advertising",
                       "facebook.net": "advertising", "tawk.to": "customer_interaction",
                       "cookielaw.org": "consent"}


@needs_browser
def test_the_canary_search_term_is_found_leaving_through_the_manifest(
        captured: Captured) -> None:
    """The fake catalog's search parameter is not one web knows: only the canary read from
    the manifest shows the term reaching Google Analytics."""
    google = _org(captured.report, "Google")
    assert "search_terms" in google.receives
    assert any(i.kind == "analytics_search_terms" for i in captured.report.issues)
    blind = web.audit_files(captured.hars, search_terms=[])
    assert "search_terms" not in _org(blind, "Google").receives


@needs_browser
def test_what_is_sent_before_consent_is_told_apart_from_after(captured: Captured) -> None:
    assert _org(captured.report, "Google").before_consent is True
    assert _org(captured.report, "Tawk").before_consent is True
    assert _org(captured.report, "Meta Platforms, Inc.").before_consent is False
    first_pass = [h for h in captured.hars if "-before-consent-" in h.name]
    assert not any("facebook" in h.read_text() for h in first_pass)


@needs_browser
def test_no_page_outside_the_site_is_visited(captured: Captured) -> None:
    pages = {h.host for h in captured.hits if h.document}
    assert pages == {LIBRARY}
    assert not any(h.host == "www.example.com" for h in captured.hits)
    assert not any(h.path.startswith("/logout") for h in captured.hits)


@needs_browser
def test_hars_keep_no_bodies_and_only_the_headers_web_reads(captured: Captured) -> None:
    for path in captured.hars:
        for entry in json.loads(path.read_text())["log"]["entries"]:
            assert {h["name"].lower() for h in entry["request"]["headers"]} <= REQUEST_HEADERS
            assert {h["name"].lower() for h in entry["response"]["headers"]} \
                <= RESPONSE_HEADERS
            assert "text" not in entry["response"]["content"]


@needs_browser
def test_web_command_on_the_capture_never_prints_the_canary(captured: Captured) -> None:
    done = run_cli("web", *map(str, sorted(captured.out.iterdir())))  # the manifest too
    assert done.returncode == 0, done.stderr
    assert "what patrons search for" in done.stdout
    for word in captured.manifest["canary"]["term"].split():
        assert word not in done.stdout


# ----------------------------------------------------------------------------- bad input


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The outcomes "never settles" and "never arrives" are the capture's own time limits, so this
# test needs one; the pages that must load are tiny local pages, given a wide margin so a busy
# machine does not turn "ok" into "timeout".
PAGE_LIMIT_S = 4


@needs_browser
@pytest.mark.drill
def test_troubled_site_is_captured_in_part_with_a_reason_for_each_page(tmp_path: Path) -> None:
    site = FakeSite()
    try:
        result = capture_site(
            [f"https://{TROUBLED}/", f"http://127.0.0.1:{_closed_port()}/",
             f"http://{TROUBLED}/"], tmp_path, pages=4, page_timeout=PAGE_LIMIT_S, budget=90,
            host_resolver_rules=site.resolver_rules)
    finally:
        site.close()
    pages = [(p.kind, p.outcome) for p in result.passes[0].pages]
    assert pages == [("home", "tls_error"), ("home", "unreachable"), ("home", "ok"),
                     ("results", "no_search_form"), ("link", "not_settled"),
                     ("link", "redirect_off_site"), ("link", "timeout"), ("link", "ok")]
    assert len(result.passes) == 1  # no consent banner: no second pass
    assert not any(h.host == ELSEWHERE for h in site.hits)
    assert sum(h.path.startswith("/page/") for h in site.hits) == 1  # N caps 3,000 links
    assert [p.har is not None for p in result.passes[0].pages] == [
        False, False, True, False, True, False, True, True]  # what loaded, even in part
    assert read_manifest(result.manifest)["passes"][0]["pages"][5]["detail"].startswith(
        f"it redirects to {ELSEWHERE}")


@needs_browser
@pytest.mark.drill
def test_a_page_whose_script_never_returns_cannot_hang_the_capture(tmp_path: Path) -> None:
    site = FakeSite()
    try:
        with pytest.raises(session.CaptureError, match="busy; the browser was stopped"):
            capture_site([f"http://{TROUBLED}/busy"], tmp_path, budget=6, page_timeout=2,
                         host_resolver_rules=site.resolver_rules)
    finally:
        site.close()
    assert read_manifest(next(tmp_path.glob("*.capture.json")))["stopped"].startswith(
        "the time budget")


@needs_browser
def test_cli_unreachable_site_exits_2_and_keeps_the_manifest(tmp_path: Path) -> None:
    done = run_cli("capture", f"http://127.0.0.1:{_closed_port()}/", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "nothing could be captured" in done.stderr and "could not be reached" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(list(tmp_path.glob("*.capture.json"))) == 1
    assert not list(tmp_path.glob("*.har"))


def test_cli_refuses_an_address_that_is_not_a_web_page(tmp_path: Path) -> None:
    done = run_cli("capture", "ftp://files.example.org/", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "is not a web address" in done.stderr


def test_cli_refuses_a_one_letter_search_term(tmp_path: Path) -> None:
    done = run_cli("capture", "https://www.example.org/", "--search", "a",
                   "--out", str(tmp_path))
    assert done.returncode == 2
    assert "too short" in done.stderr


# ----------------------------------------------------------------------------- no browser


def test_a_spent_time_budget_skips_the_remaining_pages_without_the_browser() -> None:
    run = object.__new__(session._Pass)
    run.record, run.mode, run.done, run.total = session.PassRecord("none"), "none", 0, 1
    run.progress = lambda done, total, label: None
    run.clock = session._Clock(budget=0.5, page_timeout=30)
    assert run.visit("link", "https://www.fakelibrary.test/about") is None
    assert run.record.pages[0].outcome == "skipped_time_budget"


def test_links_stay_on_the_site_skip_logout_and_files_and_are_capped() -> None:
    home = f"https://{LIBRARY}/"
    found = [(f"{home}page/{n}#top", "") for n in range(MANY_LINKS)]
    found[:0] = [(f"{home}logout", "Log out"), ("https://www.example.com/", "partner"),
                 (f"{home}guide.pdf", "guide"), ("mailto:x@fakelibrary.test", "mail"),
                 (f"{home}page/0", "again")]
    assert links.other_links(found, ["fakelibrary.test"], 3) == [
        f"{home}page/0", f"{home}page/1", f"{home}page/2"]


def test_login_and_item_links_are_recognised() -> None:
    site = ["fakelibrary.test"]
    nav = [("https://www.fakelibrary.test/about", "About"),
           ("https://www.fakelibrary.test/patron", "My Account")]
    assert links.login_link(nav, site) == "https://www.fakelibrary.test/patron"
    results = [*nav, ("https://www.fakelibrary.test/Record/12345", "A title")]
    assert links.item_link(results, site, known=[u for u, _ in nav]) == \
        "https://www.fakelibrary.test/Record/12345"


def test_generated_canary_is_two_words_and_a_number() -> None:
    term = canary_mod.canary_term(random.Random(7))
    first, second, number = term.split()
    assert first in canary_mod.FIRST and second in canary_mod.SECOND
    assert 1000 <= int(number) <= 9999
    assert canary_mod.check_term(term) is None


def test_refresh_keeps_only_rules_that_can_accept() -> None:
    rules = {"autoconsent": [{"name": "a", "optIn": [{"click": "#ok"}]},
                             {"name": "auto_x", "optIn": []}]}
    assert [r["name"] for r in keep_opt_in_rules(rules)["autoconsent"]] == ["a"]


def test_vendored_autoconsent_has_its_licence_and_record() -> None:
    from lcopia.capture.consent import DATA_DIR, load_rules, load_snapshot

    snap = load_snapshot()
    assert snap["package"] == "@duckduckgo/autoconsent" and snap["license"] == "MPL-2.0"
    assert (DATA_DIR / "LICENSE").read_text().startswith("Mozilla Public License")
    assert len(load_rules()["autoconsent"]) == snap["rules"]


def test_check_urls_adds_https_and_refuses_junk() -> None:
    assert check_urls(["www.mylibrary.org"]) == ["https://www.mylibrary.org"]
    with pytest.raises(UsageError, match="is not a web address"):
        check_urls(["javascript:alert(1)"])


def test_web_refuses_a_damaged_capture_manifest_beside_the_captures(tmp_path: Path) -> None:
    sample = next((Path(__file__).parent.parent / "data" / "evidence" / "web").glob("*.har"))
    har = tmp_path / sample.name
    har.write_bytes(sample.read_bytes())
    (tmp_path / "capture-20261202-000000.capture.json").write_text("{not json", "utf-8")
    done = run_cli("web", str(har))
    assert done.returncode == 2
    assert "capture.json" in done.stderr and "is not valid JSON" in done.stderr


def test_web_reads_the_canary_of_a_capture_manifest(tmp_path: Path) -> None:
    """A search term no parameter name reveals is found once the manifest names it."""
    har = {"log": {"pages": [{"id": "p", "title": "https://www.fakelibrary.test/find"}],
                   "entries": [
        {"pageref": "p", "request": {"method": "GET", "url": "https://www.fakelibrary.test/find",
                                     "headers": []}, "response": {"status": 200},
         "_resourceType": "document"},
        {"pageref": "p", "request": {
            "method": "GET", "headers": [],
            "url": "https://www.google-analytics.com/g/collect?cid=1&dt=maple%20lantern%204821"},
         "response": {"status": 204}}]}}
    (tmp_path / "page.har").write_text(json.dumps(har), "utf-8")
    assert "search_terms" not in web.audit_folder(tmp_path).third_parties[0].receives
    (tmp_path / "capture-x.capture.json").write_text(json.dumps(
        {"format": "lcopia-capture/1", "canary": {"term": "Maple  Lantern 4821"}}), "utf-8")
    assert "search_terms" in web.audit_folder(tmp_path).third_parties[0].receives


def test_the_web_report_records_the_hash_of_each_capture_manifest_it_read(
        tmp_path: Path) -> None:
    """The canary changes what the audit finds, so the run manifest hashes the manifests."""
    sample = next((Path(__file__).parent.parent / "data" / "evidence" / "web").glob("*.har"))
    (tmp_path / sample.name).write_bytes(sample.read_bytes())
    raw = json.dumps({"format": "lcopia-capture/1", "canary": {"term": "maple lantern 4821"}})
    (tmp_path / "capture-x.capture.json").write_text(raw, "utf-8")
    report = web.audit_folder(tmp_path)
    assert report.capture_manifests == {
        "capture-x.capture.json": hashlib.sha256(raw.encode()).hexdigest()}


def test_a_capture_manifest_that_is_a_link_is_refused_not_followed(tmp_path: Path) -> None:
    sample = next((Path(__file__).parent.parent / "data" / "evidence" / "web").glob("*.har"))
    (tmp_path / sample.name).write_bytes(sample.read_bytes())
    outside = tmp_path.parent / "outside.capture.json"
    outside.write_text(json.dumps({"format": "lcopia-capture/1"}), "utf-8")
    (tmp_path / "capture-x.capture.json").symlink_to(outside)
    done = run_cli("web", str(tmp_path / sample.name))
    assert done.returncode == 2 and "symbolic link" in done.stderr
