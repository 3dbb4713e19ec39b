"""The shipped policy, taxonomy and sample inventory say what the policy says.

These tests read the data files with yaml and csv only (no lcopia imports), so a broken
loader cannot hide a broken data file, and a broken data file is named precisely.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA = Path(__file__).resolve().parent.parent / "data"

SYSTEM_COLUMNS = [
    "system_id", "name", "vendor", "service", "kind", "external", "holds_library_records",
    "contract_ref", "contract_binds_policy", "contract_binds_missouri_law", "uses",
    "shares_with_third_parties", "patron_accounts", "privacy_policy_url",
    "privacy_policy_reviewed", "data_location", "subprocessors", "domains", "owner", "notes"]
FLOW_COLUMNS = [
    "flow_id", "system_id", "category", "elements", "purpose", "direction", "recipient",
    "transfer", "storage", "retention_days", "retention_need_days", "encrypted", "broad_access",
    "minors", "patrons_affected", "is_library_record", "rationale", "notes", "audience"]
ANSWER_COLUMNS = [
    "control_id", "scope", "target_id", "status", "evidence", "owner", "review_date", "comment"]
DISCLOSURE_COLUMNS = [
    "request_id", "received", "requester", "requester_type", "instrument", "court_finding",
    "categories", "records_requested", "decision", "search_cost", "cost_billed", "notes",
    "consent_by", "nondisclosure_order", "counsel_review", "categories_released"]
GATE_RULES = {"disclosure_route", "vendor_contract", "prohibited_use"}


# ----------------------------------------------------------------------------- readers


@cache
def _yaml(rel: str) -> Any:
    return yaml.safe_load((DATA / rel).read_text(encoding="utf-8"))


@cache
def _csv(rel: str) -> tuple[list[str], list[dict[str, str]]]:
    with (DATA / rel).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _rows(rel: str) -> list[dict[str, str]]:
    return _csv(rel)[1]


def _split(cell: str) -> list[str]:
    return [p.strip() for p in cell.split(";") if p.strip()]


def _normalise(text: str) -> str:
    """Collapse whitespace and write markdown links ``[x](#)`` as ``x``."""
    text = re.sub(r"\[([^\]]*)\]\(#\)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


@cache
def _policy_text() -> str:
    source = _yaml("policy/policy.yaml")["source_file"]
    path = DATA / "policy" / source
    assert path.is_file(), f"the approved policy text {source} must sit in data/policy/"
    return path.read_text(encoding="utf-8")


def _controls() -> list[dict[str, Any]]:
    return _yaml("policy/controls.yaml")["controls"]


def _tier_rank(tier: str) -> int:
    return int(tier.lstrip("T"))


def _element_tiers() -> dict[str, int]:
    return {e["id"]: _tier_rank(e["tier"]) for e in _yaml("taxonomy/elements.yaml")["elements"]}


def _vocab(name: str) -> list[str]:
    value = _yaml("taxonomy/vocabularies.yaml")[name]
    return [t["id"] if isinstance(t, dict) else t for t in value]


# ----------------------------------------------------------------------------- policy quotes


def test_every_clause_is_quoted_verbatim_from_the_approved_policy():
    policy = _normalise(_policy_text())
    misquoted = [c["id"] for c in _yaml("policy/policy.yaml")["clauses"]
                 if _normalise(c["text"]) not in policy]
    assert not misquoted, f"clauses not found verbatim in the policy: {misquoted}"


def test_category_and_element_policy_text_is_verbatim():
    policy = _normalise(_policy_text())
    quoted = [(c["id"], c["policy_text"]) for c in _yaml("taxonomy/categories.yaml")["categories"]
              if c.get("policy_text")]
    quoted += [(e["id"], e["policy_text"]) for e in _yaml("taxonomy/elements.yaml")["elements"]
               if e.get("policy_text")]
    misquoted = [ident for ident, text in quoted if _normalise(text) not in policy]
    assert not misquoted, f"policy_text not found verbatim in the policy: {misquoted}"


def _confidential_details(policy_text: str) -> list[str]:
    """The details the policy lists under 'The confidential information ... includes'."""
    lines = policy_text.splitlines()
    start = next(i for i, line in enumerate(lines) if "confidential information in these" in line)
    details: list[str] = []
    for line in lines[start + 1:]:
        if not line.strip().startswith("- "):
            break
        bullet = line.strip()[2:].rstrip(".;")
        bullet = re.sub(r"[;,]? and$", "", bullet)
        for part in bullet.split(","):
            part = re.sub(r"^and ", "", part.strip())
            if part:
                details.append(part)
    return details


def test_every_confidential_detail_named_by_the_policy_maps_to_an_element():
    details = _confidential_details(_policy_text())
    assert len(details) >= 11, f"could not read the policy's list of details: {details}"
    quoted = {(e.get("policy_text") or "").lower()
              for e in _yaml("taxonomy/elements.yaml")["elements"]}
    unmapped = [d for d in details if d.lower() not in quoted]
    assert not unmapped, f"policy details with no element quoting them: {unmapped}"


def test_every_category_clause_and_control_reference_exists():
    clauses = {c["id"] for c in _yaml("policy/policy.yaml")["clauses"]}
    statutes = {s["id"] for s in _yaml("policy/statutes.yaml")["statutes"]}
    bad = [c["id"] for c in _yaml("taxonomy/categories.yaml")["categories"]
           if c["clause"] not in clauses]
    for c in _controls():
        bad += [f"{c['id']}:{r}" for r in c.get("clauses", []) if r not in clauses]
        bad += [f"{c['id']}:{r}" for r in c.get("statutes", []) if r not in statutes]
    assert not bad, f"references to clauses or statutes that do not exist: {bad}"


def test_every_control_cites_a_clause_or_statute():
    uncited = [c["id"] for c in _controls() if not (c.get("clauses") or c.get("statutes"))]
    assert not uncited, f"controls that cite nothing: {uncited}"


# ----------------------------------------------------------------------------- gate and tags


def test_the_three_gate_rules_exist_and_only_hard_gates_name_them():
    assert set(_yaml("policy/policy.yaml")["gate_rules"]) == GATE_RULES
    wrong = [c["id"] for c in _controls()
             if bool(c.get("hard_gate")) != (c.get("gate_rule") in GATE_RULES)]
    assert not wrong, f"hard_gate and gate_rule disagree on: {wrong}"
    gated = {c.get("gate_rule") for c in _controls() if c.get("hard_gate")}
    assert gated == GATE_RULES, f"each gate rule needs a hard-gate control; have {gated}"


def test_niso_principles_and_ala_priorities_are_spelled_as_in_the_scales():
    scales = _yaml("policy/scales.yaml")
    niso, priorities = set(scales["niso_principles"]), set(scales["ala_priorities"])
    bad = [(c["id"], n) for c in _controls() for n in c["niso"] if n not in niso]
    bad += [(c["id"], c["ala_priority"]) for c in _controls()
            if c["ala_priority"] not in priorities]
    assert not bad, f"unknown NISO principle or ALA priority: {bad}"
    assert all(c["niso"] for c in _controls()), "every control needs a NISO principle"


def test_derived_controls_use_distinct_names_and_take_no_answers():
    derived = {c["id"]: c["derived_from"] for c in _controls() if c.get("derived_from")}
    repeated = [n for n, k in Counter(derived.values()).items() if k > 1]
    assert not repeated, f"derived_from names used more than once: {repeated}"
    answered = sorted({a["control_id"] for a in _rows("inventory/answers.csv")} & set(derived))
    assert not answered, f"derived controls must not be answered: {answered}"


# ----------------------------------------------------------------------------- sizes and ids


@pytest.mark.parametrize(("what", "count", "minimum"), [
    ("controls", lambda: len(_controls()), 30),
    ("elements", lambda: len(_yaml("taxonomy/elements.yaml")["elements"]), 25),
    ("systems", lambda: len(_rows("inventory/systems.csv")), 12),
    ("flows", lambda: len(_rows("inventory/flows.csv")), 25),
])
def test_the_sample_is_big_enough_to_exercise_the_assessment(what, count, minimum):
    assert count() >= minimum, f"only {count()} {what}; the sample needs {minimum}"


@pytest.mark.parametrize(("rel", "key"), [
    ("policy/policy.yaml:clauses", "id"),
    ("policy/statutes.yaml:statutes", "id"),
    ("policy/controls.yaml:controls", "id"),
    ("taxonomy/categories.yaml:categories", "id"),
    ("taxonomy/elements.yaml:elements", "id"),
    ("inventory/systems.csv", "system_id"),
    ("inventory/flows.csv", "flow_id"),
    ("inventory/disclosures.csv", "request_id"),
])
def test_ids_are_unique_in_each_file(rel, key):
    if ":" in rel:
        path, list_key = rel.split(":")
        ids = [item[key] for item in _yaml(path)[list_key]]
    else:
        ids = [row[key] for row in _rows(rel)]
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    assert not repeated, f"{rel}: repeated {key}: {repeated}"


def test_answers_are_unique_per_control_and_target():
    keys = [(a["control_id"], a["target_id"]) for a in _rows("inventory/answers.csv")]
    repeated = [k for k, n in Counter(keys).items() if n > 1]
    assert not repeated, f"answered more than once: {repeated}"


@pytest.mark.parametrize(("rel", "columns"), [
    ("inventory/systems.csv", SYSTEM_COLUMNS),
    ("inventory/flows.csv", FLOW_COLUMNS),
    ("inventory/answers.csv", ANSWER_COLUMNS),
    ("inventory/disclosures.csv", DISCLOSURE_COLUMNS),
])
def test_csv_headers_are_exactly_the_documented_columns(rel, columns):
    assert _csv(rel)[0] == columns


# ----------------------------------------------------------------------------- inventory


def test_every_record_category_has_a_flow():
    used = {f["category"] for f in _rows("inventory/flows.csv")}
    missing = [c["id"] for c in _yaml("taxonomy/categories.yaml")["categories"]
               if c["id"] not in used]
    assert not missing, f"record categories with no flow: {missing}"


def test_inventory_cells_come_from_the_vocabularies_and_references_exist():
    systems = {s["system_id"]: s for s in _rows("inventory/systems.csv")}
    categories = {c["id"] for c in _yaml("taxonomy/categories.yaml")["categories"]}
    elements = set(_element_tiers())
    bad = []
    for s in systems.values():
        if s["kind"] not in _vocab("system_kinds"):
            bad.append((s["system_id"], "kind", s["kind"]))
        bad += [(s["system_id"], "uses", u) for u in _split(s["uses"]) if u not in _vocab("uses")]
    for f in _rows("inventory/flows.csv"):
        fid = f["flow_id"]
        bad += [(fid, "system_id", f["system_id"])] if f["system_id"] not in systems else []
        bad += [(fid, "category", f["category"])] if f["category"] not in categories else []
        bad += [(fid, "elements", e) for e in _split(f["elements"]) if e not in elements]
        if f["direction"] not in _vocab("directions"):
            bad.append((fid, "direction", f["direction"]))
    for d in _rows("inventory/disclosures.csv"):
        for field, vocab in (("requester_type", "requester_types"), ("instrument", "instruments"),
                             ("court_finding", "court_findings"), ("decision", "decisions")):
            if d[field] not in _vocab(vocab):
                bad.append((d["request_id"], field, d[field]))
        bad += [(d["request_id"], "categories", c) for c in _split(d["categories"])
                if c not in categories]
    assert not bad, f"values outside the vocabularies or dangling ids: {bad}"


def _applies(control: dict[str, Any], target: str) -> bool:
    """The `when` match: every condition given must hold for the system or flow."""
    when = control.get("when") or {}
    systems = {s["system_id"]: s for s in _rows("inventory/systems.csv")}
    flows = {f["flow_id"]: f for f in _rows("inventory/flows.csv")}
    if control["applies_to"] == "library":
        return target == "library"
    if control["applies_to"] == "system":
        if target not in systems:
            return False
        system, its_flows = systems[target], [f for f in flows.values() if f["system_id"] == target]
    else:
        if target not in flows:
            return False
        its_flows = [flows[target]]
        system = systems[its_flows[0]["system_id"]]
    elements = [e for f in its_flows for e in _split(f["elements"])]
    tiers = _element_tiers()
    checks = [
        "external" not in when or (system["external"] == "yes") == when["external"],
        "holds_library_records" not in when
        or (system["holds_library_records"] == "yes") == when["holds_library_records"],
        "kinds" not in when or system["kind"] in when["kinds"],
        "categories" not in when or any(f["category"] in when["categories"] for f in its_flows),
        "elements_any" not in when or any(e in when["elements_any"] for e in elements),
        "min_tier" not in when
        or max((tiers[e] for e in elements), default=0) >= _tier_rank(when["min_tier"]),
        "minors" not in when or any(f["minors"] == "yes" for f in its_flows) == when["minors"],
    ]
    return all(checks)


def test_answers_name_an_existing_control_status_and_a_target_it_applies_to():
    controls = {c["id"]: c for c in _controls()}
    statuses = set(_yaml("policy/scales.yaml")["statuses"])
    bad = []
    for a in _rows("inventory/answers.csv"):
        control = controls.get(a["control_id"])
        if control is None or a["status"] not in statuses:
            bad.append((a["control_id"], a["target_id"], a["status"]))
        elif a["scope"] != control["applies_to"] or not _applies(control, a["target_id"]):
            bad.append((a["control_id"], a["scope"], a["target_id"]))
    assert not bad, f"answers for unknown controls or targets the control skips: {bad}"


# ----------------------------------------------------------------------------- planted gaps


def _meets_statute(request: dict[str, str]) -> bool:
    instrument, finding = request["instrument"], request["court_finding"]
    if instrument in _vocab("court_orders"):  # RSMo 182.817.1(2): an order with the finding
        return finding in _vocab("qualifying_findings")
    return instrument in _vocab("statute_instruments")  # 182.817.1(1): written consent


def test_disclosure_register_holds_a_release_that_fails_the_statute():
    released = [d for d in _rows("inventory/disclosures.csv")
                if d["decision"] in _vocab("releasing_decisions")]
    unlawful = [d["request_id"] for d in released if not _meets_statute(d)]
    lawful = [d["request_id"] for d in released if _meets_statute(d)]
    assert unlawful, "the sample must show a release without a statutory basis"
    assert lawful, "the sample must also show a lawful release, to contrast"


def test_sample_shows_unbound_vendors_and_a_prohibited_use_on_patron_data():
    systems = _rows("inventory/systems.csv")
    holding = [s for s in systems if s["external"] == "yes" and s["holds_library_records"] == "yes"]
    unbound = {s["system_id"]: (s["contract_binds_policy"], s["contract_binds_missouri_law"])
               for s in holding
               if s["contract_binds_policy"] != "yes" or s["contract_binds_missouri_law"] != "yes"}
    values = {v for pair in unbound.values() for v in pair}
    assert len(unbound) >= 2 and {"no", "unknown"} <= values, unbound
    tiers, prohibited = _element_tiers(), set(_vocab("prohibited_uses"))
    misused = [s["system_id"] for s in systems
               if prohibited & set(_split(s["uses"]))
               and any(tiers[e] >= 2 for f in _rows("inventory/flows.csv")
                       if f["system_id"] == s["system_id"] for e in _split(f["elements"]))]
    assert misused, "the sample must show a prohibited use on T2-T4 data"


def test_sample_is_labelled_illustrative():
    library = _yaml("inventory/library.yaml")
    assert library["illustrative"] is True
    assert "illustrative" in library["name"].lower()
    readme = (DATA / "inventory" / "README.md").read_text(encoding="utf-8")
    assert "ILLUSTRATIVE" in readme
    assert library["policy_id"] == _yaml("policy/policy.yaml")["id"]
