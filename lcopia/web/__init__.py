"""Third parties on the library's own web pages, from browser captures (HAR) — masked.

The policy makes website, catalog, database and e-materials use confidential and binds
every third party. A page that loads analytics, an ad pixel or a chat widget hands that
use to another company, so this package reads what a browser really sent ("Save all as
HAR" in the Network tab) and reports, per page and per third party, what left the
library: the patron's IP address always, and — detected, never shown — the page URL,
search terms, patron or session ids, ad/analytics identifiers and cookies.

Nothing read from a capture is ever output except host names and URL paths that pass a
strict check; query values, cookie values, ids and search terms are compared, counted and
masked. Hosts are grouped by registrable domain (public suffix list, bundled with
``publicsuffixlist``), so ``cdn.lcozarks.example.org`` and ``lcozarks.example.org`` are one
party. Hosts are classified from the packaged tracker list plus a project's own
``web/trackers.yaml``; a host in neither is ``unknown``, never presumed harmless.

Modules: ``har`` reads and checks captures; ``domains`` groups hosts; ``trackers`` loads
the classification; ``receives`` decides what each party gets; ``masking`` shapes what is
shown; ``audit`` puts them together; ``text`` prints the result.
"""

from lcopia.web.audit import audit_files, audit_folder
from lcopia.web.domains import DOCUMENTATION_SUFFIXES, HOSTNAME, match_system, registrable_domain
from lcopia.web.har import (
    MAX_COOKIES,
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_HAR_BYTES,
    MAX_HEADER_CHARS,
    MAX_HEADERS,
    MAX_NAME_CHARS,
    MAX_PAGES,
    MAX_POST_CHARS,
    MAX_POST_INSPECT,
    MAX_URL_CHARS,
    MAX_VALUE_CHARS,
)
from lcopia.web.masking import mask_url
from lcopia.web.models import (
    CATEGORY_LABEL,
    CONTROL_HINT,
    PAGE_TYPE_LABEL,
    RECEIVED_LABEL,
    RECEIVED_RANK,
    RECEIVES_LABEL,
    TRACKING,
    CaptureSummary,
    Category,
    CookiesSet,
    IssueKind,
    OrgCategory,
    PageSummary,
    PageThirdParty,
    PageType,
    Received,
    Receives,
    ThirdParty,
    WebIssue,
    WebOrganisation,
    WebReport,
)
from lcopia.web.receives import page_type
from lcopia.web.text import web_text
from lcopia.web.trackers import (
    DEFAULT_TRACKERS,
    PACKAGED_TRACKERS,
    TrackerEntry,
    TrackerList,
    load_trackers,
    packaged_trackers,
)

render_text = web_text
"""Former name of ``web_text``, kept for existing callers."""

__all__ = [
    "CATEGORY_LABEL", "CONTROL_HINT", "DEFAULT_TRACKERS", "DOCUMENTATION_SUFFIXES", "HOSTNAME",
    "MAX_COOKIES", "MAX_DEPTH", "MAX_ENTRIES", "MAX_HAR_BYTES", "MAX_HEADERS",
    "MAX_HEADER_CHARS", "MAX_NAME_CHARS", "MAX_PAGES", "MAX_POST_CHARS", "MAX_POST_INSPECT",
    "MAX_URL_CHARS", "MAX_VALUE_CHARS",
    "PACKAGED_TRACKERS", "PAGE_TYPE_LABEL", "RECEIVED_LABEL", "RECEIVED_RANK",
    "RECEIVES_LABEL", "TRACKING", "CaptureSummary", "Category", "CookiesSet", "IssueKind",
    "OrgCategory", "PageSummary", "PageThirdParty", "PageType", "Received", "Receives",
    "ThirdParty", "TrackerEntry", "TrackerList", "WebIssue", "WebOrganisation", "WebReport",
    "audit_files", "audit_folder", "load_trackers", "mask_url", "match_system",
    "packaged_trackers", "page_type", "registrable_domain", "render_text", "web_text",
]
