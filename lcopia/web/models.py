"""Vocabulary and result models of the web audit: what a page is, what a party receives.

Kept apart from the HAR reader and the analysis so that consumers (scoring, the Board
report, views) can import the report's shape without the parsing machinery.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["analytics", "advertising", "social", "tag_manager", "cdn_fonts",
                   "econtent_vendor", "ils_vendor", "library_vendor", "audio_video",
                   "customer_interaction", "comments", "consent", "hosting", "misc"]
"""A third-party domain's role (``ThirdParty.category``; the tracker lists' ``category``)."""
OrgCategory = Literal["advertising", "analytics", "social", "tag_manager", "cdn", "fonts",
                      "audio_video", "customer_interaction", "comments", "consent", "hosting",
                      "econtent_vendor", "ils_vendor", "library_vendor", "misc", "unknown"]
"""What an organization does on a library page, from the tracker database's categories
(plus the library overlay's vendor kinds)."""
Received = Literal["search_terms", "titles", "identifiers_with_pages", "pages_viewed", "ip_only"]
"""What an organization receives, in the rubric's words (W2), most harmful first."""
RECEIVED_RANK: dict[str, int] = {
    "search_terms": 4, "titles": 4, "identifiers_with_pages": 3, "pages_viewed": 2, "ip_only": 1}
"""Rubric W2: search terms or titles 4, persistent identifiers with page paths 3, page
views 2, IP address only 1 (fonts, CDNs)."""
RECEIVED_LABEL = {
    "search_terms": "what patrons search for",
    "titles": "which titles patrons look at",
    "identifiers_with_pages": "a lasting identifier with the pages visited",
    "pages_viewed": "that a patron visited library pages",
    "ip_only": "the patron's IP address only",
}
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
    "ils_vendor": "ILS/catalog vendor",
    "library_vendor": "library service vendor",
    "audio_video": "audio/video player",
    "customer_interaction": "chat/customer interaction",
    "comments": "comments",
    "consent": "consent manager",
    "hosting": "hosting",
    "misc": "other service",
    "cdn": "CDN",
    "fonts": "fonts",
    "unknown": "unknown",
}
ORG_CATEGORY_ORDER = ["advertising", "social", "analytics", "tag_manager",
                      "customer_interaction", "audio_video", "comments", "econtent_vendor",
                      "ils_vendor", "library_vendor", "consent", "hosting", "misc", "fonts",
                      "cdn", "unknown"]
"""Most harmful role first: an organization is filed under the first role any of its
domains plays (an advertising pixel outweighs a font file from the same company)."""
PAGE_TYPE_LABEL = {
    "catalog_search": "catalog search",
    "account": "patron account",
    "home": "home",
    "other": "other",
}
TRACKING = {"analytics", "tag_manager", "advertising", "social", "unknown"}


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
    sha256: str | None = Field(None, description="sha256 of the capture's bytes as audited.")


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
    """One finding per organization, kind and page type: the Meta pixel's loader and its
    endpoint, or Google Analytics and Tag Manager carrying one search, are one finding."""

    kind: IssueKind
    hard: bool
    domain: str = Field(description="The organization's first domain involved (sorted).")
    domains: list[str] = Field([], description="Every domain of the organization involved.")
    organisation: str
    category: str
    page_type: PageType
    pages: int
    receives: list[Receives]
    detail: str
    control_hint: str = CONTROL_HINT


class WebOrganisation(_Model):
    """One organization behind one or more third-party domains: the unit of the register.

    The risk register builds one risk per organization per thing received (rubric W3): the
    Meta pixel and its loader are one pixel of Meta; Google Analytics, Tag Manager and
    Fonts are Google, and a search-term capture seen through two Google domains is one.
    """

    name: str = Field(description="The organization, from the tracker database or overlay; "
                      "'unknown organisation: <domain>' when neither knows the domain.")
    category: OrgCategory = Field(description="Its most harmful role seen on library pages.")
    categories: list[OrgCategory] = Field(description="Every role of its domains seen.")
    domains: list[str] = Field(description="Registrable domains seen, sorted.")
    hosts: list[str] = Field(description="Host names seen, user-specific labels masked.")
    receives: list[Received] = Field(description="One entry per thing received, most "
                                     "harmful first (RECEIVED_RANK, rubric W2).")
    rank: int = Field(description="RECEIVED_RANK of the first entry of receives (1-4).")
    receives_detail: list[Receives] = Field(description="What its requests carried.")
    pages: list[str] = Field(description="Masked addresses of the pages it was seen on.")
    page_types: list[PageType]
    requests: int
    before_consent: bool | None = Field(None, description="True when it was sent requests "
                                        "while no consent choice was recorded in the page's "
                                        "cookies; None when the capture cannot tell.")
    system_id: str | None = Field(None, description="The inventory system (contract) whose "
                                  "domains cover it, if any.")
    source: str = Field("", description="Where the attribution comes from.")


class WebReport(_Model):
    trackers_as_of: dt.date | None = None
    captures: list[CaptureSummary] = []
    third_parties: list[ThirdParty] = []
    issues: list[WebIssue] = []
    organisations: list[WebOrganisation] = Field(
        [], description="One entry per organization, highest rank first (rubric W2, W3).")
    tracker_files: dict[str, str] = Field(
        {}, description="sha256 of each tracker list file read, by name.")
    capture_manifests: dict[str, str] = Field(
        {}, description="sha256 of each capture manifest whose canary search term was "
        "looked for, by file name.")
    warnings: list[str] = Field([], description="Plain-text warnings (no capture values).")
