"""What every part of the Board report shares: the Section type, dates, Jinja, band classes.

Templates are found with ``importlib.resources`` so an installed package (wheel, zip) finds
them as a checkout does; Jinja2 autoescapes everything, so no inventory string becomes markup.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from lcopia import pipeline
from lcopia.models import Bundle, Finding, RiskBand, System
from lcopia.report.charts import band_styles
from lcopia.report.language import inline, plain

if TYPE_CHECKING:  # pragma: no cover - typing only
    from lcopia.pipeline import Results

NB_TEMPLATE = "lcopia_board"
TOC_MARKER = "<!-- lcopia:contents -->"
BAND_ORDER = {"Critical": 0, "High": 1, "Moderate": 2, "Low": 3}
KIND_LABEL = {
    "control": "Control gap", "gate": "Compliance gate", "policy_gap": "Policy and statute",
    "disclosure": "Disclosure request", "evidence": "Evidence check", "web": "Website",
}
YESNO = {"yes": "Yes", "no": "No", "unknown": "Not known", True: "Yes", False: "No"}


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
    """Dates as an American Board writes them: November 30, 2026."""
    if value is None:
        return missing
    return f"{value:%B} {value.day}, {value.year}"


def fmt_period(start: dt.date | None, end: dt.date | None) -> str:
    """A period for 'from …': 'December 1, 2025, through November 30, 2026'."""
    return f"{fmt_date(start)}, through {fmt_date(end)}"


def templates_dir() -> Path:
    """The package's templates folder on disk (nbconvert needs a real folder)."""
    return Path(str(resources.files("lcopia") / "templates"))


def read_template(name: str) -> str:
    """A template file's text (a stylesheet, say), read through importlib.resources."""
    return (resources.files("lcopia") / "templates" / name).read_text(encoding="utf-8")


def _env() -> Environment:
    env = Environment(loader=PackageLoader("lcopia", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=False)
    env.filters["date"] = fmt_date
    env.filters["inline"] = inline
    env.filters["plain"] = plain
    env.filters["band_class"] = band_class
    env.filters["yesno"] = lambda v: YESNO.get(getattr(v, "value", v), str(v))
    return env


def render_template(template: str, **context: Any) -> str:
    """One Jinja2 template rendered with autoescaping (the only way report HTML is made)."""
    return _ENV.get_template(template).render(**context)


def _section(title: str, template: str, **context: Any) -> Section:
    return Section(title, render_template(f"sections/{template}", **context))


def band_class(label: str | None) -> str:
    """CSS class of a band label; a label with no band rule gets no color (the word shows)."""
    key = re.sub(r"[^a-z0-9]+", "-", (label or "").lower()).strip("-")
    return f"band band-{key}" if key else "band"


def band_css(bands: list[RiskBand]) -> str:
    """The .band-* rules, coloured from scales.yaml, so HTML and charts share one palette."""
    rules = []
    for label, st in band_styles(bands).items():
        cls = band_class(label).split()[-1]
        rules.append(f".{cls} {{ background: {st['face']}; color: {st['ink']}; "
                     f"border-color: {st['edge']}; }}")
    return "\n".join(rules)


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
    return pipeline.results(data_dir, as_of, run_dir)



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

