"""Masking what is shown of a captured URL: the shape of an address, never its values."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

SAFE_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,40}$")
SAFE_SEGMENT = re.compile(r"^[A-Za-z][A-Za-z0-9._\-]{0,39}$")


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
