"""Severity, likelihood and risk of one flow, from the numbers in ``scales.yaml``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lcopia.models import Flow, FlowScore, System, YesNo
from lcopia.scoring.context import UNKNOWN_OR_YES, Context, Evaluated


def band_for(risk: int, scales: Any) -> str:
    """The risk band label a score falls in (clamped to the scale's ends)."""
    for band in scales.risk_bands:
        if band.min <= risk <= band.max:
            return band.label
    return scales.risk_bands[-1].label if risk > scales.risk_bands[-1].max else\
        scales.risk_bands[0].label


def likelihood_level(points: float, scales: Any) -> int:
    """Exposure points to a 1-4 likelihood level."""
    for band in scales.likelihood_bands:
        if band.below is None or points < band.below:
            return band.level
    return scales.likelihood_bands[-1].level


def is_paper(system: System, ctx: Context) -> bool:
    """Paper has its own exposure (rubric L5): reach, not encryption."""
    return system.kind in ctx.scales.risk_register.paper_kinds


def exposure_factors(flow: Flow, system: System, ctx: Context) -> list[str]:
    """Which likelihood factors a flow has; ``unknown`` counts as present."""
    reg = ctx.scales.risk_register
    prohibited = set(system.uses) & set(ctx.vocab.prohibited_uses)
    paper = is_paper(system, ctx)
    storage = set(_words(flow.storage))
    present = {
        "leaves_library": system.external or flow.direction in ("transmit", "disclose"),
        "onward_sharing": system.shares_with_third_parties in UNKNOWN_OR_YES or bool(prohibited),
        "retention_beyond_need": flow.exceeds_need(),
        "broad_access": flow.broad_access in UNKNOWN_OR_YES,
        "unencrypted": not paper and flow.encrypted != YesNo.yes,
        "unsecured_paper": paper and not storage & set(reg.paper_secure_words),
        "patron_accounts": system.patron_accounts,
    }
    return [f.id for f in ctx.scales.likelihood_factors if present.get(f.id)]


def documented_factors(flow: Flow, system: System, ctx: Context) -> set[str]:
    """Factors the inventory states as fact (not ``unknown``): documented failures (L2)."""
    prohibited = set(system.uses) & set(ctx.vocab.prohibited_uses)
    found = set(exposure_factors(flow, system, ctx))
    if flow.broad_access != YesNo.yes:
        found.discard("broad_access")
    if system.shares_with_third_parties != YesNo.yes and not prohibited:
        found.discard("onward_sharing")
    if flow.encrypted != YesNo.no:
        found.discard("unencrypted")
    return found


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def about_children(flow: Flow, ctx: Context) -> bool:
    """S5: the flow is about or directed to children, not merely open to minors."""
    reg = ctx.scales.risk_register
    if not flow.minors:
        return False
    audience = getattr(flow, "audience", None)
    if audience is not None:
        return str(audience) == "children"
    words = set(_words(f"{flow.purpose} {flow.recipient}"))
    return bool(words & set(reg.children_words) or set(flow.elements) & set(reg.children_elements))


def linked_identity_activity(flow: Flow, ctx: Context) -> str | None:
    """S6: identity and reading in the same records, or joined by a key in one system."""
    mine = set(flow.elements)
    if mine & ctx.direct and mine & ctx.activity:
        return "in this flow"
    system = ctx.systems[flow.system_id]
    if is_paper(system, ctx):
        return None  # forms in one cabinet are not joined by a key
    keys = mine & set(ctx.scales.risk_register.linking_keys)
    need = ctx.activity if mine & ctx.direct else ctx.direct if mine & ctx.activity else set()
    for other in sorted(ctx.flows_by_system.get(flow.system_id, []), key=lambda f: f.flow_id):
        if other.flow_id != flow.flow_id and keys & set(other.elements) and need & set(
                other.elements):
            return "joined by " + ", ".join(sorted(keys & set(other.elements)))\
                + " in the same system"
    return None


def severity_of(flow: Flow, ctx: Context) -> tuple[str, int, list[str]]:
    """(tier, severity 1-4, reasons) of one flow."""
    scales = ctx.scales
    tier = ctx.flow_tier(flow)
    severity = scales.severity_by_tier[tier]
    reasons = [f"highest tier {tier}"]
    if flow.flow_id in ctx.found_in_evidence:
        reasons.append("the export checked also shows "
                       + ", ".join(ctx.found_in_evidence[flow.flow_id]))
    if about_children(flow, ctx) and scales.severity_modifiers.get("minors"):
        severity += scales.severity_modifiers["minors"]
        reasons.append("about or for children")
    linked = linked_identity_activity(flow, ctx)
    if linked and scales.severity_modifiers.get("linked_identity_activity"):
        severity += scales.severity_modifiers["linked_identity_activity"]
        reasons.append(f"links identity with reading or searching {linked}")
    top = max(level.value for level in scales.severity)
    return tier, min(severity, top), reasons


def relevant_all(flow: Flow, index_all: dict[tuple[str, str], list[Evaluated]]
                 ) -> list[Evaluated]:
    """Every evaluation on this flow (fact checks included), for the planned score."""
    return index_all.get(("flow", flow.flow_id), [])


def score_flow(flow: Flow, ctx: Context, index: dict[tuple[str, str], list[Evaluated]],
               index_all: dict[tuple[str, str], list[Evaluated]] | None = None) -> FlowScore:
    """Severity, exposure factors and the three risks of one flow."""
    index_all = index_all or {}
    scales = ctx.scales
    system = ctx.systems[flow.system_id]
    tier, severity, reasons = severity_of(flow, ctx)
    factors = exposure_factors(flow, system, ctx)
    points = {f.id: f.points for f in scales.likelihood_factors}
    credit = scales.control_credit
    best = max(credit.values(), default=0.0)
    relevant = [*index.get(("library", "library"), []),
                *index.get(("system", flow.system_id), []),
                *index.get(("flow", flow.flow_id), [])]

    fixes = scales.risk_register.derived_fixes
    # The plan fixes failing fact checks too (retention, encryption): their factor goes.
    fixed = {fixes[e.control.derived_from] for e in relevant_all(flow, index_all)
             if e.control.derived_from in fixes and e.status != "implemented"}

    def exposure(status_credit: Callable[[Evaluated], float], drop: set[str]) -> float:
        """Base plus each present factor's points, less the credit of controls addressing it."""
        total = scales.likelihood_base
        for factor in factors:
            if factor in drop:
                continue
            offset = sum(status_credit(e) for e in relevant if factor in e.control.mitigates)
            total += max(0.0, points[factor] - offset)
        return total

    lik = [likelihood_level(exposure(fn, drop), scales) for fn, drop in (
        (lambda e: 0.0, set()),
        (lambda e: credit.get(e.status, 0.0), set()),
        (lambda e: 0.0 if e.status == "not_applicable" else max(credit.get(e.status, 0.0), best),
         fixed),
    )]
    risks = [severity * li for li in lik]
    return FlowScore(
        flow_id=flow.flow_id, system_id=flow.system_id, category=flow.category, tier=tier,
        severity=severity, severity_reasons=reasons, factors=factors,
        inherent_likelihood=lik[0], residual_likelihood=lik[1], planned_likelihood=lik[2],
        inherent_risk=risks[0], residual_risk=risks[1], planned_risk=risks[2],
        inherent_band=band_for(risks[0], scales), residual_band=band_for(risks[1], scales),
        planned_band=band_for(risks[2], scales))
