"""Capture the library's own website with a real browser: the evidence ``lcopia web`` reads.

``capture_site`` drives Debian's Chromium (through Playwright, with no browser download)
over the home page, the catalog search with a harmless canary term, a results page, a
title's page, the account login page and a few same-site links, once without touching the
consent banner and once accepting it (DuckDuckGo's autoconsent, vendored in
``data/autoconsent``). It writes one small HAR per page and a ``*.capture.json`` manifest.

Modules: ``session`` drives the browser; ``consent`` bridges autoconsent; ``links`` picks
the pages; ``har`` cuts and strips the recording; ``canary`` makes the search term;
the manifest (the record ``lcopia web`` reads) is ``lcopia.web.capture_manifest``;
``refresh`` updates the vendored autoconsent snapshot.
"""

from lcopia.capture.canary import canary_term
from lcopia.capture.session import (
    DEFAULT_BUDGET,
    DEFAULT_PAGE_TIMEOUT,
    DEFAULT_PAGES,
    CaptureError,
    CaptureResult,
    PageRecord,
    PassRecord,
    capture_site,
)
from lcopia.web.capture_manifest import MANIFEST_SUFFIX, canaries, read_manifest

__all__ = [
    "DEFAULT_BUDGET", "DEFAULT_PAGES", "DEFAULT_PAGE_TIMEOUT", "MANIFEST_SUFFIX",
    "CaptureError", "CaptureResult", "PageRecord", "PassRecord", "canaries", "canary_term",
    "capture_site", "read_manifest",
]
