"""The evidence report as plain text for a privacy officer: hard findings first, no values."""

from __future__ import annotations

from lcopia.evidence.detectors import DIRECT_KINDS
from lcopia.evidence.models import EvidenceReport
from lcopia.wording import plural


def _fmt(n: int) -> str:
    return f"{n:,}"


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def evidence_text(report: EvidenceReport) -> str:
    """A summary a privacy officer can read: hard findings first, then each file's facts."""
    out: list[str] = []
    n = len(report.files)
    hard = report.hard_issues
    total = sum(len(f.issues) for f in report.files)
    out.append(f"Evidence scan as of {report.as_of}: {n} file{'s' if n != 1 else ''}, "
               f"{total} issue{'s' if total != 1 else ''} ({len(hard)} hard).")
    out.append("Values are never shown: examples are masked to their format only.")
    for f in report.files:
        out.append("")
        what = []
        if f.flow_id:
            what.append(f"flow {f.flow_id}")
        what.append(f"claims {f.claims}" if f.claims else "claims not stated")
        fmt = f.format.upper() + (f", {f.encoding}" if f.encoding and f.encoding not in (
            "utf8",) else "")
        out.append(f"== {f.file} ({'; '.join(what)}; {fmt}; {_fmt(f.rows)} rows)")
        for issue in sorted(f.issues, key=lambda i: (not i.hard, i.kind)):
            tag = "HARD " if issue.hard else "issue"
            out.append(f"  {tag} [{issue.kind}] {issue.detail}")
        ident = [c for c in f.columns if c.kind in DIRECT_KINDS or c.header_kind]
        if ident:
            out.append("  Identifying columns:")
            width = max(len(c.name) for c in ident)
            for c in ident:
                if c.header_kind and c.kind not in DIRECT_KINDS:
                    out.append(f"    {c.name:<{width}}  its name is a {c.header_kind} (not "
                               f"shown); {plural(c.non_empty, 'filled row')}")
                    continue
                head = f"; its name is a {c.header_kind} (not shown)" if c.header_kind else ""
                extra = f" ({', '.join(c.embedded)})" if c.embedded else ""
                out.append(f"    {c.name:<{width}}  {c.kind}{extra}, {_pct(c.match_share)} of "
                           f"{_fmt(c.non_empty)} filled, {c.confidence} confidence by {c.by}; "
                           f"e.g. {c.masked_example}{head}")
        else:
            out.append("  Identifying columns: none found.")
        other = [c for c in f.columns if c.kind not in DIRECT_KINDS and c.kind != "none"]
        if other:
            out.append("  Other recognized columns: " + ", ".join(
                f"{c.name} ({c.kind})" for c in other))
        if f.quasi_identifiers:
            how = "inferred" if f.quasi_inferred else "given"
            line = f"  Quasi-identifiers ({how}): {', '.join(f.quasi_identifiers)}"
            if f.k_min is not None:
                line += (f" -> smallest group {f.k_min} (k={f.k}); "
                         f"{_fmt(f.equivalence_classes or 0)} groups, "
                         f"{plural(f.unique_records or 0, 'unique record')}, "
                         f"{plural(f.records_below_k or 0, 'record')} in groups below {f.k}")
            out.append(line)
            if f.people is not None:
                out.append(f"  People (by person key '{f.person_key}', {f.person_key_kind}): "
                           f"{_fmt(f.people_unique or 0)} of {_fmt(f.people)} people are unique, "
                           f"{_fmt(f.people_below_k or 0)} in groups of fewer than {f.k} people "
                           f"(smallest group {f.people_k_min} people); "
                           f"{_fmt(f.rows_tied or 0)} of {_fmt(f.rows)} rows can be tied to "
                           "one person")
            elif f.k_min is not None and f.count_column is None:
                out.append("  People: no person key in the file, so the groups above count "
                           "rows, not people")
        if f.count_column is not None and f.small_cells is not None:
            out.append(f"  Small cells: {_fmt(f.small_cells)} of {_fmt(f.cells or 0)} cells "
                       f"count fewer than {f.k} (column '{f.count_column}'; counts not shown)")
        if f.l_diversity is not None:
            people = (f", {_fmt(f.people_below_l)} people" if f.people_below_l is not None
                      else "")
            out.append(f"  l-diversity of '{f.sensitive}': {f.l_diversity} (target "
                       f"{f.l_target}); {plural(f.records_below_l or 0, 'record')}{people} "
                       "below target")
        r = f.retention
        if r is not None:
            opened = (f"; {plural(r.open_rows_excluded, 'open record')} in '{r.open_column}' "
                      "excluded") if r.open_column else ""
            oldest = f"; oldest closed record {r.oldest_age_days} days" if (
                r.oldest_age_days is not None) else ""
            unparsed = (f"; {plural(r.unparsed_dates, 'date')} unreadable"
                        if r.unparsed_dates else "")
            out.append(f"  Retention ({r.retention_days} days on '{r.date_column}', cutoff "
                       f"{r.cutoff}): {plural(r.expired_rows, 'expired row')}{opened}{oldest}"
                       f"{unparsed}")
        for note in f.notes:
            out.append(f"  Note: {note}")
    return "\n".join(out) + "\n"
