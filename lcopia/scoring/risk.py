"""Severity, likelihood and risk of one flow, from the numbers in ``scales.yaml``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lcopia.models import Flow, FlowScore, System, YesNo
from lcopia.scoring.context import UNKNOWN_OR_YES, Context, Evaluated


def band_for(risk: int, scales: Any) -> str:
    """The risk band label a score falls in (clamped to the scale's ends)."""
    for band in scales.risk_bands:
        if band.min <= risk <= band.max:
            return band.label
    return scales.risk_bands[-1].label if risk > scales.risk_bands[-1].max else \
        scales.risk_bands[0].label


def likelihood_level(points: float, scales: Any) -> int:
    """Exposure points to a 1-4 likelihood level."""
    for band in scales.likelihood_bands:
        if band.below is None or points < band.below:
            return band.level
    return scales.likelihood_bands[-1].level


def exposure_factors(flow: Flow, system: System, ctx: Context) -> list[str]:
    """Which likelihood factors a flow has; ``unknown`` counts as present."""
    prohibited = set(system.uses) & set(ctx.vocab.prohibited_uses)
    present = {
        "leaves_library": system.external or flow.direction in ("transmit", "disclose"),
        "onward_sharing": system.shares_with_third_parties in UNKNOWN_OR_YES or bool(prohibited),
        "retention_beyond_need": flow.exceeds_need(),
        "broad_access": flow.broad_access in UNKNOWN_OR_YES,
        "unencrypted": flow.encrypted != YesNo.yes,
        "patron_accounts": system.patron_accounts,
    }
    return [f.id for f in ctx.scales.likelihood_factors if present.get(f.id)]


def severity_of(flow: Flow, ctx: Context) -> tuple[str, int, list[str]]:
    """(tier, severity 1-4, reasons) of one flow."""
    scales = ctx.scales
    tier = ctx.flow_tier(flow)
    severity = scales.severity_by_tier[tier]
    reasons = [f"highest tier {tier}"]
    if flow.flow_id in ctx.found_in_evidence:
        reasons.append("the export checked also shows "
                       + ", ".join(ctx.found_in_evidence[flow.flow_id]))
    if flow.minors and scales.severity_modifiers.get("minors"):
        severity += scales.severity_modifiers["minors"]
        reasons.append("concerns minors")
    store = ctx.flows_by_system.get(flow.system_id, [flow])
    in_flow = bool(set(flow.elements) & ctx.direct) and bool(set(flow.elements) & ctx.activity)
    in_store = (any(set(f.elements) & ctx.direct for f in store)
                and any(set(f.elements) & ctx.activity for f in store)
                and bool(set(flow.elements) & (ctx.direct | ctx.activity)))
    if (in_flow or in_store) and scales.severity_modifiers.get("linked_identity_activity"):
        severity += scales.severity_modifiers["linked_identity_activity"]
        reasons.append("links identity with reading or searching "
                       + ("in this flow" if in_flow else "in the same system"))
    top = max(level.value for level in scales.severity)
    return tier, min(severity, top), reasons


def score_flow(flow: Flow, ctx: Context,
               index: dict[tuple[str, str], list[Evaluated]]) -> FlowScore:
    """Severity, exposure factors and the three risks of one flow."""
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

    def exposure(status_credit: Callable[[Evaluated], float]) -> float:
        """Base plus each present factor's points, less the credit of controls addressing it."""
        total = scales.likelihood_base
        for factor in factors:
            offset = sum(status_credit(e) for e in relevant if factor in e.control.mitigates)
            total += max(0.0, points[factor] - offset)
        return total

    lik = [likelihood_level(exposure(fn), scales) for fn in (
        lambda e: 0.0,
        lambda e: credit.get(e.status, 0.0),
        lambda e: 0.0 if e.status == "not_applicable" else max(credit.get(e.status, 0.0), best),
    )]
    risks = [severity * li for li in lik]
    return FlowScore(
        flow_id=flow.flow_id, system_id=flow.system_id, category=flow.category, tier=tier,
        severity=severity, severity_reasons=reasons, factors=factors,
        inherent_likelihood=lik[0], residual_likelihood=lik[1], planned_likelihood=lik[2],
        inherent_risk=risks[0], residual_risk=risks[1], planned_risk=risks[2],
        inherent_band=band_for(risks[0], scales), residual_band=band_for(risks[1], scales),
        planned_band=band_for(risks[2], scales))
