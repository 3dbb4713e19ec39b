"""What each third party receives from a page: compared with the page, never kept or shown.

A page's search values and ids are compared with each request to a third party; only the
fact that they were found is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from lcopia.web.domains import registrable_domain
from lcopia.web.har import Entry, Page
from lcopia.web.models import RECEIVES_LABEL, PageType, Receives

SEARCH_PARAMS = frozenset({
    "q", "query", "qu", "lookfor", "term", "terms", "searchterm", "searchterms", "search",
    "keyword", "keywords", "kw", "s", "text", "searchstring", "searcharg", "find",
})
"""Query parameters that carry what a patron typed: generic ``q``/``query``/``s``
(WordPress), Evergreen ``query``, Koha ``q``, SirsiDynix Enterprise ``qu``, VuFind/Aspen
``lookfor``, Polaris ``term``, BiblioCommons ``query``."""

ACCOUNT_PATH = re.compile(
    r"(account|myopac|patron|login|logon|sign-?in|my-?library|opac-user|profile|"
    r"checkouts?|holds|borrower)", re.I)
SEARCH_PATH = re.compile(r"(search|results)", re.I)
HOME_LAST_SEGMENTS = frozenset({"", "index.html", "index.htm", "index.php", "index.asp",
                                "default.aspx", "home"})

AD_ID_PARAMS = frozenset({
    "cid", "uid", "sid", "_gid", "gid", "_ga", "client_id", "user_id", "fbp", "_fbp", "fbc",
    "_fbc", "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "ttclid", "twclid",
    "li_fat_id", "_uetsid", "_uetvid", "vid", "visitor_id", "anonymous_id", "ajs_anonymous_id",
})
"""Parameter names trackers use for a browser/user id: Google Analytics 4 (``cid`` client
id, ``sid`` session, ``uid`` user id), Meta Pixel (``fbp``, ``fbc``), click ids (``gclid``,
``fbclid``, ``msclkid``, ``ttclid``), Microsoft UET (``_uetsid``)."""
AD_COOKIE_PATTERN = re.compile(
    r"^(_ga(_.*)?|_gid|_gat.*|_gcl_.*|__utm[a-z]|_fbp|_fbc|fr|datr|c_user|sb|ide|nid|"
    r"test_cookie|dsid|muid|_uetsid|_uetvid|_clck|_clsk|_hj.*|personalization_id|guest_id|"
    r"bcookie|li_sugr|lidc|uuid2|anj)$", re.I)
"""Cookie names of ad/analytics ids (Google Analytics ``_ga``/``_gid``, Google Ads
``_gcl_*``/``IDE``/``NID``, Meta ``_fbp``/``fr``/``datr``, Microsoft ``MUID``/``_uet*``/
Clarity ``_clck``, Hotjar ``_hj*``, X ``guest_id``, LinkedIn ``bcookie``, Xandr ``uuid2``)."""
PATRON_NAME = re.compile(
    r"(patron|borrower|barcode|card|member|user|account|login|usr|email|uid)", re.I)
URL_IN_TEXT = re.compile(r"https?://([A-Za-z0-9.\-]+)", re.I)
JSON_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]{0,40})"\s*:')


def page_type(url: str) -> PageType:
    """Kind of page from its path and query parameter names (values are never looked at)."""
    parts = urlsplit(url)
    names = {n.lower() for n, v in parse_qsl(parts.query, keep_blank_values=True) if v}
    if ACCOUNT_PATH.search(parts.path):
        return "account"
    if names & SEARCH_PARAMS or SEARCH_PATH.search(parts.path):
        return "catalog_search"
    last = parts.path.rstrip("/").rsplit("/", 1)[-1].lower() if parts.path.strip("/") else ""
    if last in HOME_LAST_SEGMENTS or last == "home":
        return "home"
    return "other"



def _variants(text: str) -> list[str]:
    """The text as sent and up to three rounds of URL-decoding (a page URL inside a
    tracker's ``dl=`` parameter is encoded twice)."""
    out = [text]
    current = text
    for _ in range(3):
        decoded = unquote_plus(current)
        if decoded == current:
            break
        out.append(decoded)
        current = decoded
    return out


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _id_like(value: str) -> bool:
    return (6 <= len(value) <= 512 and not any(c.isspace() for c in value)
            and any(c.isdigit() for c in value))


def _post_names(item: Entry) -> set[str]:
    names = {n for n, _ in item.post_pairs}
    text = item.post_text
    if text:
        names |= set(JSON_KEY.findall(text))
        for line in text.splitlines()[:1000]:
            if "=" in line:
                names |= {n for n, _ in parse_qsl(line, keep_blank_values=True)}
    return names


@dataclass
class PageFacts:
    url: str
    page_type: PageType
    search_values: list[str]
    ids: list[tuple[str, str]]  # (kind, value): patron_id / session_id / ad
    first_party: set[str]


def page_facts(url: str, page: Page, first_party: set[str]) -> PageFacts:
    kind = page_type(url)
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    search_values = []
    for name, value in pairs:
        if name.lower() in SEARCH_PARAMS:
            norm = _norm(value)
            if len(norm) >= 3:
                search_values.append(norm)
    ids: list[tuple[str, str]] = []
    candidates: list[tuple[str, str]] = [
        (n, v) for n, v in pairs if n.lower() not in SEARCH_PARAMS]
    for item in page.entries:
        if item.party in first_party:
            candidates += item.req_cookies + item.set_cookies
    for name, value in candidates:
        value = value.strip('"')
        if AD_COOKIE_PATTERN.match(name) or name.lower() in AD_ID_PARAMS:
            if len(value) >= 8:
                ids.append(("ad_ids", value))
                tail = ".".join(value.split(".")[-2:])
                if tail != value and len(tail) >= 8:
                    ids.append(("ad_ids", tail))
            continue
        if not _id_like(value):
            continue
        ids.append(("patron_id" if PATRON_NAME.search(name) else "session_id", value))
    return PageFacts(url, kind, search_values, ids, first_party)


def receives_of(item: Entry, facts: PageFacts) -> set[str]:
    """What one third-party request carries, by comparison with the page; values unused
    beyond the comparison."""
    got = {"ip_address"}
    split = urlsplit(item.url)
    own = split.path + ("?" + split.query if split.query else "")
    body = item.post_text + "\n" + "&".join(f"{n}={v}" for n, v in item.post_pairs)
    referer = item.header("referer") or ""

    carried = _variants(own) + _variants(body)
    for text in carried:
        if any(registrable_domain(h) in facts.first_party for h in URL_IN_TEXT.findall(text)):
            got.add("page_url")
            break
    if referer:
        try:
            ref = urlsplit(referer)
            if (registrable_domain(ref.hostname or "") in facts.first_party
                    and (ref.path not in ("", "/") or ref.query)):
                got.add("page_url")
        except ValueError:
            pass

    everything = carried + _variants(referer)
    if facts.search_values:
        normed = [_norm(t) for t in everything]
        if any(v in t for v in facts.search_values for t in normed):
            got.add("search_terms")
    for kind, value in facts.ids:
        if any(value in t for t in everything):
            got.add(kind)

    names = {n.lower() for n, _ in item.query_pairs} | {n.lower() for n in _post_names(item)}
    if names & AD_ID_PARAMS or any(n.startswith("_ga_") for n in names):
        got.add("ad_ids")
    if any(AD_COOKIE_PATTERN.match(n) for n, _ in item.req_cookies):
        got.add("ad_ids")
    if item.req_cookies or item.set_cookies:
        got.add("cookies")
    return got


def order(receives: Iterable[str]) -> list[Receives]:
    keys = list(RECEIVES_LABEL)
    return sorted(set(receives), key=keys.index)  # type: ignore[return-value]
