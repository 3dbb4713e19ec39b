"""The action plan: one action per risk in the register, with its owner and date (R3)."""

from __future__ import annotations

from lcopia.models import ActionItem, Risk


def action_plan(risks: list[Risk]) -> list[ActionItem]:
    """One action per risk, in the register's order (highest residual risk first)."""
    return [ActionItem(
        rank=i + 1, finding_ids=list(r.control_results),
        control_id=next((c.split("@", 1)[0] for c in r.control_results if "@" in c
                         and c.startswith("POL-")), None),
        subject=r.title, action=r.action, owner=r.owner, due=r.due,
        residual_risk=r.residual_risk, planned_risk=r.planned_risk, band=r.residual_band,
        ala_priority=r.ala_priority, risk_id=r.id) for i, r in enumerate(risks)]
