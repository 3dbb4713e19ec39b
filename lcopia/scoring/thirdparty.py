"""Third parties seen in browser captures become systems and recipient flows."""

from __future__ import annotations

from lcopia.models import Flow, System, YesNo
from lcopia.web import WebReport, match_system


def web_flows(web: WebReport, systems: list[System]) -> tuple[list[System], list[Flow]]:
    """Each third party seen on a library page becomes a recipient of website-use records.

    A third party the inventory already lists (by its ``domains``) keeps that system and its
    contract facts; one the inventory does not know becomes a system with no contract, which
    the vendor-contract gate then reports by name.
    """
    new_systems: dict[str, System] = {}
    flows: list[Flow] = []
    by_org: dict[str, str] = {}  # one unlisted organisation = one system, however many domains
    for tp in sorted(web.third_parties, key=lambda t: t.domain):
        system_id = match_system(tp.domain, systems)
        known_org = tp.organisation and tp.category != "unknown"
        if system_id is None and known_org and tp.organisation in by_org:
            system_id = by_org[tp.organisation]
            old = new_systems[system_id]
            new_systems[system_id] = old.model_copy(update={
                "domains": [*old.domains, tp.domain],
                "uses": sorted(set(old.uses) | set(web_uses(tp.category))),
                "service": f"{old.service}; {tp.category} ({tp.domain})"})
        elif system_id is None:
            system_id = f"web:{tp.domain}"
            if known_org:
                by_org[tp.organisation] = system_id
            advertising = tp.category in ("advertising", "social")
            new_systems[system_id] = (System(
                system_id=system_id, name=f"{tp.organisation or tp.domain} (seen on library pages)",
                vendor=tp.organisation or tp.domain, service=f"{tp.category} ({tp.domain})",
                kind="website", external=True, holds_library_records=True,
                contract_binds_policy=YesNo.no, contract_binds_missouri_law=YesNo.no,
                uses=web_uses(tp.category),
                shares_with_third_parties=YesNo.yes if advertising else YesNo.unknown,
                patron_accounts=False, owner="Privacy Officer", domains=[tp.domain],
                notes="Found in a browser capture; not in the inventory."))
        elements = ["ip_address"]
        receives = set(tp.receives)
        if receives & {"page_url", "search_terms"}:
            elements.append("pages_viewed")
        if "search_terms" in receives:
            elements.append("search_terms")
        if receives & {"ad_ids", "cookies", "session_id", "patron_id"}:
            elements.append("device_id")
        flows.append(Flow(
            flow_id=f"WEB-{tp.domain}", system_id=system_id, category="technology_use",
            elements=elements, purpose=f"Receives requests from library web pages "
            f"({tp.category})", direction="transmit", recipient=tp.organisation or tp.domain,
            transfer="browser request from the patron's device", storage="third party",
            retention_days=None, retention_need_days=0, encrypted=YesNo.unknown,
            broad_access=YesNo.unknown, minors=False, patrons_affected=0,
            is_library_record=True, rationale="Website use records (policy, RSMo 182.815).",
            notes="Derived from browser captures."))
    return list(new_systems.values()), flows


def web_uses(category: str) -> list[str]:
    """What a tracker category means as a use of patron data."""
    if category in ("advertising", "social"):
        return ["advertising"]
    return ["analytics"] if category in ("analytics", "tag_manager") else []
