"""Every name the code relies on in the data, declared once and checked at load time.

Policy, scales and controls are data a library may edit; code that looks up ``disclosure_route``
or a band id would otherwise fail with a ``KeyError`` long after ``validate`` said the data
was fine. The loader checks the data against these declarations, so renaming one in YAML is a
``validate`` error that names the file and the name expected.
"""

from __future__ import annotations

# Fact checks a control may name in ``derived_from`` (scoring implements each; a test keeps
# the implementation's table and this declaration equal).
# Each is checked per library, per system or per flow.
DERIVED_CHECK_SCOPES: dict[str, str] = {
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
DERIVED_CHECK_NAMES: frozenset[str] = frozenset(DERIVED_CHECK_SCOPES)

# Gate rules the code raises by id; policy.yaml ``gate_rules`` must state each in words.
GATE_RULES: tuple[str, ...] = ("disclosure_route", "vendor_contract", "prohibited_use")

# Risk bands by id, lowest first; scales.yaml gives each a label, a range and a colour.
BAND_IDS: tuple[str, ...] = ("low", "moderate", "high", "critical")

# Roles the code needs filled by a library's own ids: policy.yaml ``roles`` maps each role to
# the id of a clause or a control (a library with its own policy uses its own ids).
ROLES: dict[str, str] = {
    "disclosure_clause": "clause",      # the clause that limits disclosure of records
    "web_tracking_control": "control",  # the control third parties on library pages fail
}

# Severity modifiers scoring knows how to apply.
SEVERITY_MODIFIERS: tuple[str, ...] = ("minors", "linked_identity_activity")

# Facts about an exported file that scales.yaml ``risk_register.evidence_content`` rules may
# require (the register computes each from the scan): direct identifiers, regulated ones
# (tier T3), a linkable pseudonymous key, reading content, people singled out on
# quasi-identifiers, groups whose reading is revealed (l-diversity), small cells.
EVIDENCE_FACTS: tuple[str, ...] = ("direct", "regulated", "linkable", "activity",
                                   "singled_out", "group_revealed", "small_cells")

# Who receives an exported file, most exposed first (``risk_register.evidence_recipients``).
EVIDENCE_RECIPIENTS: tuple[str, ...] = ("public", "third_party", "vendor", "internal")
