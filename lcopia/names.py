"""Names the code relies on in the data, declared once so the loader needs no scoring import.

``DERIVED_CHECK_NAMES`` maps each fact check (``derived_from`` in controls.yaml) to the scope it
runs on; ``lcopia.scoring.facts.DERIVED_CHECKS`` must have exactly these keys (a test checks).
"""

from __future__ import annotations

DERIVED_CHECK_NAMES: dict[str, str] = {
    "contract_binding": "system",
    "no_prohibited_use": "system",
    "disclosures_lawful": "library",
    "search_cost_billed": "library",
    "privacy_policy_listed": "system",
    "all_categories_inventoried": "library",
    "statistics_non_identifying": "flow",
    "retention_within_need": "flow",
    "encrypted": "flow",
}
