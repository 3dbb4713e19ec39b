"""Fact checks: controls computed from the inventory instead of asked in ``answers.csv``.

A small table of match functions in the style of fideslang's policy evaluation. The legal
checks (contract binding, prohibited use, disclosures, search cost) live in the gate module;
this table names them so the loader can validate ``derived_from`` against one list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lcopia.models import Flow, System, YesNo
from lcopia.scoring import gate
from lcopia.scoring.context import Context, Outcome


@dataclass(frozen=True)
class DerivedCheck:
    """A named fact check, the scope it runs on, and which inventory cells it reads."""

    applies_to: str
    check: Callable[[Context, Any], Outcome]
    explains: str


def privacy_policy_listed(ctx: Context, s: System) -> Outcome:
    """The vendor's privacy policy is linked and was reviewed in the last year."""
    if not s.privacy_policy_url:
        return Outcome(False, "no privacy-policy link recorded")
    if s.privacy_policy_reviewed is None:
        return Outcome(False, "privacy policy never reviewed")
    age = (ctx.as_of - s.privacy_policy_reviewed).days
    if age > 365:
        return Outcome(False, f"privacy policy last reviewed {s.privacy_policy_reviewed} "
                       f"({age} days ago)")
    return Outcome(True, f"privacy policy reviewed {s.privacy_policy_reviewed}")


def all_categories(ctx: Context, _: str) -> Outcome:
    """Every record category the policy names has at least one inventoried flow."""
    present = {f.category for f in ctx.flows}
    missing = [c.name for c in ctx.bundle.taxonomy.categories
               if c.named_in_policy and c.id not in present]
    if missing:
        return Outcome(False, "no flow inventoried for: " + "; ".join(missing))
    return Outcome(True, "every record category named by the policy has inventoried flows")


def statistics_non_identifying(ctx: Context, f: Flow) -> Outcome:
    """A statistics flow carries no identifier, by its declaration and by its export."""
    identifying = sorted(e for e in f.elements if ctx.tier_rank[ctx.element_tier[e]] >= 2)
    found = [i for i in ctx.evidence_issues.get(f.flow_id, [])
             if getattr(i, "control_hint", None) == "statistics_non_identifying"]
    if identifying:
        return Outcome(False, "declared non-identifying but carries "
                       + ", ".join(identifying), {"elements": identifying})
    if found:
        return Outcome(False, "the export checked for this flow shows: "
                       + "; ".join(i.detail for i in found),
                       {"evidence": sorted({i.kind for i in found})})
    return Outcome(True, "only statistics and quasi-identifiers; evidence checks passed"
                   if f.flow_id in ctx.evidence_issues else
                   "only statistics and quasi-identifiers (no export checked)")


def retention_within_need(ctx: Context, f: Flow) -> Outcome:
    """Records are kept no longer than the purpose needs, by the inventory and the export."""
    expired = [i for i in ctx.evidence_issues.get(f.flow_id, [])
               if getattr(i, "control_hint", None) == "retention_within_need"]
    if f.exceeds_need():
        kept = "kept indefinitely" if f.retention_days is None else\
            f"kept {f.retention_days} days"
        return Outcome(False, f"{kept}; needed {f.need_label}")
    if expired:
        return Outcome(False, "the export checked shows records older than the retention: "
                       + "; ".join(i.detail for i in expired))
    kept = "kept indefinitely" if f.retention_days is None else f"kept {f.retention_days} days"
    return Outcome(True, f"{kept}, within the need ({f.need_label})")


def encrypted(ctx: Context, f: Flow) -> Outcome:
    """The flow is encrypted in transit and at rest."""
    return Outcome(f.encrypted == YesNo.yes, f"encrypted in transit and at rest: "
                   f"{f.encrypted.value}")


DERIVED_CHECKS: dict[str, DerivedCheck] = {
    "contract_binding": DerivedCheck("system", gate.contract_binding,
                                     "systems.csv contract_binds_policy and _missouri_law"),
    "no_prohibited_use": DerivedCheck("system", gate.no_prohibited_use, "systems.csv uses"),
    "disclosures_lawful": DerivedCheck("library", gate.disclosures_lawful, "disclosures.csv"),
    "search_cost_billed": DerivedCheck("library", gate.search_cost_billed, "disclosures.csv"),
    "privacy_policy_listed": DerivedCheck("system", privacy_policy_listed,
                                          "systems.csv privacy_policy_url and _reviewed"),
    "all_categories_inventoried": DerivedCheck("library", all_categories, "flows.csv"),
    "statistics_non_identifying": DerivedCheck("flow", statistics_non_identifying,
                                               "flows.csv elements and evidence checks"),
    "retention_within_need": DerivedCheck("flow", retention_within_need,
                                          "flows.csv retention and evidence checks"),
    "encrypted": DerivedCheck("flow", encrypted, "flows.csv encrypted"),
}
