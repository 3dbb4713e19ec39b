"""Which links a capture follows: same site only, deduplicated, capped, never a logout.

Pure functions over (address, text) pairs read from the page, so the choice is tested
without a browser. Link texts are only matched against the patterns here; they are never
recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urldefrag, urlsplit

from lcopia.web.domains import HOSTNAME, registrable_domain
from lcopia.web.receives import ACCOUNT_PATH, SEARCH_PARAMS

MAX_LINKS_READ = 5000
"""Links read from one page; a page with more is cut here (a site map, a calendar)."""

LOGIN_TEXT = re.compile(r"\b(log ?in|sign ?in|my account|my library|account|patron)\b", re.I)
SKIP_PATH = re.compile(r"(log-?out|sign-?out|logoff|delete|unsubscribe|cart|checkout|"
                       r"\.(pdf|zip|docx?|xlsx?|pptx?|jpe?g|png|gif|svg|mp[34]|mov|ics|rss|"
                       r"xml|exe|dmg|epub)$)", re.I)
RECORD_LINK = re.compile(r"(^|/)(record|records|item|items|title|titles|work|works|bib|detail|"
                         r"details|opac-detail\.pl|show|product)(/|$|\?)", re.I)
SEARCH_INPUT = ", ".join(
    ["form input[type=search]", "form [role=searchbox]"]
    + [f"form input[name={name} i]" for name in sorted(SEARCH_PARAMS)])
"""CSS for a catalog search box: a search input, or a text box named like a search
parameter the web audit knows (``q``, ``query``, ``lookfor``, ``term`` ...)."""


def web_address(url: str) -> str | None:
    """The address without its fragment when it is http(s) with a real host name."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return None
    if not (HOSTNAME.match(host) or host.replace(".", "").isdigit() or host == "localhost"):
        return None
    return urldefrag(url)[0]


def site_of(url: str) -> str:
    """The registrable domain a capture stays on (``lcozarks.org`` for any of its hosts)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    return registrable_domain(host) or host


def same_site(url: str, sites: Iterable[str]) -> bool:
    address = web_address(url)
    return address is not None and site_of(address) in set(sites)


def login_link(links: Sequence[tuple[str, str]], sites: Iterable[str]) -> str | None:
    """The account or login page: a path like /account or /login, else a link saying so."""
    sites = set(sites)
    candidates = [(u, t) for u, t in links if same_site(u, sites) and not SKIP_PATH.search(
        urlsplit(u).path)]
    for url, _text in candidates:
        if ACCOUNT_PATH.search(urlsplit(url).path):
            return web_address(url)
    for url, text in candidates:
        if LOGIN_TEXT.search(text):
            return web_address(url)
    return None


def item_link(links: Sequence[tuple[str, str]], sites: Iterable[str],
              known: Iterable[str] = ()) -> str | None:
    """A title's page among a results page's links: a record-like path first, else the
    first same-site link the home page did not have (a result, not the menu)."""
    sites, seen = set(sites), {web_address(u) for u in known}
    usable = [web_address(u) for u, _ in links if same_site(u, sites)
              and not SKIP_PATH.search(urlsplit(u).path)]
    for url in usable:
        if url and RECORD_LINK.search(urlsplit(url).path):
            return url
    return next((u for u in usable if u and u not in seen), None)


def other_links(links: Sequence[tuple[str, str]], sites: Iterable[str], limit: int,
                visited: Iterable[str] = ()) -> list[str]:
    """Up to ``limit`` same-site pages not visited yet, in page order, deduplicated."""
    sites = set(sites)
    seen = {web_address(u) for u in visited}
    out: list[str] = []
    for url, _text in links[:MAX_LINKS_READ]:
        address = web_address(url)
        if (address is None or address in seen or not same_site(address, sites)
                or SKIP_PATH.search(urlsplit(address).path)):
            continue
        seen.add(address)
        out.append(address)
        if len(out) >= limit:
            break
    return out
