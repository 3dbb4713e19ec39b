"""The Board of Trustees' report: section builders, HTML/PDF rendering, exports, vendor list.

The notebook ``notebooks/04_board_report.ipynb`` calls one builder per section; each returns
a :class:`Section` whose HTML is produced by Jinja2 with autoescaping, so no string from the
inventory (a system named ``<script>``, say) can become markup. ``render_board_report`` turns
the executed notebook into an offline HTML page (code hidden) and a PDF through headless
Chromium. ``write_exports`` writes the findings and the action plan for people who work in
spreadsheets, with formula injection neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from lcopia import charts
from lcopia.errors import LcopiaError, UsageError
from lcopia.models import Bundle, Finding, System

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results

TEMPLATES = Path(__file__).resolve().parent / "templates"
NB_TEMPLATE = "lcopia_board"
BAND_ORDER = {"Critical": 0, "High": 1, "Moderate": 2, "Low": 3}
KIND_LABEL = {
    "control": "Control gap", "gate": "Compliance gate", "policy_gap": "Policy and statute",
    "disclosure": "Disclosure request", "evidence": "Evidence check", "web": "Website",
}
YESNO = {"yes": "Yes", "no": "No", "unknown": "Not known", True: "Yes", False: "No"}
CHROMIUM_TIMEOUT = 120
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- basics


@dataclass(frozen=True)
class Section:
    """One block of the report; Jupyter shows ``_repr_html_`` and nbconvert keeps it."""

    title: str
    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # stable text/plain output: no memory address in the notebook
        return f"{self.title} (section of the Board report)"


def fmt_date(value: dt.date | None, missing: str = "not set") -> str:
    """Dates as trustees write them: 30 November 2026."""
    if value is None:
        return missing
    return f"{value.day} {value:%B %Y}"


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=False)
    env.filters["date"] = fmt_date
    env.filters["band_class"] = band_class
    env.filters["yesno"] = lambda v: YESNO.get(getattr(v, "value", v), str(v))
    return env


def _render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def _section(title: str, template: str, **context: Any) -> Section:
    return Section(title, _render(f"sections/{template}", **context))


def band_class(label: str | None) -> str:
    """CSS class of a band label; unknown labels get no colour (the word still shows)."""
    key = (label or "").lower()
    return f"band band-{key}" if key in {"critical", "high", "moderate", "low"} else "band"


def css_string(text: str) -> str:
    """A CSS string literal that cannot end the string or the <style> element."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:()")
    return '"' + "".join(c if c in safe else f"\\{ord(c):06x}" for c in text) + '"'


def first_sentence(text: str) -> str:
    """The first sentence of an action, for the one-page summary (the plan has it all)."""
    m = re.search(r"[.;](\s|$)", text)
    return text[: m.start()] + "." if m else text


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _labels(terms: Iterable[Any]) -> dict[str, str]:
    return {t.id: t.label for t in terms}


def _systems(bundle: Bundle) -> dict[str, System]:
    return {s.system_id: s for s in bundle.inventory.systems}


def _findings_sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.risk, BAND_ORDER.get(f.band, 9), f.id))


def _band_counts(findings: Iterable[Finding]) -> Counter[str]:
    return Counter(f.band for f in findings)


def _is_signed(bundle: Bundle) -> bool:
    lib = bundle.inventory.library
    return bool(lib.signed_privacy_officer and lib.signed_director and lib.board_resolution_date)


_ENV = _env()


def load_results(data_dir: str | Path, as_of: str | dt.date, run_dir: str | Path = "") -> Results:
    """The notebook's one entry point (see ``lcopia.pipeline.results``)."""
    from lcopia import pipeline

    return pipeline.results(data_dir, as_of, run_dir)


# --------------------------------------------------------------------------- sections


def cover(results: Results) -> Section:
    """Cover page; also sets the page header (status) and footer (library, date) for print."""
    a, b = results.assessment, results.bundle
    lib = b.inventory.library
    signed = _is_signed(b)
    status = "FINAL" if signed else "DRAFT"
    detail = (f"Signed; residual risks accepted by Board resolution of "
              f"{fmt_date(lib.board_resolution_date)}" if signed else
              "Draft until signed by the Privacy Officer and the Director and accepted by "
              "resolution of the Board")
    footer = f"{lib.name} · Privacy impact assessment · {a.as_of.isoformat()}"
    return _section(
        "Cover", "cover.html.j2", library=lib.name, as_of=fmt_date(a.as_of), status=status,
        status_detail=detail, illustrative=a.illustrative, policy_title=b.policy.title,
        approved=fmt_date(b.policy.approved), policy_version=b.policy.version,
        period=f"{fmt_date(lib.period_start)} to {fmt_date(lib.period_end)}",
        privacy_officer=lib.privacy_officer, footer_css=css_string(footer),
        status_css=css_string(status if signed else "DRAFT: not yet signed"))


def executive_summary(results: Results) -> Section:
    """One page in plain words: posture, gate, critical and high counts, top five actions."""
    a, b = results.assessment, results.bundle
    counts = _band_counts(a.findings)
    flows_band = Counter(f.residual_band for f in a.flows)
    n_sys, n_flows = len(a.systems), len(a.flows)
    gate_fail = a.gate.result == "FAIL"
    posture_sentence = (
        f"{b.inventory.library.name} was assessed on {fmt_date(a.as_of)} against its policy "
        f"\u201c{b.policy.title}\u201d. We looked at {_plural(n_sys, 'system')} and "
        f"{_plural(n_flows, 'data flow')} holding library records.")
    if gate_fail:
        gate_sentence = (
            "The compliance gate fails: "
            f"{_plural(len(a.gate.violations), 'case breaks', 'cases break')} a rule that "
            "the policy or the statute makes absolute, whatever the risk score.")
    else:
        gate_sentence = ("The compliance gate passes: no case breaks a rule that the policy or "
                         "the statute makes absolute.")
    high_flows = flows_band.get("Critical", 0) + flows_band.get("High", 0)
    risk_sentence = (
        f"There are {_plural(len(a.findings), 'finding')}: {counts.get('Critical', 0)} Critical, "
        f"{counts.get('High', 0)} High, {counts.get('Moderate', 0)} Moderate and "
        f"{counts.get('Low', 0)} Low. With the controls in place today, {high_flows} of "
        f"{n_flows} data flows carry Critical or High risk; once the action plan is done, "
        f"{sum(1 for f in a.flows if f.planned_band in ('Critical', 'High'))} would.")
    top = [{**g, "action": first_sentence(g["action"])}
           for g in action_groups(results, places=3)[:5]]
    lib = b.inventory.library
    if _is_signed(b):
        ask = (f"The Board accepted the residual risks by resolution of "
               f"{fmt_date(lib.board_resolution_date)}.")
    else:
        ask = ("Note the gate result; endorse the action plan, its owners and dates; refer "
               "the policy gaps to counsel; then accept the residual risks by resolution.")
    controls = {c.id: c.title for c in b.policy.controls}
    by_rule: dict[str, list[str]] = {}
    for v in a.gate.violations:
        label = controls.get(v.control_id or "", "") or b.policy.gate_rules.get(v.rule, v.rule)
        by_rule.setdefault(label, []).append(v.subject)
    violations = [{"label": k, "n": len(v), "where": _listing(v, 3)}
                  for k, v in sorted(by_rule.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    more_rules = max(len(violations) - 3, 0)
    short = a.posture.split(":", 1)[0].strip() if len(a.posture) > 24 else a.posture
    return _section(
        "Executive summary", "summary.html.j2", posture=short,
        posture_full=a.posture if a.posture.endswith(".") else a.posture + ".",
        posture_sentence=posture_sentence, gate_word="FAIL" if gate_fail else "PASS",
        gate_sentence=gate_sentence, violations=violations[:3], more_rules=more_rules,
        n_critical=flows_band.get("Critical", 0), n_high=flows_band.get("High", 0),
        risk_sentence=risk_sentence, actions=top, ask=ask)


def scope_and_method(results: Results) -> Section:
    """What was assessed and how a risk score is reached, briefly and in plain words."""
    a, b = results.assessment, results.bundle
    scales = b.policy.scales
    inv = b.inventory
    covered = {f.category for f in a.flows}
    categories = [{"name": c.name, "covered": c.id in covered} for c in b.taxonomy.categories]
    return _section(
        "Scope and method", "scope.html.j2", library=inv.library.name,
        period=f"{fmt_date(inv.library.period_start)} to {fmt_date(inv.library.period_end)}",
        n_systems=len(a.systems), n_flows=len(a.flows),
        n_external=sum(1 for s in inv.systems if s.external),
        n_controls=len(b.policy.controls), n_results=len(a.controls),
        n_disclosures=len(inv.disclosures), categories=categories,
        tiers=scales.tiers, severity=scales.severity, likelihood=scales.likelihood,
        factors=scales.likelihood_factors,
        bands=sorted(scales.risk_bands, key=lambda r: -r.min),
        gate_rules=sorted(b.policy.gate_rules.values()),
        evidence=results.evidence is not None, web=results.web is not None)


def inventory_matrix(results: Results) -> Section:
    """Record category × system matrix, each cell the most sensitive tier held there."""
    a, b = results.assessment, results.bundle
    tiers = {t.id: t for t in b.policy.scales.tiers}
    rank = {t.id: t.rank for t in b.policy.scales.tiers}
    cell: dict[tuple[str, str], list[str]] = {}
    for f in a.flows:
        cell.setdefault((f.system_id, f.category), []).append(f.tier)
    used = {f.category for f in a.flows}
    cats = [c for c in b.taxonomy.categories if c.id in used] or list(b.taxonomy.categories)
    rows = []
    for s in sorted(a.systems, key=lambda s: (s.rank, s.system_id)):
        cells = []
        for c in cats:
            found = cell.get((s.system_id, c.id), [])
            if found:
                top = max(found, key=lambda t: rank.get(t, -1))
                cells.append({"tier": top, "css": f"tier-{top}" if top in tiers else "",
                              "n": len(found),
                              "title": tiers[top].label if top in tiers else top})
            else:
                cells.append(None)
        rows.append({"name": s.name, "vendor": s.vendor, "cells": cells})
    legend = sorted(b.policy.scales.tiers, key=lambda t: -t.rank)
    return _section("Inventory overview", "matrix.html.j2", categories=cats, rows=rows,
                    legend=legend)


def risk_map(results: Results) -> Section:
    """The 4×4 risk map with inherent → residual movement, and its table equivalent."""
    a, b = results.assessment, results.bundle
    chart = charts.risk_map(a, b.policy.scales.risk_bands)
    bands = sorted(b.policy.scales.risk_bands, key=lambda r: -r.min)
    inh = Counter(f.inherent_band for f in a.flows)
    res = Counter(f.residual_band for f in a.flows)
    pla = Counter(f.planned_band for f in a.flows)
    summary = [{"label": r.label, "range": f"{r.min}\u2013{r.max}", "inherent": inh[r.label],
                "residual": res[r.label], "planned": pla[r.label], "days": r.due_days}
               for r in bands]
    return _section("Risk map", "riskmap.html.j2", chart=chart.to_html(), summary=summary)


def system_scorecards(results: Results) -> Section:
    """A summary table and chart, then one scorecard per system."""
    a, b = results.assessment, results.bundle
    systems = _systems(b)
    kinds = _labels(b.taxonomy.vocabularies.system_kinds)
    cat_names = {c.id: c.name for c in b.taxonomy.categories}
    tiers = {t.id: t.label for t in b.policy.scales.tiers}
    flows_in = {f.flow_id: f for f in b.inventory.flows}
    by_system: dict[str, list[Finding]] = {}
    for f in a.findings:
        if f.system_id:
            by_system.setdefault(f.system_id, []).append(f)
    cards = []
    for s in sorted(a.systems, key=lambda s: (s.rank, s.system_id)):
        sysm = systems.get(s.system_id)
        flows = [{"category": cat_names.get(f.category, f.category),
                  "tier": f"{f.tier} {tiers.get(f.tier, '')}".strip(),
                  "patrons": flows_in[f.flow_id].patrons_affected if f.flow_id in flows_in
                  else None,
                  "inherent": f.inherent_risk, "residual": f.residual_risk,
                  "band": f.residual_band, "planned": f.planned_risk}
                 for f in sorted(a.flows, key=lambda f: (-f.residual_risk, f.flow_id))
                 if f.system_id == s.system_id]
        found = _findings_sorted(by_system.get(s.system_id, []))
        titles: dict[str, dict[str, Any]] = {}
        for f in found:
            t = titles.setdefault(_split_status(f.title)[0], {"band": f.band, "n": 0})
            t["n"] += 1
        top = [{"title": k, **v} for k, v in titles.items()]
        facts = []
        if sysm is not None:
            reviewed = fmt_date(sysm.privacy_policy_reviewed, "never reviewed")
            facts = [
                ("Run by", f"{sysm.vendor} (outside the library)" if sysm.external
                 else "The library"),
                ("Holds library records", YESNO[sysm.holds_library_records]),
                ("Contract binds it to the policy", YESNO[sysm.contract_binds_policy.value]),
                ("Contract binds it to Missouri law",
                 YESNO[sysm.contract_binds_missouri_law.value]),
                ("Shares data with third parties",
                 YESNO[sysm.shares_with_third_parties.value]),
                ("Data location", sysm.data_location or "not recorded"),
                ("Vendor privacy policy last reviewed", reviewed if sysm.external
                 else "not applicable"),
                ("Responsible at the library", sysm.owner),
            ]
        cards.append({
            "score": s, "kind": kinds.get(s.kind, s.kind),
            "service": sysm.service if sysm else "", "facts": facts, "flows": flows,
            "findings": top[:6], "more": len(top) - 6 if len(top) > 6 else 0,
            "n_findings": len(found), "tier": f"{s.tier} {tiers.get(s.tier, '')}".strip()})
    chart = charts.system_risk(a)
    return _section("System scorecards", "scorecards.html.j2", cards=cards,
                    chart=chart.to_html())


def _basis(f: Finding, bundle: Bundle) -> list[str]:
    clauses = {c.id: c.heading for c in bundle.policy.clauses}
    statutes = {s.id: s.citation for s in bundle.policy.statutes}
    out = [f"Policy: {clauses.get(c, c)}" for c in f.clauses]
    out += [statutes.get(s, s) for s in f.statutes]
    return out


STATUS_WORDS = ("not met", "not known", "not implemented", "partial", "planned")


def _split_status(title: str) -> tuple[str, str | None]:
    """'Vendor security assurance on file: not known' → (the control, its status)."""
    head, sep, tail = title.rpartition(": ")
    if sep and tail in STATUS_WORDS:
        return head, tail
    return title, None


def _places(results: Results, findings: Iterable[Finding]) -> list[str]:
    """Where findings occur, as system names a trustee recognises (not flow ids)."""
    names = {s.system_id: s.name for s in results.bundle.inventory.systems}
    names.update({s.system_id: s.name for s in results.assessment.systems})
    flow_system = {f.flow_id: f.system_id for f in results.bundle.inventory.flows}
    out = []
    for f in findings:
        sid = f.system_id or (flow_system.get(f.flow_id) if f.flow_id else None)
        if sid and sid in names:
            out.append(names[sid])
        elif f.kind in {"control", "gate"} and not sid:
            out.append("the library as a whole")
        else:
            out.append(f.subject)
    return out


def _listing(items: list[str], limit: int = 8) -> str:
    unique = list(dict.fromkeys(items))
    shown = "; ".join(unique[:limit])
    return shown + (f"; and {len(unique) - limit} more" if len(unique) > limit else "")


def finding_groups(results: Results) -> list[dict[str, Any]]:
    """Findings about the same control grouped into one line, worst first.

    A large library has hundreds of findings, most of them one control missing in many
    places; the Board reads the issue once, with where it occurs.
    """
    a, b = results.assessment, results.bundle
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in _findings_sorted(a.findings):
        key = (f.kind, f.control_id) if f.kind in {"control", "gate"} and f.control_id else (
            f.kind, f.id)
        groups.setdefault(key, []).append(f)
    out = []
    for members in groups.values():
        first = members[0]
        title, _ = _split_status(first.title)
        statuses = Counter(st for st in (_split_status(f.title)[1] for f in members) if st)
        basis: list[str] = []
        for f in members:
            basis += [x for x in _basis(f, b) if x not in basis]
        dues = [f.due for f in members if f.due]
        out.append({
            "title": title, "kind": KIND_LABEL.get(first.kind, first.kind),
            "band": first.band, "risk": first.risk, "n": len(members),
            "bands": [(label, sum(1 for f in members if f.band == label))
                      for label in BAND_ORDER if any(f.band == label for f in members)],
            "statuses": sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0])),
            "where": _listing(_places(results, members), 6),
            "evidence": first.evidence if len(members) == 1 else "",
            "hard_gate": any(f.hard_gate for f in members), "basis": basis,
            "owners": _listing([f.owner for f in members], 3),
            "due": fmt_date(min(dues), "no date set") if dues else "no date set",
            "ref": first.control_id if first.kind in {"control", "gate"} and first.control_id
            else first.id,
        })
    out.sort(key=lambda g: (-g["risk"], BAND_ORDER.get(g["band"], 9), -g["n"], g["title"]))
    return out


def findings_table(results: Results) -> Section:
    """Every finding, grouped by the control it concerns, worst first, with its basis."""
    a = results.assessment
    counts = _band_counts(a.findings)
    return _section("Findings", "findings.html.j2", groups=finding_groups(results),
                    total=len(a.findings),
                    counts=[(label, counts.get(label, 0)) for label in BAND_ORDER])


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
            "findings": sum(len(x.finding_ids) for x in members)})
    out.sort(key=lambda g: g["rank"])
    for i, g in enumerate(out, start=1):
        g["rank"] = i
    return out


def action_plan(results: Results) -> Section:
    """The action plan: what to do, who does it, by when, and what it changes."""
    a = results.assessment
    rows = action_groups(results)
    owners = Counter(g["owner"] for g in rows)
    return _section("Action plan", "actions.html.j2", rows=rows, total=len(a.actions),
                    owners=sorted(owners.items(), key=lambda kv: (-kv[1], kv[0])))


def counsel_questions(results: Results) -> Section:
    """Gaps between the policy and the statute, put as questions for the library's counsel."""
    a, b = results.assessment, results.bundle
    statutes = {s.id: s for s in b.policy.statutes}
    clauses = {c.id: c for c in b.policy.clauses}
    items = []
    for f in _findings_sorted(x for x in a.findings if x.kind == "policy_gap"):
        quotes = list(f.clause_quotes) or [clauses[c].text for c in f.clauses if c in clauses]
        items.append({"f": f, "quotes": quotes,
                      "statutes": [statutes[s] for s in f.statutes if s in statutes],
                      "due": fmt_date(f.due, "no date set")})
    return _section("Gaps between the policy and the statute", "counsel.html.j2",
                    items=items, counsel=b.inventory.library.counsel)


def disclosures_summary(results: Results) -> Section:
    """Requests for library records in the period: counts and outcomes, never who asked."""
    a, b = results.assessment, results.bundle
    voc = b.taxonomy.vocabularies
    req, ins, dec = _labels(voc.requester_types), _labels(voc.instruments), _labels(
        voc.decisions)
    ds = a.disclosures
    decisions = sorted({d.decision for d in ds}, key=lambda d: dec.get(d, d))
    table = []
    for rtype in sorted({d.requester_type for d in ds}, key=lambda r: req.get(r, r)):
        mine = [d for d in ds if d.requester_type == rtype]
        table.append({"label": req.get(rtype, rtype), "total": len(mine),
                      "cells": [sum(1 for d in mine if d.decision == x) for x in decisions]})
    by_instrument = sorted(Counter(ins.get(d.instrument, d.instrument) for d in ds).items())
    costs = [d for d in ds if d.search_cost > 0]
    lib = b.inventory.library
    return _section(
        "Disclosure requests", "disclosures.html.j2", n=len(ds),
        period=f"{fmt_date(lib.period_start)} to {fmt_date(lib.period_end)}",
        decisions=[dec.get(x, x) for x in decisions], table=table,
        by_instrument=by_instrument,
        meets_statute=sum(1 for d in ds if d.meets_statute),
        meets_policy=sum(1 for d in ds if d.meets_policy),
        n_costs=len(costs), total_cost=f"${sum(d.search_cost for d in costs):,.2f}",
        n_billed=sum(1 for d in costs if d.cost_billed == "yes"),
        n_findings=sum(1 for f in a.findings if f.kind == "disclosure"))


def web_tracking(results: Results) -> Section:
    """Third parties seen on the library's own web pages, from browser captures."""
    a = results.assessment
    found = _findings_sorted(f for f in a.findings if f.kind == "web")
    return _section("Third parties on the library's web pages", "web.html.j2",
                    supplied=results.web is not None, findings=found,
                    domains=results.bundle.inventory.library.website_domains)


def evidence_summary(results: Results) -> Section:
    """What the checks on exported files found: counts only, nothing from inside a file."""
    a = results.assessment
    found = _findings_sorted(f for f in a.findings if f.kind == "evidence")
    return _section("Checks on exported files", "evidence.html.j2",
                    supplied=results.evidence is not None, findings=found)


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


# --------------------------------------------------------------------------- sign-off


def sign_off(results: Results) -> Section:
    """Who signs, when the Board resolved, and the residual risks it is asked to accept."""
    a, b = results.assessment, results.bundle
    lib = b.inventory.library
    bands = b.policy.scales.risk_bands
    remaining = [{"s": s, "band": charts.band_of(s.planned_risk, bands)}
                 for s in sorted(a.systems, key=lambda s: (-s.planned_risk, s.rank))
                 if s.planned_risk >= 4]
    return _section(
        "Sign-off", "signoff.html.j2", lib=lib, remaining=remaining, signed=_is_signed(b),
        accepted=lib.residual_risks_accepted)


def provenance(manifest: str | Path | None, results: Results | None = None) -> Section:
    """Input fingerprints and versions, read from the run's manifest.json.

    ``manifest`` may be the run folder or the manifest file; empty or missing means a
    standalone run, which the section says plainly.
    """
    path = Path(manifest) if manifest and str(manifest).strip() else None
    if path is not None and path.is_dir():
        path = path / "manifest.json"
    data: dict[str, Any] | None = None
    if path is not None and path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            raise LcopiaError(f"{path}: the run manifest is not readable JSON; run "
                              "lcopia assess again to rewrite it") from None
        data = loaded if isinstance(loaded, dict) else None
    inputs: list[tuple[str, str]] = []
    facts: list[tuple[str, str]] = []
    packages: list[tuple[str, str]] = []
    if data is not None:
        raw_inputs = data.get("inputs") or data.get("files") or {}
        if isinstance(raw_inputs, dict):
            inputs = sorted((str(k), _hash_text(v)) for k, v in raw_inputs.items())
        names = {"as_of": "Assessment date", "policy_id": "Policy",
                 "policy_version": "Policy version", "lcopia_version": "Software version",
                 "version": "Software version", "schema_version": "Results schema",
                 "command": "Produced by", "python": "Python version",
                 "data_dir": "Data folder",
                 "previous": "Compared with"}
        for key, label in names.items():
            value = data.get(key)
            if isinstance(value, str | int | float) and value != "":
                facts.append((label, str(value)))
        raw_pk = data.get("packages") or data.get("versions") or {}
        if isinstance(raw_pk, dict):
            packages = sorted((str(k), str(v)) for k, v in raw_pk.items())
    elif results is not None:
        inputs = sorted(results.assessment.inputs.items())
        facts = [("Assessment date", results.assessment.as_of.isoformat()),
                 ("Policy version", results.assessment.policy_version)]
    return _section("Provenance", "provenance.html.j2", recorded=data is not None,
                    inputs=inputs, facts=facts, packages=packages)


def _hash_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("sha256") or value.get("hash") or "")
    return str(value)


# --------------------------------------------------------------------------- exports

FINDING_COLUMNS = [
    "id", "kind", "band", "risk", "hard_gate", "gate_rule", "control_id", "system_id",
    "flow_id", "title", "subject", "clauses", "statutes", "evidence", "recommendation",
    "ala_priority", "owner", "due"]
ACTION_COLUMNS = [
    ("Rank", 7), ("Finding ids", 24), ("Control", 11), ("Subject", 30), ("Action", 50),
    ("Owner", 20), ("Due date", 12), ("Residual risk", 10), ("Band", 11),
    ("Risk after action", 10), ("ALA priority", 9)]


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _finding_row(f: Finding) -> list[Any]:
    d = f.model_dump(mode="json")
    out = []
    for col in FINDING_COLUMNS:
        v = d.get(col)
        if isinstance(v, list):
            v = "; ".join(str(x) for x in v)
        elif isinstance(v, bool):
            v = "yes" if v else "no"
        elif v is None:
            v = ""
        out.append(neutralise(v))
    return out


def _write_csv(findings: list[Finding], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(FINDING_COLUMNS)
    for f in findings:
        w.writerow(_finding_row(f))
    path.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")


def _write_xlsx(results: Results, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    a = results.assessment
    wb = Workbook()
    ws = wb.active
    ws.title = "Action plan"
    rows: list[list[Any]] = [[
        x.rank, "; ".join(x.finding_ids), x.control_id or "", x.subject, x.action, x.owner,
        x.due, x.residual_risk, x.band, x.planned_risk, x.ala_priority or ""]
        for x in sorted(a.actions, key=lambda x: x.rank)]
    _fill_sheet(ws, [c for c, _ in ACTION_COLUMNS], [w for _, w in ACTION_COLUMNS], rows,
                Font, Alignment, get_column_letter)
    ws2 = wb.create_sheet("Findings")
    frows = [_finding_row(f) for f in _findings_sorted(a.findings)]
    for r in frows:  # risk stays a number; due a date
        r[3] = int(r[3])
        r[-1] = dt.date.fromisoformat(r[-1]) if r[-1] else None
    widths = [22, 14, 10, 7, 8, 16, 11, 14, 14, 40, 30, 16, 16, 50, 50, 8, 18, 12]
    _fill_sheet(ws2, FINDING_COLUMNS, widths, frows, Font, Alignment, get_column_letter)
    stamp = dt.datetime.combine(a.as_of, dt.time())
    wb.properties.creator = "lcopia"
    wb.properties.title = f"Action plan {a.as_of.isoformat()}"
    wb.properties.created = stamp
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    _normalise_zip(tmp, path, a.as_of)
    tmp.unlink()


def _fill_sheet(ws: Any, header: list[str], widths: list[int], rows: list[list[Any]],
                font: Any, align: Any, letter: Any) -> None:
    ws.append(header)
    for cell in ws[1]:
        cell.font = font(bold=True)
        cell.alignment = align(vertical="top", wrap_text=True)
    for row in rows:
        ws.append([neutralise(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            elif isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cell.alignment = align(vertical="top", wrap_text=True)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[letter(i)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _normalise_zip(src: Path, dst: Path, when: dt.date) -> None:
    """Rewrite an xlsx with fixed timestamps so the same assessment gives the same bytes."""
    stamp = f"{when.isoformat()}T00:00:00Z".encode()
    with zipfile.ZipFile(src) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp,
                              data)
            zi = zipfile.ZipInfo(info.filename, date_time=(when.year, when.month, when.day,
                                                           0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            out.writestr(zi, data)


def vendor_rows(results: Results) -> list[dict[str, Any]]:
    """External systems that hold library records, with what the patron list must show."""
    b = results.bundle
    names = {c.id: c.name for c in b.taxonomy.categories}
    order = {c.id: i for i, c in enumerate(b.taxonomy.categories)}
    cats: dict[str, set[str]] = {}
    for f in b.inventory.flows:
        cats.setdefault(f.system_id, set()).add(f.category)
    as_of = results.assessment.as_of
    rows = []
    for s in sorted(b.inventory.systems, key=lambda s: (s.vendor.lower(), s.service.lower())):
        if not (s.external and s.holds_library_records):
            continue
        url = s.privacy_policy_url.strip()
        scheme = urlsplit(url).scheme.lower() if url else ""
        reviewed = s.privacy_policy_reviewed
        rows.append({
            "vendor": s.vendor, "service": s.service or s.name,
            "categories": [names.get(c, c) for c in sorted(cats.get(s.system_id, set()),
                                                            key=lambda c: order.get(c, 99))],
            "url": url, "linkable": scheme in {"http", "https"},
            "reviewed": fmt_date(reviewed, "Not yet reviewed"),
            "overdue": reviewed is None or (as_of - reviewed).days > 365,
        })
    return rows


def _promise_clause(bundle: Bundle) -> str | None:
    for c in bundle.policy.clauses:
        if "list of the privacy policies" in c.text.lower():
            return c.text
    return None


def vendor_page(results: Results) -> str:
    """The standalone vendor privacy-policy list the policy promises patrons on request."""
    a, b = results.assessment, results.bundle
    return _render(
        "vendor-privacy-policies.html.j2", library=b.inventory.library.name,
        as_of=fmt_date(a.as_of), clause=_promise_clause(b), policy_title=b.policy.title,
        approved=fmt_date(b.policy.approved), contact=b.policy.contact,
        rows=vendor_rows(results), illustrative=a.illustrative,
        css=(TEMPLATES / "vendor.css").read_text(encoding="utf-8"))


def write_exports(results: Results, out_dir: str | Path) -> list[Path]:
    """findings.csv, findings.json, action-plan.xlsx and the vendor privacy-policy list."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    findings = _findings_sorted(results.assessment.findings)
    paths = [out / "findings.csv", out / "findings.json", out / "action-plan.xlsx",
             out / "vendor-privacy-policies.html"]
    _write_csv(findings, paths[0])
    paths[1].write_text(json.dumps(_snapshot(results), indent=2, sort_keys=True,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    _write_xlsx(results, paths[2])
    paths[3].write_text(vendor_page(results), encoding="utf-8")
    return paths


def accompanying_files(results: Results, run_dir: str | Path = "") -> Section:
    """Writes the exports into the run folder (when there is one) and lists them."""
    files: list[str] = []
    if run_dir and str(run_dir).strip():
        files = [p.name for p in write_exports(results, run_dir)]
    return _section("Files that accompany this report", "files.html.j2", files=files)


# --------------------------------------------------------------------------- rendering


def _check_executed(nb: Any, path: Path) -> None:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise LcopiaError(
                    f"{path}: cell {i} failed ({out.get('ename', 'error')}); the report was "
                    "not rendered. Run lcopia assess again and read the kept notebook.")


def notebook_to_html(executed_notebook: Path) -> str:
    """nbconvert with inputs, prompts and code-like outputs removed, our offline template."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = nbformat.read(str(executed_notebook), as_version=4)
    _check_executed(nb, executed_notebook)
    exporter = HTMLExporter(
        template_name=NB_TEMPLATE, extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True, anchor_link_text="")
    exporter.register_preprocessor(TagRemovePreprocessor(
        remove_cell_tags={"remove_cell", "parameters", "injected-parameters"}, enabled=True),
        enabled=True)
    title = str(nb.metadata.get("title") or "Privacy impact assessment: report to the Board")
    body, _ = exporter.from_notebook_node(nb, resources={
        "metadata": {"name": title, "path": str(Path(executed_notebook).parent)},
        "report_title": title})
    return body


def chromium_path() -> str:
    return os.environ.get("LCOPIA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def chromium_flags(profile: Path) -> list[str]:
    """Flags that keep headless Chromium quiet on the network and independent of others."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-quic", "--disable-default-apps", "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}"]


def html_to_pdf(html_file: Path, pdf_file: Path, paper: str = "Letter",
                timeout: int = CHROMIUM_TIMEOUT) -> Path:
    """Print an HTML file to PDF with headless Chromium, page size set for the copy printed.

    Chromium exits 0 even when it writes nothing, so the file itself is checked.
    """
    if paper not in {"Letter", "A4"}:
        raise UsageError(f"paper must be Letter or A4, got {paper!r}")
    exe = chromium_path()
    if not Path(exe).exists() and shutil.which(exe) is None:
        raise LcopiaError(f"Chromium was not found at {exe}; it prints the PDF. Install it "
                          "with `make deps` (Debian package chromium), then run again.")
    pdf_file = Path(pdf_file)
    pdf_file.unlink(missing_ok=True)
    text = Path(html_file).read_text(encoding="utf-8")
    page_css = f"<style>@page {{ size: {paper}; }}</style>"
    text = text.replace("</head>", page_css + "</head>", 1)
    with tempfile.TemporaryDirectory(prefix="lcopia-pdf-") as tmp:
        printable = Path(tmp) / "print.html"
        printable.write_text(text, encoding="utf-8")
        profile = Path(tmp) / "profile"
        out = Path(tmp) / "out.pdf"
        cmd = [exe, *chromium_flags(profile), "--no-pdf-header-footer",
               f"--print-to-pdf={out}", printable.as_uri()]
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise LcopiaError(f"Chromium took longer than {timeout} s to print {html_file}; "
                              "close other Chromium windows and run again.") from None
        except OSError as exc:
            raise LcopiaError(f"Chromium could not start ({exc.strerror}); reinstall it with "
                              "`make deps`.") from None
        if not out.is_file() or out.stat().st_size == 0 or not out.read_bytes().startswith(
                b"%PDF"):
            raise LcopiaError(f"Chromium wrote no PDF for {html_file}. Check that the "
                              "chromium package is installed (`make deps`) and run again.")
        shutil.move(str(out), str(pdf_file))
    return pdf_file


def render_board_report(executed_notebook: Path, out_dir: Path,
                        paper: str = "Letter") -> dict[str, Path]:
    """board-report.html (self-contained, code hidden) and board-report.pdf in out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_file = out / "board-report.html"
    html_file.write_text(notebook_to_html(Path(executed_notebook)), encoding="utf-8")
    pdf_file = html_to_pdf(html_file, out / "board-report.pdf", paper=paper)
    return {"html": html_file, "pdf": pdf_file}
