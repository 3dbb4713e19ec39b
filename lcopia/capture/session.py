"""Drive Chromium over a library's pages and write one HAR per page plus a manifest.

A capture is one or two passes in fresh browser contexts (no profile, no cookies from
earlier runs): first without touching anything, then, when a consent manager was found,
accepting its banner. Each pass visits the home page, the catalog search with the canary
term, a results page, a title's page, the account login page and up to N same-site
links. Every wait is bounded by a per-page timeout inside a total time budget, so a page
that never settles or a site with thousands of links cannot hang a capture; whatever was
recorded before a stop is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from lcopia import __version__
from lcopia.capture import consent as consent_mod
from lcopia.capture.canary import canary_term, check_term
from lcopia.capture.har import split_recording
from lcopia.capture.links import (
    MAX_LINKS_READ,
    SEARCH_INPUT,
    item_link,
    login_link,
    other_links,
    site_of,
    web_address,
)
from lcopia.errors import LcopiaError, UsageError
from lcopia.run_guard import find_browser
from lcopia.web.capture_manifest import FORMAT, MANIFEST_SUFFIX, write_manifest

DEFAULT_BUDGET = 180.0
DEFAULT_PAGE_TIMEOUT = 30.0
DEFAULT_PAGES = 5
MAX_PAGES = 50
CONSENT_WAIT = 10.0
"""Longest wait for autoconsent to find and accept a banner on one page. The wait ends as
soon as autoconsent has finished (accepted, or found nothing after its retries: about two
seconds on a page without a banner), so the cap only matters on a slow, busy machine, where
a shorter one let a banner go unseen and the second pass never ran."""
SETTLE_LIMIT = 10.0
"""Longest wait, after a page's document has arrived, for it to finish loading and for the
network to go quiet."""
SETTLE_AFTER_SCROLL = 2.0
WATCHDOG_GRACE = 30.0
"""After the budget, how long a stuck browser call may take before the browser is stopped."""
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--mute-audio", "--no-pings",
                  "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                  "--disable-features=OptimizationHints,Translate,MediaRouter,"
                  "AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
                  "NetworkTimeServiceQuerying"]
"""No sync, no component or background downloads: the recording holds the site's
requests, not the browser's own."""
FAILED = frozenset({"unreachable", "tls_error", "error", "redirect_off_site"})
"""Outcomes of a page that did not load: nothing of it is worth auditing."""
VIEWPORT = {"width": 1366, "height": 900}

Progress = Callable[[int, int, str], None]


class CaptureError(LcopiaError):
    """Nothing could be captured (every address failed); the manifest says why."""


@dataclass
class PageRecord:
    """One step of a pass, as the manifest records it."""

    kind: str
    url: str | None
    outcome: str = "ok"
    detail: str = ""
    har: str | None = None
    requests: int = 0
    seconds: float = 0.0


@dataclass
class PassRecord:
    consent: str
    pages: list[PageRecord] = field(default_factory=list)
    consent_managers: list[str] = field(default_factory=list)
    consent_action: str = "not_attempted"


@dataclass
class CaptureResult:
    manifest: Path
    har_files: list[Path]
    passes: list[PassRecord]
    canary: str
    browser: str
    stopped: str | None

    def summary(self) -> str:
        """A few lines for the person who ran the capture."""
        lines = []
        for p in self.passes:
            ok = sum(1 for r in p.pages if r.har)
            what = ("without touching the consent banner" if p.consent == "none"
                    else "after accepting the consent banner")
            lines.append(f"Pass {what}: {ok} page(s) recorded; consent: "
                         f"{p.consent_action.replace('_', ' ')}"
                         + (f" ({', '.join(p.consent_managers)})" if p.consent_managers
                            else ""))
            for r in p.pages:
                if r.outcome != "ok":
                    lines.append(f"  {r.kind}: {r.outcome.replace('_', ' ')}"
                                 + (f" - {r.detail}" if r.detail else ""))
        if self.stopped:
            lines.append(f"Stopped early: {self.stopped}")
        lines.append(f"Canary search term: {self.canary!r}")
        lines.append(f"Wrote {len(self.har_files)} HAR file(s) and {self.manifest}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- input


def check_urls(urls: Sequence[str]) -> list[str]:
    if not urls:
        raise UsageError("give at least one address to capture, e.g. "
                         "lcopia capture https://www.mylibrary.org/")
    out = []
    for url in urls:
        text = url.strip()
        if "://" not in text:
            text = "https://" + text
        address = web_address(text)
        if address is None:
            raise UsageError(f"{url!r} is not a web address; give the library's page as "
                             "https://www.mylibrary.org/")
        out.append(address)
    return out


def _import_playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UsageError("lcopia capture needs the Playwright package: pip install "
                         "playwright (no 'playwright install' needed: it drives the "
                         "Chromium already installed)") from None
    return sync_playwright


def _browser_path(browser: str | None) -> str:
    path = browser or find_browser()
    if not path or not Path(path).is_file():
        raise UsageError("no Chromium found: install it (Debian/Ubuntu: sudo apt-get install "
                         "chromium; or 'make deps'), or set LCOPIA_CHROMIUM to the full path "
                         "of Chromium, Chrome or Edge")
    return path


def _error_kind(message: str) -> tuple[str, str]:
    """(outcome, plain detail) for a navigation error from the browser."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    found = re.search(r"net::ERR_[A-Z0-9_]+", first)
    code = found.group() if found else ""
    if "UNSAFE_PORT" in code:
        return "error", f"the browser refuses to connect to that port ({code}); check the address"
    if "ERR_BLOCKED_BY_CLIENT" in code:
        return "redirect_off_site", "the page sent the browser to another site; not followed"
    if "CERT" in code or "SSL" in code:
        return "tls_error", (f"the site's secure connection failed ({code}); check the address "
                             "(https or http?) or the site's certificate")
    if any(k in code for k in ("NAME_NOT_RESOLVED", "CONNECTION_REFUSED", "ADDRESS_UNREACHABLE",
                               "CONNECTION_TIMED_OUT", "INTERNET_DISCONNECTED",
                               "CONNECTION_RESET", "EMPTY_RESPONSE", "CONNECTION_CLOSED",
                               "NAME_RESOLUTION_FAILED", "PROXY")):
        return "unreachable", (f"the site could not be reached ({code}); check the address "
                               "and this computer's network connection")
    if "Timeout" in first or "timeout" in first:
        return "timeout", "the page did not load within the per-page time limit"
    return "error", f"the browser could not load the page ({code or 'no reason given'})"


# ----------------------------------------------------------------------------- a pass


class _Clock:
    def __init__(self, budget: float, page_timeout: float) -> None:
        self.start = time.monotonic()
        self.budget = budget
        self.page_timeout = page_timeout

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.start)

    def page_ms(self, cap: float | None = None) -> float:
        limit = min(self.page_timeout, max(self.left(), 0.0), cap or self.page_timeout)
        return max(limit, 0.1) * 1000


@dataclass
class _Plan:
    """What the first pass found, so the second visits the same pages."""

    extra: dict[str, list[str]] = field(default_factory=dict)


class _Pass:
    def __init__(self, browser: Any, mode: str, sites: list[str], canary: str, pages: int,
                 clock: _Clock, tmp: Path, ignore_tls: bool, user_agent: str | None,
                 progress: Progress, total: int, done: int) -> None:
        self.mode = mode
        self.sites = sites
        self.canary = canary
        self.pages = pages
        self.clock = clock
        self.record = PassRecord(consent=mode)
        self.steps: list[tuple[float, str, str]] = []
        self.recording = tmp / f"{mode}.har"
        self.progress, self.total, self.done = progress, total, done
        self.context = browser.new_context(
            record_har_path=str(self.recording), record_har_content="omit",
            ignore_https_errors=ignore_tls, viewport=VIEWPORT, locale="en-US",
            user_agent=user_agent, service_workers="block", accept_downloads=False)
        self.bridge = consent_mod.ConsentBridge(self.context, accept=mode == "accept")
        self.requests = 0
        self.blocked: list[str] = []
        self.drop: set[str] = set()
        self.home_loaded = False
        self._new_page()

    def _new_page(self) -> None:
        """A fresh tab in the same context (same cookies): after a failed load, the old
        tab's error page would interrupt the next navigation."""
        old = getattr(self, "page", None)
        self.bridge.new_page()
        self.page = self.context.new_page()
        self.page.on("request", self._count)
        self._guard_navigation()
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()

    def _count(self, _request: object) -> None:
        self.requests += 1

    # -- navigation guard: the main frame never loads a page of another site
    def _guard_navigation(self) -> None:
        cdp = self.context.new_cdp_session(self.page)
        main = cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]

        def paused(event: dict[str, Any]) -> None:
            target = event["request"]["url"]
            status = event.get("responseStatusCode")
            if status is not None and 300 <= status < 400:
                headers = {h["name"].lower(): h["value"]
                           for h in event.get("responseHeaders") or []}
                target = headers.get("location", target)
                with contextlib.suppress(ValueError):
                    target = urljoin(event["request"]["url"], target)
            off = event.get("frameId") == main and site_of(target) not in self.sites
            try:
                if off:
                    self.blocked.append(urlsplit(target).hostname or "another site")
                    cdp.send("Fetch.failRequest", {"requestId": event["requestId"],
                                                   "errorReason": "BlockedByClient"})
                else:
                    cdp.send("Fetch.continueRequest", {"requestId": event["requestId"]})
            except Exception:  # the page closed meanwhile
                pass

        cdp.on("Fetch.requestPaused", paused)
        cdp.send("Fetch.enable", {"patterns": [
            {"resourceType": "Document", "requestStage": "Request"},
            {"resourceType": "Document", "requestStage": "Response"}]})

    # -- steps
    def _begin(self, kind: str, url: str | None) -> PageRecord:
        record = PageRecord(kind=kind, url=url)
        self.record.pages.append(record)
        self.done += 1
        self.progress(self.done, self.total, f"{self.mode}: {kind}")
        return record

    def _mark(self, record: PageRecord, url: str) -> None:
        step_id = f"{len(self.record.pages):02d}-{record.kind}"
        record.har = step_id
        self.steps.append((time.time(), step_id, url))

    def _wait(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        end = time.monotonic() + min(seconds, max(self.clock.left(), 0))
        while time.monotonic() < end:
            self.bridge.pump()
            if until is not None and until():
                return
            self.page.wait_for_timeout(100)
        self.bridge.pump()

    def _settle(self, record: PageRecord) -> None:
        """Loaded and network idle (together at most SETTLE_LIMIT), then scroll to the end
        and let lazy content load. A page still busy then (a chat widget polling, an image
        that never arrives) is recorded as it is."""
        deadline = time.monotonic() + min(SETTLE_LIMIT, self.clock.page_timeout)
        try:
            for state in ("load", "networkidle"):
                left = min(deadline - time.monotonic(), max(self.clock.left(), 0.0))
                self.page.wait_for_load_state(state, timeout=max(left, 0.1) * 1000)
        except Exception:
            record.outcome = "not_settled"
            record.detail = ("the page kept loading; what it sent in the first "
                             f"{min(SETTLE_LIMIT, self.clock.page_timeout):g} s was recorded")
        self.bridge.pump()
        if self.clock.left() <= 0:
            return
        before = self.requests
        with contextlib.suppress(Exception):
            self.page.evaluate("""async () => {
                for (let y = 0; y < 6; y++) {
                    window.scrollBy(0, Math.max(window.innerHeight, 400));
                    await new Promise(r => setTimeout(r, 50));
                }
            }""")
        self._wait(0.3)
        if self.requests != before:  # scrolling loaded more: let it finish
            with contextlib.suppress(Exception):
                self.page.wait_for_load_state(
                    "networkidle", timeout=self.clock.page_ms(SETTLE_AFTER_SCROLL))
        self.bridge.pump()

    def _consent(self, first: bool, wait: float = CONSENT_WAIT) -> None:
        """Let autoconsent work: detect on the first page (both passes), accept (second)."""
        if first:
            self._wait(max(min(wait, self.clock.page_timeout), 0.0),
                       until=lambda: self.bridge.finished
                       or (self.mode == "none" and self.bridge.outcome.popup))
        else:
            self.bridge.pump()

    def visit(self, kind: str, url: str, *, first: bool = False) -> PageRecord | None:
        if self.clock.left() <= 1:
            self._begin(kind, url).outcome = "skipped_time_budget"
            return None
        record = self._begin(kind, url)
        began = time.monotonic()
        self.bridge.new_page()
        self.blocked.clear()
        self._mark(record, url)
        try:
            self.page.goto(url, wait_until="domcontentloaded", timeout=self.clock.page_ms())
        except Exception as exc:
            outcome, detail = _error_kind(str(exc))
            if self.blocked:
                outcome = "redirect_off_site"
                detail = (f"it redirects to {self.blocked[0]}, outside the site; not followed "
                          "(capture that address separately if it is the library's)")
            record.outcome, record.detail = outcome, detail
            self._new_page()  # leave the failed or hanging load behind, keep the cookies
            record.seconds = round(time.monotonic() - began, 2)
            return record
        loaded = time.monotonic()
        if self.mode == "accept":
            self._consent(first)
            if first and self.bridge.outcome.accepted:  # run_site visits the page again
                record.seconds = round(time.monotonic() - began, 2)
                return record
        if record.outcome == "ok":
            self._settle(record)
        if self.mode == "none":  # detection only: it runs while the page settles
            self._consent(first, CONSENT_WAIT - (time.monotonic() - loaded))
        final = self.page.url
        if web_address(final) and final != url:  # redirected within the site
            record.url = final
            self.steps[-1] = (self.steps[-1][0], self.steps[-1][1], final)
        record.seconds = round(time.monotonic() - began, 2)
        return record

    def links(self) -> list[tuple[str, str]]:
        try:
            found = self.page.evaluate(
                "(max) => Array.from(document.querySelectorAll('a[href]')).slice(0, max)"
                ".map(a => [a.href, ((a.innerText || '') + ' ' + (a.getAttribute('aria-label')"
                " || '') + ' ' + (a.title || '')).trim().slice(0, 80)])", MAX_LINKS_READ)
        except Exception:
            return []
        return [(str(u), str(t)) for u, t in found if isinstance(u, str)][:MAX_LINKS_READ]

    def search(self) -> PageRecord | None:
        """Type the canary into the catalog search on the current page and submit."""
        if self.clock.left() <= 1:
            self._begin("results", None).outcome = "skipped_time_budget"
            return None
        box = self.page.locator(SEARCH_INPUT).first
        try:
            present = box.count() > 0 and box.is_visible()
        except Exception:
            present = False
        if not present:
            record = self._begin("results", None)
            record.outcome = "no_search_form"
            record.detail = ("no catalog search box was found on the home page; give the "
                             "catalog's own address as another URL")
            return record
        record = self._begin("results", None)
        began = time.monotonic()
        self.bridge.new_page()
        self._mark(record, self.page.url)
        try:
            box.fill(self.canary, timeout=self.clock.page_ms(5))
            with self.page.expect_navigation(wait_until="domcontentloaded",
                                             timeout=self.clock.page_ms()):
                box.press("Enter", timeout=self.clock.page_ms(5))
        except Exception as exc:
            outcome, detail = _error_kind(str(exc))
            record.outcome = outcome
            record.detail = ("the search did not load a results page in time"
                             if outcome == "timeout" else detail)
            record.url = self.page.url
            self._new_page()  # leave the hanging or failed load behind
            record.seconds = round(time.monotonic() - began, 2)
            return record
        self.steps[-1] = (self.steps[-1][0], self.steps[-1][1], self.page.url)
        record.url = self.page.url
        self._consent(False)
        if record.outcome == "ok":
            self._settle(record)
        record.seconds = round(time.monotonic() - began, 2)
        return record

    def _leave_page(self) -> None:
        """Let what the click set off finish, then leave the page before the next step is
        marked: a request the old page sends late would otherwise fall in the next page's
        recording, ahead of the request that carries the consent cookie, and be counted as
        sent before consent (seen on a busy machine)."""
        with contextlib.suppress(Exception):
            self.page.wait_for_load_state(
                "networkidle", timeout=self.clock.page_ms(SETTLE_AFTER_SCROLL))
        with contextlib.suppress(Exception):
            self.page.goto("about:blank", timeout=self.clock.page_ms(SETTLE_AFTER_SCROLL))
        self.bridge.pump()

    def run_site(self, url: str, plan: _Plan, first_site: bool) -> None:
        home = self.visit("home", url, first=first_site)
        if home is None or home.outcome in FAILED or home.outcome == "timeout":
            return  # nothing to follow from a home page that did not arrive
        self.home_loaded = True
        if self.mode == "accept" and first_site and self.bridge.outcome.accepted:
            # The banner was accepted on this visit: its requests before the click repeat
            # the first pass, and those after it carry no consent cookie yet, so the audit
            # would call them "before consent". The page is visited again instead.
            home.kind = "consent"
            home.detail = ("the consent banner was accepted here; the home page is recorded "
                           "again below, with consent given")
            self.drop.add(str(home.har))
            self._leave_page()
            home = self.visit("home", url)
            if home is None or home.outcome not in ("ok", "not_settled"):
                return
        home_links = self.links()
        results = self.search()
        result_links = self.links() if results is not None and results.outcome == "ok" else []
        visited = [url, *(r.url for r in self.record.pages if r.url)]
        item = item_link(result_links, self.sites, known=[u for u, _ in home_links])
        if item is not None:
            self.visit("item", item)
        login = login_link(home_links, self.sites)
        if login is not None and login not in visited:
            self.visit("login", login)
        visited = [url, *(r.url for r in self.record.pages if r.url)]
        extra = plan.extra.get(url)
        if extra is None:
            extra = other_links(home_links, self.sites, self.pages, visited=visited)
            plan.extra[url] = extra
        for link in extra:
            self.visit("link", link)

    def close(self) -> None:
        self.record.consent_managers = list(self.bridge.outcome.detected)
        self.record.consent_action = (self.bridge.outcome.action() if self.mode == "accept"
                                      else ("banner_seen_not_touched"
                                            if self.bridge.outcome.detected else "no_banner"))
        with contextlib.suppress(Exception):
            self.page.close()
        self.context.close()


# ----------------------------------------------------------------------------- capture


def _stamp(now: dt.datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


def capture_site(urls: Sequence[str], out: Path, *, search: str | None = None,
                 pages: int = DEFAULT_PAGES, budget: float = DEFAULT_BUDGET,
                 page_timeout: float = DEFAULT_PAGE_TIMEOUT, headed: bool = False,
                 browser: str | None = None, progress: Progress | None = None,
                 host_resolver_rules: str | None = None,
                 ignore_tls_errors: bool = False) -> CaptureResult:
    """Capture the library's pages with Chromium into ``out``; see the module docstring.

    ``host_resolver_rules`` and ``ignore_tls_errors`` are for tests only (a fake site on
    the loopback address); the command line never sets them.
    """
    addresses = check_urls(urls)
    if search is not None:
        why = check_term(search)
        if why:
            raise UsageError(f"--search {search!r} {why}")
    if not 0 <= pages <= MAX_PAGES:
        raise UsageError(f"--pages {pages} is outside 0-{MAX_PAGES}; a capture is a sample "
                         "of the site, not a crawl")
    if budget <= 0 or page_timeout <= 0:
        raise UsageError("the time budget and the per-page timeout must be more than 0 s")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; give a folder for the captures")
    exe = _browser_path(browser)
    sync_playwright = _import_playwright()
    out.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda done, total, label: None)
    canary = " ".join((search or canary_term()).split())
    sites = list(dict.fromkeys(site_of(u) for u in addresses))
    started = dt.datetime.now(dt.UTC)
    stamp = _stamp(started)
    clock = _Clock(budget, page_timeout)
    flags = list(CHROMIUM_FLAGS)
    if host_resolver_rules:
        flags.append(f"--host-resolver-rules={host_resolver_rules}")
    passes: list[PassRecord] = []
    har_files: list[Path] = []
    version = ""
    stopped: str | None = None
    per_pass = len(addresses) * (4 + pages)
    manifest_path = out / f"capture-{stamp}{MANIFEST_SUFFIX}"

    def manifest() -> dict[str, Any]:
        return {
            "format": FORMAT, "tool": f"lcopia {__version__}",
            "started": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - clock.start, 1),
            "browser": version, "headless": not headed,
            "urls": addresses, "sites": sites,
            "canary": {"term": canary, "generated": search is None},
            "pages_limit": pages, "budget_seconds": budget, "page_timeout_seconds": page_timeout,
            "stopped": stopped,
            "autoconsent": {k: consent_mod.load_snapshot().get(k)
                            for k in ("package", "version", "date")},
            "passes": [asdict(p) for p in passes],
        }

    watchdog = _Watchdog(budget + min(WATCHDOG_GRACE, budget / 2), _Watchdog.children())
    with tempfile.TemporaryDirectory(prefix="lcopia-capture-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            with sync_playwright() as pw:
                chromium = _launch(pw, exe, headed, flags, clock)
                clock.start = time.monotonic()  # the budget is for the pages, not the start
                watchdog.start()
                try:
                    version = f"Chromium {chromium.version}"
                    agent = _user_agent(chromium)
                    plan = _Plan()
                    modes = ["none", "accept"]
                    done = 0
                    for mode in modes:
                        if mode == "accept" and not (passes and passes[0].consent_managers):
                            break
                        if clock.left() <= 1:
                            stopped = (f"the time budget of {budget:g} s ran out before "
                                       + ("any page was visited" if mode == "none" else
                                          "the pass accepting the consent banner"))
                            break
                        run = _Pass(chromium, mode, sites, canary, pages, clock, tmp,
                                    ignore_tls_errors, agent, progress,
                                    per_pass * (2 if mode == "accept" else 1), done)
                        passes.append(run.record)
                        try:
                            for url in addresses:
                                run.run_site(url, plan, first_site=not run.home_loaded)
                        finally:
                            with contextlib.suppress(Exception):  # the watchdog stopped it
                                run.close()
                            done = run.done
                            har_files += _write_hars(run, out, stamp, version)
                finally:
                    watchdog.cancel()
                    chromium.close()
        except LcopiaError:
            raise
        except KeyboardInterrupt:
            stopped = "interrupted"
            write_manifest(manifest_path, manifest())
            raise
        except Exception as exc:
            text = str(exc).strip()
            stopped = f"the browser failed: {text.splitlines()[0][:200]}" if text else \
                "the browser failed"
        if watchdog.fired:
            stopped = (f"the time budget of {budget:g} s ran out while a page kept the "
                       "browser busy; the browser was stopped")
        if clock.left() <= 0 and stopped is None:
            stopped = f"the time budget of {budget:g} s ran out; later pages were not visited"
        write_manifest(manifest_path, manifest())
    result = CaptureResult(manifest_path, har_files, passes, canary, version, stopped)
    if not har_files or not any(r.har and r.outcome in ("ok", "not_settled")
                                for p in passes for r in p.pages):
        reasons = stopped or "; ".join(
            f"{r.url or r.kind}: {r.detail or r.outcome.replace('_', ' ')}"
            for p in passes[:1] for r in p.pages) or "the browser did not start"
        raise CaptureError(f"nothing could be captured ({reasons}). The manifest "
                           f"{manifest_path} records what was tried; check the address and "
                           "run again")
    return result


class _DriverGone(logging.Filter):
    """Drops asyncio's note about the driver's lost connection, logged when the watchdog
    stopped a stuck browser: the capture says so itself, in words."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Connection closed while reading from the driver" not in str(record.exc_info
                                                                             or record.msg)


logging.getLogger("asyncio").addFilter(_DriverGone())


class _Watchdog:
    """The last guard against a hang: a page whose script never returns blocks the browser
    call waiting on it, which no Playwright timeout ends. At the budget plus a grace period
    the browser and its driver (children of this process started for the capture) are
    stopped, so the call fails and the capture ends with what it has written."""

    def __init__(self, seconds: float, before: set[int]) -> None:
        self.fired = False
        self.before = before
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    @staticmethod
    def children() -> set[int]:
        try:
            import psutil
        except ImportError:  # pragma: no cover - psutil comes with Jupyter
            return set()
        try:
            return {p.pid for p in psutil.Process().children(recursive=True)}
        except psutil.Error:
            return set()

    def _fire(self) -> None:
        import psutil

        self.fired = True
        for pid in sorted(self.children() - self.before):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()

    def start(self) -> None:
        self.timer.start()

    def cancel(self) -> None:
        self.timer.cancel()


def _launch(pw: Any, exe: str, headed: bool, flags: list[str], clock: _Clock) -> Any:
    """Start Chromium, or say plainly why it did not start."""
    try:
        return pw.chromium.launch(executable_path=exe, headless=not headed, args=flags,
                                  timeout=max(clock.page_ms(), 30_000))
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "no reason"
        hint = "check that it runs ('chromium --version') or set LCOPIA_CHROMIUM to another"
        if headed and sys.platform.startswith("linux") and not (
                os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            hint = ("--headed needs a desktop and none was found (no DISPLAY); run without "
                    "--headed, or on a computer with a desktop")
        raise CaptureError(f"Chromium ({exe}) did not start ({reason}); {hint}. Nothing "
                           "was captured") from None


def _user_agent(chromium: Any) -> str | None:
    """The browser's own user agent without 'Headless', which some sites refuse."""
    try:
        context = chromium.new_context()
        try:
            page = context.new_page()
            agent = page.evaluate("navigator.userAgent")
        finally:
            context.close()
    except Exception:
        return None
    return str(agent).replace("HeadlessChrome", "Chrome") if agent else None


def _write_hars(run: _Pass, out: Path, stamp: str, version: str) -> list[Path]:
    """Split the pass's recording into one HAR per page; a page with no request is none."""

    if not run.recording.is_file() or not run.steps:
        for r in run.record.pages:
            r.har = None
        return []
    split = split_recording(run.recording, run.steps,
                            {"name": "lcopia capture", "version": __version__},
                            {"name": "Chromium", "version": version.split(" ")[-1]})
    label = "before-consent" if run.mode == "none" else "consent-accepted"
    written = []
    for record in run.record.pages:
        step_id = record.har
        if step_id is None or step_id in run.drop or record.outcome in FAILED:
            record.har = None
            continue
        har = split.get(step_id)
        entries = har["log"]["entries"] if har else []
        record.requests = len(entries)
        if not entries:
            record.har = None
            continue
        path = out / f"capture-{stamp}-{label}-{step_id}.har"
        path.write_text(json.dumps(har, ensure_ascii=False), encoding="utf-8")
        record.har = path.name
        written.append(path)
    return written
