"""The capture manifest: one JSON file beside the HAR files of one capture.

It records what was visited, when, with which browser, what was done about the consent
banner, the canary search term, and how every page went. Its name ends in
``.capture.json``, so nothing that reads ``*.har`` takes it for a capture; ``lcopia web``
reads the canary terms of the manifests beside the captures it audits.

It lives in ``lcopia.web`` and imports nothing from Playwright: the capture writes it, the
web audit reads it, and reading it must not start a browser library.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from lcopia.errors import EvidenceError
from lcopia.fsio import FileProblem, read_bytes_limited

MANIFEST_SUFFIX = ".capture.json"
FORMAT = "lcopia-capture/1"
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_MANIFESTS = 1000
FIX = ("Delete this file, or capture again with 'lcopia capture'; it is the record of a "
       "capture, written by lcopia")


def write_manifest(path: Path, data: dict) -> None:
    """Write atomically: a reader never sees half a manifest."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_manifest(path: Path) -> dict:
    """A manifest, bounded and checked; links and special files are refused."""
    return read_manifest_bytes(path)[0]


def read_manifest_bytes(path: Path) -> tuple[dict, str]:
    """A manifest and the sha256 of the bytes read (the run manifest records what was
    actually read)."""
    name = str(path)
    try:  # links and special files refused before any open, at most the limit read
        raw = read_bytes_limited(path, name, MAX_MANIFEST_BYTES, what="capture manifest")
    except FileProblem as exc:
        raise EvidenceError(name, exc.expected, FIX) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EvidenceError(name, "is not valid JSON", FIX) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise EvidenceError(name, f"is not an lcopia capture manifest (no format {FORMAT!r})",
                            FIX)
    return data, hashlib.sha256(raw).hexdigest()


def manifests_in(folders: Iterable[Path]) -> list[Path]:
    """Every capture manifest directly in these folders, sorted, at most MAX_MANIFESTS."""
    found: set[Path] = set()
    for folder in folders:
        if folder.is_dir():
            found.update(folder.glob("*" + MANIFEST_SUFFIX))
    return sorted(found)[:MAX_MANIFESTS]


def canaries(folders: Iterable[Path]) -> list[str]:
    """The canary search terms recorded by the captures in these folders."""
    return canary_sources(folders)[0]


def canary_sources(folders: Iterable[Path]) -> tuple[list[str], dict[str, str]]:
    """The canary search terms of the captures in these folders, and the sha256 of each
    manifest read, by file name (the canary changes what the audit finds, so a run records
    which manifests it used)."""
    terms: list[str] = []
    hashes: dict[str, str] = {}
    for path in manifests_in(folders):
        data, digest = read_manifest_bytes(path)
        hashes[path.name] = digest
        term = (data.get("canary") or {}).get("term")
        if isinstance(term, str) and term.strip() and term not in terms:
            terms.append(term)
    return terms, hashes
