"""Reading browser captures (HAR): size limits, validation, and the requests per page.

Everything here checks the capture's shape; nothing decides what a request means. Every
error names the file and the entry number, never a value from inside the capture (it may
hold patron data).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from lcopia.errors import EvidenceError
from lcopia.fsio import file_kind_problem
from lcopia.web.domains import HOSTNAME, registrable_domain

# ----------------------------------------------------------------------------- limits

MAX_HAR_BYTES = 100 * 1024 * 1024
"""Largest capture read (100 MiB); checked before reading and enforced while reading (a
HAR of one library page, with response bodies, is a few MB). Parsing holds about three
times the file in memory."""
MAX_VALUE_CHARS = 16 * 1024 * 1024
"""Longest single text value anywhere in a capture (16 MiB: a response body of a large
script bundle fits; a value past it is not a browser's record of a library page)."""
MAX_POST_CHARS = 4 * 1024 * 1024
"""Longest request body accepted (4 MiB); a tracking beacon is a few KB, so a capture with
a larger upload is refused rather than half-inspected."""
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

# Characters a browser never records unescaped in a URL; their presence means the capture
# was written by hand or tampered with (HTML/script smuggled into a field).
URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>\"`]")
TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

FIX_RECAPTURE = ("Capture the page again in the browser's developer tools (Network tab, "
                 "'Save all as HAR') and run again")


# ----------------------------------------------------------------------------- entries


@dataclass
class Entry:
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
class Page:
    key: str | None
    title_url: str | None
    entries: list[Entry] = field(default_factory=list)


def _bad(file: str, reason: str) -> EvidenceError:
    return EvidenceError(file, reason, FIX_RECAPTURE)


def _refuse_kind(name: str, why: str) -> EvidenceError:
    """fsio's reason without its own advice (which speaks of exports), then the HAR fix."""
    return EvidenceError(name, re.split(r": |; put ", why)[0],
                         "Save the capture as a regular .har file and give its path")


def read_capture_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of a capture, refusing links, FIFOs, devices and files over ``max_bytes``.

    The kind of file is checked with ``lstat`` before any open (a FIFO would block the
    read forever; a link could echo a file from outside the project), checked again on the
    opened descriptor, and at most ``max_bytes + 1`` bytes are ever read, so a file that
    grows after the check cannot exhaust memory.
    """
    name = str(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise EvidenceError(name, "file not found", "Check the path and run again") from None
    except OSError:
        raise EvidenceError(name, "cannot be read", "Check the file's permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise EvidenceError(name, "is a folder, not a HAR file",
                            "Give the .har files inside it, e.g. FOLDER/*.har")
    why = file_kind_problem(st.st_mode)
    if why:
        raise _refuse_kind(name, why)
    if st.st_size > max_bytes:
        raise _too_big(name, st.st_size, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise EvidenceError(name, "cannot be read", "Check the file's permissions") from None
    with os.fdopen(fd, "rb") as handle:
        why = file_kind_problem(os.fstat(fd).st_mode)
        if why:
            raise _refuse_kind(name, why)
        try:
            raw = handle.read(max_bytes + 1)
        except OSError:
            raise EvidenceError(name, "cannot be read",
                                "Check the file's permissions") from None
    if len(raw) > max_bytes:
        raise _too_big(name, len(raw), max_bytes)
    if not raw:
        raise _bad(name, "is empty")
    return raw


def _too_big(name: str, size: int, max_bytes: int) -> EvidenceError:
    return EvidenceError(
        name, f"is {size:,} bytes or more, over the {max_bytes:,}-byte limit for a capture",
        "Capture only the pages to audit (clear the Network tab, load the page, save), "
        "or save without response content")


def read_json(path: Path, max_bytes: int) -> tuple[object, str]:
    """The capture parsed as JSON, within the size limits, and the sha256 of the bytes read
    (the run's record of what was audited); json's own messages (which quote the document)
    are never passed on."""
    name = str(path)
    raw = read_capture_bytes(path, max_bytes)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad(name, "is not UTF-8 text, so it is not a HAR capture") from None
    # json's own messages quote the document, which may hold patron data: never pass them on.
    try:
        return json.loads(text), digest
    except RecursionError:
        raise _bad(name, f"is nested more than {MAX_DEPTH} levels deep; a browser "
                   "capture never is") from None
    except (ValueError, MemoryError):
        raise _bad(name, "is not valid JSON (a HAR capture is a JSON file)") from None


def check_depth(doc: object, name: str) -> None:
    """Refuse documents nested deeper, or holding a single value longer, than a browser's
    capture ever does (the value itself is never shown)."""
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _bad(name, f"is nested more than {MAX_DEPTH} levels deep; a browser "
                       "capture never is")
        if isinstance(node, dict):
            items: list[object] = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            items = node
        else:
            continue
        for value in items:
            if isinstance(value, dict | list):
                stack.append((value, depth + 1))
            elif isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
                raise _bad(name, f"holds a single value longer than {MAX_VALUE_CHARS:,} "
                           "characters, which a capture of a library page never does; "
                           "save the HAR without response content")


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


def parse_entries(doc: object, name: str, first_party: set[str] | None
                   ) -> tuple[list[Page], set[str]]:
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

    pages: dict[str | None, Page] = {}
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
        pages.setdefault(key, Page(key, title_url))

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

    built: list[Entry] = []
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
            if len(body) > MAX_POST_CHARS:
                raise reader.fail(f"entry {i} request.postData.text",
                                  f"is longer than {MAX_POST_CHARS:,} characters; a tracking "
                                  "request never is (capture the page without uploading "
                                  "files)")
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
        built.append(Entry(
            index=i, pageref=ref, url=url, host=host, party=registrable_domain(host),
            path=path, query=query, headers=headers,
            query_pairs=parse_qsl(query, keep_blank_values=True), req_cookies=req_cookies,
            set_cookies=set_cookies, post_text=post_text, post_pairs=post_pairs,
            is_document=is_document))

    for item in built:
        key = item.pageref if item.pageref in pages else None
        if key not in pages:
            pages[key] = Page(key, None)
        pages[key].entries.append(item)
    page_list = [p for p in pages.values() if p.entries]

    if first_party is None:
        first_url = page_url(page_list[0]) if page_list else None
        if first_url is None:
            raise _bad(name, "has no web requests to audit")
        first_party = {registrable_domain(urlsplit(first_url).hostname or "")}
    return page_list, first_party


def page_url(page: Page) -> str | None:
    if page.title_url:
        return page.title_url
    for item in page.entries:
        if item.is_document:
            return item.url
    return page.entries[0].url if page.entries else None
