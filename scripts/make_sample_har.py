"""Write the two illustrative browser captures used by ``lcopia web`` and its tests.

Why generated, not recorded: a real capture of a patron's session is patron data. These
imitate what Chrome's "Save all as HAR" writes for the Library Center of the Ozarks' own
pages (fictional hosts under lcozarks.example.org), with a fixed seed so the same bytes
come out every time:

- ``homepage-clean.har``: the home page loading its own assets and one web font from
  fonts.gstatic.com, under a strict referrer policy and with no cookies.
- ``catalog-search-leaky.har``: a catalogue search page that loads Google Analytics 4
  (gtag.js + /g/collect with the page URL in ``dl``), the Meta Pixel (fbevents.js +
  facebook.com/tr), cover images from an e-content vendor and an unclassified chat widget
  that posts the catalogue session id. The page's referrer policy sends the full URL,
  search terms included, to every third party.

Usage: ``.venv/bin/python scripts/make_sample_har.py [--out data/evidence/web]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

SEED = 20260501
START = dt.datetime(2026, 5, 1, 14, 3, 7, tzinfo=dt.UTC)
SITE = "https://www.lcozarks.example.org"
CATALOG = "https://catalog.lcozarks.example.org"
SEARCH_TERMS = "coping with gambling debt"
"""The canary: tests assert these words never appear in any output."""
GA_ID = "G-LCO7Q2M4XZ"
PIXEL_ID = "418230775512093"
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/136.0.0.0 Safari/537.36")


class Clock:
    """Monotonic fake timestamps, so entries are ordered like a real load."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def tick(self, ms: int) -> str:
        self.now += dt.timedelta(milliseconds=ms)
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pairs(mapping: dict[str, str] | list[tuple[str, str]]) -> list[dict[str, str]]:
    items = mapping.items() if isinstance(mapping, dict) else mapping
    return [{"name": k, "value": v} for k, v in items]


def entry(clock: Clock, url: str, *, pageref: str, resource: str, mime: str,
          referer: str | None = None, cookies: dict[str, str] | None = None,
          set_cookies: list[tuple[str, str, str]] | None = None,
          extra_headers: dict[str, str] | None = None, method: str = "GET",
          post: dict[str, str] | None = None, status: int = 200, size: int = 1024,
          server_ip: str = "192.0.2.10") -> dict:
    """One HAR 1.2 entry as Chrome writes it (plus Chrome's ``_resourceType``)."""
    headers = [("accept", "*/*"), ("user-agent", UA)]
    if referer:
        headers.append(("referer", referer))
    if cookies:
        headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
    resp_headers = [("content-type", mime), ("cache-control", "no-cache")]
    resp_headers += list((extra_headers or {}).items())
    resp_cookies = []
    for name, value, attrs in set_cookies or []:
        resp_headers.append(("set-cookie", f"{name}={value}; {attrs}"))
        resp_cookies.append({"name": name, "value": value, "path": "/", "secure": True})
    request = {
        "method": method,
        "url": url,
        "httpVersion": "http/2.0",
        "headers": _pairs(headers),
        "queryString": _pairs(parse_qsl(urlsplit(url).query, keep_blank_values=True)),
        "cookies": _pairs(cookies or {}),
        "headersSize": -1,
        "bodySize": 0,
    }
    if post is not None:
        request["postData"] = post
        request["bodySize"] = len(post.get("text", ""))
    return {
        "_resourceType": resource,
        "cache": {},
        "pageref": pageref,
        "request": request,
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "http/2.0",
            "headers": _pairs(resp_headers),
            "cookies": resp_cookies,
            "content": {"size": size, "mimeType": mime},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": size,
        },
        "serverIPAddress": server_ip,
        "startedDateTime": clock.tick(37),
        "time": 41.5,
        "timings": {"blocked": 1.2, "dns": -1, "ssl": -1, "connect": -1, "send": 0.2,
                    "wait": 30.1, "receive": 10.0},
    }


def har(page_url: str, started: str, entries: list[dict]) -> dict:
    return {"log": {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [{"startedDateTime": started, "id": "page_1", "title": page_url,
                   "pageTimings": {"onContentLoad": 412.0, "onLoad": 903.0}}],
        "entries": entries,
    }}


def homepage_clean() -> dict:
    clock = Clock(START)
    started = clock.tick(0)
    page = f"{SITE}/"
    doc = entry(clock, page, pageref="page_1", resource="document", mime="text/html",
                extra_headers={"referrer-policy": "strict-origin-when-cross-origin"},
                size=18211)
    assets = [
        entry(clock, f"{SITE}/assets/site.css", pageref="page_1", resource="stylesheet",
              mime="text/css", referer=page, size=9120),
        entry(clock, f"{SITE}/assets/site.js", pageref="page_1", resource="script",
              mime="application/javascript", referer=page, size=14110),
        entry(clock, f"{SITE}/assets/logo.svg", pageref="page_1", resource="image",
              mime="image/svg+xml", referer=page, size=3300),
        entry(clock, f"{SITE}/assets/hours.json", pageref="page_1", resource="fetch",
              mime="application/json", referer=page, size=410),
        # The font is requested by site.css; strict-origin-when-cross-origin sends only
        # the origin to another site.
        entry(clock, "https://fonts.gstatic.com/s/sourcesans3/v15/nwpStKy2OAdR1K-IwhWudF-R3w8aZejf5Hc.woff2",
              pageref="page_1", resource="font", mime="font/woff2",
              referer=f"{SITE}/", size=38004, server_ip="198.51.100.20"),
    ]
    return har(page, started, [doc, *assets])


def catalog_search_leaky() -> dict:
    rng = random.Random(SEED)
    clock = Clock(START + dt.timedelta(minutes=4))
    started = clock.tick(0)
    query = urlencode({"q": SEARCH_TERMS, "type": "keyword"})
    page = f"{CATALOG}/search?{query}"
    session = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    ga_client = f"{rng.randrange(10**8, 10**9)}.{int(START.timestamp()) - 86400 * 20}"
    ga_session = str(int(START.timestamp()) - 60)
    fbp = f"fb.1.{int(START.timestamp() * 1000) - 86400000 * 20}.{rng.randrange(10**9, 10**10)}"
    datr = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                   for _ in range(24))
    fr_new = "".join(rng.choice("0123456789ABCDEFabcdef") for _ in range(40)) + ".BoA"
    chat_visitor = "".join(rng.choice("0123456789abcdef") for _ in range(24))
    first_cookies = {
        "ses": session,
        "_ga": f"GA1.1.{ga_client}",
        f"_ga_{GA_ID[2:]}": f"GS1.1.{ga_session}.3.1.{ga_session}.0.0.0",
        "_fbp": fbp,
    }
    policy = {"referrer-policy": "no-referrer-when-downgrade"}

    def first(url: str, resource: str, mime: str, size: int) -> dict:
        return entry(clock, url, pageref="page_1", resource=resource, mime=mime,
                     referer=page, cookies=first_cookies, size=size)

    entries = [
        entry(clock, page, pageref="page_1", resource="document", mime="text/html",
              cookies=first_cookies, extra_headers=policy,
              set_cookies=[("ses", session, "Path=/; Secure; HttpOnly; SameSite=Lax")],
              size=52110),
        first(f"{CATALOG}/css/catalog.css", "stylesheet", "text/css", 20110),
        first(f"{CATALOG}/js/catalog.js", "script", "application/javascript", 61200),
        entry(clock, f"https://www.googletagmanager.com/gtag/js?id={GA_ID}", pageref="page_1",
              resource="script", mime="application/javascript", referer=page, size=98000,
              server_ip="198.51.100.31"),
        entry(clock, "https://region1.google-analytics.com/g/collect?" + urlencode([
            ("v", "2"), ("tid", GA_ID), ("gtm", "45je65t0v9"), ("_p", "1746108187000"),
            ("cid", ga_client), ("ul", "en-us"), ("sr", "1920x1080"), ("_s", "1"),
            ("sid", ga_session), ("sct", "3"), ("seg", "1"), ("dl", page),
            ("dt", "Search results"), ("en", "page_view")]),
              pageref="page_1", resource="ping", mime="text/plain", referer=page,
              method="POST", post={"mimeType": "text/plain;charset=UTF-8", "text": ""},
              status=204, size=0, server_ip="198.51.100.32"),
        entry(clock, "https://connect.facebook.net/en_US/fbevents.js", pageref="page_1",
              resource="script", mime="application/javascript", referer=page, size=87000,
              server_ip="203.0.113.40"),
        entry(clock, "https://www.facebook.com/tr/?" + urlencode([
            ("id", PIXEL_ID), ("ev", "PageView"), ("dl", page), ("rl", ""), ("if", "false"),
            ("ts", str(int(START.timestamp() * 1000) + 240500)), ("sw", "1920"),
            ("sh", "1080"), ("v", "2.9.203"), ("r", "stable"), ("ec", "0"), ("o", "4126"),
            ("fbp", fbp), ("cs_est", "true"), ("it", str(int(START.timestamp() * 1000))),
            ("coo", "false"), ("rqm", "GET")]),
              pageref="page_1", resource="image", mime="image/gif", referer=page,
              cookies={"datr": datr},
              set_cookies=[("fr", fr_new, "Domain=.facebook.com; Path=/; Secure; HttpOnly; "
                            "SameSite=None; Max-Age=7776000")],
              size=44, server_ip="203.0.113.41"),
        entry(clock, "https://covers.readwell.example/cover/9780000000017/medium.jpg?client=lco",
              pageref="page_1", resource="image", mime="image/jpeg", referer=page, size=12040,
              server_ip="203.0.113.60"),
        entry(clock, "https://covers.readwell.example/cover/9780000000024/medium.jpg?client=lco",
              pageref="page_1", resource="image", mime="image/jpeg", referer=page, size=11872,
              server_ip="203.0.113.60"),
        entry(clock, "https://widgets.unknownchat.example/embed.js?site=lco", pageref="page_1",
              resource="script", mime="application/javascript", referer=page, size=40200,
              server_ip="203.0.113.80"),
        entry(clock, "https://widgets.unknownchat.example/v1/visit", pageref="page_1",
              resource="fetch", mime="application/json", referer=page, method="POST",
              post={"mimeType": "application/json", "text": json.dumps(
                  {"site": "lco", "page": page, "visitor": session}, sort_keys=True)},
              set_cookies=[("uc_vid", chat_visitor, "Path=/; Secure; SameSite=None; "
                            "Max-Age=31536000")],
              size=88, server_ip="203.0.113.80"),
    ]
    return har(page, started, entries)


CAPTURES = {
    "homepage-clean.har": homepage_clean,
    "catalog-search-leaky.har": catalog_search_leaky,
}


def write(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in sorted(CAPTURES.items()):
        path = out / name
        path.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/evidence/web"))
    args = parser.parse_args()
    for path in write(args.out):
        print(path)


if __name__ == "__main__":
    main()
