"""Vocabulary and result models of the web audit: what a page is, what a party receives.

Kept apart from the HAR reader and the analysis so that consumers (scoring, the Board
report, views) can import the report's shape without the parsing machinery.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
