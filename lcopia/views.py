"""Tables and short notes the assessment notebooks show, built from one ``Results`` object.

The notebooks stay free of logic (no loops, no functions): each cell calls one helper here
and displays what it returns. Tables are pandas DataFrames, whose HTML escapes every cell,
so a system named ``<script>`` shows as text. Nothing here reads an evidence file: the
evidence and web reports inside ``Results`` are already masked, and only their masked
fields are shown.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from lcopia import pipeline
from lcopia.errors import UsageError, did_you_mean
from lcopia.report.charts import band_styles, mpl_text
from lcopia.report.common import BAND_ORDER, YESNO, fmt_date
from lcopia.report.language import plural

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results

RECEIVES = {"ip_address": "IP address", "page_url": "page address", "search_terms":
            "search terms", "patron_id": "patron id", "session_id": "session id",
            "ad_ids": "advertising ids", "cookies": "cookies"}


@dataclass(frozen=True)
class Note:
    """A heading and a few plain sentences, shown as escaped HTML (or plain text)."""

    title: str
    lines: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines)
        return f"<h4>{html.escape(self.title)}</h4><ul>{items}</ul>"

    def __repr__(self) -> str:
        return "\n".join([self.title, *(f"- {line}" for line in self.lines)])


def load(data_dir: str | Path, as_of: str | dt.date, run_dir: str | Path = "") -> Results:
    """The notebook's results (see ``lcopia.pipeline.results``)."""
    return pipeline.results(data_dir, as_of, run_dir)


def _yesno(value: Any) -> str:
    return YESNO.get(getattr(value, "value", value), str(value))


def _date(value: dt.date | None, missing: str = "not recorded") -> str:
    return fmt_date(value, missing)


def _systems(results: Results) -> dict[str, Any]:
    return {s.system_id: s for s in results.bundle.inventory.systems}


def _category_names(results: Results) -> dict[str, str]:
    return {c.id: c.name for c in results.bundle.taxonomy.categories}


def _table(rows: list[dict[str, Any]], columns: list[str], index: str | None = None
           ) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if index is not None:
        frame = frame.set_index(index)
    else:
        frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


# ----------------------------------------------------------------------------- 01 inventory


def headline(results: Results) -> Note:
    """What the assessment covers and its overall result, in a trustee's words."""
    a, inv = results.assessment, results.bundle.inventory
    c = a.counts
    lines = [
        f"Library: {a.library}" + (" (illustrative sample data)" if a.illustrative else ""),
        f"Assessment date: {_date(a.as_of)}; policy {a.policy_id} version {a.policy_version}.",
        f"Systems in the inventory: {len(inv.systems)} "
        f"({sum(s.external for s in inv.systems)} run by outside companies).",
        f"Data flows: {len(inv.flows)}; disclosure requests reviewed: {len(inv.disclosures)}.",
        f"Compliance gate: {a.gate.result} ({c.get('gate_violations', 0)} violations).",
        f"Findings: {c.get('findings', 0)}, of which {c.get('findings_critical', 0)} critical "
        f"and {c.get('findings_high', 0)} high.",
        f"Overall: {a.posture}",
    ]
    return Note("The assessment at a glance", lines)


def category_system_matrix(results: Results) -> pd.DataFrame:
    """Rows: kinds of patron record; columns: systems; cells: how many flows carry it."""
    names = _category_names(results)
    systems = _systems(results)
    counts = Counter((f.category, f.system_id) for f in results.bundle.inventory.flows)
    used = sorted({sid for _, sid in counts}, key=lambda s: systems[s].name.lower())
    rows = []
    for cat in results.bundle.taxonomy.categories:
        row: dict[str, Any] = {"Kind of record": names[cat.id]}
        for sid in used:
            row[systems[sid].name] = counts.get((cat.id, sid), 0)
        row["All systems"] = sum(counts.get((cat.id, sid), 0) for sid in used)
        rows.append(row)
    columns = ["Kind of record", *(systems[s].name for s in used), "All systems"]
    return _table(rows, columns, index="Kind of record")


def flow_table(results: Results) -> pd.DataFrame:
    """Every flow: what goes where, how long it is kept, and its risk today."""
    names = _category_names(results)
    systems = _systems(results)
    scores = {f.flow_id: f for f in results.assessment.flows}
    rows = []
    for f in sorted(results.bundle.inventory.flows, key=lambda f: f.flow_id):
        score = scores.get(f.flow_id)
        rows.append({
            "Flow": f.flow_id,
            "System": systems[f.system_id].name if f.system_id in systems else f.system_id,
            "Kind of record": names.get(f.category, f.category),
            "Purpose": f.purpose,
            "Goes to": f.recipient,
            "Kept (days)": "indefinitely" if f.retention_days is None else f.retention_days,
            "Needed (days)": f.retention_need_days,
            "Encrypted": _yesno(f.encrypted),
            "Patrons affected": f.patrons_affected,
            "Risk today": f"{score.residual_risk} ({score.residual_band})" if score else "",
        })
    return _table(rows, list(rows[0]) if rows else ["Flow"], index="Flow")


def systems_overview(results: Results) -> pd.DataFrame:
    """One line per system, highest share of the library's risk first."""
    rows = [{"Rank": s.rank, "System": s.name, "Vendor": s.vendor, "Flows": s.flows,
             "Risk today": f"{s.residual_risk} ({s.residual_band})",
             "Share of library risk (%)": round(s.share, 1), "Controls met": s.controls_met,
             "Control gaps": s.controls_gap, "Gate": s.gate}
            for s in sorted(results.assessment.systems, key=lambda s: (s.rank, s.system_id))]
    return _table(rows, ["Rank", "System", "Vendor", "Flows", "Risk today",
                         "Share of library risk (%)", "Controls met", "Control gaps", "Gate"],
                  index="Rank")


def flows_by_band_figure(results: Results) -> Figure:
    """Bars of flows per kind of record, split by today's risk band (shown inline)."""
    names = _category_names(results)
    counts = Counter((f.category, f.residual_band) for f in results.assessment.flows)
    cats = [c.id for c in results.bundle.taxonomy.categories]
    fig = Figure(figsize=(6.4, 0.5 + 0.45 * max(len(cats), 1)), dpi=100)
    ax = fig.add_subplot()
    left = [0] * len(cats)
    styles = band_styles(results.bundle.policy.scales.risk_bands)
    for band, style in styles.items():
        values = [counts.get((c, band), 0) for c in cats]
        ax.barh(range(len(cats)), values, left=left, color=style["face"],
                edgecolor="#333333", linewidth=0.6, label=band)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(range(len(cats)), [mpl_text(names[c]) for c in cats], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Number of data flows", fontsize=8)
    ax.legend(fontsize=7, loc="lower right", title="Risk today", title_fontsize=7)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- 02 system


def _check_system(results: Results, system_id: str) -> None:
    known = {s.system_id for s in results.assessment.systems} | set(_systems(results))
    if system_id not in known:
        hint = did_you_mean(system_id, known)
        raise UsageError(f"system_id {system_id!r} is not in inventory/systems.csv"
                         + (f"; did you mean {hint!r}?" if hint else "")
                         + f" Known systems: {', '.join(sorted(known))}.")


def system_facts(results: Results, system_id: str) -> pd.DataFrame:
    """Who runs the system, under what contract, and where the data lives."""
    _check_system(results, system_id)
    score = next((s for s in results.assessment.systems if s.system_id == system_id), None)
    s = _systems(results).get(system_id)
    facts: list[tuple[str, Any]] = []
    if s is not None:
        facts += [
            ("System", s.name), ("Vendor", s.vendor), ("Service", s.service),
            ("Run outside the library", _yesno(s.external)),
            ("Holds library records", _yesno(s.holds_library_records)),
            ("Contract", s.contract_ref or "none recorded"),
            ("Contract binds the library's policy", _yesno(s.contract_binds_policy)),
            ("Contract binds Missouri law", _yesno(s.contract_binds_missouri_law)),
            ("Shares with third parties", _yesno(s.shares_with_third_parties)),
            ("Vendor privacy policy", s.privacy_policy_url or "none listed"),
            ("Privacy policy last reviewed", _date(s.privacy_policy_reviewed)),
            ("Where the data is kept", s.data_location or "not recorded"),
            ("Subcontractors", "; ".join(s.subprocessors) or "none listed"),
            ("Library contact", s.owner),
        ]
    elif score is not None:
        facts += [("System", score.name), ("Vendor", score.vendor),
                  ("Found by", "the website capture (not in the inventory)")]
    if score is not None:
        facts += [("Risk today", f"{score.residual_risk} ({score.residual_band})"),
                  ("Risk without controls", score.inherent_risk),
                  ("Risk after the action plan", score.planned_risk),
                  ("Compliance gate", score.gate)]
    return _table([{"": k, "Value": v} for k, v in facts], ["", "Value"], index="")


def system_flows(results: Results, system_id: str) -> pd.DataFrame:
    """The system's flows with severity, likelihood and risk (without controls → today)."""
    _check_system(results, system_id)
    names = _category_names(results)
    flows = {f.flow_id: f for f in results.bundle.inventory.flows}
    rows = []
    for sc in sorted(results.assessment.flows, key=lambda f: f.flow_id):
        if sc.system_id != system_id:
            continue
        f = flows.get(sc.flow_id)
        rows.append({
            "Flow": sc.flow_id, "Kind of record": names.get(sc.category, sc.category),
            "Purpose": f.purpose if f else "seen in the website capture",
            "Goes to": f.recipient if f else "",
            "Sensitivity tier": sc.tier, "Severity": sc.severity,
            "Risk without controls": sc.inherent_risk,
            "Risk today": f"{sc.residual_risk} ({sc.residual_band})",
            "After the action plan": sc.planned_risk})
    return _table(rows, ["Flow", "Kind of record", "Purpose", "Goes to", "Sensitivity tier",
                         "Severity", "Risk without controls", "Risk today",
                         "After the action plan"], index="Flow")


def system_controls(results: Results, system_id: str) -> pd.DataFrame:
    """Each safeguard that applies to the system or its flows, and whether it is in place."""
    _check_system(results, system_id)
    titles = {c.id: c.title for c in results.bundle.policy.controls}
    flow_ids = {f.flow_id for f in results.assessment.flows if f.system_id == system_id}
    rows = [{"Safeguard": titles.get(c.control_id, c.control_id), "Control": c.control_id,
             "Applies to": c.target_id, "Status": c.status.replace("_", " "),
             "Gap": _yesno(c.gap), "Answered": _yesno(c.answered),
             "Evidence": c.evidence or "none given"}
            for c in sorted(results.assessment.controls,
                            key=lambda c: (not c.gap, c.control_id, c.target_id))
            if (c.scope == "system" and c.target_id == system_id)
            or (c.scope == "flow" and c.target_id in flow_ids)]
    return _table(rows, ["Safeguard", "Control", "Applies to", "Status", "Gap", "Answered",
                         "Evidence"])


def _finding_rows(findings: list[Any]) -> pd.DataFrame:
    rows = [{"Finding": f.id, "Band": f.band, "Risk": f.risk, "What": f.title,
             "Evidence": f.evidence, "What to do": f.recommendation, "Owner": f.owner,
             "Due": _date(f.due, "")}
            for f in sorted(findings, key=lambda f: (-f.risk, BAND_ORDER.get(f.band, 9), f.id))]
    return _table(rows, ["Finding", "Band", "Risk", "What", "Evidence", "What to do", "Owner",
                         "Due"], index="Finding")


def system_findings(results: Results, system_id: str) -> pd.DataFrame:
    """The findings about this system, most serious first."""
    _check_system(results, system_id)
    return _finding_rows([f for f in results.assessment.findings if f.system_id == system_id])


def system_gate(results: Results, system_id: str) -> Note:
    """The hard-gate violations that involve this system, or a plain 'none'."""
    _check_system(results, system_id)
    found = [v for v in results.assessment.gate.violations if v.system_id == system_id]
    if not found:
        return Note("Compliance gate", ["This system breaks none of the hard rules."])
    return Note("Compliance gate: rules this system breaks",
                [f"{v.subject}: {v.statement}" for v in found])


# ----------------------------------------------------------------------------- 03 evidence


def evidence_status(results: Results) -> Note:
    """Whether exports were checked at all, said plainly."""
    ev = results.evidence
    if ev is None:
        return Note("Checks on exported files", [
            "No evidence manifest was found (data/evidence/manifest.yaml), so no exported "
            "file was checked. The inventory's answers are taken as given.",
            "To check an export, list it in that manifest with its flow and what it claims "
            "to be, and run the assessment again."])
    hard = len(ev.hard_issues)
    return Note("Checks on exported files", [
        f"{plural(len(ev.files), 'exported file')} checked on {_date(ev.as_of)}.",
        f"{plural(hard, 'serious problem')} found." if hard else "No serious problem found.",
        "Examples below show only the shape of a value (letters and digits masked); "
        "no patron's data is shown."])


def evidence_files(results: Results) -> pd.DataFrame:
    """Per file: what it claims to be, rows, identifiers found, k-anonymity, small cells."""
    ev = results.evidence
    rows = [] if ev is None else [{
        "File": f.file, "Flow": f.flow_id or "", "Claims to be": f.claims or "not stated",
        "Rows": f.rows,
        "Identifying columns": ", ".join(c.name for c in f.columns if c.identifying) or "none",
        "k (target)": f.k,
        "Smallest group (k)": "" if f.k_min is None else f.k_min,
        "Records that stand out": "" if f.unique_records is None else f.unique_records,
        "Small cells": "" if f.small_cells is None else f.small_cells,
        "Kept too long (rows)": "" if f.retention is None else f.retention.expired_rows,
        "Problems": len(f.issues)} for f in ev.files]
    return _table(rows, ["File", "Flow", "Claims to be", "Rows", "Identifying columns",
                         "k (target)", "Smallest group (k)", "Records that stand out",
                         "Small cells", "Kept too long (rows)", "Problems"], index="File")


def evidence_columns(results: Results) -> pd.DataFrame:
    """Identifying columns found, with a masked example (shape only, never the value)."""
    ev = results.evidence
    rows = [] if ev is None else [{
        "File": f.file, "Column": c.name, "Looks like": c.kind.replace("_", " "),
        "Share of values": f"{c.match_share * 100:.1f}%", "Confidence": c.confidence,
        "Masked example": c.masked_example} for f in ev.files for c in f.columns
        if c.kind != "none"]
    return _table(rows, ["File", "Column", "Looks like", "Share of values", "Confidence",
                         "Masked example"])


def evidence_issues(results: Results) -> pd.DataFrame:
    """The problems the export checks found, serious ones first."""
    ev = results.evidence
    rows = [] if ev is None else [{
        "File": f.file, "Problem": i.kind.replace("_", " "), "Serious": _yesno(i.hard),
        "Column": i.column or "", "Count": i.count, "Detail": i.detail}
        for f in ev.files for i in sorted(f.issues, key=lambda i: (not i.hard, i.kind))]
    return _table(rows, ["File", "Problem", "Serious", "Column", "Count", "Detail"])


def web_status(results: Results) -> Note:
    """Whether browser captures were audited, and the headline."""
    web = results.web
    if web is None or not web.captures:
        return Note("Website tracking audit", [
            "No browser capture was found (data/evidence/web/*.har), so the website was not "
            "audited."])
    pages = sum(len(c.pages) for c in web.captures)
    hard = sum(i.hard for i in web.issues)
    return Note("Website tracking audit", [
        f"{plural(len(web.captures), 'capture')} of {plural(pages, 'page')} read.",
        f"{len(web.third_parties)} outside companies receive something from these pages.",
        f"{plural(hard, 'serious problem')} found." if hard else "No serious problem found.",
        "Addresses are shown with search terms and ids masked."])


def _receives(items: list[str]) -> str:
    return ", ".join(RECEIVES.get(r, r.replace("_", " ")) for r in items)


def web_third_parties(results: Results) -> pd.DataFrame:
    """Each outside company on the library's pages: what it is and what it receives."""
    web = results.web
    rows = [] if web is None else [{
        "Company": t.organisation, "Domain": t.domain, "Category": t.category.replace("_", " "),
        "Pages": t.pages, "On page types": ", ".join(p.replace("_", " ") for p in t.page_types),
        "Requests": t.requests, "Cookies set": t.cookies_set,
        "Receives": _receives(t.receives)} for t in web.third_parties]
    return _table(rows, ["Company", "Domain", "Category", "Pages", "On page types",
                         "Requests", "Cookies set", "Receives"])


def web_pages(results: Results) -> pd.DataFrame:
    """Each captured page (masked address) and how many outside companies it calls."""
    web = results.web
    rows = [] if web is None else [{
        "Capture": c.file, "Page (masked)": p.url, "Page type": p.page_type.replace("_", " "),
        "Requests": p.requests, "To outside companies": p.third_party_requests,
        "Outside companies": ", ".join(p.third_party_domains) or "none"}
        for c in web.captures for p in c.pages]
    return _table(rows, ["Capture", "Page (masked)", "Page type", "Requests",
                         "To outside companies", "Outside companies"])


def web_issues(results: Results) -> pd.DataFrame:
    """The tracking problems found, serious ones first."""
    web = results.web
    rows = [] if web is None else [{
        "Company": i.organisation, "Domain": i.domain, "Problem": i.kind.replace("_", " "),
        "Serious": _yesno(i.hard), "Page type": i.page_type.replace("_", " "),
        "Receives": _receives(i.receives), "Detail": i.detail} for i in web.issues]
    return _table(rows, ["Company", "Domain", "Problem", "Serious", "Page type", "Receives",
                         "Detail"])


def evidence_findings(results: Results) -> pd.DataFrame:
    """The findings the export and website checks added to the assessment."""
    return _finding_rows([f for f in results.assessment.findings
                          if f.kind in ("evidence", "web")])


def setup_display() -> None:
    """Show whole tables (an inventory is small) with numbers as a trustee reads them."""
    pd.set_option("display.max_rows", 1000)
    pd.set_option("display.max_columns", 60)
    pd.set_option("display.max_colwidth", 400)
    pd.set_option("display.width", 200)
