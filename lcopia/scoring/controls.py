"""Which controls apply where, and each control's status on each target."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lcopia.models import Control, Flow, outside_us
from lcopia.scoring import gate
from lcopia.scoring.context import Context, Evaluated
from lcopia.scoring.facts import DERIVED_CHECKS


def applies(control: Control, ctx: Context, target: Any) -> bool:
    """The fideslang-style match: every condition given in ``when`` must hold."""
    w = control.when
    if control.applies_to == "library":
        return True
    if control.applies_to == "flow":
        flow: Flow = target
        system = ctx.systems[flow.system_id]
        flows = [flow]
    else:
        system = target
        flows = ctx.flows_by_system.get(system.system_id, [])

    def tier() -> str:  # computed only when a control asks for it (10,000-system inventories)
        return ctx.flow_tier(flows[0]) if control.applies_to == "flow" else\
            ctx.system_tier(system.system_id)

    # cheapest conditions first; all() stops at the first that fails
    checks = (
        lambda: w.external is None or system.external == w.external,
        lambda: w.kinds is None or system.kind in w.kinds,
        lambda: w.tracker is None or gate.is_uncontracted_tracker(ctx, system) == w.tracker,
        lambda: w.holds_library_records is None  # judged on the facts (G8)
        or gate.holds_library_records(ctx, system) == w.holds_library_records,
        lambda: w.data_outside_us is None
        or outside_us(system.data_location) == w.data_outside_us,
        lambda: w.categories is None or any(f.category in w.categories for f in flows),
        lambda: w.elements_any is None
        or any(e in w.elements_any for f in flows for e in f.elements),
        lambda: w.min_tier is None or ctx.tier_rank[tier()] >= ctx.tier_rank[w.min_tier],
        lambda: w.minors is None or any(f.minors for f in flows) == w.minors,
        lambda: w.is_library_record is None
        or any(f.is_library_record for f in flows) == w.is_library_record,
    )
    return all(check() for check in checks)


def targets(control: Control, ctx: Context) -> list[tuple[str, Any]]:
    """The library, or every system or flow the control applies to, in id order."""
    if control.applies_to == "library":
        return [("library", "library")]
    if control.applies_to == "system":
        items = [(s.system_id, s) for s in sorted(ctx.systems.values(), key=lambda s: s.system_id)]
    else:
        items = [(f.flow_id, f) for f in sorted(ctx.flows, key=lambda f: f.flow_id)]
    return [(i, t) for i, t in items if applies(control, ctx, t)]


def evaluate_controls(ctx: Context) -> list[Evaluated]:
    """Every control against every target it applies to, answered, derived or unknown."""
    answers = {(a.control_id, a.scope, a.target_id): a for a in ctx.bundle.inventory.answers}
    out = []
    for control in sorted(ctx.bundle.policy.controls, key=lambda c: c.id):
        for target_id, target in targets(control, ctx):
            if control.derived_from:
                outcome = DERIVED_CHECKS[control.derived_from].check(ctx, target)
                status = "implemented" if outcome.passed else "not_implemented"
                out.append(Evaluated(control, target_id, target, status, outcome, None))
            else:
                answer = answers.get((control.id, control.applies_to, target_id))
                status = answer.status if answer else "unknown"
                out.append(Evaluated(control, target_id, target, status, None, answer))
    return out


def bearing_on(evaluated: list[Evaluated]) -> dict[tuple[str, str], list[Evaluated]]:
    """Mitigating evaluations indexed by (scope, target), so each flow finds its own at once."""
    index: dict[tuple[str, str], list[Evaluated]] = defaultdict(list)
    for e in evaluated:
        if e.control.mitigates:
            index[(e.control.applies_to, e.target_id)].append(e)
    return index


def by_target(evaluated: list[Evaluated]) -> dict[tuple[str, str], list[Evaluated]]:
    """Every evaluation indexed by (scope, target), fact checks included."""
    index: dict[tuple[str, str], list[Evaluated]] = defaultdict(list)
    for e in evaluated:
        index[(e.control.applies_to, e.target_id)].append(e)
    return index


def inapplicable_answers(ctx: Context) -> list[str]:
    """Answers in answers.csv for a control that does not apply to their target: reported,
    never silently dropped, so a privacy officer sees that the row has no effect."""
    applies = {(control.id, target_id) for control in ctx.bundle.policy.controls
               for target_id, _ in targets(control, ctx)}
    out = []
    for a in sorted(ctx.bundle.inventory.answers, key=lambda a: a.row):
        if (a.control_id, a.target_id) not in applies:
            out.append(f"inventory/answers.csv, row {a.row}: {a.control_id} does not apply to "
                       f"{a.target_id}, so this answer has no effect; delete the row, or check "
                       "the facts in systems.csv and flows.csv that decide where it applies")
    return out
