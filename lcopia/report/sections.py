"""The Board report's sections: one builder per notebook cell, each returning a Section.

The notebook ``notebooks/04_board_report.ipynb`` calls one builder per section; each returns
a :class:`Section` whose HTML is produced by Jinja2 with autoescaping.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lcopia.errors import LcopiaError
from lcopia.models import Finding
from lcopia.report import charts
from lcopia.report.board import next_review
from lcopia.report.common import (
    BAND_ORDER,
    KIND_LABEL,
    TOC_MARKER,
    YESNO,
    Section,
    _band_counts,
    _basis,
    _findings_sorted,
    _is_signed,
    _labels,
    _listing,
    _places,
    _plural,
    _section,
    _split_status,
    _systems,
    band_css,
    css_string,
    first_sentence,
    fmt_date,
    fmt_period,
)
from lcopia.report.exports import write_exports
from lcopia.report.language import plain
from lcopia.report.plan import action_groups
from lcopia.scoring.gate import (
    disclosure_sentence,
    policy_statute_sentence,
    search_cost_sentence,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results


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
    footer = f"{lib.name} · Privacy impact assessment · {fmt_date(a.as_of)}"
    return _section(
        "Cover", "cover.html.j2", library=lib.name, as_of=fmt_date(a.as_of), status=status,
        status_detail=detail, illustrative=a.illustrative, policy_title=b.policy.title,
        approved=fmt_date(b.policy.approved), policy_version=b.policy.version,
        period=fmt_period(lib.period_start, lib.period_end),
        privacy_officer=lib.privacy_officer, footer_css=css_string(footer),
        band_rules=band_css(b.policy.scales.risk_bands),
        status_css=css_string(status if signed else "DRAFT: not yet signed"))


def contents(results: Results) -> Section:
    """The table of contents; rendering fills it from the headings (with pages in the PDF)."""
    del results  # the headings are the notebook's own, read when the page is rendered
    return Section("Contents", '<nav class="contents" aria-label="Contents">'
                   f"{TOC_MARKER}</nav>")


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
        period=fmt_period(inv.library.period_start, inv.library.period_end),
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
    chart = charts.system_risk(a, b.policy.scales.risk_bands)
    return _section("System scorecards", "scorecards.html.j2", cards=cards,
                    chart=chart.to_html())



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
                    items=items, counsel=b.inventory.library.counsel,
                    policy_statute=plain(policy_statute_sentence(a.disclosures)))


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
    lib = b.inventory.library
    return _section(
        "Disclosure requests", "disclosures.html.j2", n=len(ds),
        period=fmt_period(lib.period_start, lib.period_end),
        decisions=[dec.get(x, x) for x in decisions], table=table,
        by_instrument=by_instrument,
        handled=plain(disclosure_sentence(ds)),
        costs=search_cost_sentence(ds),
        n_findings=sum(1 for f in a.findings if f.kind == "disclosure"))


def web_tracking(results: Results) -> Section:
    """Third parties seen on the library's own web pages, from browser captures."""
    a = results.assessment
    found = _findings_sorted(f for f in a.findings if f.kind == "web")
    parties = [r for r in sorted(a.risks, key=lambda r: r.rank) if r.kind == "web_tracker"]
    return _section("Third parties on the library's web pages", "web.html.j2",
                    supplied=results.web is not None, findings=found, parties=parties,
                    domains=results.bundle.inventory.library.website_domains)


def evidence_summary(results: Results) -> Section:
    """What the checks on exported files found: counts only, nothing from inside a file."""
    a = results.assessment
    found = _findings_sorted(f for f in a.findings if f.kind == "evidence")
    return _section("Checks on exported files", "evidence.html.j2",
                    supplied=results.evidence is not None, findings=found)


# --------------------------------------------------------------------------- sign-off


def sign_off(results: Results) -> Section:
    """Who signs (name, role, date), the Board's resolution, and the next review date."""
    a, b = results.assessment, results.bundle
    lib = b.inventory.library
    remaining = [r for r in sorted(a.risks, key=lambda r: r.rank)
                 if r.planned_band not in {"Low"}]
    return _section(
        "Sign-off", "signoff.html.j2", lib=lib, remaining=remaining, signed=_is_signed(b),
        accepted=lib.residual_risks_accepted, next_review=fmt_date(next_review(results)))


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
                 "previous": "Compared with"}
        for key, label in names.items():  # never a folder path: the Board reads this
            value = data.get(key)
            if isinstance(value, str | int | float) and value != "":
                text = str(value)
                facts.append((label, Path(text).name if key == "previous" else text))
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



def accompanying_files(results: Results, run_dir: str | Path = "") -> Section:
    """Writes the exports into the run folder (when there is one) and lists them."""
    files: list[str] = []
    if run_dir and str(run_dir).strip():
        files = [p.name for p in write_exports(results, run_dir)]
    return _section("Files that accompany this report", "files.html.j2", files=files)


