"""The audit: every page of every capture, every third party, what it receives, findings."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import lcopia.web as _package
from lcopia.errors import UsageError
from lcopia.models import System
from lcopia.web.capture_manifest import MANIFEST_SUFFIX, canary_sources
from lcopia.web.classify import UNKNOWN_ORGANISATION, Classifier, Who, harm_order
from lcopia.web.domains import match_system, normalise_domain, registrable_domain
from lcopia.web.har import Page, check_depth, page_url, parse_entries, read_json
from lcopia.web.masking import mask_host, mask_url
from lcopia.web.models import (
    CATEGORY_LABEL,
    PAGE_TYPE_LABEL,
    RECEIVED_RANK,
    RECEIVES_LABEL,
    TRACKING,
    CaptureSummary,
    CookiesSet,
    IssueKind,
    PageSummary,
    PageThirdParty,
    PageType,
    Received,
    ThirdParty,
    WebIssue,
    WebOrganisation,
    WebReport,
)
from lcopia.web.receives import order, page_facts, receives_of
from lcopia.web.trackerdb import SNAPSHOT_NAME, load_trackerdb
from lcopia.web.trackers import load_trackers


@dataclass
class _PartyAcc:
    hosts: set[str] = field(default_factory=set)
    pages: int = 0
    page_types: set[str] = field(default_factory=set)
    requests: int = 0
    cookies_set: int = 0
    receives: set[str] = field(default_factory=set)


@dataclass
class _IssueAcc:
    hard: bool = False
    pages: int = 0
    receives: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    seen: set[tuple[str, int]] = field(default_factory=set)


def _normalise_first_party(values: Sequence[str] | None) -> set[str] | None:
    if values is None:
        return None
    out = set()
    for value in values:
        host = normalise_domain(value)
        if host is None:
            raise UsageError(f"first-party domain {value!r} is not a domain name; give the "
                             "library's own domain, e.g. lcozarks.example.org")
        out.add(registrable_domain(host))
    return out or None


def _issue_kinds(category: str, kind: PageType, receives: set[str]
                 ) -> list[tuple[IssueKind, bool]]:
    found: list[tuple[IssueKind, bool]] = []
    if category == "advertising":
        found.append(("advertising_pixel", True))
    if category == "social":
        found.append(("social_pixel", True))
    if (category in {"analytics", "tag_manager"} and "search_terms" in receives
            and kind in {"catalog_search", "account"}):
        found.append(("analytics_search_terms", True))
    if kind == "account" and category in TRACKING:
        found.append(("tracker_on_account_page",
                      bool(receives & {"patron_id", "session_id", "search_terms"})))
    if category == "unknown":
        found.append(("unknown_third_party", False))
    return found


ISSUE_TEXT = {
    "advertising_pixel": "an advertising tracker is loaded",
    "social_pixel": "a social network tracker is loaded",
    "analytics_search_terms": "an analytics service receives the patron's search terms",
    "tracker_on_account_page": "a tracker is loaded on the patron's account pages",
    "unknown_third_party": "a third party not in the classified list is loaded",
}


def _detail(kind: IssueKind, domain: str, organisation: str, category: str,
            page_kind: PageType, acc: _IssueAcc) -> str:
    pages = f"{acc.pages} {PAGE_TYPE_LABEL[page_kind]} page{'s' if acc.pages != 1 else ''}"
    listed = ", ".join(sorted(acc.domains)) or domain
    who = (f"{organisation} ({listed}, {CATEGORY_LABEL[category]})" if category != "unknown"
           else f"{domain} (not in the tracker lists; organization unknown)")
    gets = ", ".join(RECEIVES_LABEL[r] for r in order(acc.receives))
    return f"On {pages}, {ISSUE_TEXT[kind]}: {who} receives {gets}."


RECORD_PATH = re.compile(r"(^|/)(record|records|item|items|title|titles|work|works|bib|"
                         r"detail|details|opac-detail\.pl|show|product)(/|$)", re.I)
"""A page about one title (catalog record, e-content title page): its address names what
the patron is looking at, so a party given the page address learns the title (W2: 4)."""
CONSENT_COOKIE = re.compile(
    r"^(OptanonConsent|OptanonAlertBoxClosed|CookieConsent|cookieconsent_status|euconsent(-v2)?|"
    r"CookieControl|cmplz_.*|borlabs-cookie|_iub_cs-.*|didomi_token|usprivacy|"
    r"cookieyes-consent|cky-consent|consentUUID|OTAdditionalConsentString|_cmp.*|"
    r"CONSENT|SOCS)$", re.I)
"""Cookies consent tools set when a visitor makes a choice (OneTrust, Cookiebot, the
IAB TCF and US privacy strings, Complianz, Borlabs, iubenda, Didomi, CookieYes, Google)."""

IDENTIFIERS = {"ad_ids", "cookies", "patron_id", "session_id"}


def _things(got: set[str], record_page: bool) -> set[str]:
    """What one party learnt from one page, in the rubric's words (W2)."""
    things: set[str] = set()
    if "search_terms" in got:
        things.add("search_terms")
    page = "page_url" in got
    if record_page and page:
        things.add("titles")
    ids = bool(got & IDENTIFIERS)
    if ids and page:
        things.add("identifiers_with_pages")
    elif ids or page:
        things.add("pages_viewed")
    if not things:
        things.add("ip_only")
    return things


def _ranked(things: set[str]) -> list[Received]:
    if len(things) > 1:
        things = things - {"ip_only"}
    if "identifiers_with_pages" in things:
        things = things - {"pages_viewed"}
    keys = list(RECEIVED_RANK)
    return sorted(things, key=lambda t: (-RECEIVED_RANK[t], keys.index(t)))  # type: ignore


@dataclass
class _OrgAcc:
    category: str
    categories: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    raw_hosts: set[str] = field(default_factory=set)
    things: set[str] = field(default_factory=set)
    receives: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)
    page_types: set[str] = field(default_factory=set)
    requests: int = 0
    before_consent: bool = False
    sources: list[str] = field(default_factory=list)


def _org_key(who: Who, domain: str) -> str:
    return who.organisation if who.known else f"{UNKNOWN_ORGANISATION}: {domain}"


def _read_captures(paths: list[Path], given: set[str] | None, limit: int
                   ) -> tuple[list[tuple[str, list[Page], set[str], str]], list[str]]:
    """Every capture read and checked, with its first party (rubric W4: the library's own
    domains plus the captured site), and a warning for a captured site not among them."""
    parsed: list[tuple[str, list[Page], set[str], str]] = []
    warnings: list[str] = []
    for path in paths:
        name = str(path)
        doc, digest = read_json(path, limit)
        check_depth(doc, name)
        pages, fp = parse_entries(doc, name, None)
        if given is not None:
            for domain in sorted(fp - given):
                warnings.append(
                    f"{name}: the captured pages are on {domain}, which is not among the "
                    "library's website_domains; it is treated as first party (the library's "
                    "own site). Add it to website_domains in library.yaml if it is yours.")
            fp = fp | given
        parsed.append((name, pages, fp, digest))
    return parsed, warnings


@dataclass
class _Audit:
    """What the pages showed, accumulated per domain, per finding and per organization."""

    who_of: dict[str, Who]
    known_labels: frozenset[str]
    canaries: list[str] = field(default_factory=list)
    parties: dict[str, _PartyAcc] = field(default_factory=dict)
    issues: dict[tuple[IssueKind, str, PageType], _IssueAcc] = field(default_factory=dict)
    orgs: dict[str, _OrgAcc] = field(default_factory=dict)

    def page(self, name: str, page: Page, fp: set[str]) -> PageSummary | None:
        url = page_url(page)
        if url is None:
            return None
        facts = page_facts(url, page, fp)
        facts.search_values += [c for c in self.canaries if c not in facts.search_values]
        shown_url = mask_url(url, self.known_labels)
        cookies = CookiesSet()
        first_n = third_n = 0
        per_party: dict[str, tuple[int, set[str]]] = {}
        consent = False
        for item in page.entries:
            if item.party in fp:  # only the library's own cookies record its consent
                first_n += 1
                cookies.first_party += len(item.set_cookies)
                if any(CONSENT_COOKIE.match(n) for n, _ in item.req_cookies + item.set_cookies):
                    consent = True
                continue
            third_n += 1
            cookies.third_party += len(item.set_cookies)
            got = receives_of(item, facts)
            count, seen = per_party.get(item.party, (0, set()))
            per_party[item.party] = (count + 1, seen | got)
            self._request(item.party, item.host, len(item.set_cookies), got, consent)
        page_parties = []
        page_orgs: dict[str, set[str]] = {}
        for domain in sorted(per_party):
            count, got = per_party[domain]
            who = self.who_of[domain]
            acc = self.parties[domain]
            acc.pages += 1
            acc.page_types.add(facts.page_type)
            page_parties.append(PageThirdParty(domain=domain, category=who.category,
                                               requests=count, receives=order(got)))
            key = _org_key(who, domain)
            self._findings(key, domain, who, facts.page_type, got, (name, id(page)))
            page_orgs.setdefault(key, set()).update(got)
            self._org_domain(key, domain, who)
        record_page = bool(RECORD_PATH.search(urlsplit(url).path))
        for key, got in page_orgs.items():
            org = self.orgs[key]
            org.receives |= got
            org.things |= _things(got, record_page)
            org.pages.add(shown_url)
            org.page_types.add(facts.page_type)
        return PageSummary(
            url=shown_url, page_type=facts.page_type, requests=len(page.entries),
            first_party_requests=first_n, third_party_requests=third_n,
            third_party_domains=sorted(per_party), cookies_set=cookies,
            third_parties=page_parties)

    def _request(self, party: str, host: str, cookies_set: int, got: set[str],
                 consent: bool) -> None:
        acc = self.parties.setdefault(party, _PartyAcc())
        acc.hosts.add(mask_host(host, self.known_labels))
        acc.requests += 1
        acc.cookies_set += cookies_set
        acc.receives |= got
        who = self.who_of[party]
        org = self.orgs.setdefault(_org_key(who, party), _OrgAcc(who.org_category))
        org.requests += 1
        org.raw_hosts.add(host)
        org.hosts.add(mask_host(host, self.known_labels))
        org.before_consent = org.before_consent or not consent

    def _findings(self, key: str, domain: str, who: Who, page_kind: PageType, got: set[str],
                  page_id: tuple[str, int]) -> None:
        """One finding per organization, kind and page type (rubric W3)."""
        for kind, hard in _issue_kinds(who.category, page_kind, got):
            issue = self.issues.setdefault((kind, key, page_kind), _IssueAcc())
            issue.hard = issue.hard or hard
            if page_id not in issue.seen:
                issue.seen.add(page_id)
                issue.pages += 1
            issue.receives |= got
            issue.domains.add(domain)

    def _org_domain(self, key: str, domain: str, who: Who) -> None:
        org = self.orgs[key]
        org.domains.add(domain)
        org.categories.add(who.org_category)
        if harm_order(who.org_category) < harm_order(org.category):
            org.category = who.org_category
        if who.source and who.source not in org.sources:
            org.sources.append(who.source)

    def third_parties(self) -> list[ThirdParty]:
        out = []
        for domain in sorted(self.parties):
            acc = self.parties[domain]
            who = self.who_of[domain]
            out.append(ThirdParty(
                domain=domain, hosts=sorted(acc.hosts), organisation=who.organisation,
                category=who.category, source=who.source, pages=acc.pages,
                page_types=sorted(acc.page_types),  # type: ignore[arg-type]
                requests=acc.requests, cookies_set=acc.cookies_set,
                receives=order(acc.receives)))
        return out

    def findings(self) -> list[WebIssue]:
        out = []
        for (kind, _key, page_kind), acc in self.issues.items():
            domain = min(acc.domains)
            who = self.who_of[domain]
            out.append(WebIssue(
                kind=kind, hard=acc.hard, domain=domain, domains=sorted(acc.domains),
                organisation=who.organisation, category=who.category, page_type=page_kind,
                pages=acc.pages, receives=order(acc.receives),
                detail=_detail(kind, domain, who.organisation, who.category, page_kind, acc)))
        return sorted(out, key=lambda i: (not i.hard, i.kind, i.domain, i.page_type))

    def organisations(self, systems: Sequence[System]) -> list[WebOrganisation]:
        out = [_organisation(key, org, systems) for key, org in self.orgs.items()]
        return sorted(out, key=lambda o: (-o.rank, harm_order(o.category), o.name))


def audit_files(paths: list[Path], *, first_party: list[str] | None = None,
                trackers: Path | None = None, overlay: Path | None = None,
                max_bytes: int | None = None, systems: Sequence[System] = (),
                search_terms: Sequence[str] | None = None) -> WebReport:
    """Audit browser captures: every page, every third party, what each receives, findings,
    and one entry per organization for the risk register.

    ``first_party``: the library's own domains (``library.website_domains``); each
    capture's first page's domain is first party too (rubric W4), with a warning when it is
    not among them. ``trackers`` replaces the packaged library overlay; ``overlay`` (a
    project's ``web/trackers.yaml``) adds to it; the vendored tracker database classifies
    the rest. ``systems``: the inventory, to name the contracted system of an organization.
    ``max_bytes``: the size limit per file (default ``lcopia.web.MAX_HAR_BYTES``, read at
    call time so it stays one setting). ``search_terms``: terms typed into the catalog
    during the capture, looked for in every third-party request; by default the canary
    terms of the ``lcopia capture`` manifests beside the captures.
    """
    # A capture manifest given with its captures (``lcopia web DIR/*``) is read for its
    # canary, never as a capture.
    paths = [p for p in paths if not str(p).endswith(MANIFEST_SUFFIX)]
    if not paths:
        raise UsageError("give at least one HAR capture (FILE.har)")
    manifests: dict[str, str] = {}
    if search_terms is None:
        search_terms, manifests = canary_sources(dict.fromkeys(Path(p).parent for p in paths))
    terms = [" ".join(t.casefold().split()) for t in search_terms]
    listing = load_trackers(trackers, overlay=overlay)
    db = load_trackerdb()
    limit = _package.MAX_HAR_BYTES if max_bytes is None else max_bytes
    parsed, warnings = _read_captures(paths, _normalise_first_party(first_party), limit)

    hosts_of: dict[str, set[str]] = {}
    for _name, pages, fp, _digest in parsed:
        for page in pages:
            for item in page.entries:
                if item.party not in fp:
                    hosts_of.setdefault(item.party, set()).add(item.host)
    classifier = Classifier(listing, db)
    audit = _Audit({d: classifier.domain(h) for d, h in hosts_of.items()}, db.known_labels,
                   [t for t in dict.fromkeys(terms) if len(t) >= 3])

    captures = []
    for name, pages, fp, digest in parsed:
        summaries = [s for s in (audit.page(name, page, fp) for page in pages) if s]
        captures.append(CaptureSummary(file=name, first_party=sorted(fp), pages=summaries,
                                       sha256=digest))
    return WebReport(trackers_as_of=listing.as_of, captures=captures,
                     third_parties=audit.third_parties(), issues=audit.findings(),
                     organisations=audit.organisations(systems),
                     tracker_files={**listing.files, SNAPSHOT_NAME: db.sha256},
                     capture_manifests=manifests,
                     warnings=warnings)


def _organisation(key: str, org: _OrgAcc, systems: Sequence[System]) -> WebOrganisation:
    receives = _ranked(org.things)
    system_id = None
    for host in sorted(org.raw_hosts):
        system_id = match_system(host, systems)
        if system_id:
            break
    return WebOrganisation(
        name=key, category=org.category,  # type: ignore[arg-type]
        categories=sorted(org.categories, key=harm_order),  # type: ignore[arg-type]
        domains=sorted(org.domains), hosts=sorted(org.hosts), receives=receives,
        rank=RECEIVED_RANK[receives[0]], receives_detail=order(org.receives),
        pages=sorted(org.pages), page_types=sorted(org.page_types),  # type: ignore[arg-type]
        requests=org.requests, before_consent=org.before_consent, system_id=system_id,
        source=_sources(org.sources))


def _sources(sources: list[str]) -> str:
    """Sources joined, the database named once: "DB: tracker 'A', tracker 'B'"."""
    grouped: dict[str, list[str]] = {}
    for source in sources:
        head, sep, tail = source.partition(": tracker ")
        if sep:
            grouped.setdefault(head, []).append("tracker " + tail)
        else:
            grouped.setdefault(source, [])
    return "; ".join(f"{h}: {', '.join(t)}" if t else h for h, t in grouped.items())


def audit_folder(folder: Path, *, first_party: list[str] | None = None,
                 trackers: Path | None = None, overlay: Path | None = None,
                 systems: Sequence[System] = ()) -> WebReport:
    """Every ``*.har`` in a folder, sorted by name; an absent or empty folder is an empty
    report (no captures were taken), not an error. An ``overlay`` path that does not exist
    is no overlay (a project need not have one); a link or special file there is refused."""
    if overlay is not None and not os.path.lexists(overlay):
        overlay = None
    files = sorted(folder.glob("*.har")) if folder.is_dir() else []
    if not files:
        listing = load_trackers(trackers, overlay=overlay)
        return WebReport(trackers_as_of=listing.as_of,
                         tracker_files={**listing.files,
                                        SNAPSHOT_NAME: load_trackerdb().sha256})
    return audit_files(files, first_party=first_party or None, trackers=trackers,
                       overlay=overlay, systems=systems)
