"""The vendored tracker database: which organization runs a host, and what it does there.

lcopia classifies third parties from a maintained database rather than a hand-written
list, so a tracker nobody at the library has heard of is still named. The snapshot is
AdGuard's companies database (github.com/AdguardTeam/companiesdb, CC BY-SA 4.0, itself
built on WhoTracks.me data), converted to a compact file
``lcopia/web/data/trackerdb/trackerdb.json`` that carries its source, commit, date and
license; ``LICENSE`` and ``README.md`` beside it give the license text and attribution.
Why this database and not Ghostery's TrackerDB, DuckDuckGo's Tracker Radar or
Disconnect's list: those three are CC BY-NC-SA 4.0 (non-commercial), which does not fit a
tool any library may use, including one that charges fees (see the README there).

Refresh (one command, from the two files of a companiesdb checkout)::

    python -m lcopia.web.refresh refresh dist/trackers.json dist/companies.json \\
        --commit SHA [--source URL]
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from lcopia.errors import UsageError
from lcopia.fsio import read_bytes_limited, write_atomic
from lcopia.web.domains import normalise_domain, registrable_domain

SNAPSHOT_NAME = "lcopia/web/data/trackerdb/trackerdb.json"
DEFAULT_SOURCE = "https://github.com/AdguardTeam/companiesdb"
LICENCE = "CC-BY-SA-4.0"
MAX_UPSTREAM_BYTES = 64 * 1024 * 1024

UPSTREAM_CATEGORIES = {
    0: "audio_video", 1: "comments", 2: "customer_interaction", 3: "advertising",
    4: "advertising", 5: "essential", 6: "analytics", 7: "social", 8: "misc", 9: "cdn",
    10: "hosting", 11: "misc", 12: "misc", 13: "misc", 14: "consent", 15: "analytics",
    101: "analytics",
}
"""companiesdb category ids (README "Tracker categories") → lcopia's organization
categories. 3 (adult advertising) is advertising; 11 unknown, 12 extensions and 13 email
are "misc" (the database knows the organization, not a role that matters on a library
page); 15 telemetry and 101 mobile analytics are analytics. 5 "essential" (tag managers,
consent notices, font services) is split by the tracker's own name, see ``_category``."""


def _category(upstream: int, tracker_id: str, tracker_name: str) -> str:
    """The organization category of one database tracker. The database puts tag managers,
    consent tools and font services together as "essential" and font CDNs under "cdn";
    lcopia tells them apart (a font CDN receives the IP address only, rubric W2)."""
    words = f"{tracker_id} {tracker_name}".lower()
    base = UPSTREAM_CATEGORIES.get(upstream, "misc")
    if base in {"essential", "cdn"} and ("font" in words or "typekit" in words):
        return "fonts"
    if base == "essential":
        if "tag" in words and "manag" in words:
            return "tag_manager"
        if any(w in words for w in ("consent", "cookie", "onetrust", "privacy", "cmp")):
            return "consent"
        return "misc"
    return base


# ----------------------------------------------------------------------------- conversion


def convert(trackers: dict, companies: dict, *, source: str, commit: str) -> dict:
    """The compact snapshot (organizations, trackers, domains) from companiesdb's
    ``dist/trackers.json`` and ``dist/companies.json``."""
    try:
        company_names = {key: " ".join(str(value["name"]).split())
                         for key, value in companies["companies"].items()}
        upstream_trackers = trackers["trackers"]
        upstream_domains = trackers["trackerDomains"]
        updated = str(trackers.get("timeUpdated", ""))[:10]
    except (KeyError, TypeError, AttributeError):
        raise UsageError("the files are not companiesdb's dist/trackers.json and "
                         "dist/companies.json (expected keys 'trackers', 'trackerDomains' "
                         "and 'companies'); give those two files") from None
    organisations: list[str] = []
    org_index: dict[str, int] = {}
    tracker_rows: list[list[object]] = []
    tracker_index: dict[str, int] = {}
    for key in sorted(upstream_trackers):
        value = upstream_trackers[key]
        name = " ".join(str(value.get("name") or key).split())
        org = company_names.get(value.get("companyId") or "") or name
        if org not in org_index:
            org_index[org] = len(organisations)
            organisations.append(org)
        tracker_index[key] = len(tracker_rows)
        tracker_rows.append([name, org_index[org],
                             _category(int(value.get("categoryId", 11)), key, name)])
    domains: dict[str, int] = {}
    for domain in sorted(upstream_domains):
        key = upstream_domains[domain]
        host = normalise_domain(domain)
        if host is None or key not in tracker_index:
            continue
        domains[host] = tracker_index[key]
    return {
        "database": "AdGuard companiesdb (built on WhoTracks.me data)",
        "source": source, "commit": commit, "snapshot_date": updated,
        "licence": LICENCE,
        "attribution": "Tracker and company data: AdGuard companiesdb "
                       f"({source}), CC BY-SA 4.0, based on WhoTracks.me data; converted "
                       "to this compact form by lcopia.",
        "organisations": organisations, "trackers": tracker_rows, "domains": domains,
    }


# ----------------------------------------------------------------------------- lookup


@dataclass(frozen=True)
class Attribution:
    """Who runs a host, as the database says."""

    organisation: str
    category: str
    tracker: str
    inferred: bool  # from other hosts of the same registrable domain, not the host itself


class TrackerDb:
    """Look-ups on the snapshot: the host itself, its parent domains, then the registrable
    domain when every database entry under it belongs to one organization."""

    def __init__(self, snapshot: dict, sha256: str) -> None:
        self.meta = {k: snapshot[k] for k in ("database", "source", "commit",
                                              "snapshot_date", "licence")}
        self.sha256 = sha256
        self._orgs: list[str] = snapshot["organisations"]
        self._trackers: list[list] = snapshot["trackers"]
        self._domains: dict[str, int] = snapshot["domains"]
        by_party: dict[str, set[int]] = defaultdict(set)
        labels: dict[str, set[int]] = defaultdict(set)
        for domain, index in self._domains.items():
            party = registrable_domain(domain)
            by_party[party].add(index)
            org = self._trackers[index][1]
            if domain != party and domain.endswith("." + party):
                for label in domain[: -len(party) - 1].split("."):
                    labels[label].add(org)
        self._by_party = dict(by_party)
        self.known_labels = frozenset(k for k, orgs in labels.items() if len(orgs) >= 2)
        """Host labels the database uses for two or more organisations: service words
        (``analytics``, ``pixel``...), never a person's name, so safe to show."""

    @property
    def organisations(self) -> int:
        return len(self._orgs)

    @property
    def domains(self) -> int:
        return len(self._domains)

    def _attribution(self, index: int, inferred: bool) -> Attribution:
        name, org, category = self._trackers[index]
        return Attribution(self._orgs[org], category, name, inferred)

    def lookup(self, host: str) -> Attribution | None:
        name = host.strip().lower().rstrip(".")
        party = registrable_domain(name)
        labels = name.split(".")
        for start in range(len(labels)):
            candidate = ".".join(labels[start:])
            if candidate in self._domains:
                return self._attribution(self._domains[candidate], False)
            if candidate == party:
                break
        found = self._by_party.get(party, set())
        orgs = {self._trackers[i][1] for i in found}
        if len(orgs) != 1:
            return None
        categories = {self._trackers[i][2] for i in found}
        first = min(found)
        attribution = self._attribution(first, True)
        if len(categories) > 1:
            attribution = Attribution(attribution.organisation, "misc",
                                      attribution.tracker, True)
        return attribution


def _snapshot_bytes() -> bytes:
    return files("lcopia.web").joinpath("data", "trackerdb", "trackerdb.json").read_bytes()


@lru_cache(maxsize=1)
def load_trackerdb() -> TrackerDb:
    """The packaged snapshot (read once per process)."""
    data = _snapshot_bytes()
    return TrackerDb(json.loads(data), hashlib.sha256(data).hexdigest())


# ----------------------------------------------------------------------------- refresh


def _read_json(path: Path) -> dict:
    raw = read_bytes_limited(path, str(path), MAX_UPSTREAM_BYTES, what="database file")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise UsageError(f"{path}: is not UTF-8 JSON; give companiesdb's dist/trackers.json "
                         "and dist/companies.json") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: is not a JSON object; give companiesdb's dist files")
    return value


def refresh(trackers: Path, companies: Path, *, commit: str, source: str = DEFAULT_SOURCE,
            out: Path | None = None) -> tuple[Path, dict]:
    """Convert a companiesdb checkout's dist files into the packaged snapshot."""
    snapshot = convert(_read_json(trackers), _read_json(companies), source=source,
                       commit=commit)
    if out is None:
        out = Path(str(files("lcopia.web").joinpath("data", "trackerdb", "trackerdb.json")))
    write_atomic(out, json.dumps(snapshot, ensure_ascii=False, sort_keys=True,
                                 separators=(",", ":")) + "\n")
    return out, snapshot


def coverage(db: TrackerDb) -> str:
    """One line: how many organizations and domains the snapshot covers."""
    counts = Counter(t[2] for t in db._trackers)
    top = ", ".join(f"{k} {v}" for k, v in counts.most_common(4))
    return (f"{db.meta['database']} snapshot {db.meta['snapshot_date']} "
            f"(commit {db.meta['commit'][:12]}, {db.meta['licence']}): "
            f"{db.organisations:,} organizations, {db.domains:,} domains; trackers by "
            f"category: {top}")
