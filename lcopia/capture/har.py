"""Turn the browser's recording into one small HAR per page, keeping only what the web
audit reads.

Chromium (through Playwright) records a whole browsing session; here it is cut into pages
by the time each step began, and stripped: no response bodies, no timings beyond the start,
no ``data:``/``blob:`` addresses (they never leave the browser), and of the headers only
those ``lcopia web`` judges (cookies, referer, origin, content type, location).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from lcopia.web.har import (
    MAX_COOKIES,
    MAX_HEADER_CHARS,
    MAX_HEADERS,
    MAX_POST_INSPECT,
    MAX_URL_CHARS,
)

REQUEST_HEADERS = frozenset({"cookie", "referer", "origin", "content-type"})
RESPONSE_HEADERS = frozenset({"set-cookie", "content-type", "location"})


def _when(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _headers(items: object, keep: frozenset[str]) -> list[dict[str, str]]:
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name, value = str(item.get("name", "")), str(item.get("value", ""))
        if name.lower() in keep:
            out.append({"name": name, "value": value[:MAX_HEADER_CHARS]})
    return out[:MAX_HEADERS]


def _cookies(items: object) -> list[dict[str, str]]:
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name"):
            out.append({"name": str(item["name"])[:1024],
                        "value": str(item.get("value", ""))[:MAX_HEADER_CHARS]})
    return out[:MAX_COOKIES]


def _entry(raw: dict[str, Any], pageref: str) -> dict[str, Any] | None:
    request = raw.get("request") or {}
    url = request.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("http:", "https:", "ws:",
                                                              "wss:")):
        return None
    if len(url) > MAX_URL_CHARS:
        return None
    response = raw.get("response") or {}
    content = response.get("content") or {}
    kept_request: dict[str, Any] = {
        "method": str(request.get("method", "GET"))[:32], "url": url,
        "httpVersion": str(request.get("httpVersion", "")),
        "headers": _headers(request.get("headers"), REQUEST_HEADERS),
        "queryString": [], "cookies": _cookies(request.get("cookies")),
        "headersSize": -1, "bodySize": request.get("bodySize", -1)}
    post = request.get("postData")
    if isinstance(post, dict) and isinstance(post.get("text"), str):
        kept_request["postData"] = {"mimeType": str(post.get("mimeType", "")),
                                    "text": post["text"][:MAX_POST_INSPECT]}
    mime = str(content.get("mimeType", "")) if isinstance(content, dict) else ""
    return {
        "pageref": pageref,
        "startedDateTime": raw.get("startedDateTime"),
        "time": 0,
        "request": kept_request,
        "response": {
            "status": response.get("status", 0) if isinstance(response.get("status"), int)
            else 0,
            "statusText": "", "httpVersion": str(response.get("httpVersion", "")),
            "headers": _headers(response.get("headers"), RESPONSE_HEADERS),
            "cookies": _cookies(response.get("cookies")),
            "content": {"size": 0, "mimeType": mime,
                        "comment": "body not recorded by lcopia capture"},
            "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
        **({"_resourceType": raw["_resourceType"]}
           if isinstance(raw.get("_resourceType"), str) else {}),
    }


def split_recording(recording: Path, steps: list[tuple[float, str, str]],
                    creator: dict[str, str], browser: dict[str, str]
                    ) -> dict[str, dict[str, Any]]:
    """One HAR document per step, keyed by the step's id.

    ``steps``: (time the step began, step id, the page's address), in order. Each request
    belongs to the last step begun before it started; requests before the first step (the
    browser's own start-up) are dropped.
    """
    doc = json.loads(recording.read_text("utf-8"))
    entries = doc.get("log", {}).get("entries", [])
    out: dict[str, dict[str, Any]] = {}
    for begun, step_id, url in steps:
        out[step_id] = {"log": {
            "version": "1.2", "creator": creator, "browser": browser,
            "pages": [{"id": step_id, "title": url, "pageTimings": {},
                       "startedDateTime": dt.datetime.fromtimestamp(
                           begun, dt.UTC).isoformat().replace("+00:00", "Z")}],
            "entries": []}}
    starts = [begun for begun, _, _ in steps]
    for raw in entries:
        when = _when(raw.get("startedDateTime")) if isinstance(raw, dict) else None
        if when is None:
            continue
        index = max((i for i, s in enumerate(starts) if s <= when), default=None)
        if index is None:
            continue
        step_id = steps[index][1]
        entry = _entry(raw, step_id)
        if entry is not None:
            out[step_id]["log"]["entries"].append(entry)
    for har in out.values():
        har["log"]["entries"].sort(key=lambda e: _when(e["startedDateTime"]) or 0.0)
    return out
