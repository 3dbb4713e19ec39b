"""The expert scenario suite: one parametrised test reads every ``tests/scenarios/*.yaml``.

Each scenario is a small inventory fragment (systems, flows, answers, disclosures, an export
check or a browser capture) on top of a minimal base, and the verdict an expert would give,
citing the rubric line it tests (``../shared/research/judgment-rubric.md``). Defaults make
the fragment short: a system is in-house and bound by contract, a flow is encrypted, narrow
and kept no longer than needed, and (with ``answer_all``) every control not named in the
scenario is answered as ``answer_all`` says, so only what the scenario changes is judged.

Verdict keys (all optional):
  gate: pass | fail            gate_kinds: [statute, policy, practice] that must appear
  no_gate_kinds: [...]         kinds that must not appear
  risks: [{kind, flow, system, severity, band: [lo, hi], observed, gate_kind, title_has,
           count}]  must appear (count: exactly that many match)
  no_risks: [{kind, flow, system, band_above}]  must not appear (band_above: only above it)
  max_risks: N
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from lcopia import fsio
from lcopia.evidence import EvidenceReport
from lcopia.load import load
from lcopia.models import Answer, Assessment, Disclosure, Flow, Risk, System
from lcopia.scoring import assess
from lcopia.web import WebReport

HERE = Path(__file__).resolve().parent
SCENARIOS = sorted((HERE / "scenarios").glob("*.yaml"))
DATA = HERE.parent / "data"
AS_OF = dt.date(2026, 11, 30)
BANDS = ["Low", "Moderate", "High", "Critical"]
RUBRIC = {f"{k}{i}" for k, n in (("G", 8), ("S", 7), ("L", 5), ("R", 5), ("W", 4), ("E", 4),
                                   ("C", 9)) for i in range(1, n + 1)}

SYSTEM = dict(name="", vendor="In house", service="Service", kind="ils", external=False,
              holds_library_records=True, contract_ref="", contract_binds_policy="yes",
              contract_binds_missouri_law="yes", uses=["service_delivery"],
              shares_with_third_parties="no", patron_accounts=False, owner="Privacy Officer")
FLOW = dict(category="circulation", elements=["zip"], purpose="Lending", direction="store",
            recipient="Library", transfer="local", storage="library server",
            retention_days=30, retention_need_days=30, encrypted="yes", broad_access="no",
            minors=False, patrons_affected=100, is_library_record=True,
            rationale="A library record.")
DISCLOSURE = dict(received="2026-05-01", requester="Requester", requester_type="law_enforcement",
                  instrument="informal", court_finding="none", categories=["circulation"],
                  records_requested="One patron's loans", decision="refused", search_cost=0,
                  cost_billed="no")

_BASE = None


def base() -> Any:
    global _BASE
    if _BASE is None:
        _BASE = load(DATA)
    return _BASE


def world(spec: dict[str, Any]) -> tuple[Any, EvidenceReport | None, WebReport | None]:
    """The base policy and taxonomy, the sample library, and the scenario's inventory."""
    b = base()
    systems = [System(**{**SYSTEM, "name": s["system_id"], **s}) for s in spec.get("systems", [])]
    flows = [Flow(**{**FLOW, **f}) for f in spec.get("flows", [])]
    answers = [Answer(**a) for a in spec.get("answers", [])]
    disclosures = [Disclosure(**{**DISCLOSURE, **d}) for d in spec.get("disclosures", [])]
    library = b.inventory.library
    inv = b.inventory.model_copy(update={"library": library, "systems": systems, "flows": flows,
                                         "answers": answers, "disclosures": disclosures})
    bundle = b.model_copy(update={"inventory": inv})
    status = spec.get("answer_all")
    if status:
        bundle = _answer_all(bundle, status)
    evidence = EvidenceReport(as_of=AS_OF, files=spec["evidence"]) if "evidence" in spec else None
    web = WebReport(**spec["web"]) if "web" in spec else None
    return bundle, evidence, web


def _answer_all(bundle: Any, status: str) -> Any:
    """Answer every answerable control not answered in the scenario (isolates its subject)."""
    inv = bundle.inventory
    given = {(a.control_id, a.scope, a.target_id) for a in inv.answers}
    extra = []
    for c in bundle.policy.controls:
        if c.derived_from:
            continue
        targets = (["library"] if c.applies_to == "library" else
                   [s.system_id for s in inv.systems] if c.applies_to == "system" else
                   [f.flow_id for f in inv.flows])
        extra += [Answer(control_id=c.id, scope=c.applies_to, target_id=t, status=status,
                         evidence="scenario default")
                  for t in targets if (c.id, c.applies_to, t) not in given]
    return bundle.model_copy(update={"inventory": inv.model_copy(
        update={"answers": [*inv.answers, *extra]})})


def _matches(r: Risk, want: dict[str, Any]) -> bool:
    if "kind" in want and r.kind != want["kind"]:
        return False
    if "flow" in want and want["flow"] not in r.flows:
        return False
    if "system" in want and want["system"] not in r.systems:
        return False
    if "observed" in want and r.observed != want["observed"]:
        return False
    if "gate_kind" in want and r.gate_kind != want["gate_kind"]:
        return False
    if "severity" in want and r.severity != want["severity"]:
        return False
    return not ("title_has" in want and want["title_has"].lower() not in r.title.lower())


def _in_band(r: Risk, band: list[str]) -> bool:
    lo, hi = (BANDS.index(b) for b in band)
    return lo <= BANDS.index(r.residual_band) <= hi


def check(a: Assessment, expect: dict[str, Any]) -> list[str]:
    """Every way the assessment differs from the expert verdict (empty = agrees)."""
    problems = []
    kinds = {v.kind for v in a.gate.violations}
    if "gate" in expect and a.gate.result.lower() != expect["gate"]:
        problems.append(f"gate {a.gate.result}, expected {expect['gate']}: "
                        + "; ".join(f"{v.kind} {v.rule} {v.subject}" for v in a.gate.violations))
    for k in expect.get("gate_kinds", []):
        if k not in kinds:
            problems.append(f"no {k} gate finding (found {sorted(map(str, kinds))})")
    for k in expect.get("no_gate_kinds", []):
        if k in kinds:
            problems.append(f"unexpected {k} gate finding")
    for want in expect.get("risks", []):
        found = [r for r in a.risks if _matches(r, want)]
        if not found:
            problems.append(f"no risk like {want}; register: "
                            + "; ".join(f"{r.id} {r.residual_band}" for r in a.risks))
        elif "band" in want and not any(_in_band(r, want["band"]) for r in found):
            problems.append(f"{want}: band " + ", ".join(r.residual_band for r in found))
        if "count" in want and len(found) != want["count"]:
            problems.append(f"{want}: {len(found)} risks: " + ", ".join(r.id for r in found))
    for bad in expect.get("no_risks", []):
        above = BANDS.index(bad.get("band_above", "Low")) if "band_above" in bad else -1
        hits = [r for r in a.risks if _matches(r, bad) and BANDS.index(r.residual_band) > above]
        if hits:
            problems.append(f"flagged {bad}: " + ", ".join(f"{r.id} {r.residual_band}"
                                                           for r in hits))
    if "max_risks" in expect and len(a.risks) > expect["max_risks"]:
        problems.append(f"{len(a.risks)} risks > {expect['max_risks']}")
    return problems + invariants(a)


def invariants(a: Assessment) -> list[str]:
    """What every register must satisfy, whatever the inventory (R1, R2, R3)."""
    problems = [f"{r.id} is Critical without a gate failure or observed evidence"
                for r in a.risks
                if r.residual_band == "Critical" and not (r.gate_kind or r.observed)]
    actions = [r.action for r in a.risks]
    if len(set(actions)) != len(actions):
        problems.append("two risks share an action")
    problems += [f"{f.id} feeds no risk" for f in a.findings if not f.risk_id]
    problems += [f"gate violation {v.subject} links to no risk" for v in a.gate.violations
                 if not v.risk_id]
    return problems


def _spec(path: Path) -> Any:
    return fsio.read_yaml(path, f"scenarios/{path.name}")


def _cases() -> list[Any]:
    out = []
    for path in SCENARIOS:
        spec = _spec(path)
        marks = [pytest.mark.xfail(strict=True, reason=spec["xfail"])] if spec.get("xfail")\
            else []
        out.append(pytest.param(path, id=path.stem, marks=marks))
    return out


@pytest.mark.parametrize("path", _cases())
def test_scenario(path: Path) -> None:
    spec = _spec(path)
    assert set(spec["rubric"]) <= RUBRIC, spec["rubric"]
    bundle, evidence, web = world(spec)
    a = assess(bundle, AS_OF, evidence=evidence, web=web)
    problems = check(a, spec["expect"])
    assert not problems, f"{spec['description']}\n" + "\n".join(problems)


def test_the_suite_is_big_enough_and_covers_false_alarms() -> None:
    specs = [_spec(p) for p in SCENARIOS]
    assert len(specs) >= 40
    assert sum(bool(s.get("fine")) for s in specs) >= 10
