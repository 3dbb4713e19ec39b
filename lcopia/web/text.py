"""The audit as plain text for a terminal."""

from __future__ import annotations

from lcopia.web.models import (
    CATEGORY_LABEL,
    PAGE_TYPE_LABEL,
    RECEIVED_LABEL,
    RECEIVES_LABEL,
    WebReport,
)


def web_text(report: WebReport) -> str:
    """Plain-text report for a terminal; every value is already masked."""
    lines = ["Website and catalog tracking audit (browser captures)"]
    if report.trackers_as_of:
        lines.append(f"Tracker list as of {report.trackers_as_of.isoformat()}")
    if not report.captures:
        lines.append("No captures given.")
        return "\n".join(lines) + "\n"
    for capture in report.captures:
        lines += ["", f"Capture {capture.file} (first party: {', '.join(capture.first_party)})"]
        for page in capture.pages:
            lines.append(f"  Page {page.url} [{PAGE_TYPE_LABEL[page.page_type]}]")
            lines.append(
                f"    {page.requests} requests: {page.first_party_requests} first party, "
                f"{page.third_party_requests} third party; cookies set: "
                f"{page.cookies_set.first_party} first party, "
                f"{page.cookies_set.third_party} third party")
            if page.third_party_domains:
                lines.append(f"    third parties: {', '.join(page.third_party_domains)}")
    lines += ["", f"Third parties ({len(report.third_parties)})"]
    for party in report.third_parties:
        pages = f"{party.pages} page{'s' if party.pages != 1 else ''}"
        requests = f"{party.requests} request{'s' if party.requests != 1 else ''}"
        lines += [
            f"  {party.domain}: {CATEGORY_LABEL[party.category]}, {party.organisation}",
            f"    hosts: {', '.join(party.hosts)}",
            f"    {pages} ({', '.join(PAGE_TYPE_LABEL[t] for t in party.page_types)}), "
            f"{requests}, {party.cookies_set} cookie{'s' if party.cookies_set != 1 else ''} set",
            f"    receives: {', '.join(RECEIVES_LABEL[r] for r in party.receives)}",
        ]
    if not report.third_parties:
        lines.append("  none: every request went to the library's own domains")
    lines += ["", f"Organizations ({len(report.organisations)}), most harmful first"]
    for org in report.organisations:
        consent = {True: "; sent before any consent choice", False: "", None: ""}
        lines += [
            f"  {org.name}: {CATEGORY_LABEL[org.category]} ({', '.join(org.domains)})"
            + (f", inventory system {org.system_id}" if org.system_id else ""),
            f"    receives [{org.rank}]: {'; '.join(RECEIVED_LABEL[r] for r in org.receives)}"
            + consent[org.before_consent],
        ]
    if not report.organisations:
        lines.append("  none")
    hard = sum(1 for i in report.issues if i.hard)
    lines += ["", f"Findings ({len(report.issues)}, {hard} hard)"]
    for issue in report.issues:
        lines.append(f"  [{'HARD' if issue.hard else 'finding'}] {issue.kind}: {issue.detail}")
    if not report.issues:
        lines.append("  none")
    for warning in report.warnings:
        lines += ["", f"Warning: {warning}"]
    lines += ["", "Query values, cookie values, ids and search terms are compared, never shown."]
    return "\n".join(lines) + "\n"
