"""The compliance gate: every legal rule in one place, apart from the risk score.

The gate reads hard-gate controls (contract binding, prohibited use, lawful disclosures),
observed disclosures in the evidence and web issues, and merges them to one violation per rule
and system. Its wording is the policy's and the statute's; the risk register only links to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lcopia.models import (
    Disclosure,
    DisclosureReview,
    Flow,
    Gate,
    GateViolation,
    System,
    YesNo,
)
from lcopia.scoring.context import Context, Evaluated, Outcome, flow_leaves, subject_of

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.evidence import EvidenceIssue, EvidenceReport
    from lcopia.web import WebIssue, WebReport


# ----------------------------------------------------------------------------- fact checks


def contract_binding(ctx: Context, s: System) -> Outcome:
    """A contracted system holding library records is bound to the policy and Missouri law."""
    policy, law = s.contract_binds_policy.value, s.contract_binds_missouri_law.value
    ok = policy == "yes" and law == "yes"
    ref = f"contract {s.contract_ref}" if s.contract_ref else "no contract on file"
    cats = sorted({f.category for f in ctx.flows_by_system.get(s.system_id, [])})
    return Outcome(ok, f"{ref}; binds the policy: {policy}; binds Missouri law: {law}",
                   {} if ok else {"contract_binds_policy": [policy],
                                  "contract_binds_missouri_law": [law], "categories": cats})


def no_prohibited_use(ctx: Context, s: System) -> Outcome:
    """No sale, advertising, profiling or AI training on identifying data."""
    bad = sorted(set(s.uses) & set(ctx.vocab.prohibited_uses))
    tier = ctx.system_tier(s.system_id)
    sensitive = ctx.tier_rank[tier] >= 2
    if bad and sensitive:
        return Outcome(False, f"uses include {', '.join(bad)} on {tier} data",
                       {"uses": bad, "tier": [tier]})
    return Outcome(True, "no sale, advertising, profiling or AI training on identifying data"
                   if not bad else f"{', '.join(bad)} only on non-identifying data")


def disclosure_meets_statute(d: Disclosure, vocab: Any) -> tuple[bool, bool, str]:
    """(meets RSMo 182.817, meets the policy's wording, reason) for one request."""
    by_order = d.instrument in vocab.court_orders
    finding = d.court_finding in vocab.qualifying_findings
    consent = d.instrument in vocab.statute_instruments and not by_order
    meets_statute = consent or (by_order and finding)
    meets_policy = by_order  # the policy's test: an order after a showing of good cause
    if consent:
        reason = "patron's written request (182.817.1(1))"
    elif by_order and finding:
        reason = f"court order with the statutory finding ({d.court_finding.replace('_', ' ')})"
    elif by_order:
        reason = ("court order without a finding that disclosure is necessary to protect "
                  "public safety or prosecute a crime")
    else:
        reason = f"{d.instrument.replace('_', ' ')} is not a route the statute allows"
    return meets_statute, meets_policy, reason


def releases_outside_statute(ctx: Context) -> list[tuple[Disclosure, str]]:
    """Requests in the register that were released without meeting RSMo 182.817.1."""
    releasing = set(ctx.vocab.releasing_decisions)
    bad = []
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: d.request_id):
        ok, _policy, reason = disclosure_meets_statute(d, ctx.vocab)
        if d.decision in releasing and not ok:
            bad.append((d, reason))
    return bad


def weak_on_statute(ctx: Context) -> list[str]:
    """Requests that meet the policy's wording but not the statute (a counsel question)."""
    return sorted(d.request_id for d in ctx.bundle.inventory.disclosures
                  if disclosure_meets_statute(d, ctx.vocab)[1]
                  and not disclosure_meets_statute(d, ctx.vocab)[0])


def disclosures_lawful(ctx: Context, _: str) -> Outcome:
    """Every release in the register meets RSMo 182.817.1."""
    bad = releases_outside_statute(ctx)
    if not bad:
        return Outcome(True, "every release in the register meets RSMo 182.817.1")
    return Outcome(False, "; ".join(f"{d.request_id} released on {reason}" for d, reason in bad),
                   {"requests": [d.request_id for d, _ in bad],
                    "instruments": sorted({d.instrument for d, _ in bad})},
                   tuple(d.request_id for d, _ in bad))


def search_cost_billed(ctx: Context, _: str) -> Outcome:
    """Search costs recorded in the register were charged to the requester."""
    unbilled = sorted(d.request_id for d in ctx.bundle.inventory.disclosures
                      if d.search_cost > 0 and d.cost_billed != YesNo.yes)
    if unbilled:
        return Outcome(False, "search cost not billed to the requester: " + ", ".join(unbilled),
                       {"requests": unbilled})
    return Outcome(True, "every recorded search cost was billed to the requester")


def review_disclosures(ctx: Context) -> list[DisclosureReview]:
    """Each request in the register, judged against the statute and the policy's wording."""
    out = []
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: (d.received, d.request_id)):
        statute, policy, reason = disclosure_meets_statute(d, ctx.vocab)
        out.append(DisclosureReview(
            request_id=d.request_id, received=d.received, requester_type=d.requester_type,
            instrument=d.instrument, decision=d.decision, meets_statute=statute,
            meets_policy=policy, reason=reason, search_cost=d.search_cost,
            cost_billed=d.cost_billed.value))
    return out


# ----------------------------------------------------------------------------- evidence and web


def evidence_breaks_gate(issue: EvidenceIssue, flow: Flow | None, ctx: Context) -> bool:
    """An identifier seen in an export that leaves the library is an observed disclosure."""
    return bool(issue.hard and flow_leaves(flow, ctx))


EVIDENCE_RULE = "disclosure_route"


def web_rule(issue: WebIssue) -> str:
    """A pixel is advertising use of website-use records; search terms or account pages
    sent to a third party are a disclosure outside the statute's two routes."""
    return ("prohibited_use" if issue.kind in ("advertising_pixel", "social_pixel")
            else "disclosure_route")


def web_control(ctx: Context) -> Any:
    """The control that web issues are judged under (third parties on library pages)."""
    role = ctx.bundle.policy.roles.get("web_tracking_control")
    return next((c for c in ctx.bundle.policy.controls if c.id == role), None)


# ----------------------------------------------------------------------------- the gate


def _control_violations(ctx: Context, evaluated: list[Evaluated]) -> list[GateViolation]:
    gap = set(ctx.scales.gap_statuses)
    out = []
    for e in evaluated:
        c = e.control
        if e.status not in gap or not (c.hard_gate and c.gate_rule):
            continue
        if c.applies_to == "flow":
            system_id, flow_id = e.target.system_id, e.target_id
        elif c.applies_to == "system":
            system_id, flow_id = e.target_id, None
        else:
            system_id, flow_id = None, None
        subject = subject_of(e.target, ctx)
        subjects = e.outcome.subjects if e.outcome and e.outcome.subjects else (subject,)
        for subj in subjects:
            out.append(GateViolation(
                rule=c.gate_rule, statement=ctx.bundle.policy.gate_rules[c.gate_rule],
                subject=subj, system_id=system_id, flow_id=flow_id, control_id=c.id,
                violating_attributes=e.outcome.attributes if e.outcome else
                {"status": [e.status]}))
    return out


def _evidence_violations(ctx: Context, evidence: EvidenceReport) -> list[GateViolation]:
    controls = {c.derived_from: c for c in ctx.bundle.policy.controls if c.derived_from}
    flows = {f.flow_id: f for f in ctx.flows}
    out = []
    for scan in sorted(evidence.files, key=lambda s: s.file):
        for issue in scan.issues:
            flow = flows.get(scan.flow_id) if scan.flow_id else None
            if not evidence_breaks_gate(issue, flow, ctx):
                continue
            control = controls.get(issue.control_hint)
            out.append(GateViolation(
                rule=EVIDENCE_RULE, statement=ctx.bundle.policy.gate_rules[EVIDENCE_RULE],
                subject=subject_of(flow, ctx) if flow else scan.file,
                system_id=flow.system_id if flow else None, flow_id=scan.flow_id,
                control_id=control.id if control else None,
                violating_attributes={"evidence": [issue.kind], "file": [scan.file]}))
    return out


def _web_violations(ctx: Context, web: WebReport) -> list[GateViolation]:
    control = web_control(ctx)
    flows = {f.flow_id: f for f in ctx.flows}
    out = []
    for issue in sorted(web.issues, key=lambda i: (i.kind, i.domain, i.page_type)):
        if not issue.hard:
            continue
        fid = f"WEB-{issue.domain}"
        flow = flows.get(fid)
        rule = web_rule(issue)
        out.append(GateViolation(
            rule=rule, statement=ctx.bundle.policy.gate_rules[rule],
            subject=f"{issue.organisation or issue.domain} on library web pages",
            system_id=flow.system_id if flow else None, flow_id=fid if flow else None,
            control_id=control.id if control else None,
            violating_attributes={"web": [issue.kind], "domain": [issue.domain]}))
    return out


def merge_violations(found: list[GateViolation]) -> list[GateViolation]:
    """One violation per rule and system (or subject), its attributes merged."""
    merged: dict[tuple[str, str], GateViolation] = {}
    for v in sorted(found, key=lambda v: (v.rule, v.subject, v.control_id or "",
                                          v.flow_id or "")):
        key = (v.rule, v.system_id or v.subject)
        if key not in merged:
            merged[key] = v
            continue
        attrs = {k: list(vals) for k, vals in merged[key].violating_attributes.items()}
        for k, vals in v.violating_attributes.items():
            attrs[k] = sorted(set(attrs.get(k, [])) | set(vals))
        merged[key] = merged[key].model_copy(update={"violating_attributes": attrs})
    return sorted(merged.values(), key=lambda v: (v.rule, v.subject))


def evaluate_gate(ctx: Context, evaluated: list[Evaluated], evidence: EvidenceReport | None,
                  web: WebReport | None) -> Gate:
    """PASS or FAIL on the hard rules, one violation per rule and system."""
    found = _control_violations(ctx, evaluated)
    if evidence is not None:
        found += _evidence_violations(ctx, evidence)
    if web is not None:
        found += _web_violations(ctx, web)
    violations = merge_violations(found)
    return Gate(result="FAIL" if violations else "PASS", violations=violations)
