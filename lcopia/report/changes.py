"""Changes since an earlier assessment: findings opened, closed and regraded, per system.

Compares this run with the ``findings.json`` an earlier run wrote, so a Board sees movement
year on year without keeping the old software around.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lcopia.errors import UsageError
from lcopia.report.common import Section, _findings_sorted, _section, fmt_date

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results


# --------------------------------------------------------------------------- changes


def _snapshot(results: Results) -> dict[str, Any]:
    """The comparable core of one assessment, as written to findings.json."""
    a = results.assessment
    return {
        "schema": "lcopia.findings/1",
        "library": a.library,
        "as_of": a.as_of.isoformat(),
        "policy_id": a.policy_id,
        "policy_version": a.policy_version,
        "posture": a.posture,
        "gate": a.gate.result,
        "counts": dict(sorted(a.counts.items())),
        "gate_violations": [v.model_dump(mode="json") for v in a.gate.violations],
        "risks": [r.model_dump(mode="json") for r in sorted(a.risks, key=lambda r: r.rank)],
        "findings": [f.model_dump(mode="json") for f in _findings_sorted(a.findings)],
        "systems": [{"system_id": s.system_id, "name": s.name,
                     "inherent_risk": s.inherent_risk, "residual_risk": s.residual_risk,
                     "planned_risk": s.planned_risk, "residual_band": s.residual_band,
                     "residual_total": s.residual_total, "gate": s.gate}
                    for s in sorted(a.systems, key=lambda s: s.system_id)],
    }


def read_previous(previous_dir: str | Path) -> dict[str, Any]:
    """The previous run's findings.json, checked enough to compare against."""
    path = Path(previous_dir)
    file = path / "findings.json" if path.is_dir() else path
    if not file.is_file():
        raise UsageError(
            f"--previous {previous_dir}: no findings.json there. Point it at an earlier "
            "run folder, for example reports/2025-11-30.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise UsageError(f"{file}: not a findings.json written by lcopia assess") from None
    if not isinstance(data, dict) or data.get("schema") != "lcopia.findings/1":
        raise UsageError(f"{file}: not a findings.json written by lcopia assess")
    return data


def changes_since(results: Results, previous_dir: str | Path | None = None) -> Section:
    """Findings opened and closed, and risk movement per system, since an earlier run."""
    if not previous_dir or not str(previous_dir).strip():
        return _section("Changes since the last assessment", "changes.html.j2", first=True)
    prev = read_previous(previous_dir)
    now = _snapshot(results)
    before_f = {f["id"]: f for f in prev.get("findings", [])}
    now_f = {f["id"]: f for f in now["findings"]}
    opened = [now_f[i] for i in now_f if i not in before_f]
    closed = [before_f[i] for i in sorted(before_f) if i not in now_f]
    regraded = [{"f": now_f[i], "was": before_f[i].get("band", "")} for i in now_f
                if i in before_f and before_f[i].get("band") != now_f[i]["band"]]
    before_s = {s["system_id"]: s for s in prev.get("systems", [])}
    movement = []
    for s in now["systems"]:
        old = before_s.get(s["system_id"])
        if old is None:
            change = "New system"
        else:
            delta = s["residual_risk"] - int(old.get("residual_risk", 0))
            change = "Lower" if delta < 0 else "Higher" if delta > 0 else "No change"
        movement.append({"name": s["name"], "was": None if old is None else
                         old.get("residual_risk"), "was_band": None if old is None else
                         old.get("residual_band"), "now": s["residual_risk"],
                         "now_band": s["residual_band"], "change": change})
    for sid in sorted(set(before_s) - {s["system_id"] for s in now["systems"]}):
        old = before_s[sid]
        movement.append({"name": old.get("name", sid), "was": old.get("residual_risk"),
                         "was_band": old.get("residual_band"), "now": None,
                         "now_band": None, "change": "No longer in the inventory"})
    movement.sort(key=lambda r: r["name"].lower())
    return _section(
        "Changes since the last assessment", "changes.html.j2", first=False,
        previous=fmt_date(dt.date.fromisoformat(prev["as_of"])) if prev.get("as_of") else
        "an earlier assessment", opened=opened, closed=closed, regraded=regraded,
        movement=movement, gate_before=prev.get("gate"), gate_now=now["gate"])


