"""Masking what is shown of a captured address: its structure, never the patron's part.

A page path is shown segment by segment only where the segment is a structural word of
library and web sites (``search``, ``record``, ``account``...); every other segment, and
every query value, becomes ``…``. A segment right after a word that introduces a person
(``patron``, ``user``, ``profile``...) is masked even when it is a structural word. Host
names keep only labels known to be structural (``www``, ``cdn``, ``analytics``...) left of
the registrable domain, so a user-specific subdomain never appears.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from lcopia.web.domains import registrable_domain

MASK = "…"

SAFE_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,40}$")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STRUCTURAL_SEGMENTS = _words("""
about account accounts adult adults advanced advanced-search api app apps ask assets audio
audiobooks auth author authors bib biblio bibliocommons blog blogs board books branch
branches browse calendar card cart cas catalog catalog category categories cgi-bin chat
checkout checkouts checkedout client collection collections community contact content css
databases default detail details digital discover donate download downloads e-books ebooks
eg en en-us en_us es event events explore faq featured files fines fonts fr full genre
get-a-card gp graphql guide guides help history hold holds home hours images img includes
index info item items js jobs kb kids koha lang libcal libguides library library-card
list lists locations login logon logout main media messages my my-account my-library
myaccount mylibrary myopac myresearch new news node oauth opac page pages patron patrons
policies policy polaris preferences privacy profile programs public r readinglist record
records register renew research reserve resources rest results saml search searches
series services settings show signin sign-in sites sso static subject subjects support
teens themes title titles uploads user users v1 v2 v3 view volunteer vufind wp-content
wp-includes work works youth
opac-main.pl opac-search.pl opac-detail.pl opac-user.pl opac-reserve.pl opac-account.pl
index.html index.htm index.php index.asp default.aspx default.asp search.aspx
""")
"""Path words that describe a site's structure (library catalogues: Evergreen ``eg/opac``,
Koha ``opac-*.pl``, VuFind ``Search``/``Record``, BiblioCommons, Polaris; CMS folders),
compared case-insensitively. Nothing typed by a patron is in it."""

PERSON_SEGMENTS = frozenset({
    "patron", "patrons", "user", "users", "member", "members", "borrower", "borrowers",
    "profile", "profiles", "people", "person", "u", "card", "cards", "id", "~"})
"""Words after which the next segment names a person (``/patron/zquill/holds``)."""

STRUCTURAL_HOST_LABELS = _words("""
www www1 www2 www3 m mobile cdn cdn1 cdn2 cdns static static1 static2 assets img img1 img2
images media js css api apis ajax fonts font use kit analytics stats stat collect tag tags
tagmanager gtm pixel px p ads ad adservice pagead pagead2 securepubads stats-ssl bat sb bam
js-agent connect platform region1 region2 region3 widget widgets embed player cdnjs unpkg
events event track tracking tr t log logs beacon telemetry metrics script scripts sdk
catalog catalog opac search discover library my account login auth sso id accounts
covers cover content secure shop store app apps static-cdn edge mail news blog help
support chat live video www-google-analytics ssl google googleads www-googletagmanager
""")
"""Host labels that name a service, not a person; left of the registrable domain, any
other label is masked. Extended at run time with labels the tracker database itself uses
on two or more organizations' hosts (see ``trackerdb.known_labels``)."""


def _segment_shown(segment: str, after_person: bool) -> bool:
    if segment == "":
        return True
    if after_person:
        return False
    try:
        word = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return False
    return word.lower() in STRUCTURAL_SEGMENTS


def mask_path(path: str) -> str:
    """``/patron/zquill/holds`` → ``/patron/…/holds``; ``/search/coping-with-debt`` →
    ``/search/…``. A segment is shown only when it is a structural word."""
    out: list[str] = []
    after_person = False
    for segment in path.split("/"):
        shown = _segment_shown(segment, after_person)
        out.append(quote(segment, safe="") if shown else MASK)
        if segment:
            after_person = shown and segment.lower() in PERSON_SEGMENTS
    return "/".join(out) or "/"


def mask_host(host: str, known: frozenset[str] = frozenset()) -> str:
    """Keep the registrable domain and structural labels; mask any other label left of it,
    so ``zquill-4711.tracker.example`` is shown as ``….tracker.example``."""
    name = host.strip().lower().rstrip(".")
    party = registrable_domain(name)
    if party == name or not name.endswith("." + party):
        return name
    labels = name[: -len(party) - 1].split(".")
    shown = [label if (label in STRUCTURAL_HOST_LABELS or label in known) else MASK
             for label in labels]
    return ".".join([*shown, party])


def mask_url(url: str, known: frozenset[str] = frozenset()) -> str:
    """scheme://host/path?name=…: query values always masked; path segments and host labels
    shown only when structural (see ``mask_path`` and ``mask_host``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    host = f"[{host}]" if ":" in host else mask_host(host, known)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    names: list[str] = []
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        shown = name if SAFE_PARAM_NAME.match(name) else MASK
        if shown not in names:
            names.append(shown)
    query = ("?" + "&".join(f"{n}={MASK}" for n in names)) if names else ""
    return f"{parts.scheme}://{host}{port}{mask_path(parts.path)}{query}"
