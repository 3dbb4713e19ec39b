"""The action plan as the Board reads it: actions with the same wording and owner merged.

The PDF, the HTML and ``action-plan.xlsx`` number actions from this one list, so "action 5"
means the same task on paper and in the spreadsheet the staff keep up to date. Each action
carries the progress staff recorded on it between assessments (``lcopia plan import``),
matched by the risks it treats and its wording, never by its number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lcopia.progress import DONE, NOT_STARTED, match
from lcopia.report import charts
from lcopia.report.common import _listing, _places, fmt_date

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results


def action_groups(results: Results, places: int = 6) -> list[dict[str, Any]]:
    """Actions with the same wording and owner merged: one task, many places, one deadline."""
    a, b = results.assessment, results.bundle
    bands = b.policy.scales.risk_bands
    by_id = {f.id: f for f in a.findings}
    groups: dict[tuple[str, str], list[Any]] = {}
    for x in sorted(a.actions, key=lambda x: x.rank):
        groups.setdefault((x.action, x.owner), []).append(x)
    out = []
    for (action, owner), members in groups.items():
        dues = [x.due for x in members if x.due]
        now = max(x.residual_risk for x in members)
        after = max(x.planned_risk for x in members)
        prios = sorted({x.ala_priority for x in members if x.ala_priority})
        out.append({
            "rank": members[0].rank, "action": action, "owner": owner,
            "due": fmt_date(min(dues), "no date set") if dues else "no date set",
            "due_date": min(dues) if dues else None, "n": len(members),
            "where": _listing(_places(results, [by_id[i] for x in members
                                                for i in x.finding_ids if i in by_id])
                              or [x.subject for x in members], places),
            "now": now, "now_band": charts.band_of(now, bands), "after": after,
            "after_band": charts.band_of(after, bands), "ala": prios[0] if prios else "",
            "findings": sum(len(x.finding_ids) for x in members),
            "finding_ids": sorted({i for x in members for i in x.finding_ids}),
            "item_ranks": [x.rank for x in members],
            "risk_ids": sorted({x.risk_id for x in members if x.risk_id})})
    out.sort(key=lambda g: g["rank"])
    for i, g in enumerate(out, start=1):
        g["rank"] = i
    found = match(out, results.progress)
    observed = {r.id for r in a.risks if r.observed}
    for g in out:  # what staff recorded between assessments, carried into this plan
        g["progress"] = found.get(g["rank"])
        g["status"] = g["progress"].status if g["progress"] else NOT_STARTED
        g["still_open"] = still_open(g["status"], set(g["risk_ids"]) & observed)
    return out


def still_open(status: str, observed_risks: set[str]) -> str:
    """Why an action staff marked done is still in this plan (facts beat labels, G8, L1):
    every action here rests on a risk this assessment still finds. Empty when not done."""
    if status != DONE:
        return ""
    if observed_risks:
        return ("This assessment's own evidence still shows the problem; check the change "
                "and capture or export again.")
    return ("The inventory still records the gap; record the change in the inventory so the "
            "next assessment can confirm it.")
