"""The terminal summary of an assessment (``lcopia score --format text``)."""

from __future__ import annotations

from lcopia.models import Assessment


def assessment_text(a: Assessment) -> str:
    """A readable summary for the terminal: posture, gate, top risks and actions."""
    lines = [f"{a.library} — privacy impact assessment as of {a.as_of.isoformat()}",
             f"Policy {a.policy_id} (version {a.policy_version})"
             + ("  [illustrative sample data]" if a.illustrative else ""), "",
             a.posture, "", f"Compliance gate: {a.gate.result}"]
    for v in a.gate.violations:
        lines.append(f"  - [{v.kind or v.rule}] {v.subject}: {v.statement}")
    lines += ["", f"Risk register: {a.counts.get('risks', len(a.risks))} risks "
              f"({a.counts.get('risks_critical', 0)} critical, "
              f"{a.counts.get('risks_high', 0)} high)"]
    for r in a.risks:
        lines.append(f"  {r.rank:>2}. [{r.residual_band}] {r.title}")
    lines += ["", "Residual risk by system (share of the library's total):"]
    for s in a.systems:
        lines.append(f"  {s.rank:>2}. {s.name:<46.46} {s.residual_band:<9} "
                     f"{s.share:5.1f}%  gate {s.gate}")
    lines += ["", f"Findings: {len(a.findings)} ({a.counts['findings_critical']} critical, "
              f"{a.counts['findings_high']} high); controls unknown: "
              f"{a.counts['controls_unknown']}", "", "Top actions (one per risk):"]
    for act in a.actions[:10]:
        due = act.due.isoformat() if act.due else "-"
        lines.append(f"  {act.rank:>2}. [{act.band}] {act.action} "
                     f"(owner {act.owner}, due {due})")
    questions = [f for f in a.findings if f.kind == "policy_gap"]
    if questions:
        lines += ["", "Questions for counsel (policy versus statute):"]
        lines += [f"  - {f.title}" for f in questions]
    return "\n".join(lines)
