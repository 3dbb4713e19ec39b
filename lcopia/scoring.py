"""Score every flow and system against the policy's controls: pure functions, no I/O, no clock.

Method (numbers all come from ``data/policy/scales.yaml``):

* severity 1-4 from the highest tier of a flow's data elements, raised for minors and for a
  direct identifier held with intellectual activity in one flow or system;
* likelihood 1-4 from exposure factors, less a credit per mitigating control by its answer's
  status (``unknown`` earns nothing: a gap is never a pass);
* risk = severity × likelihood, banded three times: inherent (no controls), residual
  (controls as answered) and planned (every action in the plan done);
* a PASS/FAIL compliance gate of hard rules, independent of the score.

Fact checks (``derived_from`` in a control) are a small table of match functions in the
style of fideslang's policy evaluation: they read the inventory instead of an answer.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lcopia.models import (
    ActionItem,
    Answer,
    Assessment,
    Bundle,
    CategoryScore,
    Control,
    ControlResult,
    Disclosure,
    DisclosureReview,
    Finding,
    Flow,
    FlowScore,
    Gate,
    GateViolation,
    System,
    SystemScore,
    YesNo,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.evidence import EvidenceReport
    from lcopia.web import WebReport

SCHEMA_VERSION = "1.0.0"
_UNKNOWN_OR_YES = (YesNo.yes, YesNo.unknown)


# ----------------------------------------------------------------------------- context


@dataclass
class Context:
    """What the match functions may read: the bundle plus indexes built once."""

    bundle: Bundle
    as_of: dt.date
    systems: dict[str, System]
    flows: list[Flow]
    flows_by_system: dict[str, list[Flow]]
    tier_rank: dict[str, int]
    element_tier: dict[str, str]
    direct: set[str]
    activity: set[str]
    evidence_issues: dict[str, list[Any]] = field(default_factory=dict)
    found_in_evidence: dict[str, list[str]] = field(default_factory=dict)

    @property
    def scales(self) -> Any:
        return self.bundle.policy.scales

    @property
    def vocab(self) -> Any:
        return self.bundle.taxonomy.vocabularies

    def flow_tier(self, flow: Flow) -> str:
        return max((self.element_tier[e] for e in flow.elements),
                   key=lambda t: self.tier_rank[t], default=self.lowest_tier)

    def system_tier(self, system_id: str) -> str:
        return max((self.flow_tier(f) for f in self.flows_by_system.get(system_id, [])),
                   key=lambda t: self.tier_rank[t], default=self.lowest_tier)

    @property
    def lowest_tier(self) -> str:
        return min(self.tier_rank, key=lambda t: self.tier_rank[t])


def evidence_elements(evidence: EvidenceReport | None, bundle: Bundle) -> dict[str, list[str]]:
    """Elements an export shows for its flow (by ``detected_as``), beyond what is declared."""
    if evidence is None:
        return {}
    by_kind: dict[str, str] = {}
    for element in sorted(bundle.taxonomy.elements, key=lambda e: e.id):
        for kind in element.detected_as:
            by_kind.setdefault(kind, element.id)
    declared = {f.flow_id: set(f.elements) for f in bundle.inventory.flows}
    found: dict[str, set[str]] = defaultdict(set)
    for scan in evidence.files:
        if not scan.flow_id or scan.flow_id not in declared:
            continue
        for col in scan.columns:
            element = by_kind.get(col.kind)
            if element and col.identifying and element not in declared[scan.flow_id]:
                found[scan.flow_id].add(element)
    return {fid: sorted(els) for fid, els in sorted(found.items())}


def _context(bundle: Bundle, as_of: dt.date, flows: list[Flow], systems: list[System],
             evidence: EvidenceReport | None) -> Context:
    tax = bundle.taxonomy
    found = evidence_elements(evidence, bundle)
    flows = [f.model_copy(update={"elements": [*f.elements, *found[f.flow_id]]})
             if f.flow_id in found else f for f in flows]
    by_system: dict[str, list[Flow]] = defaultdict(list)
    for f in flows:
        by_system[f.system_id].append(f)
    issues: dict[str, list[Any]] = defaultdict(list)
    if evidence is not None:
        for scan in evidence.files:
            if scan.flow_id:
                issues[scan.flow_id].extend(scan.issues)
    return Context(
        bundle=bundle, as_of=as_of, systems={s.system_id: s for s in systems}, flows=flows,
        flows_by_system=dict(by_system),
        tier_rank={t.id: t.rank for t in bundle.policy.scales.tiers},
        element_tier={e.id: e.tier for e in tax.elements},
        direct={e.id for e in tax.elements if e.direct_identifier},
        activity={e.id for e in tax.elements if e.intellectual_activity},
        evidence_issues=dict(issues), found_in_evidence=found)


# ----------------------------------------------------------------------------- fact checks


@dataclass(frozen=True)
class Outcome:
    """A fact check's verdict: passed, why, and what broke (for the gate's attributes)."""

    passed: bool
    evidence: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class DerivedCheck:
    applies_to: str
    check: Callable[[Context, Any], Outcome]
    explains: str


def _contract_binding(ctx: Context, s: System) -> Outcome:
    policy, law = s.contract_binds_policy.value, s.contract_binds_missouri_law.value
    ok = policy == "yes" and law == "yes"
    ref = f"contract {s.contract_ref}" if s.contract_ref else "no contract on file"
    cats = sorted({f.category for f in ctx.flows_by_system.get(s.system_id, [])})
    return Outcome(ok, f"{ref}; binds the policy: {policy}; binds Missouri law: {law}",
                   {} if ok else {"contract_binds_policy": [policy],
                                  "contract_binds_missouri_law": [law], "categories": cats})


def _no_prohibited_use(ctx: Context, s: System) -> Outcome:
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


def _disclosures_lawful(ctx: Context, _: str) -> Outcome:
    releasing = set(ctx.vocab.releasing_decisions)
    bad = []
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: d.request_id):
        ok, _policy, reason = disclosure_meets_statute(d, ctx.vocab)
        if d.decision in releasing and not ok:
            bad.append((d, reason))
    if not bad:
        return Outcome(True, "every release in the register meets RSMo 182.817.1")
    return Outcome(False, "; ".join(f"{d.request_id} released on {reason}" for d, reason in bad),
                   {"requests": [d.request_id for d, _ in bad],
                    "instruments": sorted({d.instrument for d, _ in bad})},
                   tuple(d.request_id for d, _ in bad))


def _search_cost_billed(ctx: Context, _: str) -> Outcome:
    unbilled = sorted(d.request_id for d in ctx.bundle.inventory.disclosures
                      if d.search_cost > 0 and d.cost_billed != YesNo.yes)
    if unbilled:
        return Outcome(False, "search cost not billed to the requester: " + ", ".join(unbilled),
                       {"requests": unbilled})
    return Outcome(True, "every recorded search cost was billed to the requester")


def _privacy_policy_listed(ctx: Context, s: System) -> Outcome:
    if not s.privacy_policy_url:
        return Outcome(False, "no privacy-policy link recorded")
    if s.privacy_policy_reviewed is None:
        return Outcome(False, "privacy policy never reviewed")
    age = (ctx.as_of - s.privacy_policy_reviewed).days
    if age > 365:
        return Outcome(False, f"privacy policy last reviewed {s.privacy_policy_reviewed} "
                       f"({age} days ago)")
    return Outcome(True, f"privacy policy reviewed {s.privacy_policy_reviewed}")


def _all_categories(ctx: Context, _: str) -> Outcome:
    present = {f.category for f in ctx.flows}
    missing = [c.name for c in ctx.bundle.taxonomy.categories if c.id not in present]
    if missing:
        return Outcome(False, "no flow inventoried for: " + "; ".join(missing))
    return Outcome(True, "every record category named by the policy has inventoried flows")


def _statistics_non_identifying(ctx: Context, f: Flow) -> Outcome:
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


def _retention_within_need(ctx: Context, f: Flow) -> Outcome:
    expired = [i for i in ctx.evidence_issues.get(f.flow_id, [])
               if getattr(i, "control_hint", None) == "retention_within_need"]
    if f.retention_days is None:
        return Outcome(False, f"kept indefinitely; needed for {f.retention_need_days} days")
    if f.retention_days > f.retention_need_days:
        return Outcome(False, f"kept {f.retention_days} days; needed for "
                       f"{f.retention_need_days} days")
    if expired:
        return Outcome(False, "the export checked shows records older than the retention: "
                       + "; ".join(i.detail for i in expired))
    return Outcome(True, f"kept {f.retention_days} days, within the {f.retention_need_days} "
                   "needed")


def _encrypted(ctx: Context, f: Flow) -> Outcome:
    return Outcome(f.encrypted == YesNo.yes, f"encrypted in transit and at rest: "
                   f"{f.encrypted.value}")


DERIVED_CHECKS: dict[str, DerivedCheck] = {
    "contract_binding": DerivedCheck("system", _contract_binding,
                                     "systems.csv contract_binds_policy and _missouri_law"),
    "no_prohibited_use": DerivedCheck("system", _no_prohibited_use, "systems.csv uses"),
    "disclosures_lawful": DerivedCheck("library", _disclosures_lawful, "disclosures.csv"),
    "search_cost_billed": DerivedCheck("library", _search_cost_billed, "disclosures.csv"),
    "privacy_policy_listed": DerivedCheck("system", _privacy_policy_listed,
                                          "systems.csv privacy_policy_url and _reviewed"),
    "all_categories_inventoried": DerivedCheck("library", _all_categories, "flows.csv"),
    "statistics_non_identifying": DerivedCheck("flow", _statistics_non_identifying,
                                               "flows.csv elements and evidence checks"),
    "retention_within_need": DerivedCheck("flow", _retention_within_need,
                                          "flows.csv retention and evidence checks"),
    "encrypted": DerivedCheck("flow", _encrypted, "flows.csv encrypted"),
}


# ----------------------------------------------------------------------------- applicability


def _applies(control: Control, ctx: Context, target: Any) -> bool:
    """The fideslang-style match: every condition given in ``when`` must hold."""
    w = control.when
    if control.applies_to == "library":
        return True
    if control.applies_to == "flow":
        flow: Flow = target
        system = ctx.systems[flow.system_id]
        flows = [flow]
        tier = ctx.flow_tier(flow)
    else:
        system = target
        flows = ctx.flows_by_system.get(system.system_id, [])
        tier = ctx.system_tier(system.system_id)
    checks = [
        w.external is None or system.external == w.external,
        w.holds_library_records is None or system.holds_library_records == w.holds_library_records,
        w.kinds is None or system.kind in w.kinds,
        w.categories is None or any(f.category in w.categories for f in flows),
        w.elements_any is None or any(e in w.elements_any for f in flows for e in f.elements),
        w.min_tier is None or ctx.tier_rank[tier] >= ctx.tier_rank[w.min_tier],
        w.minors is None or any(f.minors for f in flows) == w.minors,
        w.is_library_record is None
        or any(f.is_library_record for f in flows) == w.is_library_record,
    ]
    return all(checks)


def _targets(control: Control, ctx: Context) -> list[tuple[str, Any]]:
    if control.applies_to == "library":
        return [("library", "library")]
    if control.applies_to == "system":
        items = [(s.system_id, s) for s in sorted(ctx.systems.values(), key=lambda s: s.system_id)]
    else:
        items = [(f.flow_id, f) for f in sorted(ctx.flows, key=lambda f: f.flow_id)]
    return [(i, t) for i, t in items if _applies(control, ctx, t)]


@dataclass(frozen=True)
class Evaluated:
    control: Control
    target_id: str
    target: Any
    status: str
    outcome: Outcome | None
    answer: Answer | None


def evaluate_controls(ctx: Context) -> list[Evaluated]:
    """Every control against every target it applies to, answered, derived or unknown."""
    answers = {(a.control_id, a.scope, a.target_id): a for a in ctx.bundle.inventory.answers}
    out = []
    for control in sorted(ctx.bundle.policy.controls, key=lambda c: c.id):
        for target_id, target in _targets(control, ctx):
            if control.derived_from:
                outcome = DERIVED_CHECKS[control.derived_from].check(ctx, target)
                status = "implemented" if outcome.passed else "not_implemented"
                out.append(Evaluated(control, target_id, target, status, outcome, None))
            else:
                answer = answers.get((control.id, control.applies_to, target_id))
                status = answer.status if answer else "unknown"
                out.append(Evaluated(control, target_id, target, status, None, answer))
    return out


# ----------------------------------------------------------------------------- risk


def band_for(risk: int, scales: Any) -> str:
    for band in scales.risk_bands:
        if band.min <= risk <= band.max:
            return band.label
    return scales.risk_bands[-1].label if risk > scales.risk_bands[-1].max else \
        scales.risk_bands[0].label


def likelihood_level(points: float, scales: Any) -> int:
    for band in scales.likelihood_bands:
        if band.below is None or points < band.below:
            return band.level
    return scales.likelihood_bands[-1].level


def exposure_factors(flow: Flow, system: System, ctx: Context) -> list[str]:
    """Which likelihood factors a flow has; ``unknown`` counts as present."""
    prohibited = set(system.uses) & set(ctx.vocab.prohibited_uses)
    present = {
        "leaves_library": system.external or flow.direction in ("transmit", "disclose"),
        "onward_sharing": system.shares_with_third_parties in _UNKNOWN_OR_YES or bool(prohibited),
        "retention_beyond_need": flow.retention_days is None
        or flow.retention_days > flow.retention_need_days,
        "broad_access": flow.broad_access in _UNKNOWN_OR_YES,
        "unencrypted": flow.encrypted != YesNo.yes,
        "patron_accounts": system.patron_accounts,
    }
    return [f.id for f in ctx.scales.likelihood_factors if present.get(f.id)]


def severity_of(flow: Flow, ctx: Context) -> tuple[str, int, list[str]]:
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


def bearing_on(evaluated: list[Evaluated]) -> dict[tuple[str, str], list[Evaluated]]:
    """Mitigating evaluations indexed by (scope, target), so each flow finds its own at once."""
    index: dict[tuple[str, str], list[Evaluated]] = defaultdict(list)
    for e in evaluated:
        if e.control.mitigates:
            index[(e.control.applies_to, e.target_id)].append(e)
    return index


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


# ----------------------------------------------------------------------------- findings


def _due(as_of: dt.date, band: str, scales: Any) -> dt.date:
    days = next((b.due_days for b in scales.risk_bands if b.label == band),
                scales.risk_bands[-1].due_days)
    return as_of + dt.timedelta(days=days)


def _quotes(ids: Iterable[str], ctx: Context) -> list[str]:
    clauses = {c.id: c.text for c in ctx.bundle.policy.clauses}
    return [clauses[i] for i in ids if i in clauses]


def _subject(e_target: Any, ctx: Context) -> str:
    if isinstance(e_target, System):
        return e_target.name
    if isinstance(e_target, Flow):
        return f"{ctx.systems[e_target.system_id].name}: {e_target.purpose}"
    return ctx.bundle.inventory.library.name


@dataclass
class _Draft:
    findings: list[Finding] = field(default_factory=list)
    violations: list[GateViolation] = field(default_factory=list)


def _control_findings(ctx: Context, evaluated: list[Evaluated], flow_scores: dict[str, FlowScore],
                      out: _Draft) -> None:
    scales = ctx.scales
    gap = set(scales.gap_statuses)
    risks = sorted(f.residual_risk for f in flow_scores.values()) or [1]
    top_risk = risks[-1]
    # A library-wide practice gap is rated at the library's typical flow (the lower median);
    # only a hard-gate gap takes the worst flow's rating.
    typical_risk = risks[(len(risks) - 1) // 2]
    for e in evaluated:
        if e.status not in gap:
            continue
        c = e.control
        if c.applies_to == "flow":
            risk, system_id, flow_id = flow_scores[e.target_id].residual_risk, \
                e.target.system_id, e.target_id
        elif c.applies_to == "system":
            risks = [flow_scores[f.flow_id].residual_risk
                     for f in ctx.flows_by_system.get(e.target_id, [])]
            risk, system_id, flow_id = max(risks, default=1), e.target_id, None
        else:
            risk = top_risk if c.hard_gate else typical_risk
            system_id, flow_id = None, None
        band = band_for(risk, scales)
        if e.outcome is not None:
            evidence = e.outcome.evidence
            title = f"{c.title}: not met"
        elif e.status == "unknown":
            evidence = "No answer recorded; an unknown is treated as a gap." if e.answer is None \
                else f"Answered unknown. {e.answer.comment}".strip()
            title = f"{c.title}: not known"
        else:
            ans = e.answer
            detail = "; ".join(x for x in (ans.evidence, ans.comment) if x) if ans else ""
            title = f"{c.title}: {e.status.replace('_', ' ')}"
            evidence = f"Answered {e.status.replace('_', ' ')}" + (f". {detail}" if detail else "")
        owner = e.answer.owner if e.answer and e.answer.owner else c.owner
        subject = _subject(e.target, ctx)
        hard = c.hard_gate
        out.findings.append(Finding(
            id=f"{c.id}@{e.target_id}", kind="gate" if hard else "control", title=title,
            band=band, risk=risk, hard_gate=hard, gate_rule=c.gate_rule if hard else None,
            control_id=c.id, system_id=system_id, flow_id=flow_id, subject=subject,
            clauses=list(c.clauses), clause_quotes=_quotes(c.clauses, ctx),
            statutes=list(c.statutes), evidence=evidence, recommendation=c.recommendation,
            ala_priority=c.ala_priority, owner=owner, due=_due(ctx.as_of, band, scales)))
        if hard and c.gate_rule:
            subjects = e.outcome.subjects if e.outcome and e.outcome.subjects else (subject,)
            for subj in subjects:
                out.violations.append(GateViolation(
                    rule=c.gate_rule, statement=ctx.bundle.policy.gate_rules[c.gate_rule],
                    subject=subj, system_id=system_id, flow_id=flow_id, control_id=c.id,
                    violating_attributes=e.outcome.attributes if e.outcome else
                    {"status": [e.status]}))


def _counsel_findings(ctx: Context, top_risk: int, out: _Draft) -> None:
    scales = ctx.scales
    inv = ctx.bundle.inventory
    for q in sorted(ctx.bundle.policy.counsel_questions, key=lambda q: q.id):
        if q.evidence_from == "minors":
            n = sum(f.minors for f in inv.flows)
            asks = sum(d.requester_type == "parent_guardian" for d in inv.disclosures)
            evidence = f"{n} inventoried flows concern minors; {asks} request(s) in the " \
                       "register came from a parent or guardian."
        elif q.evidence_from == "disclosures":
            weak = [d.request_id for d in inv.disclosures
                    if disclosure_meets_statute(d, ctx.vocab)[1]
                    and not disclosure_meets_statute(d, ctx.vocab)[0]]
            evidence = ("Requests meeting the policy's wording but not the statute: "
                        + (", ".join(sorted(weak)) if weak else "none in this period") + ".")
        else:
            evidence = "A comparison of the policy text with the statute."
        risk = next((b.max for b in scales.risk_bands if b.label == q.band), top_risk)
        out.findings.append(Finding(
            id=f"{q.id}@library", kind="policy_gap", title=q.title, band=q.band, risk=risk,
            subject="The confidentiality policy", clauses=list(q.clauses),
            clause_quotes=_quotes(q.clauses, ctx), statutes=list(q.statutes),
            evidence=f"{q.question} {evidence}", recommendation=q.recommendation,
            owner=q.owner, due=_due(ctx.as_of, q.band, scales)))


def review_disclosures(ctx: Context) -> list[DisclosureReview]:
    out = []
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: (d.received, d.request_id)):
        statute, policy, reason = disclosure_meets_statute(d, ctx.vocab)
        out.append(DisclosureReview(
            request_id=d.request_id, received=d.received, requester_type=d.requester_type,
            instrument=d.instrument, decision=d.decision, meets_statute=statute,
            meets_policy=policy, reason=reason, search_cost=d.search_cost,
            cost_billed=d.cost_billed.value))
    return out


def _disclosure_findings(ctx: Context, top_risk: int, out: _Draft) -> None:
    scales = ctx.scales
    releasing = set(ctx.vocab.releasing_decisions)
    quote_ids = [c.id for c in ctx.bundle.policy.clauses if c.id == "LCO-DISCLOSURE"]
    statute_ids = [s.id for s in ctx.bundle.policy.statutes if s.id.startswith("RSMO-182.817-1")]
    for d in sorted(ctx.bundle.inventory.disclosures, key=lambda d: d.request_id):
        ok, _, reason = disclosure_meets_statute(d, ctx.vocab)
        if ok or d.decision not in releasing:
            continue
        band = band_for(top_risk, scales)
        out.findings.append(Finding(
            id=f"DISCLOSURE@{d.request_id}", kind="disclosure",
            title=f"Records released without a lawful basis ({d.request_id})", band=band,
            risk=top_risk, hard_gate=True, gate_rule="disclosure_route",
            subject=f"Disclosure request {d.request_id} ({d.requester_type.replace('_', ' ')})",
            clauses=quote_ids, clause_quotes=_quotes(quote_ids, ctx), statutes=statute_ids,
            evidence=f"Received {d.received}; decision {d.decision.replace('_', ' ')}; {reason}.",
            recommendation="Review this release with counsel, consider notifying the patron, "
            "and retrain staff to refer every request to the Privacy Officer.",
            owner="Privacy Officer", due=_due(ctx.as_of, band, scales)))


def _evidence_findings(ctx: Context, evidence: EvidenceReport, flow_scores: dict[str, FlowScore],
                       out: _Draft) -> None:
    scales = ctx.scales
    controls = {c.derived_from: c for c in ctx.bundle.policy.controls if c.derived_from}
    for scan in sorted(evidence.files, key=lambda s: s.file):
        for issue in scan.issues:
            control = controls.get(issue.control_hint)
            fs = flow_scores.get(scan.flow_id) if scan.flow_id else None
            flow = next((f for f in ctx.flows if f.flow_id == scan.flow_id), None)
            system_id = flow.system_id if flow else None
            col = f":{issue.column}" if issue.column else ""
            leaves = bool(flow and (ctx.systems[flow.system_id].external
                                    or flow.direction in ("transmit", "disclose")))
            hard = bool(issue.hard and leaves)
            # An identifier seen in a file that leaves the library is an observed
            # disclosure, not a possibility: it is rated at the top of the likelihood scale.
            top_likelihood = max(level.value for level in scales.likelihood)
            risk = (fs.severity * top_likelihood if hard else fs.residual_risk) if fs else 1
            band = band_for(risk, scales)
            finding = Finding(
                id=f"EV-{issue.kind}@{scan.flow_id or scan.file}{col}", kind="evidence",
                title=issue.kind.replace("_", " ").capitalize() + f" in {scan.file}",
                band=band, risk=risk, hard_gate=hard,
                gate_rule="disclosure_route" if hard else None,
                control_id=control.id if control else None, system_id=system_id,
                flow_id=scan.flow_id, subject=_subject(flow, ctx) if flow else scan.file,
                clauses=list(control.clauses) if control else [],
                clause_quotes=_quotes(control.clauses, ctx) if control else [],
                statutes=list(control.statutes) if control else [],
                evidence=issue.detail,
                recommendation=control.recommendation if control else
                "Correct the export and check it again before it is shared.",
                ala_priority=control.ala_priority if control else None,
                owner=control.owner if control else "Privacy Officer",
                due=_due(ctx.as_of, band, scales))
            out.findings.append(finding)
            if hard:
                out.violations.append(GateViolation(
                    rule="disclosure_route",
                    statement=ctx.bundle.policy.gate_rules["disclosure_route"],
                    subject=finding.subject, system_id=system_id, flow_id=scan.flow_id,
                    control_id=finding.control_id,
                    violating_attributes={"evidence": [issue.kind], "file": [scan.file]}))


def _web_findings(ctx: Context, web: WebReport, flow_scores: dict[str, FlowScore],
                  out: _Draft) -> None:
    scales = ctx.scales
    control = next((c for c in ctx.bundle.policy.controls if c.id == "POL-26"), None)
    for issue in sorted(web.issues, key=lambda i: (i.kind, i.domain, i.page_type)):
        fid = f"WEB-{issue.domain}"
        fs = flow_scores.get(fid)
        risk = fs.residual_risk if fs else 1
        band = band_for(risk, scales)
        # A pixel is advertising use of website-use records; search terms or account pages
        # sent to a third party are a disclosure outside the statute's two routes.
        rule = ("prohibited_use" if issue.kind in ("advertising_pixel", "social_pixel")
                else "disclosure_route")
        out.findings.append(Finding(
            id=f"WEB-{issue.kind}@{issue.domain}:{issue.page_type}", kind="web",
            title=f"{issue.kind.replace('_', ' ').capitalize()}: "
            f"{issue.organisation or issue.domain}",
            band=band, risk=risk, hard_gate=issue.hard, gate_rule=rule if issue.hard else None,
            control_id=control.id if control else None,
            system_id=fs.system_id if fs else None, flow_id=fid if fs else None,
            subject=f"Library web pages ({issue.page_type.replace('_', ' ')})",
            clauses=list(control.clauses) if control else [],
            clause_quotes=_quotes(control.clauses, ctx) if control else [],
            statutes=list(control.statutes) if control else [], evidence=issue.detail,
            recommendation=control.recommendation if control else
            "Remove the third-party code from library pages.",
            ala_priority=control.ala_priority if control else None,
            owner=control.owner if control else "Privacy Officer",
            due=_due(ctx.as_of, band, scales)))
        if issue.hard:
            out.violations.append(GateViolation(
                rule=rule, statement=ctx.bundle.policy.gate_rules[rule],
                subject=f"{issue.organisation or issue.domain} on library web pages",
                system_id=fs.system_id if fs else None, flow_id=fid if fs else None,
                control_id=control.id if control else None,
                violating_attributes={"web": [issue.kind], "domain": [issue.domain]}))


# ----------------------------------------------------------------------------- web flows


def web_flows(web: WebReport, systems: list[System]) -> tuple[list[System], list[Flow]]:
    """Each third party seen on a library page becomes a recipient of website-use records.

    A third party the inventory already lists (by its ``domains``) keeps that system and its
    contract facts; one the inventory does not know becomes a system with no contract, which
    the vendor-contract gate then reports by name.
    """
    from lcopia.web import match_system

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
                "uses": sorted(set(old.uses) | set(_web_uses(tp.category))),
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
                uses=_web_uses(tp.category),
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


def _web_uses(category: str) -> list[str]:
    if category in ("advertising", "social"):
        return ["advertising"]
    return ["analytics"] if category in ("analytics", "tag_manager") else []


# ----------------------------------------------------------------------------- assessment


def _merge_violations(found: list[GateViolation]) -> list[GateViolation]:
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


def _rank(items: list[tuple[str, int]]) -> dict[str, tuple[int, float]]:
    total = sum(v for _, v in items) or 1
    ordered = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    return {k: (i + 1, round(100.0 * v / total, 1)) for i, (k, v) in enumerate(ordered)}


def _actions(findings: list[Finding], flow_scores: dict[str, FlowScore], ctx: Context
             ) -> list[ActionItem]:
    """One action per control and system (or per finding without a control)."""
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        key = (f.control_id or f.id, f.system_id or "library") if f.control_id else (f.id, "")
        groups[key].append(f)
    prio = {p: i for i, p in enumerate(ctx.scales.ala_priorities)}
    items = []
    for (_, system_id), group in groups.items():
        group.sort(key=lambda f: f.id)
        head = max(group, key=lambda f: (f.risk, f.id))
        planned = [flow_scores[f.flow_id].planned_risk for f in group
                   if f.flow_id and f.flow_id in flow_scores]
        if not planned and system_id in ctx.flows_by_system:
            planned = [flow_scores[fl.flow_id].planned_risk
                       for fl in ctx.flows_by_system[system_id]]
        subject = ctx.systems[system_id].name if system_id in ctx.systems else head.subject
        items.append(ActionItem(
            rank=0, finding_ids=[f.id for f in group], control_id=head.control_id,
            subject=subject, action=head.recommendation, owner=head.owner,
            due=min((f.due for f in group if f.due), default=None),
            residual_risk=head.risk, planned_risk=max(planned, default=min(head.risk, 1)),
            band=head.band, ala_priority=head.ala_priority))
    hard = {f.id for f in findings if f.hard_gate}
    items.sort(key=lambda a: (-a.residual_risk, not any(i in hard for i in a.finding_ids),
        prio.get(a.ala_priority or "", len(prio)), a.control_id or "~", a.subject,
        a.finding_ids[0]))
    return [a.model_copy(update={"rank": i + 1}) for i, a in enumerate(items)]


def assess(bundle: Bundle, as_of: dt.date, *, evidence: EvidenceReport | None = None,
           web: WebReport | None = None) -> Assessment:
    """Score the whole inventory as of ``as_of``; the same inputs give the same output."""
    systems = list(bundle.inventory.systems)
    flows = list(bundle.inventory.flows)
    if web is not None:
        extra_systems, extra_flows = web_flows(web, systems)
        systems += extra_systems
        flows += extra_flows
    ctx = _context(bundle, as_of, flows, systems, evidence)
    scales = ctx.scales
    evaluated = evaluate_controls(ctx)
    index = bearing_on(evaluated)
    flow_scores = {f.flow_id: score_flow(f, ctx, index)
                   for f in sorted(ctx.flows, key=lambda f: f.flow_id)}
    top_risk = max((s.residual_risk for s in flow_scores.values()), default=1)

    draft = _Draft()
    _control_findings(ctx, evaluated, flow_scores, draft)
    _counsel_findings(ctx, top_risk, draft)
    _disclosure_findings(ctx, top_risk, draft)
    if evidence is not None:
        _evidence_findings(ctx, evidence, flow_scores, draft)
    if web is not None:
        _web_findings(ctx, web, flow_scores, draft)
    findings = sorted(draft.findings, key=lambda f: (-f.risk, not f.hard_gate, f.id))
    violations = _merge_violations(draft.violations)
    gate = Gate(result="FAIL" if violations else "PASS", violations=violations)

    sys_totals = [(sid, sum(flow_scores[f.flow_id].residual_risk
                            for f in ctx.flows_by_system.get(sid, [])))
                  for sid in sorted(ctx.systems)]
    sys_rank = _rank(sys_totals)
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
    })
    return Assessment(
        schema_version=SCHEMA_VERSION, as_of=as_of, library=bundle.inventory.library.name,
        illustrative=bundle.inventory.library.illustrative, policy_id=bundle.policy.id,
        policy_version=bundle.policy.version, inputs=dict(sorted(bundle.files.items())),
        posture=posture(gate, counts), counts=dict(sorted(counts.items())), gate=gate,
        flows=list(flow_scores.values()), systems=system_scores, categories=category_scores,
        controls=controls, findings=findings, actions=_actions(findings, flow_scores, ctx),
        disclosures=review_disclosures(ctx))


def posture(gate: Gate, counts: dict[str, int]) -> str:
    """One plain sentence for the Board's first page."""
    crit, high = counts.get("flows_critical", 0), counts.get("flows_high", 0)
    risk = f"{crit} data flow{'s' if crit != 1 else ''} at critical and {high} at high " \
           "residual risk"
    if gate.result == "FAIL":
        n = len(gate.violations)
        return (f"Not compliant: {n} hard-gate violation{'s' if n != 1 else ''} of the policy "
                f"or RSMo 182.817 must be corrected; {risk}.")
    if crit or high:
        return f"Compliant with the hard rules, but {risk} need action."
    return "Compliant with the hard rules; remaining risks are moderate or low."


def render_text(a: Assessment) -> str:
    """A readable summary for the terminal: posture, gate, top risks and actions."""
    lines = [f"{a.library} — privacy impact assessment as of {a.as_of.isoformat()}",
             f"Policy {a.policy_id} (version {a.policy_version})"
             + ("  [illustrative sample data]" if a.illustrative else ""), "",
             a.posture, "", f"Compliance gate: {a.gate.result}"]
    for v in a.gate.violations:
        lines.append(f"  - [{v.rule}] {v.subject}: {v.statement}")
    lines += ["", "Residual risk by system (share of the library's total):"]
    for s in a.systems:
        lines.append(f"  {s.rank:>2}. {s.name:<46.46} {s.residual_band:<9} "
                     f"{s.share:5.1f}%  gate {s.gate}")
    lines += ["", f"Findings: {len(a.findings)} ({a.counts['findings_critical']} critical, "
              f"{a.counts['findings_high']} high); controls unknown: "
              f"{a.counts['controls_unknown']}", "", "Top actions:"]
    for act in a.actions[:10]:
        due = act.due.isoformat() if act.due else "-"
        lines.append(f"  {act.rank:>2}. [{act.band}] {act.subject}: {act.action} "
                     f"(owner {act.owner}, due {due})")
    questions = [f for f in a.findings if f.kind == "policy_gap"]
    if questions:
        lines += ["", "Questions for counsel (policy versus statute):"]
        lines += [f"  - {f.title}" for f in questions]
    return "\n".join(lines)
