"""``assess``: one pure computation from a bundle (plus evidence and web captures) to results."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

from lcopia.models import (
    Assessment,
    Bundle,
    CategoryScore,
    ControlResult,
    Gate,
    SystemScore,
)
from lcopia.scoring import findings as fnd
from lcopia.scoring.actions import action_plan
from lcopia.scoring.context import SCHEMA_VERSION, Evaluated, build_context
from lcopia.scoring.controls import bearing_on, by_target, evaluate_controls
from lcopia.scoring.gate import evaluate_gate, review_disclosures
from lcopia.scoring.register import build_register
from lcopia.scoring.register import counts as register_counts
from lcopia.scoring.risk import band_for, score_flow
from lcopia.scoring.thirdparty import web_flows

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.evidence import EvidenceReport
    from lcopia.web import WebReport


def _rank(items: list[tuple[str, int]], worst: dict[str, int] | None = None
          ) -> dict[str, tuple[int, float]]:
    """Rank by the worst risk first (then by the total), and give each its share."""
    total = sum(v for _, v in items) or 1
    worst = worst or {}
    ordered = sorted(items, key=lambda kv: (-worst.get(kv[0], 0), -kv[1], kv[0]))
    return {k: (i + 1, round(100.0 * v / total, 1)) for i, (k, v) in enumerate(ordered)}


def assess(bundle: Bundle, as_of: dt.date, *, evidence: EvidenceReport | None = None,
           web: WebReport | None = None) -> Assessment:
    """Score the whole inventory as of ``as_of``; the same inputs give the same output."""
    systems = list(bundle.inventory.systems)
    flows = list(bundle.inventory.flows)
    web_only: set[str] = set()
    if web is not None:
        extra_systems, extra_flows = web_flows(web, systems)
        systems += extra_systems
        flows += extra_flows
        web_only = {s.system_id for s in extra_systems}
    ctx = build_context(bundle, as_of, flows, systems, evidence, web_only)
    scales = ctx.scales
    evaluated = evaluate_controls(ctx)
    index, index_all = bearing_on(evaluated), by_target(evaluated)
    flow_scores = {f.flow_id: score_flow(f, ctx, index, index_all)
                   for f in sorted(ctx.flows, key=lambda f: f.flow_id)}
    top_risk = max((s.residual_risk for s in flow_scores.values()), default=1)

    drafts = [*fnd.control_findings(ctx, evaluated, flow_scores),
              *fnd.counsel_findings(ctx, top_risk), *fnd.disclosure_findings(ctx, top_risk)]
    if evidence is not None:
        drafts += fnd.evidence_findings(ctx, evidence, flow_scores)
    if web is not None:
        drafts += fnd.web_findings(ctx, web, flow_scores)
    gate = evaluate_gate(ctx, evaluated, evidence, web)
    risks, findings, gate = build_register(ctx, evaluated, flow_scores, drafts, gate, web,
                                           evidence)
    violations = gate.violations

    sys_totals = [(sid, sum(flow_scores[f.flow_id].residual_risk
                            for f in ctx.flows_by_system.get(sid, [])))
                  for sid in sorted(ctx.systems)]
    sys_rank = _rank(sys_totals, {sid: max((flow_scores[f.flow_id].residual_risk
                                           for f in ctx.flows_by_system.get(sid, [])),
                                          default=0) for sid, _ in sys_totals})
    failing_systems = {v.system_id for v in violations if v.system_id}
    by_system: dict[str, list[Evaluated]] = defaultdict(list)
    for e in evaluated:
        if e.control.applies_to == "system":
            by_system[e.target_id].append(e)
        elif e.control.applies_to == "flow":
            by_system[e.target.system_id].append(e)
    system_scores = []
    for sid, total in sys_totals:
        s = ctx.systems[sid]
        fl = [flow_scores[f.flow_id] for f in ctx.flows_by_system.get(sid, [])]
        mine = by_system.get(sid, [])
        residual = max((f.residual_risk for f in fl), default=0)
        system_scores.append(SystemScore(
            system_id=sid, name=s.name, vendor=s.vendor, kind=s.kind, flows=len(fl),
            tier=ctx.system_tier(sid),
            inherent_risk=max((f.inherent_risk for f in fl), default=0),
            residual_risk=residual, planned_risk=max((f.planned_risk for f in fl), default=0),
            residual_band=band_for(residual, scales) if fl else "None",
            residual_total=total, share=sys_rank[sid][1], rank=sys_rank[sid][0],
            controls_met=sum(e.status in ("implemented", "not_applicable") for e in mine),
            controls_gap=sum(e.status in scales.gap_statuses for e in mine),
            gate="FAIL" if sid in failing_systems else "PASS"))
    system_scores.sort(key=lambda s: (s.rank, s.system_id))

    names = {c.id: c.name for c in bundle.taxonomy.categories}
    cat_totals = [(c.id, sum(fs.residual_risk for fs in flow_scores.values()
                             if fs.category == c.id)) for c in bundle.taxonomy.categories]
    cat_rank = _rank(cat_totals)
    category_scores = sorted(
        (CategoryScore(category=cid, name=names[cid],
                       flows=sum(fs.category == cid for fs in flow_scores.values()),
                       residual_total=total, share=cat_rank[cid][1], rank=cat_rank[cid][0])
         for cid, total in cat_totals), key=lambda c: c.rank)

    controls = [ControlResult(
        control_id=e.control.id, scope=e.control.applies_to, target_id=e.target_id,
        status=e.status, gap=e.status in scales.gap_statuses, answered=e.answer is not None,
        evidence=e.outcome.evidence if e.outcome else (e.answer.evidence if e.answer else ""),
        owner=e.answer.owner if e.answer else "") for e in evaluated]
    bands = [b.label for b in scales.risk_bands]
    counts = {f"flows_{b.lower()}": sum(fs.residual_band == b for fs in flow_scores.values())
              for b in bands}
    counts.update({
        "systems": len(system_scores), "flows": len(flow_scores), "findings": len(findings),
        "gate_violations": len(violations),
        "findings_critical": sum(f.band == "Critical" for f in findings),
        "findings_high": sum(f.band == "High" for f in findings),
        "controls_evaluated": len(controls),
        "controls_unknown": sum(c.status == "unknown" for c in controls),
        "controls_gap": sum(c.gap for c in controls),
        "policy_gaps": sum(f.kind == "policy_gap" for f in findings),
        "systems_inventoried": len(bundle.inventory.systems),
        "systems_external": sum(s.external for s in bundle.inventory.systems),
        "web_parties": len(ctx.web_only),
        **register_counts(risks, gate, scales),
    })
    return Assessment(
        schema_version=SCHEMA_VERSION, as_of=as_of, library=bundle.inventory.library.name,
        illustrative=bundle.inventory.library.illustrative, policy_id=bundle.policy.id,
        policy_version=bundle.policy.version, inputs=dict(sorted(bundle.files.items())),
        posture=posture(gate, counts), counts=dict(sorted(counts.items())), gate=gate,
        risks=risks, flows=list(flow_scores.values()), systems=system_scores,
        categories=category_scores, controls=controls, findings=findings,
        actions=action_plan(risks),
        disclosures=review_disclosures(ctx))


def posture(gate: Gate, counts: dict[str, int]) -> str:
    """One plain sentence for the Board's first page: the gate, then the register."""
    n = counts.get("risks", 0)
    crit, high = counts.get("risks_critical", 0), counts.get("risks_high", 0)
    risk = (f"{n} risk{'s' if n != 1 else ''} in the register, {crit} critical and {high} "
            "high")
    if gate.result == "FAIL":
        kinds = [(counts.get(f"gate_{k}", 0), k) for k in ("statute", "policy", "practice")]
        parts = ", ".join(f"{c} {k}" for c, k in kinds if c)
        v = len(gate.violations)
        return (f"Not compliant: {v} gate finding{'s' if v != 1 else ''} ({parts}) to correct "
                f"or refer to counsel; {risk}.")
    if crit or high:
        return f"Compliant with the hard rules, but {risk} need action."
    return f"Compliant with the hard rules; {risk}: remaining risks are moderate or low."
