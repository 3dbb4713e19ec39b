"""Third parties on the library's own web pages, from browser captures (HAR) — masked.

The policy makes website, catalogue, database and e-materials use confidential and binds
every third party. A page that loads analytics, an ad pixel or a chat widget hands that
use to another company, so this module reads what a browser really sent ("Save all as
HAR" in the Network tab) and reports, per page and per third party, what left the
library: the patron's IP address always, and — detected, never shown — the page URL,
search terms, patron or session ids, ad/analytics identifiers and cookies.

Nothing read from a capture is ever output except host names and URL paths that pass a
strict check; query values, cookie values, ids and search terms are compared, counted and
masked. Hosts are grouped by registrable domain (public suffix list, bundled with
``publicsuffixlist``), so ``cdn.lcozarks.example.org`` and ``lcozarks.example.org`` are one
party. Hosts are classified from ``data/web/trackers.yaml``; a host not in it is
``unknown``, never presumed harmless.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lcopia.errors import EvidenceError, InventoryError, Problem, UsageError
from lcopia.models import System

# ----------------------------------------------------------------------------- limits

MAX_HAR_BYTES = 200 * 1024 * 1024
"""Largest capture read; checked on the file size before reading (a HAR of one library
page, with response bodies, is a few MB)."""
MAX_ENTRIES = 100_000
MAX_PAGES = 10_000
MAX_DEPTH = 64
"""A HAR is about 8 levels deep; anything far deeper is not a browser capture."""
MAX_URL_CHARS = 65_536
MAX_HEADER_CHARS = 65_536
MAX_NAME_CHARS = 1_024
MAX_HEADERS = 500
MAX_COOKIES = 500
MAX_POST_INSPECT = 1_048_576
"""Request bodies are inspected up to this many characters (a tracking beacon is small)."""

DEFAULT_TRACKERS = Path(__file__).resolve().parent.parent / "data" / "web" / "trackers.yaml"

DOCUMENTATION_SUFFIXES = ("example.com", "example.net", "example.org")
"""RFC 2606 §3 reserves these second-level names for documentation. They are added to the
public suffix list as private suffixes so that an illustrative site such as
``lcozarks.example.org`` is its own party, as ``lcozarks.org`` would be. (The reserved
top-level names ``.example``, ``.test``, ``.invalid`` already behave so under the list's
default rule.)"""

# ----------------------------------------------------------------------------- vocabulary

Category = Literal["analytics", "advertising", "social", "tag_manager", "cdn_fonts",
                   "econtent_vendor", "ils_vendor"]
PageType = Literal["catalog_search", "account", "home", "other"]
Receives = Literal["ip_address", "page_url", "search_terms", "patron_id", "session_id",
                   "ad_ids", "cookies"]
IssueKind = Literal["advertising_pixel", "social_pixel", "analytics_search_terms",
                    "unknown_third_party", "tracker_on_account_page"]

CONTROL_HINT = "website_tracking"

RECEIVES_LABEL = {
    "ip_address": "IP address",
    "page_url": "page URL",
    "search_terms": "search terms",
    "patron_id": "patron id",
    "session_id": "session id",
    "ad_ids": "ad/analytics identifiers",
    "cookies": "cookies",
}
CATEGORY_LABEL = {
    "analytics": "analytics",
    "advertising": "advertising",
    "social": "social network",
    "tag_manager": "tag manager",
    "cdn_fonts": "CDN/fonts",
    "econtent_vendor": "e-content vendor",
    "ils_vendor": "ILS/catalogue vendor",
    "unknown": "unknown",
}
PAGE_TYPE_LABEL = {
    "catalog_search": "catalogue search",
    "account": "patron account",
    "home": "home",
    "other": "other",
}
TRACKING = {"analytics", "tag_manager", "advertising", "social", "unknown"}

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
SAFE_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,40}$")
SAFE_SEGMENT = re.compile(r"^[A-Za-z][A-Za-z0-9._\-]{0,39}$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
                      r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$")
# Characters a browser never records unescaped in a URL; their presence means the capture
# was written by hand or tampered with (HTML/script smuggled into a field).
URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>\"`]")
TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
URL_IN_TEXT = re.compile(r"https?://([A-Za-z0-9.\-]+)", re.I)
JSON_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]{0,40})"\s*:')

FIX_RECAPTURE = ("Capture the page again in the browser's developer tools (Network tab, "
                 "'Save all as HAR') and run again")


# ----------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CookiesSet(_Model):
    """Cookies set by responses on a page, split by who set them."""

    first_party: int = 0
    third_party: int = 0


class PageThirdParty(_Model):
    """One third party as seen from one page."""

    domain: str
    category: str
    requests: int
    receives: list[Receives]


class PageSummary(_Model):
    url: str = Field(description="scheme://host/path; id-like path segments and every query "
                     "value masked, parameter names kept.")
    page_type: PageType = Field(description="catalog_search (a search parameter or a "
                                "search/results path), account (account, patron, login, holds "
                                "... in the path), home (site root or index), other.")
    requests: int
    first_party_requests: int
    third_party_requests: int
    third_party_domains: list[str]
    cookies_set: CookiesSet
    third_parties: list[PageThirdParty] = []


class CaptureSummary(_Model):
    file: str
    first_party: list[str] = Field(description="Registrable domains treated as the library.")
    pages: list[PageSummary]


class ThirdParty(_Model):
    domain: str = Field(description="Registrable domain (public suffix list).")
    hosts: list[str]
    organisation: str
    category: str = Field(description="From the tracker list, or 'unknown'.")
    source: str = Field("", description="Where the classification is documented.")
    pages: int
    page_types: list[PageType]
    requests: int
    cookies_set: int
    receives: list[Receives]


class WebIssue(_Model):
    kind: IssueKind
    hard: bool
    domain: str
    organisation: str
    category: str
    page_type: PageType
    pages: int
    receives: list[Receives]
    detail: str
    control_hint: str = CONTROL_HINT


class WebReport(_Model):
    trackers_as_of: dt.date | None = None
    captures: list[CaptureSummary] = []
    third_parties: list[ThirdParty] = []
    issues: list[WebIssue] = []


# ----------------------------------------------------------------------------- domains


@lru_cache(maxsize=1)
def _psl() -> object:
    import publicsuffixlist

    with open(publicsuffixlist.PSLFILE, "rb") as handle:
        lines = handle.read().splitlines()
    lines += [s.encode() for s in DOCUMENTATION_SUFFIXES]
    return publicsuffixlist.PublicSuffixList(lines)


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """The registrable domain ("eTLD+1") of a host; an IP literal or a bare suffix is itself.

    ``fonts.gstatic.com`` → ``gstatic.com``; ``www.bbc.co.uk`` → ``bbc.co.uk``;
    ``alice.github.io`` → ``alice.github.io`` (github.io is a public suffix).
    """
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        return name
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    found = _psl().privatesuffix(name)  # type: ignore[attr-defined]
    return found or name


def _normalise_domain(value: str) -> str | None:
    """A user- or inventory-given domain, host or URL reduced to a lowercase host."""
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/")[0].rstrip(".")
    if text.startswith("*."):
        text = text[2:]
    if not text:
        return None
    if HOSTNAME.match(text):
        return text
    try:
        ipaddress.ip_address(text.strip("[]"))
        return text
    except ValueError:
        return None


def match_system(domain: str, systems: Iterable[System]) -> str | None:
    """The system whose ``domains`` cover a third-party domain or host, or None.

    A system's domains may list hosts (``covers.readwell.example``) or registrable domains;
    an exact host wins over a parent domain, which wins over a same-party match; ties go
    to the lowest system_id so the answer is stable.
    """
    target = _normalise_domain(domain)
    if target is None:
        return None
    party = registrable_domain(target)
    best: tuple[int, str] | None = None
    for system in systems:
        for listed in system.domains:
            host = _normalise_domain(listed)
            if host is None:
                continue
            if host == target:
                rank = 0
            elif target.endswith("." + host):
                rank = 1
            elif registrable_domain(host) == party:
                rank = 2
            else:
                continue
            if best is None or (rank, system.system_id) < best:
                best = (rank, system.system_id)
    return best[1] if best else None


# ----------------------------------------------------------------------------- tracker list


class TrackerEntry(_Model):
    domain: str
    organisation: str
    category: Category
    source: str
    note: str = ""


class TrackerList(_Model):
    as_of: dt.date
    sources: str
    trackers: list[TrackerEntry]


def load_trackers(path: Path | None = None) -> TrackerList:
    """Read and check the host classification list (a project data file, not evidence)."""
    path = path or DEFAULT_TRACKERS
    name = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InventoryError([Problem(name, None, "the tracker list is missing; restore "
                                      "data/web/trackers.yaml or pass its path")]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise InventoryError([Problem(name, None, "must be readable UTF-8 YAML")]) from None
    try:
        listing = TrackerList.model_validate(raw)
    except ValidationError as exc:
        problems = [Problem(name, ".".join(str(p) for p in err["loc"]) or None, err["msg"])
                    for err in exc.errors(include_input=False)]
        raise InventoryError(problems) from None
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, entry in enumerate(listing.trackers):
        where = f"trackers.{index}.domain"
        if entry.domain != entry.domain.lower() or registrable_domain(entry.domain) != entry.domain:
            problems.append(Problem(name, where, "a registrable domain in lowercase, e.g. "
                                    "'gstatic.com' not 'fonts.gstatic.com'", value=entry.domain,
                                    suggestion=registrable_domain(entry.domain.lower())))
        if entry.domain in seen:
            problems.append(Problem(name, where, "each domain once", value=entry.domain))
        seen.add(entry.domain)
        if not entry.source.strip():
            problems.append(Problem(name, f"trackers.{index}.source",
                                    "where the classification is documented"))
    if problems:
        raise InventoryError(problems)
    return listing


# ----------------------------------------------------------------------------- HAR reading


@dataclass
class _Entry:
    index: int
    pageref: str | None
    url: str
    host: str
    party: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    query_pairs: list[tuple[str, str]]
    req_cookies: list[tuple[str, str]]
    set_cookies: list[tuple[str, str]]
    post_text: str
    post_pairs: list[tuple[str, str]]
    is_document: bool

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass
class _Page:
    key: str | None
    title_url: str | None
    entries: list[_Entry] = field(default_factory=list)


def _bad(file: str, reason: str) -> EvidenceError:
    return EvidenceError(file, reason, FIX_RECAPTURE)


def _read_json(path: Path, max_bytes: int) -> object:
    name = str(path)
    try:
        if path.is_dir():
            raise EvidenceError(name, "is a folder, not a HAR file",
                                "Give the .har files inside it, e.g. FOLDER/*.har")
        size = path.stat().st_size
    except FileNotFoundError:
        raise EvidenceError(name, "file not found", "Check the path and run again") from None
    except OSError:
        raise EvidenceError(name, "cannot be read", "Check the file's permissions") from None
    if size > max_bytes:
        raise EvidenceError(
            name, f"is {size:,} bytes, over the {max_bytes:,}-byte limit for a capture",
            "Capture only the pages to audit (clear the Network tab, load the page, save), "
            "or save without response content")
    if size == 0:
        raise _bad(name, "is empty")
    try:
        raw = path.read_bytes()
    except OSError:
        raise EvidenceError(name, "cannot be read", "Check the file's permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad(name, "is not UTF-8 text, so it is not a HAR capture") from None
    # json's own messages quote the document, which may hold patron data: never pass them on.
    try:
        return json.loads(text)
    except RecursionError:
        raise _bad(name, f"is nested more than {MAX_DEPTH} levels deep; a browser "
                   "capture never is") from None
    except (ValueError, MemoryError):
        raise _bad(name, "is not valid JSON (a HAR capture is a JSON file)") from None


def _check_depth(doc: object, name: str) -> None:
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _bad(name, f"is nested more than {MAX_DEPTH} levels deep; a browser "
                       "capture never is")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))


class _Reader:
    """Checks one HAR document field by field; every error names the entry, never a value."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, reason: str) -> EvidenceError:
        return _bad(self.name, f"{where}: {reason}")

    def text(self, value: object, where: str, limit: int, *, multiline: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "is not text")
        if len(value) > limit:
            raise self.fail(where, f"is longer than {limit:,} characters, which a browser "
                            "never sends")
        bad = TEXT_FORBIDDEN.search(value) or (not multiline and "\n" in value)
        if bad:
            raise self.fail(where, "contains control characters a browser never records")
        return value

    def pairs(self, value: object, where: str, *, limit: int, multiline: bool = False
              ) -> list[tuple[str, str]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(where, "is not a list of name/value pairs")
        if len(value) > limit:
            raise self.fail(where, f"has more than {limit} items, which a browser never sends")
        out: list[tuple[str, str]] = []
        for item in value:
            if not isinstance(item, dict) or "name" not in item:
                raise self.fail(where, "is not a list of name/value pairs")
            name = self.text(item["name"], where + " name", MAX_NAME_CHARS)
            val = self.text(item.get("value", ""), where + " value", MAX_HEADER_CHARS,
                            multiline=multiline)
            out.append((name, val))
        return out

    def url(self, value: object, where: str) -> tuple[str, str, str, str, str] | None:
        """(url, scheme, host, path, query) of an http(s)/ws(s) URL; None for data:, blob:..."""
        url = self.text(value, where, MAX_URL_CHARS)
        if URL_FORBIDDEN.search(url):
            raise self.fail(where, "contains characters a browser never records unescaped "
                            "(HTML or script in a URL?)")
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme not in {"http", "https", "ws", "wss"}:
            if scheme in {"data", "blob", "about", "chrome-extension", "moz-extension",
                          "chrome", "file"}:
                return None
            raise self.fail(where, "is not a web address")
        try:
            parts = urlsplit(url)
            _ = parts.port
        except ValueError:
            raise self.fail(where, "is not a valid web address") from None
        host = (parts.hostname or "").rstrip(".")
        if not HOSTNAME.match(host):
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise self.fail(where, "does not name a valid host") from None
        return url, parts.scheme.lower(), host, parts.path, parts.query


def _cookie_header(value: str) -> list[tuple[str, str]]:
    out = []
    for part in value.split(";"):
        name, _, val = part.strip().partition("=")
        if name:
            out.append((name.strip(), val.strip()))
    return out


def _set_cookie_headers(values: Iterable[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        for line in value.split("\n"):
            first = line.split(";", 1)[0]
            name, sep, val = first.partition("=")
            if sep and name.strip():
                out.append((name.strip(), val.strip()))
    return out


def _parse_entries(doc: object, name: str, first_party: set[str] | None
                   ) -> tuple[list[_Page], set[str]]:
    """Validated pages with their entries, and the first party used for this capture."""
    reader = _Reader(name)
    if not isinstance(doc, dict) or not isinstance(doc.get("log"), dict):
        raise _bad(name, "is not a HAR capture (no 'log' object)")
    log = doc["log"]
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise _bad(name, "is not a HAR capture (no 'log.entries' list)")
    if len(entries) > MAX_ENTRIES:
        raise _bad(name, f"has more than {MAX_ENTRIES:,} requests")
    pages_raw = log.get("pages") or []
    if not isinstance(pages_raw, list):
        raise _bad(name, "log.pages is not a list")
    if len(pages_raw) > MAX_PAGES:
        raise _bad(name, f"has more than {MAX_PAGES:,} pages")

    pages: dict[str | None, _Page] = {}
    for i, page in enumerate(pages_raw, start=1):
        if not isinstance(page, dict):
            raise reader.fail(f"page {i}", "is not an object")
        key = reader.text(page.get("id", ""), f"page {i} id", MAX_NAME_CHARS)
        title = page.get("title")
        title_url = None
        # Chrome titles a page with its URL; Firefox with the document title, which is
        # never shown (it may hold search terms) and only used when it is a clean URL.
        if (isinstance(title, str) and len(title) <= MAX_URL_CHARS
                and title.lower().startswith(("http://", "https://"))
                and not URL_FORBIDDEN.search(title)):
            try:
                parts = urlsplit(title)
                _ = parts.port
                if HOSTNAME.match((parts.hostname or "").rstrip(".")):
                    title_url = title
            except ValueError:
                title_url = None
        pages.setdefault(key, _Page(key, title_url))

    parsed: list[tuple[str | None, dict, int]] = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise reader.fail(f"entry {i}", "is not an object")
        request = entry.get("request")
        if not isinstance(request, dict):
            raise reader.fail(f"entry {i}", "has no 'request' object")
        ref = entry.get("pageref")
        if ref is not None:
            ref = reader.text(ref, f"entry {i} pageref", MAX_NAME_CHARS)
        parsed.append((ref, entry, i))

    built: list[_Entry] = []
    for ref, entry, i in parsed:
        request = entry["request"]
        got = reader.url(request.get("url"), f"entry {i} request.url")
        if got is None:
            continue
        url, _scheme, host, path, query = got
        reader.text(request.get("method", "GET"), f"entry {i} request.method", 32)
        headers = [(k.lower(), v) for k, v in reader.pairs(
            request.get("headers"), f"entry {i} request.headers", limit=MAX_HEADERS)]
        req_cookies = reader.pairs(request.get("cookies"), f"entry {i} request.cookies",
                                   limit=MAX_COOKIES)
        if not req_cookies:
            for key, value in headers:
                if key == "cookie":
                    req_cookies += _cookie_header(value)
        post_text, post_pairs = "", []
        post = request.get("postData")
        if post is not None:
            if not isinstance(post, dict):
                raise reader.fail(f"entry {i} request.postData", "is not an object")
            body = post.get("text", "")
            if not isinstance(body, str):
                raise reader.fail(f"entry {i} request.postData.text", "is not text")
            post_text = body[:MAX_POST_INSPECT]
            post_pairs = reader.pairs(post.get("params"), f"entry {i} request.postData.params",
                                      limit=MAX_HEADERS * 10)
        response = entry.get("response") or {}
        if not isinstance(response, dict):
            raise reader.fail(f"entry {i}", "'response' is not an object")
        resp_headers = [(k.lower(), v) for k, v in reader.pairs(
            response.get("headers"), f"entry {i} response.headers", limit=MAX_HEADERS,
            multiline=True)]
        set_cookies = reader.pairs(response.get("cookies"), f"entry {i} response.cookies",
                                   limit=MAX_COOKIES)
        if not set_cookies:
            set_cookies = _set_cookie_headers(v for k, v in resp_headers if k == "set-cookie")
        content = response.get("content") if isinstance(response.get("content"), dict) else {}
        mime = content.get("mimeType", "") if isinstance(content, dict) else ""
        resource = entry.get("_resourceType")
        is_document = resource == "document" or (
            isinstance(mime, str) and mime.lower().startswith("text/html"))
        built.append(_Entry(
            index=i, pageref=ref, url=url, host=host, party=registrable_domain(host),
            path=path, query=query, headers=headers,
            query_pairs=parse_qsl(query, keep_blank_values=True), req_cookies=req_cookies,
            set_cookies=set_cookies, post_text=post_text, post_pairs=post_pairs,
            is_document=is_document))

    for item in built:
        key = item.pageref if item.pageref in pages else None
        if key not in pages:
            pages[key] = _Page(key, None)
        pages[key].entries.append(item)
    page_list = [p for p in pages.values() if p.entries]

    if first_party is None:
        first_url = _page_url(page_list[0]) if page_list else None
        if first_url is None:
            raise _bad(name, "has no web requests to audit")
        first_party = {registrable_domain(urlsplit(first_url).hostname or "")}
    return page_list, first_party


def _page_url(page: _Page) -> str | None:
    if page.title_url:
        return page.title_url
    for item in page.entries:
        if item.is_document:
            return item.url
    return page.entries[0].url if page.entries else None


# ----------------------------------------------------------------------------- analysis


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


def mask_url(url: str) -> str:
    """scheme://host/path?name=…: query values always masked; so is a path segment that
    is not a plain word of up to 40 characters, holds 3+ digits or 3+ hyphenated words
    (record numbers, ids, encoded or slugged search terms)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    segments = []
    for segment in parts.path.split("/"):
        if segment == "" or (SAFE_SEGMENT.match(segment)
                             and sum(c.isdigit() for c in segment) < 3
                             and len(re.split(r"[-_+]", segment)) < 3):
            segments.append(quote(segment, safe=""))
        else:
            segments.append("…")
    path = "/".join(segments) or "/"
    names: list[str] = []
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        shown = name if SAFE_PARAM_NAME.match(name) else "…"
        if shown not in names:
            names.append(shown)
    query = ("?" + "&".join(f"{n}=…" for n in names)) if names else ""
    return f"{parts.scheme}://{host}{port}{path}{query}"


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


def _post_names(item: _Entry) -> set[str]:
    names = {n for n, _ in item.post_pairs}
    text = item.post_text
    if text:
        names |= set(JSON_KEY.findall(text))
        for line in text.splitlines()[:1000]:
            if "=" in line:
                names |= {n for n, _ in parse_qsl(line, keep_blank_values=True)}
    return names


@dataclass
class _PageFacts:
    url: str
    page_type: PageType
    search_values: list[str]
    ids: list[tuple[str, str]]  # (kind, value): patron_id / session_id / ad
    first_party: set[str]


def _page_facts(url: str, page: _Page, first_party: set[str]) -> _PageFacts:
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
    return _PageFacts(url, kind, search_values, ids, first_party)


def _receives(item: _Entry, facts: _PageFacts) -> set[str]:
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


def _order(receives: Iterable[str]) -> list[Receives]:
    keys = list(RECEIVES_LABEL)
    return sorted(set(receives), key=keys.index)  # type: ignore[return-value]


# ----------------------------------------------------------------------------- audit


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
        host = _normalise_domain(value)
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
    gets = ", ".join(RECEIVES_LABEL[r] for r in _order(acc.receives))
    return f"On {pages}, {ISSUE_TEXT[kind]}: {who} receives {gets}."


def audit_files(paths: list[Path], *, first_party: list[str] | None = None,
                trackers: Path | None = None, max_bytes: int | None = None) -> WebReport:
    """Audit browser captures: every page, every third party, what each receives, findings.

    ``first_party``: the library's registrable domains; by default, each capture's first
    page's domain. ``max_bytes``: the size limit per file (default ``MAX_HAR_BYTES``).
    """
    if not paths:
        raise UsageError("give at least one HAR capture (FILE.har)")
    listing = load_trackers(trackers)
    known = {t.domain: t for t in listing.trackers}
    limit = MAX_HAR_BYTES if max_bytes is None else max_bytes
    given = _normalise_first_party(first_party)

    captures: list[CaptureSummary] = []
    parties: dict[str, _PartyAcc] = {}
    issues: dict[tuple[IssueKind, str, PageType], _IssueAcc] = {}
    for path in paths:
        name = str(path)
        doc = _read_json(path, limit)
        _check_depth(doc, name)
        pages, fp = _parse_entries(doc, name, given)
        summaries = []
        for page in pages:
            url = _page_url(page)
            if url is None:
                continue
            facts = _page_facts(url, page, fp)
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
                got = _receives(item, facts)
                count, seen = per_party.get(item.party, (0, set()))
                per_party[item.party] = (count + 1, seen | got)
                acc = parties.setdefault(item.party, _PartyAcc())
                acc.hosts.add(item.host)
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
                                                   requests=count, receives=_order(got)))
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
            requests=acc.requests, cookies_set=acc.cookies_set, receives=_order(acc.receives)))

    web_issues = []
    for (kind, domain, page_kind), acc in issues.items():
        entry = known.get(domain)
        organisation = entry.organisation if entry else "unknown organisation"
        category = entry.category if entry else "unknown"
        web_issues.append(WebIssue(
            kind=kind, hard=acc.hard, domain=domain, organisation=organisation,
            category=category, page_type=page_kind, pages=acc.pages,
            receives=_order(acc.receives),
            detail=_detail(kind, domain, organisation, category, page_kind, acc)))
    web_issues.sort(key=lambda i: (not i.hard, i.kind, i.domain, i.page_type))
    return WebReport(trackers_as_of=listing.as_of, captures=captures,
                     third_parties=third_parties, issues=web_issues)


def audit_folder(folder: Path, *, first_party: list[str] | None = None,
                 trackers: Path | None = None) -> WebReport:
    """Every ``*.har`` in a folder, sorted by name; an absent or empty folder is an empty
    report (no captures were taken), not an error."""
    files = sorted(folder.glob("*.har")) if folder.is_dir() else []
    if not files:
        return WebReport(trackers_as_of=load_trackers(trackers).as_of)
    return audit_files(files, first_party=first_party or None, trackers=trackers)


# ----------------------------------------------------------------------------- text


def render_text(report: WebReport) -> str:
    """Plain-text report for a terminal; every value is already masked."""
    lines = ["Website and catalogue tracking audit (browser captures)"]
    if report.trackers_as_of:
        lines.append(f"Tracker list as of {report.trackers_as_of.isoformat()}")
    if not report.captures:
        lines.append("No captures given.")
        return "\n".join(lines) + "\n"
    for capture in report.captures:
        lines += ["", f"Capture {capture.file} (first party: {', '.join(capture.first_party)})"]
        for page in capture.pages:
            lines.append(f"  Page {page.url} [{PAGE_TYPE_LABEL[page.page_type]}]")
            lines.append(
                f"    {page.requests} requests: {page.first_party_requests} first party, "
                f"{page.third_party_requests} third party; cookies set: "
                f"{page.cookies_set.first_party} first party, "
                f"{page.cookies_set.third_party} third party")
            if page.third_party_domains:
                lines.append(f"    third parties: {', '.join(page.third_party_domains)}")
    lines += ["", f"Third parties ({len(report.third_parties)})"]
    for party in report.third_parties:
        pages = f"{party.pages} page{'s' if party.pages != 1 else ''}"
        requests = f"{party.requests} request{'s' if party.requests != 1 else ''}"
        lines += [
            f"  {party.domain}: {CATEGORY_LABEL[party.category]}, {party.organisation}",
            f"    hosts: {', '.join(party.hosts)}",
            f"    {pages} ({', '.join(PAGE_TYPE_LABEL[t] for t in party.page_types)}), "
            f"{requests}, {party.cookies_set} cookie{'s' if party.cookies_set != 1 else ''} set",
            f"    receives: {', '.join(RECEIVES_LABEL[r] for r in party.receives)}",
        ]
    if not report.third_parties:
        lines.append("  none: every request went to the library's own domains")
    hard = sum(1 for i in report.issues if i.hard)
    lines += ["", f"Findings ({len(report.issues)}, {hard} hard)"]
    for issue in report.issues:
        lines.append(f"  [{'HARD' if issue.hard else 'finding'}] {issue.kind}: {issue.detail}")
    if not report.issues:
        lines.append("  none")
    lines += ["", "Query values, cookie values, ids and search terms are compared, never shown."]
    return "\n".join(lines) + "\n"
