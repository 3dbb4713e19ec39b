"""Control-level findings: one row per control gap, counsel question, release and issue seen.

These are the privacy officer's checklist rows (``findings.csv``); the gate's violations are
built by the gate module from the same facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lcopia.models import Finding, FlowScore
from lcopia.scoring import gate
from lcopia.scoring.context import Context, Evaluated, subject_of
from lcopia.scoring.risk import band_for
from lcopia.wording import plural

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.evidence import EvidenceReport
    from lcopia.web import WebReport


def due(as_of: dt.date, band: str, scales: Any) -> dt.date:
    """The date a finding in ``band`` should be closed by (the one place due dates are set)."""
    days = next((b.due_days for b in scales.risk_bands if b.label == band),
                scales.risk_bands[-1].due_days)
    return as_of + dt.timedelta(days=days)


def quotes(ids: Iterable[str], ctx: Context) -> list[str]:
    """The verbatim policy text of the given clause ids."""
    clauses = {c.id: c.text for c in ctx.bundle.policy.clauses}
    return [clauses[i] for i in ids if i in clauses]


def control_findings(ctx: Context, evaluated: list[Evaluated],
                     flow_scores: dict[str, FlowScore]) -> list[Finding]:
    """One finding per control result that is a gap."""
    scales = ctx.scales
    gap = set(scales.gap_statuses)
    risks = sorted(f.residual_risk for f in flow_scores.values()) or [1]
    top_risk = risks[-1]
    # A library-wide practice gap is rated at the library's typical flow (the lower median);
    # only a hard-gate gap takes the worst flow's rating.
    typical_risk = risks[(len(risks) - 1) // 2]
    out = []
    for e in evaluated:
        if e.status not in gap:
            continue
        c = e.control
        if c.applies_to == "flow":
            risk, system_id, flow_id = flow_scores[e.target_id].residual_risk,\
                e.target.system_id, e.target_id
        elif c.applies_to == "system":
            sys_risks = [flow_scores[f.flow_id].residual_risk
                         for f in ctx.flows_by_system.get(e.target_id, [])]
            risk, system_id, flow_id = max(sys_risks, default=1), e.target_id, None
        else:
            risk = top_risk if c.hard_gate else typical_risk
            system_id, flow_id = None, None
        band = band_for(risk, scales)
        if e.outcome is not None:
            evidence = e.outcome.evidence
            title = f"{c.title}: not met"
        elif e.status == "unknown":
            evidence = "No answer recorded; an unknown is treated as a gap." if e.answer is None\
                else f"Answered unknown. {e.answer.comment}".strip()
            title = f"{c.title}: not known"
        else:
            ans = e.answer
            detail = "; ".join(x for x in (ans.evidence, ans.comment) if x) if ans else ""
            title = f"{c.title}: {e.status.replace('_', ' ')}"
            evidence = f"Answered {e.status.replace('_', ' ')}" + (f". {detail}" if detail else "")
        owner = e.answer.owner if e.answer and e.answer.owner else c.owner
        hard = c.hard_gate
        out.append(Finding(
            id=f"{c.id}@{e.target_id}", kind="gate" if hard else "control", title=title,
            band=band, risk=risk, hard_gate=hard, gate_rule=c.gate_rule if hard else None,
            control_id=c.id, system_id=system_id, flow_id=flow_id,
            subject=subject_of(e.target, ctx), clauses=list(c.clauses),
            clause_quotes=quotes(c.clauses, ctx), statutes=list(c.statutes), evidence=evidence,
            recommendation=c.recommendation, ala_priority=c.ala_priority, owner=owner,
            due=due(ctx.as_of, band, scales)))
    return out


def counsel_findings(ctx: Context, top_risk: int) -> list[Finding]:
    """One finding per question for counsel, with the inventory facts that make it live."""
    scales = ctx.scales
    inv = ctx.bundle.inventory
    out = []
    for q in sorted(ctx.bundle.policy.counsel_questions, key=lambda q: q.id):
        if q.evidence_from == "minors":
            n = sum(f.minors for f in inv.flows)
            asks = sum(d.requester_type == "parent_guardian" for d in inv.disclosures)
            evidence = f"{n} inventoried flows concern minors; {plural(asks, 'request')} in the "\
                       "register came from a parent or guardian."
        elif q.evidence_from == "disclosures":
            weak = gate.weak_on_statute(ctx)
            evidence = ("Requests meeting the policy's wording but not the statute: "
                        + (", ".join(weak) if weak else "none in this period") + ".")
        else:
            evidence = gate.counsel_evidence(ctx, q.evidence_from) or\
                "A comparison of the policy text with the statute."
        risk = next((b.max for b in scales.risk_bands if b.label == q.band), top_risk)
        out.append(Finding(
            id=f"{q.id}@library", kind="policy_gap", title=q.title, band=q.band, risk=risk,
            subject="The confidentiality policy", clauses=list(q.clauses),
            clause_quotes=quotes(q.clauses, ctx), statutes=list(q.statutes),
            evidence=f"{q.question} {evidence}", recommendation=q.recommendation,
            owner=q.owner, due=due(ctx.as_of, q.band, scales)))
    return out


def disclosure_findings(ctx: Context, top_risk: int) -> list[Finding]:
    """One finding per release in the register that falls outside the statute."""
    scales = ctx.scales
    role = ctx.bundle.policy.roles.get("disclosure_clause")
    quote_ids = [c.id for c in ctx.bundle.policy.clauses if c.id == role]
    statute_ids = [s.id for s in ctx.bundle.policy.statutes if s.id.startswith("RSMO-182.817-1")]
    out = []
    for d, reason in gate.releases_outside_statute(ctx):
        band = band_for(top_risk, scales)
        out.append(Finding(
            id=f"DISCLOSURE@{d.request_id}", kind="disclosure",
            title=gate.release_title(d), band=band,
            risk=top_risk, hard_gate=True, gate_rule="disclosure_route",
            subject=f"Disclosure request {d.request_id} ({d.requester_type.replace('_', ' ')})",
            clauses=quote_ids, clause_quotes=quotes(quote_ids, ctx), statutes=statute_ids,
            evidence=f"Received {d.received}; decision {d.decision.replace('_', ' ')}; {reason}.",
            recommendation=gate.RELEASE_RECOMMENDATION,
            owner="Privacy Officer", due=due(ctx.as_of, band, scales)))
    return out


def evidence_finding_ids(evidence: EvidenceReport) -> dict[tuple[str, int], str]:
    """The finding id of each (file, issue number): ``EV-<kind>@<flow>[:<column>]``, with the
    file named after the flow when a flow has several files, so no two findings share an id
    (ids key findings.csv, the register and the year-on-year view)."""
    per_flow: dict[str, int] = {}
    for scan in evidence.files:
        where = scan.flow_id or scan.file
        per_flow[where] = per_flow.get(where, 0) + 1
    out = {}
    for scan in evidence.files:
        where = scan.flow_id or scan.file
        if per_flow[where] > 1:
            where = f"{where}#{scan.file}"
        for n, issue in enumerate(scan.issues):
            col = f":{issue.column}" if issue.column else ""
            out[(scan.file, n)] = f"EV-{issue.kind}@{where}{col}"
    return out


def evidence_findings(ctx: Context, evidence: EvidenceReport,
                      flow_scores: dict[str, FlowScore]) -> list[Finding]:
    """One finding per issue an export check raised."""
    scales = ctx.scales
    controls = {c.derived_from: c for c in ctx.bundle.policy.controls if c.derived_from}
    flows = {f.flow_id: f for f in ctx.flows}
    ids = evidence_finding_ids(evidence)
    out = []
    for scan in sorted(evidence.files, key=lambda s: s.file):
        for n, issue in enumerate(scan.issues):
            control = controls.get(issue.control_hint)
            fs = flow_scores.get(scan.flow_id) if scan.flow_id else None
            flow = flows.get(scan.flow_id) if scan.flow_id else None
            system_id = flow.system_id if flow else None
            hard = gate.evidence_breaks_gate(issue, flow, ctx)
            # An identifier seen in a file that leaves the library is an observed
            # disclosure, not a possibility: it is rated at the top of the likelihood scale.
            top_likelihood = max(level.value for level in scales.likelihood)
            risk = (fs.severity * top_likelihood if hard else fs.residual_risk) if fs else 1
            band = band_for(risk, scales)
            out.append(Finding(
                id=ids[(scan.file, n)], kind="evidence",
                title=issue.kind.replace("_", " ").capitalize() + f" in {scan.file}",
                band=band, risk=risk, hard_gate=hard,
                gate_rule=gate.EVIDENCE_RULE if hard else None,
                control_id=control.id if control else None, system_id=system_id,
                flow_id=scan.flow_id, subject=subject_of(flow, ctx) if flow else scan.file,
                clauses=list(control.clauses) if control else [],
                clause_quotes=quotes(control.clauses, ctx) if control else [],
                statutes=list(control.statutes) if control else [],
                evidence=issue.detail,
                recommendation=control.recommendation if control else
                "Correct the export and check it again before it is shared.",
                ala_priority=control.ala_priority if control else None,
                owner=control.owner if control else "Privacy Officer",
                due=due(ctx.as_of, band, scales)))
    return out


def web_findings(ctx: Context, web: WebReport,
                 flow_scores: dict[str, FlowScore]) -> list[Finding]:
    """One finding per issue a browser capture raised."""
    scales = ctx.scales
    control = gate.web_control(ctx)
    out = []
    for issue in sorted(web.issues, key=lambda i: (i.kind, i.domain, i.page_type)):
        fid = f"WEB-{issue.domain}"
        fs = flow_scores.get(fid)
        risk = fs.residual_risk if fs else 1
        band = band_for(risk, scales)
        rule = gate.web_rule(issue)
        out.append(Finding(
            id=f"WEB-{issue.kind}@{issue.domain}:{issue.page_type}", kind="web",
            title=f"{issue.kind.replace('_', ' ').capitalize()}: "
            f"{issue.organisation or issue.domain}",
            band=band, risk=risk, hard_gate=issue.hard, gate_rule=rule if issue.hard else None,
            control_id=control.id if control else None,
            system_id=fs.system_id if fs else None, flow_id=fid if fs else None,
            subject=f"Library web pages ({issue.page_type.replace('_', ' ')})",
            clauses=list(control.clauses) if control else [],
            clause_quotes=quotes(control.clauses, ctx) if control else [],
            statutes=list(control.statutes) if control else [], evidence=issue.detail,
            recommendation=control.recommendation if control else
            "Remove the third-party code from library pages.",
            ala_priority=control.ala_priority if control else None,
            owner=control.owner if control else "Privacy Officer",
            due=due(ctx.as_of, band, scales)))
    return out
