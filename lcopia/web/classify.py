"""Who runs a third-party host: the project's and the library overlay's entries first,
then the vendored tracker database. A host neither knows is ``unknown``, never harmless."""

from __future__ import annotations

from dataclasses import dataclass

from lcopia.web.domains import registrable_domain
from lcopia.web.models import ORG_CATEGORY_ORDER
from lcopia.web.trackerdb import TrackerDb
from lcopia.web.trackers import TrackerList

UNKNOWN_ORGANISATION = "unknown organization"


@dataclass(frozen=True)
class Who:
    """A host's organization and role; ``category`` in the per-domain vocabulary of
    ``ThirdParty`` (fonts and CDNs as ``cdn_fonts``), ``org_category`` in the
    organization vocabulary (``fonts`` and ``cdn`` apart)."""

    organisation: str
    org_category: str
    category: str
    source: str

    @property
    def known(self) -> bool:
        return self.category != "unknown"


UNKNOWN = Who(UNKNOWN_ORGANISATION, "unknown", "unknown", "")


def harm_order(org_category: str) -> int:
    """Position in ``ORG_CATEGORY_ORDER`` (0 = most harmful)."""
    return ORG_CATEGORY_ORDER.index(org_category) if org_category in ORG_CATEGORY_ORDER\
        else len(ORG_CATEGORY_ORDER)


class Classifier:
    """Classifies hosts once per audit; the overlay wins for its registrable domains."""

    def __init__(self, listing: TrackerList, db: TrackerDb) -> None:
        self.overlay = {t.domain: t for t in listing.trackers}
        self.db = db
        self._db_label = (f"{db.meta['database']}, snapshot {db.meta['snapshot_date']} "
                          f"({db.meta['licence']})")

    def host(self, host: str) -> Who:
        party = registrable_domain(host)
        entry = self.overlay.get(party)
        if entry is not None:
            org_category = "cdn" if entry.category == "cdn_fonts" else entry.category
            return Who(entry.organisation, org_category, entry.category, entry.source)
        found = self.db.lookup(host)
        if found is None:
            return UNKNOWN
        category = "cdn_fonts" if found.category in {"cdn", "fonts"} else found.category
        how = (f"other hosts of {party} in the database" if found.inferred
               else f"tracker '{found.tracker}'")
        return Who(found.organisation, found.category, category, f"{self._db_label}: {how}")

    def domain(self, hosts: set[str]) -> Who:
        """One registrable domain's classification: its most harmful host's."""
        found = [self.host(h) for h in sorted(hosts)]
        known = [w for w in found if w.known]
        if not known:
            return UNKNOWN
        return min(known, key=lambda w: harm_order(w.org_category))
