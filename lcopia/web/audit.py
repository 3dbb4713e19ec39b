"""The audit: every page of every capture, every third party, what it receives, findings."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lcopia.web as _package
from lcopia.errors import UsageError
from lcopia.web.domains import normalise_domain, registrable_domain
from lcopia.web.har import check_depth, page_url, parse_entries, read_json
from lcopia.web.masking import mask_host, mask_url
from lcopia.web.models import (
    CATEGORY_LABEL,
    PAGE_TYPE_LABEL,
    RECEIVES_LABEL,
    TRACKING,
    CaptureSummary,
    CookiesSet,
    IssueKind,
    PageSummary,
    PageThirdParty,
    PageType,
    ThirdParty,
    WebIssue,
    WebReport,
)
from lcopia.web.receives import order, page_facts, receives_of
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
    who = (f"{organisation} ({domain}, {CATEGORY_LABEL[category]})" if category != "unknown"
           else f"{domain} (not in the tracker list; organisation unknown)")
    gets = ", ".join(RECEIVES_LABEL[r] for r in order(acc.receives))
    return f"On {pages}, {ISSUE_TEXT[kind]}: {who} receives {gets}."


def audit_files(paths: list[Path], *, first_party: list[str] | None = None,
                trackers: Path | None = None, overlay: Path | None = None,
                max_bytes: int | None = None) -> WebReport:
    """Audit browser captures: every page, every third party, what each receives, findings.

    ``first_party``: the library's registrable domains; by default, each capture's first
    page's domain. ``trackers`` replaces the packaged tracker list; ``overlay`` (a
    project's ``web/trackers.yaml``) adds to it. ``max_bytes``: the size limit per file
    (default ``lcopia.web.MAX_HAR_BYTES``, read at call time so it stays one setting).
    """
    if not paths:
        raise UsageError("give at least one HAR capture (FILE.har)")
    listing = load_trackers(trackers, overlay=overlay)
    known = {t.domain: t for t in listing.trackers}
    limit = _package.MAX_HAR_BYTES if max_bytes is None else max_bytes
    given = _normalise_first_party(first_party)

    captures: list[CaptureSummary] = []
    parties: dict[str, _PartyAcc] = {}
    issues: dict[tuple[IssueKind, str, PageType], _IssueAcc] = {}
    for path in paths:
        name = str(path)
        doc = read_json(path, limit)
        check_depth(doc, name)
        pages, fp = parse_entries(doc, name, given)
        summaries = []
        for page in pages:
            url = page_url(page)
            if url is None:
                continue
            facts = page_facts(url, page, fp)
            cookies = CookiesSet()
            first_n = third_n = 0
            per_party: dict[str, tuple[int, set[str]]] = {}
            for item in page.entries:
                if item.party in fp:
                    first_n += 1
                    cookies.first_party += len(item.set_cookies)
                    continue
                third_n += 1
                cookies.third_party += len(item.set_cookies)
                got = receives_of(item, facts)
                count, seen = per_party.get(item.party, (0, set()))
                per_party[item.party] = (count + 1, seen | got)
                acc = parties.setdefault(item.party, _PartyAcc())
                acc.hosts.add(mask_host(item.host))
                acc.requests += 1
                acc.cookies_set += len(item.set_cookies)
                acc.receives |= got
            page_parties = []
            for domain in sorted(per_party):
                count, got = per_party[domain]
                entry = known.get(domain)
                category = entry.category if entry else "unknown"
                organisation = entry.organisation if entry else "unknown organisation"
                acc = parties[domain]
                acc.pages += 1
                acc.page_types.add(facts.page_type)
                page_parties.append(PageThirdParty(domain=domain, category=category,
                                                   requests=count, receives=order(got)))
                for kind, hard in _issue_kinds(category, facts.page_type, got):
                    issue = issues.setdefault((kind, domain, facts.page_type), _IssueAcc())
                    issue.hard = issue.hard or hard
                    issue.pages += 1
                    issue.receives |= got
            summaries.append(PageSummary(
                url=mask_url(url), page_type=facts.page_type, requests=len(page.entries),
                first_party_requests=first_n, third_party_requests=third_n,
                third_party_domains=sorted(per_party), cookies_set=cookies,
                third_parties=page_parties))
        captures.append(CaptureSummary(file=name, first_party=sorted(fp), pages=summaries))

    third_parties = []
    for domain in sorted(parties):
        acc = parties[domain]
        entry = known.get(domain)
        third_parties.append(ThirdParty(
            domain=domain, hosts=sorted(acc.hosts),
            organisation=entry.organisation if entry else "unknown organisation",
            category=entry.category if entry else "unknown",
            source=entry.source if entry else "",
            pages=acc.pages, page_types=sorted(acc.page_types),  # type: ignore[arg-type]
            requests=acc.requests, cookies_set=acc.cookies_set, receives=order(acc.receives)))

    web_issues = []
    for (kind, domain, page_kind), acc in issues.items():
        entry = known.get(domain)
        organisation = entry.organisation if entry else "unknown organisation"
        category = entry.category if entry else "unknown"
        web_issues.append(WebIssue(
            kind=kind, hard=acc.hard, domain=domain, organisation=organisation,
            category=category, page_type=page_kind, pages=acc.pages,
            receives=order(acc.receives),
            detail=_detail(kind, domain, organisation, category, page_kind, acc)))
    web_issues.sort(key=lambda i: (not i.hard, i.kind, i.domain, i.page_type))
    return WebReport(trackers_as_of=listing.as_of, captures=captures,
                     third_parties=third_parties, issues=web_issues,
                     tracker_files=listing.files)


def audit_folder(folder: Path, *, first_party: list[str] | None = None,
                 trackers: Path | None = None, overlay: Path | None = None) -> WebReport:
    """Every ``*.har`` in a folder, sorted by name; an absent or empty folder is an empty
    report (no captures were taken), not an error. An ``overlay`` path that does not exist
    is no overlay (a project need not have one); a link or special file there is refused."""
    if overlay is not None and not os.path.lexists(overlay):
        overlay = None
    files = sorted(folder.glob("*.har")) if folder.is_dir() else []
    if not files:
        listing = load_trackers(trackers, overlay=overlay)
        return WebReport(trackers_as_of=listing.as_of, tracker_files=listing.files)
    return audit_files(files, first_party=first_party or None, trackers=trackers,
                       overlay=overlay)
