"""The action plan: findings grouped into the tasks the library will actually do."""

from __future__ import annotations

from collections import defaultdict

from lcopia.models import ActionItem, Finding, FlowScore
from lcopia.scoring.context import Context


def action_plan(findings: list[Finding], flow_scores: dict[str, FlowScore], ctx: Context
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
