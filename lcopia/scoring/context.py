"""What every scoring step reads: the bundle with indexes built once, and shared value types.

Kept apart so the fact checks, the gate and the risk rules can each import it without
importing one another.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lcopia.models import Answer, Bundle, Control, Flow, System, YesNo

if TYPE_CHECKING:  # pragma: no cover - typing only; keeps pyarrow out of scoring's import
    from lcopia.evidence import EvidenceReport

SCHEMA_VERSION = "2.0.0"
UNKNOWN_OR_YES = (YesNo.yes, YesNo.unknown)


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
    web_only: set[str] = field(default_factory=set)

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


def build_context(bundle: Bundle, as_of: dt.date, flows: list[Flow], systems: list[System],
                  evidence: EvidenceReport | None, web_only: set[str] | None = None) -> Context:
    """Index the inventory once; an export's identifiers join the flow they belong to."""
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
        evidence_issues=dict(issues), found_in_evidence=found, web_only=set(web_only or ()))


@dataclass(frozen=True)
class Outcome:
    """A fact check's verdict: passed, why, and what broke (for the gate's attributes)."""

    passed: bool
    evidence: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluated:
    """One control judged against one target, from an answer or a fact check."""

    control: Control
    target_id: str
    target: Any
    status: str
    outcome: Outcome | None
    answer: Answer | None


def subject_of(target: Any, ctx: Context) -> str:
    """Plain name of what a control result is about."""
    if isinstance(target, System):
        return target.name
    if isinstance(target, Flow):
        return f"{ctx.systems[target.system_id].name}: {target.purpose}"
    return ctx.bundle.inventory.library.name


def flow_leaves(flow: Flow | None, ctx: Context) -> bool:
    """Whether a flow's records reach anyone outside the library."""
    return bool(flow and (ctx.systems[flow.system_id].external
                          or flow.direction in ("transmit", "disclose")))
