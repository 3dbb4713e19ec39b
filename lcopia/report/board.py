"""The Board's document built on the risk register: the trustee's first pages, the register,
and the sections an auditor expects (processing, necessity and proportionality, harm to
patrons, measures, residual risk, consultation, limitations, sign-off and next review).

Every count here is read from ``Assessment.counts`` or from ``Assessment.risks`` itself, the
same values results.json, findings.json, risk-register.csv and action-plan.xlsx carry, so a
number never differs between outputs. Ids, file and column names stay in those files: Board
text passes through :func:`plain` first.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lcopia import calendar
from lcopia.errors import LcopiaError
from lcopia.models import Risk
from lcopia.report import charts
from lcopia.report.common import Section, _section, fmt_date
from lcopia.report.language import plain, plural
from lcopia.scoring.gate import KIND_MEANING
from lcopia.trend import (
    Trend,
    build_trend,
    reports_folder,
    run_point,
    steps_between,
    summary_rows,
    system_rows,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results

# The gate's own definitions (lcopia.scoring.gate), with a short name for the table: the
# statute kind asks counsel and never states a conclusion the statute leaves to a court.
GATE_KINDS = {
    "statute": ("Statute, for counsel", KIND_MEANING["statute"]),
    "policy": ("The library's policy", KIND_MEANING["policy"]),
    "practice": ("Practice standard", KIND_MEANING["practice"]),
}
# Less intrusive ways to meet the same purpose, by kind of risk (the register's kinds).
ALTERNATIVES = {
    "web_tracker": "Remove the tag, or use cookieless, self-hosted analytics that never sees "
                   "search terms or titles",
    "retention": "Keep identified records only as long as the service needs them, then purge "
                 "or keep counts only",
    "minimisation": "Collect only the fields the service needs; make the rest optional",
    "reading_history": "Keep reading history only for patrons who opt in",
    "staff_access": "Give each role only the records it needs, and log access",
    "encryption": "Encrypt records in transit and at rest",
    "paper_reach": "Keep forms out of public reach, lock them away and shred on schedule",
    "export_identifiers": "Publish counts only, with no patron identifiers in the file",
    "export": "Publish counts only, with no patron identifiers in the file",
    "minors": "Collect less about children and add a guardian's consent where it is needed",
    "prohibited_use": "Forbid profiling and advertising use in the contract, or change vendor",
    "vendor_contract": "Contract terms that bind the vendor to the policy and Missouri law",
}
def _names(results: Results) -> dict[str, str]:
    names = {s.system_id: s.name for s in results.bundle.inventory.systems}
    names.update({s.system_id: s.name for s in results.assessment.systems})
    return names


def _risk_row(r: Risk, names: dict[str, str]) -> dict[str, Any]:
    return {
        "rank": r.rank, "title": plain(r.title), "harm": plain(r.harm),
        "band": r.residual_band, "score": r.residual_risk, "inherent": r.inherent_risk,
        "planned": r.planned_risk, "planned_band": r.planned_band,
        "action": plain(r.action), "owner": r.owner, "due": fmt_date(r.due, "no date set"),
        "gate_kind": r.gate_kind, "observed": r.observed,
        "systems": [names.get(s, s) for s in r.systems], "kind": r.kind,
        "evidence": [plain(e) for e in r.evidence]}


def approval_meeting(results: Results) -> tuple[dt.date, bool]:
    """The Board meeting this report goes to, and whether that date is on record."""
    lib, as_of = results.bundle.inventory.library, results.assessment.as_of
    return (calendar.board_meeting_after(lib, as_of), calendar.has_meeting_after(lib, as_of))


def next_review(results: Results) -> dt.date:
    """A year after the assessment, at the first listed Board meeting from then on."""
    as_of = results.assessment.as_of
    target = as_of.replace(year=as_of.year + 1) if not (
        as_of.month == 2 and as_of.day == 29) else dt.date(as_of.year + 1, 2, 28)
    lib = results.bundle.inventory.library
    later = sorted(d for d in getattr(lib, "board_meetings", []) or [] if d >= target)
    return later[0] if later else calendar.next_business_day(target)


def gate_by_kind(results: Results) -> list[dict[str, Any]]:
    """Gate findings counted by kind: statute, policy, practice (from Assessment.counts)."""
    c = results.assessment.counts
    return [{"kind": k, "label": label, "meaning": meaning, "n": int(c.get(f"gate_{k}", 0))}
            for k, (label, meaning) in GATE_KINDS.items()]


def board_summary(results: Results) -> Section:
    """Pages 1-2 for a trustee: what happened, the gate by kind, top risks, the decision."""
    a, b = results.assessment, results.bundle
    names = _names(results)
    risks = sorted(a.risks, key=lambda r: r.rank)
    rows = [_risk_row(r, names) for r in risks]
    # What happened: the observed problems first, those that break the law before others.
    order = {"statute": 0, "policy": 1, "practice": 2, None: 3}
    facts = sorted((r for r in rows if r["observed"]),
                   key=lambda r: (order[r["gate_kind"]], r["rank"]))[:3]
    c = a.counts
    bands = [(band.label, int(c.get(f"risks_{band.id}", 0)))
             for band in sorted(b.policy.scales.risk_bands, key=lambda x: -x.min)]
    meeting, on_record = approval_meeting(results)
    gate = gate_by_kind(results)
    return _section(
        "For the Board", "board_summary.html.j2", library=b.inventory.library.name,
        as_of=fmt_date(a.as_of), facts=facts, gate=gate, gate_total=sum(g["n"] for g in gate),
        gate_fail=a.gate.result == "FAIL", n_risks=int(c.get("risks", len(risks))),
        bands=bands, top=rows[:5], meeting=fmt_date(meeting), meeting_on_record=on_record,
        signed=bool(b.inventory.library.board_resolution_date))


def risk_register(results: Results) -> Section:
    """One row per risk: band today and after the action, the action, owner and due date."""
    names = _names(results)
    rows = [_risk_row(r, names) for r in sorted(results.assessment.risks, key=lambda r: r.rank)]
    return _section("Risk register", "register.html.j2", rows=rows,
                    n=int(results.assessment.counts.get("risks", len(rows))))


def processing_description(results: Results) -> Section:
    """What is processed, why, by whom, where and for how long: one line per system."""
    b = results.bundle
    cats = {c.id: c.name for c in b.taxonomy.categories}
    flows: dict[str, list[Any]] = {}
    for f in b.inventory.flows:
        flows.setdefault(f.system_id, []).append(f)
    rows = []
    for s in sorted(b.inventory.systems, key=lambda s: s.name.lower()):
        mine = flows.get(s.system_id, [])
        kept = sorted({("indefinitely" if f.retention_days is None else
                        plural(f.retention_days, "day")) for f in mine})
        rows.append({
            "name": s.name, "purpose": "; ".join(dict.fromkeys(f.purpose for f in mine))
            or s.service or "not recorded",
            "records": ", ".join(dict.fromkeys(cats.get(f.category, f.category) for f in mine))
            or "none recorded",
            "by": f"{s.vendor} (vendor)" if s.external else "The library",
            "where": s.data_location or "not recorded", "kept": ", ".join(kept) or "not recorded",
            "patrons": sum(f.patrons_affected for f in mine)})
    return _section("Description of the processing", "processing.html.j2", rows=rows,
                    n_systems=len(b.inventory.systems), n_flows=len(b.inventory.flows),
                    n_external=sum(1 for s in b.inventory.systems if s.external))


def necessity(results: Results) -> Section:
    """Necessity and proportionality per system: its purpose, whether all the data is
    needed for it (from the register's findings about that system), and a less intrusive
    way to reach the same purpose."""
    b, a = results.bundle, results.assessment
    by_system: dict[str, list[Risk]] = {}
    for r in a.risks:
        for sid in r.systems:
            by_system.setdefault(sid, []).append(r)
    purposes: dict[str, list[str]] = {}
    for f in b.inventory.flows:
        purposes.setdefault(f.system_id, []).append(f.purpose)
    excess = {"minimisation", "retention", "reading_history", "web_tracker", "paper_reach",
              "export_identifiers", "export", "prohibited_use", "minors", "staff_access"}
    rows = []
    for s in sorted(b.inventory.systems, key=lambda s: s.name.lower()):
        mine = sorted(by_system.get(s.system_id, []), key=lambda r: r.rank)
        over = [r for r in mine if r.kind in excess]
        rows.append({
            "name": s.name,
            "purpose": "; ".join(dict.fromkeys(purposes.get(s.system_id, []))) or s.service
            or "not recorded",
            "needed": "Yes, no excess found for the purpose." if not over else
            "Not all of it: " + "; ".join(dict.fromkeys(plain(r.title) for r in over)) + ".",
            "alternative": "; ".join(dict.fromkeys(ALTERNATIVES[r.kind] for r in over
                                                   if r.kind in ALTERNATIVES))
            or ("None needed today." if not over else "See the action in the register."),
            "proportionate": not over})
    return _section("Necessity and proportionality", "necessity.html.j2", rows=rows,
                    n_ok=sum(1 for r in rows if r["proportionate"]))


def patron_harm(results: Results) -> Section:
    """Risks to patrons in plain words, starting with what surveillance does to reading."""
    names = _names(results)
    serious = [_risk_row(r, names) for r in sorted(results.assessment.risks,
                                                   key=lambda r: r.rank)
               if r.residual_band in {"Critical", "High"}]
    return _section("Risks to patrons", "harm.html.j2", rows=serious)


def measures(results: Results) -> Section:
    """Safeguards already in place (controls met) and those the action plan adds."""
    a, b = results.assessment, results.bundle
    titles = {c.id: c.title for c in b.policy.controls}
    met = Counter(titles.get(c.control_id, c.control_id) for c in a.controls
                  if c.status == "implemented")
    planned = Counter(titles.get(c.control_id, c.control_id) for c in a.controls
                      if c.status in {"planned", "partial"})
    return _section(
        "Measures", "measures.html.j2",
        met=sorted(met.items(), key=lambda kv: (-kv[1], kv[0])),
        planned=sorted(planned.items(), key=lambda kv: (-kv[1], kv[0])),
        n_evaluated=int(a.counts.get("controls_evaluated", len(a.controls))),
        n_actions=len(a.risks))


def residual_acceptance(results: Results) -> Section:
    """What would remain once every action is done, and why the Board may (or may not)
    accept it: a risk still Critical or High after its action is not for acceptance."""
    names = _names(results)
    rows = []
    for r in sorted(results.assessment.risks, key=lambda r: r.rank):
        row = _risk_row(r, names)
        if r.planned_band in {"Critical", "High"}:
            row["rationale"] = ("Not for acceptance: the planned action leaves it "
                                f"{r.planned_band}. The Board should ask for a stronger "
                                "measure (stop the processing or change the vendor).")
            row["accept"] = False
        elif r.planned_risk < r.residual_risk:
            row["rationale"] = (f"Acceptable once the action is done: it lowers the "
                                f"likelihood, and what remains ({r.planned_band}) is within "
                                "the library's tolerance for that band's review cycle.")
            row["accept"] = True
        else:
            row["rationale"] = (f"Already {r.planned_band}; no action changes it. Acceptable "
                                "if reviewed at the next assessment.")
            row["accept"] = True
        rows.append(row)
    return _section("Residual risk and acceptance", "residual.html.j2", rows=rows,
                    n_refuse=sum(1 for r in rows if not r["accept"]))


def consultation(results: Results) -> Section:
    """Who was consulted, when, and the Privacy Officer's opinion, as recorded in the
    library's data; what is not recorded is said plainly, with who should be asked."""
    lib = results.bundle.inventory.library
    recorded = [{"who": str(getattr(x, "who", "") or (x.get("who") if isinstance(x, dict)
                                                         else "")),
                 "role": str(getattr(x, "role", "") or (x.get("role", "") if isinstance(
                     x, dict) else "")),
                 "date": fmt_date(getattr(x, "date", None) or (x.get("date") if isinstance(
                     x, dict) else None), "date not recorded"),
                 "summary": str(getattr(x, "summary", "") or (x.get("summary", "")
                                                                if isinstance(x, dict)
                                                                else ""))}
                for x in getattr(lib, "consultations", []) or []]
    opinion = str(getattr(lib, "privacy_officer_opinion", "") or "")
    expected = [("Staff who run each system", "how records are really handled"),
                (lib.counsel, "the questions for counsel and the release under review"),
                ("Vendors holding patron records", "contract terms and security assurance"),
                ("Patrons (for example through the Friends or a notice)", "the website "
                 "trackers and reading-history choices")]
    return _section("Consultation and the Privacy Officer's opinion", "consultation.html.j2",
                    recorded=recorded, opinion=opinion, expected=expected,
                    officer=lib.privacy_officer)


def _count(value: Any) -> int:
    """A count that a report model gives either as a number or as the list itself."""
    return len(value) if isinstance(value, list | tuple) else int(value or 0)


def limitations(results: Results) -> Section:
    """How far the evidence reaches: what was observed, what is only reported, what is
    not known."""
    a = results.assessment
    c = a.counts
    web = results.web
    captures = len(getattr(web, "captures", []) or []) if web is not None else 0
    pages = sum(_count(getattr(x, "pages", 0)) for x in getattr(web, "captures", []) or [])
    ev = results.evidence
    files = len(getattr(ev, "files", []) or []) if ev is not None else 0
    observed = sum(1 for r in a.risks if r.observed)
    return _section(
        "Limitations of the evidence", "limitations.html.j2", captures=captures, pages=pages,
        files=files, observed=observed, n_risks=len(a.risks),
        unknown=int(c.get("controls_unknown", 0)),
        evaluated=int(c.get("controls_evaluated", len(a.controls))),
        has_web=web is not None, has_evidence=ev is not None)


MAX_TREND_COLUMNS = 5  # the per-system table shows this many assessments, the latest


def trend_view(results: Results, reports_dir: str | Path | None) -> Trend:
    """Every earlier run of this library found in ``reports_dir`` (dated before this one),
    then this run itself, with the steps between them: the numbers notebook 05 shows for
    the earlier runs, and results.json's for this one."""
    a = results.assessment
    earlier = build_trend(Path(reports_dir), library=a.library) if reports_dir else Trend(
        [], [], [])
    points = [p for p in earlier.points if p.as_of < a.as_of]
    points.append(run_point({"assessment": a.model_dump(mode="json")}, "this assessment"))
    return Trend(points=points, steps=steps_between(points), skipped=earlier.skipped)


def _reports_dir(run_dir: str | Path | None, data_dir: str | Path | None) -> Path | None:
    """The folder earlier runs sit in: beside this run's folder inside ``lcopia assess``;
    standalone, reports/ beside the data folder (None when there is no such folder)."""
    if run_dir and str(run_dir).strip():
        return Path(run_dir).parent
    try:
        return reports_folder(None, data_dir)
    except LcopiaError:
        return None


def year_on_year(results: Results, run_dir: str | Path | None = "",
                 data_dir: str | Path | None = "") -> Section:
    """The trend across every earlier assessment found: risks by band, the gate by kind,
    actions opened, closed and overdue, and each system's risk, ending with this one."""
    trend = trend_view(results, _reports_dir(run_dir, data_dir))
    bands = results.bundle.policy.scales.risk_bands
    labels = [b.label for b in sorted(bands, key=lambda b: -b.min)]
    if len(trend.points) < 2:
        return _section("Year on year", "trend.html.j2", first=True)
    rows = []
    for point, row in zip(trend.points, summary_rows(trend), strict=True):
        rows.append({
            "date": fmt_date(point.as_of) if point.folder != "this assessment" else
            f"{fmt_date(point.as_of)} (this assessment)",
            "gate": {"FAIL": "Fail", "PASS": "Pass"}.get(point.gate, "Not recorded"),
            "kinds": [row[f"Gate ({k})"] for k in GATE_KINDS],
            "bands": [row.get(label) for label in labels], "opened": row["Opened"],
            "closed": row["Closed"], "overdue": row["Overdue"]})
    runs = [(fmt_date(p.as_of), {label: p.risks_by_band.get(label, 0) for label in labels})
            for p in trend.points if p.risks is not None]
    chart = charts.trend_bands(runs, bands) if len(runs) >= 2 else None
    shown = trend.points[-MAX_TREND_COLUMNS:]
    every = [{"name": r["System"],
              "cells": [(v, charts.band_of(v, bands) if v is not None else None)
                        for v in (r[p.as_of.isoformat()] for p in shown)]}
             for r in system_rows(trend)]
    systems = [s for s in every if len(set(s["cells"])) > 1]  # a short section: what moved
    last, now = trend.steps[-1], trend.points[-1]
    before = trend.points[-2]
    overdue = [plain(before.risks[rid].title) for rid in last.overdue
               if before.risks and rid in before.risks]
    return _section(
        "Year on year", "trend.html.j2", first=False, n_earlier=len(trend.points) - 1,
        since=fmt_date(trend.points[0].as_of), last=fmt_date(before.as_of), rows=rows,
        labels=labels, kinds=[GATE_KINDS[k][0] for k in GATE_KINDS],
        chart=chart,
        dates=[fmt_date(p.as_of) for p in shown], systems=systems, overdue=overdue,
        n_steady=len(every) - len(systems),
        hidden=len(trend.points) - len(shown), opened=len(last.opened),
        closed=len(last.closed), now_total=sum(now.risks_by_band.values()),
        before_total=sum(before.risks_by_band.values()) if before.risks is not None else None)
