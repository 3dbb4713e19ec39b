"""The year-on-year view: every earlier run of the assessment, side by side.

Each ``lcopia assess`` run leaves a dated folder holding ``results.json``. This module reads
those folders (read-only, size-bounded, never a superseded or failed one) and lines them up:
the gate by kind, the risks by band, the actions opened, closed and overdue between one run
and the next, and each system's residual risk over time. Stable risk ids make a risk's
history traceable across runs. Runs made before the risk register existed are still shown,
with what they hold.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lcopia.errors import LcopiaError
from lcopia.fsio import FileProblem, read_bytes_limited, read_yaml
from lcopia.load import load_rules
from lcopia.project import resolve_data_dir

RESULTS_FILE = "results.json"
MAX_RESULTS_BYTES = 256 * 1024 * 1024
_RUN_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BANDS = ("Critical", "High", "Moderate", "Low")
GATE_KINDS = ("statute", "policy", "practice")


class TrendError(LcopiaError):
    """An earlier run could not be read as a run of this assessment."""


@dataclass(frozen=True)
class RiskMark:
    id: str
    title: str
    band: str
    risk: int
    due: dt.date | None
    systems: tuple[str, ...]


@dataclass
class RunPoint:
    """One earlier run, as much as its results hold."""

    as_of: dt.date
    folder: str
    library: str
    gate: str
    gate_by_kind: dict[str, int]
    risks: dict[str, RiskMark] | None      # None: the run predates the risk register
    risks_by_band: dict[str, int]
    system_totals: dict[str, int]
    system_names: dict[str, str]
    system_risks: dict[str, int] = field(default_factory=dict)


@dataclass
class Step:
    """What changed from one run to the next."""

    start: dt.date
    end: dt.date
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)   # due before ``end`` and still open
    worse: list[str] = field(default_factory=list)     # same risk, higher residual risk


@dataclass
class Trend:
    points: list[RunPoint]
    steps: list[Step]
    skipped: list[str]

    @property
    def empty(self) -> bool:
        return not self.points


def _date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def read_run(folder: Path) -> RunPoint:
    """One run folder's results, or TrendError saying why it cannot be compared."""
    rel = f"{folder.name}/{RESULTS_FILE}"
    try:
        raw = read_bytes_limited(folder / RESULTS_FILE, rel, MAX_RESULTS_BYTES,
                                 what="results file")
        data = json.loads(raw)
    except FileProblem as exc:
        raise TrendError(str(exc)) from None
    except ValueError:
        raise TrendError(f"{rel}; is not valid JSON (cut short?); run that assessment again "
                         "or move the folder aside") from None
    return run_point(data, folder.name, rel)


def run_point(data: Any, folder: str, rel: str = RESULTS_FILE) -> RunPoint:
    """One run's point from its parsed results (``{"assessment": {...}}``): the stored
    results of an earlier run, or this run's own, so both are counted the same way."""
    a = data.get("assessment") if isinstance(data, dict) else None
    if not isinstance(a, dict) or "as_of" not in a or "gate" not in a:
        raise TrendError(f"{rel}; is not the results of an lcopia assessment")
    as_of = _date(a.get("as_of"))
    if as_of is None:
        raise TrendError(f"{rel}; has no readable assessment date")
    violations = (a.get("gate") or {}).get("violations") or []
    by_kind = {k: 0 for k in GATE_KINDS}
    for v in violations:
        kind = v.get("kind") if isinstance(v, dict) else None
        by_kind[kind if kind in by_kind else "statute"] += 1
    risks = None
    by_band = dict.fromkeys(BANDS, 0)
    if isinstance(a.get("risks"), list):
        risks = {}
        for r in a["risks"]:
            if not isinstance(r, dict) or "id" not in r:
                continue
            band = str(r.get("residual_band", ""))
            risks[str(r["id"])] = RiskMark(
                str(r["id"]), str(r.get("title", "")), band, int(r.get("residual_risk", 0)),
                _date(r.get("due")), tuple(str(s) for s in r.get("systems", [])))
            if band in by_band:
                by_band[band] += 1
    totals = {str(s.get("system_id")): int(s.get("residual_total", 0))
              for s in a.get("systems", []) if isinstance(s, dict)}
    names = {str(s.get("system_id")): str(s.get("name", s.get("system_id")))
             for s in a.get("systems", []) if isinstance(s, dict)}
    highest = {str(s.get("system_id")): int(s.get("residual_risk", 0))
               for s in a.get("systems", []) if isinstance(s, dict)}
    return RunPoint(as_of=as_of, folder=folder, library=str(a.get("library", "")),
                    gate=str((a.get("gate") or {}).get("result", "")),
                    gate_by_kind=by_kind, risks=risks, risks_by_band=by_band,
                    system_totals=totals, system_names=names, system_risks=highest)


def run_folders(reports: Path) -> list[Path]:
    """Dated run folders (``2026-11-30``), oldest first: never superseded, failed or
    unfinished ones."""
    if not reports.is_dir():
        return []
    return sorted(p for p in reports.iterdir()
                  if p.is_dir() and not p.is_symlink() and _RUN_FOLDER.match(p.name)
                  and (p / RESULTS_FILE).is_file())


def build_trend(reports: Path, *, library: str | None = None) -> Trend:
    """Every readable run in ``reports`` of ``library`` (all, when None), and the steps
    between consecutive runs."""
    points: list[RunPoint] = []
    skipped: list[str] = []
    for folder in run_folders(reports):
        try:
            point = read_run(folder)
        except TrendError as exc:
            skipped.append(str(exc))
            continue
        if library is not None and point.library != library:
            skipped.append(f"{folder.name}: a run for {point.library}, not {library}")
            continue
        points.append(point)
    return Trend(points=points, steps=steps_between(points), skipped=skipped)


def steps_between(points: list[RunPoint]) -> list[Step]:
    """What changed from each run to the next (``points`` are sorted in place by date)."""
    points.sort(key=lambda p: p.as_of)
    steps = []
    for before, after in itertools.pairwise(points):
        step = Step(before.as_of, after.as_of)
        if before.risks is not None and after.risks is not None:
            step.opened = sorted(set(after.risks) - set(before.risks))
            step.closed = sorted(set(before.risks) - set(after.risks))
            for rid in sorted(set(before.risks) & set(after.risks)):
                mark = before.risks[rid]
                if mark.due is not None and mark.due < after.as_of:
                    step.overdue.append(rid)
                if after.risks[rid].risk > mark.risk:
                    step.worse.append(rid)
        steps.append(step)
    return steps


def summary_rows(trend: Trend) -> list[dict[str, Any]]:
    """One row per run for a table: date, gate, violations by kind, risks by band, and the
    actions opened, closed and overdue since the run before."""
    rows = []
    for i, p in enumerate(trend.points):
        step = trend.steps[i - 1] if i else None
        row: dict[str, Any] = {"Assessment date": p.as_of.isoformat(), "Gate": p.gate}
        row.update({f"Gate ({k})": p.gate_by_kind[k] for k in GATE_KINDS})
        row.update({b: (p.risks_by_band[b] if p.risks is not None else None) for b in BANDS})
        row["Opened"] = len(step.opened) if step else None
        row["Closed"] = len(step.closed) if step else None
        row["Overdue"] = len(step.overdue) if step else None
        rows.append(row)
    return rows


def system_rows(trend: Trend) -> list[dict[str, Any]]:
    """Each system's residual risk in every run (blank where it was not assessed): the
    highest of its data flows, on the 1-16 scale the changes table and the register use, so
    the Board reads one measure of a system's risk everywhere."""
    names: dict[str, str] = {}
    for p in trend.points:
        names.update(p.system_names)
    rows = []
    for sid in sorted(names, key=lambda s: names[s].lower()):
        row: dict[str, Any] = {"System": names[sid]}
        for p in trend.points:
            row[p.as_of.isoformat()] = p.system_risks.get(sid)
        rows.append(row)
    return rows


def risk_history(trend: Trend, risk_id: str) -> list[tuple[dt.date, str | None]]:
    """A risk's band in each run (None where it was not in the register)."""
    return [(p.as_of, p.risks[risk_id].band if p.risks and risk_id in p.risks else None)
            for p in trend.points]


def reports_folder(reports_dir: str | Path | None, data_dir: str | Path | None) -> Path:
    """The folder ``lcopia assess`` writes runs into: as given, else ``reports/`` beside the
    project's data folder (where ``make assess`` puts them)."""
    text = "" if reports_dir is None else str(reports_dir).strip()
    if text:
        return Path(text).expanduser()
    return resolve_data_dir(data_dir).root.resolve().parent / "reports"


def band_chart(trend: Trend, colours: dict[str, str]) -> Any:
    """Risks by band in each run, stacked, with the band named in the legend (not color
    alone); None when no run has a risk register."""
    import matplotlib.pyplot as plt  # drawing only when asked: the module stays light

    points = [p for p in trend.points if p.risks is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = [p.as_of.isoformat() for p in points]
    bottom = [0] * len(points)
    for band, hatch in zip(BANDS, ("xx", "//", "..", ""), strict=True):
        values = [p.risks_by_band[band] for p in points]
        ax.bar(labels, values, bottom=bottom, label=band, color=colours.get(band, "#cccccc"),
               hatch=hatch, edgecolor="#333333")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("Risks in the register")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


@dataclass
class TrendView:
    """What notebook 05 shows: the trend and the band colors of the project's scales."""

    trend: Trend
    library: str
    colours: dict[str, str]

    def message(self) -> str:
        n = len(self.trend.points)
        if n == 0:
            return ("No earlier run of the assessment was found. Run `lcopia assess`; this view "
                    "fills in from the first run, and compares runs from the second on.")
        if n == 1:
            return (f"One run so far ({self.trend.points[0].as_of:%B} "
                    f"{self.trend.points[0].as_of.day}, {self.trend.points[0].as_of.year}): "
                    "changes appear from the next run on.")
        first, last = self.trend.points[0].as_of, self.trend.points[-1].as_of
        return f"{n} runs, from {first.isoformat()} to {last.isoformat()}."


def for_notebook(reports_dir: str | Path | None, data_dir: str | Path | None) -> TrendView:
    """The notebook's one entry point: the project's runs and its band colors."""
    project = resolve_data_dir(data_dir)
    policy, _taxonomy = load_rules(project)
    library = _library_name(project)
    trend = build_trend(reports_folder(reports_dir, project.root), library=library)
    colours = {b.label: b.colour for b in policy.scales.risk_bands}
    return TrendView(trend=trend, library=library or "", colours=colours)


def _library_name(project: Any) -> str | None:
    try:
        data = read_yaml(project.inventory / "library.yaml", "inventory/library.yaml")
    except FileProblem:
        return None
    name = data.get("name")
    return str(name) if name else None


def change_lines(trend: Trend) -> list[str]:
    """What changed between runs, a line per step and per risk, then what was not compared."""
    lines = []
    for step in trend.steps:
        lines.append(f"{step.start.isoformat()} to {step.end.isoformat()}: opened "
                     f"{len(step.opened)}, closed {len(step.closed)}, overdue "
                     f"{len(step.overdue)}, worse {len(step.worse)}")
        for label, ids in (("opened", step.opened), ("closed", step.closed),
                           ("overdue", step.overdue), ("worse", step.worse)):
            lines += [f"  {label}: {rid}" for rid in ids]
    lines += [f"Not compared: {note}" for note in trend.skipped]
    return lines
