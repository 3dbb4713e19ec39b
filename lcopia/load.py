"""Read the policy, taxonomy and inventory into validated models, or explain every problem.

The privacy officer edits these files by hand, often in a spreadsheet, so this module is
forgiving about what spreadsheets produce (BOM, CRLF, Windows-1252, ``Yes``/``Y``/``TRUE``,
``1/16/2024`` dates, trailing blank rows) and strict about meaning (types, closed
vocabularies, unique ids, every reference). It collects every problem before raising one
``InventoryError``, so a user fixes a file once, not once per problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import typing
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lcopia import names
from lcopia.errors import InventoryError, Problem, did_you_mean
from lcopia.fsio import FileProblem, decode_text, parse_yaml, read_bytes_limited, sha256_bytes
from lcopia.models import (
    Answer,
    Bundle,
    Disclosure,
    Flow,
    Inventory,
    Library,
    Policy,
    Scales,
    System,
    Taxonomy,
    Vocabularies,
    holds_records_contradictions,
)
from lcopia.project import INVENTORY_TABLES, LIBRARY_FILE, TAXONOMY_FILES, DataDir

MAX_FILE_BYTES = 20 * 1024 * 1024  # an inventory is small; anything bigger is a wrong file
PLACEHOLDER = "REPLACE:"  # written by 'lcopia init'; validate insists it is replaced
MISSING = "file is missing; restore it from the sample in the repository"
TRUE_WORDS = {"yes", "y", "true", "t", "1", "x"}
FALSE_WORDS = {"no", "n", "false", "f", "0"}
UNKNOWN_WORDS = {"unknown", "?", "unk", "dk", "don't know", "not known", ""}

CSV_MODELS: dict[str, type[BaseModel]] = dict(zip(
    INVENTORY_TABLES, (System, Flow, Answer, Disclosure), strict=True))
# Tables that must hold at least one row: an inventory without systems or flows is a
# header saved without its data, not a library with nothing to assess.
NON_EMPTY_TABLES = {"systems.csv": "system", "flows.csv": "flow"}
# Columns a spreadsheet may leave blank; everything else must be filled in.
OPTIONAL_COLUMNS = {
    "systems.csv": {"contract_ref", "privacy_policy_url", "privacy_policy_reviewed",
                    "data_location", "subprocessors", "domains", "notes", "uses"},
    "flows.csv": {"retention_days", "notes", "audience"},
    "answers.csv": {"evidence", "owner", "review_date", "comment"},
    "disclosures.csv": {"notes", "categories", "consent_by", "nondisclosure_order",
                        "counsel_review", "categories_released"},
}


class _Problems:
    """Accumulates problems and warnings while loading; raises them all at the end."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.warnings: list[str] = []
        # Tables that could not be read at all: checking references into them would only
        # bury the one real problem under dozens of "names no flow" follow-ons.
        self.unreadable: set[str] = set()
        self.hashes: dict[str, str] = {}
        # Ids of rows dropped for a bad cell, per table: references to them are not problems.
        self.dropped: dict[str, set[str]] = {}

    def add(self, file: str, field: str | None, expected: str, *, row: int | None = None,
            value: object = None, choices: Iterable[str] | None = None) -> None:
        shown = None if value is None else str(value)
        hint = did_you_mean(shown, choices) if (choices is not None and shown) else None
        self.items.append(Problem(file=file, field=field, expected=expected, row=row,
                                  value=shown, suggestion=hint))


# ----------------------------------------------------------------------------- reading


def _read_text(path: Path, rel: str, problems: _Problems) -> str | None:
    """The file's text, or None after recording why it cannot be read.

    The hash is taken of the bytes actually read, so the run's record of inputs is the
    record of what was assessed even if a file changes during the run.
    """
    try:
        raw = read_bytes_limited(path, rel, MAX_FILE_BYTES, what="inventory file",
                                 missing=MISSING)
        text, warnings = decode_text(raw, rel)
    except FileProblem as exc:
        problems.add(rel, None, exc.expected)
        return None
    problems.warnings.extend(warnings)
    problems.hashes[rel] = sha256_bytes(raw)
    return text


def _yaml(path: Path, rel: str, problems: _Problems) -> Any:
    text = _read_text(path, rel, problems)
    if text is None:
        return None
    try:
        return parse_yaml(text, rel)
    except FileProblem as exc:
        problems.add(rel, None, exc.expected)
        return None


def read_yaml(path: Path, rel: str) -> Any:
    """One YAML file read as strictly as the policy (no duplicate keys, aliases or deep
    nesting), for other modules' own data files; raises InventoryError naming ``rel``."""
    problems = _Problems()
    data = _yaml(path, rel, problems)
    if problems.items:
        raise InventoryError(problems.items, problems.warnings)
    return data


def _model_problems(exc: ValidationError, rel: str, problems: _Problems,
                    row: int | None = None, prefix: str = "",
                    choices: dict[str, list[str]] | None = None) -> None:
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        field = f"{prefix}{loc}" if prefix or loc else None
        value = err.get("input")
        shown = value if isinstance(value, str | int | float | bool) else None
        allowed = None
        if err["type"] == "extra_forbidden":
            expected = "is not a known field; remove it or check its spelling"
        elif err["type"] == "missing":
            expected = "is required"
            shown = None
        elif err["type"] == "literal_error":
            allowed = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            expected = "must be one of: " + ", ".join(allowed)
        else:
            expected = err["msg"]
        problems.add(rel, field, expected, row=row, value=shown, choices=allowed)


def _located(items: list[Any], key: str) -> dict[int, str]:
    """Index → readable location ("controls[3] POL-04") for YAML list problems."""
    out = {}
    for i, item in enumerate(items):
        ident = item.get(key) if isinstance(item, dict) else None
        out[i] = f"{i + 1}" + (f" ({ident})" if ident else "")
    return out


# ----------------------------------------------------------------------------- CSV


def _parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return None


def _parse_yesno(text: str) -> str | None:
    low = text.strip().lower()
    if low in UNKNOWN_WORDS:
        return "unknown"
    flag = _parse_bool(low)
    return None if flag is None else ("yes" if flag else "no")


_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_date(text: str) -> dt.date | None:
    """ISO ``2024-01-16`` or US spreadsheet ``1/16/2024``; None when it is neither."""
    text = text.strip()
    m = _US_DATE.match(text)
    try:
        if m:
            return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        # spreadsheets often append a midnight time to dates
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]00:00(:00)?", text):
            return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
    return None


def cell_converter(annotation: Any) -> tuple[str, Callable[[str], Any]]:
    """(expected-text, parser) for a model field's type; parser returns None when invalid."""
    text = str(annotation)
    if "list[str]" in text:
        return "a list separated by ';'", lambda s: [p.strip() for p in s.split(";") if p.strip()]
    if "YesNo" in text:
        return "yes, no or unknown", _parse_yesno
    if "date" in text:
        return "a date written 2024-01-16 or 1/16/2024", parse_date
    if annotation is bool:
        return "yes or no", _parse_bool
    if "Literal" in text and "int" in text:  # a number of days or a word (retention need)
        words = [w for a in typing.get_args(annotation) for w in typing.get_args(a)]

        def to_int_or_word(s: str) -> int | str | None:
            s = s.strip().replace(",", "")
            word = s.lower().replace(" ", "_")
            return int(s) if re.fullmatch(r"-?\d+", s) else (word if word in words else None)
        return "a whole number or one of: " + ", ".join(words), to_int_or_word
    if "int" in text:
        def to_int(s: str) -> int | None:
            s = s.strip().replace(",", "")
            return int(s) if re.fullmatch(r"-?\d+", s) else None
        return "a whole number", to_int
    if "float" in text:
        def to_float(s: str) -> float | None:
            s = s.strip().replace(",", "").lstrip("$")
            try:
                return float(s)
            except ValueError:
                return None
        return "a number", to_float
    return "text", lambda s: s.strip()


def vocabulary_key(text: str) -> str:
    """How spreadsheet users vary a vocabulary word: case, spaces, underscores, hyphens."""
    return re.sub(r"[\s_\-./]+", "", text.casefold())


# Words people type for "does not apply" in a spreadsheet.
_NOT_APPLICABLE = {"na", "notapplicable", "doesnotapply", "none"}


def canonical(value: str, allowed: Iterable[str]) -> str:
    """``value`` written as the vocabulary writes it (``Not implemented`` → ``not_implemented``,
    ``N/A`` → ``not_applicable``), or unchanged when it matches nothing."""
    options = list(allowed)
    if value in options:
        return value
    key = vocabulary_key(value)
    for option in options:
        if vocabulary_key(option) == key:
            return option
    if key in _NOT_APPLICABLE and "not_applicable" in options:
        return "not_applicable"
    return value


def _read_csv(path: Path, rel: str, model: type[BaseModel], problems: _Problems,
              choices: dict[str, list[str]] | None = None) -> list[Any]:
    records = _read_csv_rows(path, rel, model, problems, choices or {})
    if records is None:
        problems.unreadable.add(rel)
        return []
    return records


def _read_csv_rows(path: Path, rel: str, model: type[BaseModel], problems: _Problems,
                   choices: dict[str, list[str]]) -> list[Any] | None:
    """The table's valid rows, or None when the file as a whole cannot be used.

    Cells of a closed vocabulary (``choices``: column → allowed ids) are matched ignoring
    case, spaces and underscores and kept in the vocabulary's own spelling.
    """
    text = _read_text(path, rel, problems)
    if text is None:
        return None
    if not text.strip():
        problems.add(rel, None, "is empty; it needs at least the header row "
                     "(copy it from the sample in the repository)")
        return None
    first_line = text.splitlines()[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error as exc:
        # inspected, never shown: say which row and what to do instead
        if "field larger" in str(exc):
            reason = (f"has a cell longer than {csv.field_size_limit():,} characters; "
                      "shorten it (keep long notes in a document and cite it)")
        elif "NUL" in str(exc):
            reason = ("contains a NUL byte, so it is not plain text; save it again as "
                      "'CSV UTF-8 (comma delimited)'")
        else:
            reason = ("could not be read as CSV (a quote may be left open); save it again "
                      "as 'CSV UTF-8 (comma delimited)'")
        problems.add(rel, None, reason, row=len(rows) + 1)
        return None
    header = [h.strip() for h in rows[0]]
    fields = {name: f for name, f in model.model_fields.items() if name != "row"}
    table = rel.split("/")[-1]
    required = set(fields) - OPTIONAL_COLUMNS.get(table, set())
    if len(header) == 1 and len(fields) > 1:
        other = sorted({c for c in "|;\t:" if c in header[0]})
        guess = f" (it looks separated by {', '.join(repr(c) for c in other)})" if other else ""
        problems.add(rel, None, f"has only one column{guess}; lcopia reads comma-separated "
                     "files: save it as 'CSV UTF-8 (comma delimited)'", row=1)
        return None
    known = [h for h in header if h in fields]
    for h in header:
        if h and h not in fields:
            problems.add(rel, h, "is not a column lcopia knows; rename or remove it",
                         row=1, value=h, choices=fields)
    missing = sorted(required - set(header))
    for name in missing:
        problems.add(rel, name, "column is missing from the header row", row=1)
    if missing:
        return None  # every row would repeat "is required"; the header is the one fix
    converters = {name: cell_converter(fields[name].annotation) for name in known}
    records = []
    body = rows[1:]
    while body and not any(c.strip() for c in body[-1]):
        body.pop()  # spreadsheets leave trailing blank rows
    if not body and table in NON_EMPTY_TABLES:
        problems.add(rel, None, f"has only the header row; add one row per "
                     f"{NON_EMPTY_TABLES[table]} ('lcopia workbook export' writes a workbook with "
                     "help on every column)")
        return None
    for offset, cells in enumerate(body):
        rownum = offset + 2
        if not any(c.strip() for c in cells):
            problems.add(rel, None, "is a blank row in the middle of the table; delete it",
                         row=rownum)
            continue
        if len(cells) > len(header):
            problems.add(rel, None, f"has {len(cells)} cells but the header has "
                         f"{len(header)} columns; a cell probably contains an unquoted comma",
                         row=rownum)
            continue
        values: dict[str, Any] = {"row": rownum}
        ok = True
        for col, cell in zip(header, cells, strict=False):
            if col not in converters:
                continue
            expected, parse = converters[col]
            if not cell.strip():
                if col in required and "YesNo" not in str(fields[col].annotation):
                    problems.add(rel, col, f"is blank; write {expected}", row=rownum)
                    ok = False
                elif "YesNo" in str(fields[col].annotation):
                    values[col] = "unknown"
                elif "list[str]" in str(fields[col].annotation):
                    values[col] = []
                elif expected == "text":
                    values[col] = ""
                else:
                    values[col] = None
                continue
            parsed = parse(cell)
            if parsed is None:
                problems.add(rel, col, f"expected {expected}", row=rownum, value=cell)
                ok = False
            else:
                if col in choices:
                    parsed = ([canonical(v, choices[col]) for v in parsed]
                              if isinstance(parsed, list) else canonical(parsed, choices[col]))
                values[col] = parsed
        if not ok:
            problems.dropped.setdefault(table, set()).add(_row_id(header, cells))
            continue
        try:
            records.append(model.model_validate(values))
        except ValidationError as exc:
            _model_problems(exc, rel, problems, row=rownum, choices=choices)
            problems.dropped.setdefault(table, set()).add(_row_id(header, cells))
    return records


def _row_id(header: list[str], cells: list[str]) -> str:
    """The id cell of a row (its first column), so a row dropped for one bad cell does not
    also make every reference to it "name no flow"."""
    return cells[0].strip() if cells and header else ""


# ----------------------------------------------------------------------------- cross-checks


# Ids become file names, URL fragments and spreadsheet keys: plain ASCII letters, digits and
# . _ - only, so look-alikes (Cyrillic letters, zero-width spaces, a BOM) and path separators
# never pass as a distinct id.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def _unique(items: list[Any], key: str, rel: str, problems: _Problems) -> None:
    """Ids must be well formed and unique, ignoring case (``ILS`` and ``ils`` are one id)."""
    counts = Counter(str(getattr(i, key)).casefold() for i in items)
    for item in items:
        value = getattr(item, key)
        row = getattr(item, "row", None) or None
        if not ID_PATTERN.match(value):
            odd = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "._-"))})
            shown = ", ".join(f"U+{ord(c):04X}" for c in odd[:3])
            problems.add(rel, key, "must use only the letters A-Z, digits and . _ - (at most 80, "
                         "starting with a letter or digit)"
                         + (f"; it contains {shown}, which may look like a plain letter"
                            if shown else ""), row=row, value=value.encode(
                                "ascii", "backslashreplace").decode())
        elif counts[value.casefold()] > 1:
            problems.add(rel, key, "must be unique; another row uses the same id (ids are "
                         "compared ignoring upper and lower case)", row=row, value=value)


def _check_policy(policy: Policy, taxonomy: Taxonomy | None, problems: _Problems) -> None:
    rel = "policy/controls.yaml"
    scales = policy.scales
    clause_ids = {c.id for c in policy.clauses}
    statute_ids = {s.id for s in policy.statutes}
    tier_ids = [t.id for t in scales.tiers]
    for name, ids in (("clauses", [c.id for c in policy.clauses]),
                      ("statutes", [s.id for s in policy.statutes]),
                      ("controls", [c.id for c in policy.controls])):
        for ident, n in Counter(ids).items():
            if n > 1:
                problems.add(f"policy/{name if name != 'clauses' else 'policy'}.yaml", "id",
                             "must be unique; it is used more than once", value=ident)
    kinds = [k.id for k in taxonomy.vocabularies.system_kinds] if taxonomy else None
    categories = [c.id for c in taxonomy.categories] if taxonomy else None
    elements = [e.id for e in taxonomy.elements] if taxonomy else None
    for c in policy.controls:
        where = f"control {c.id}"
        if not c.clauses and not c.statutes:
            problems.add(rel, f"{where}.clauses", "a control must cite at least one policy "
                         "clause or statute")
        for ref in c.clauses:
            if ref not in clause_ids:
                problems.add(rel, f"{where}.clauses", "names no clause in policy.yaml",
                             value=ref, choices=clause_ids)
        for ref in c.statutes:
            if ref not in statute_ids:
                problems.add(rel, f"{where}.statutes", "names no statute in statutes.yaml",
                             value=ref, choices=statute_ids)
        if c.ala_priority not in scales.ala_priorities:
            problems.add(rel, f"{where}.ala_priority", f"must be one of {scales.ala_priorities}",
                         value=c.ala_priority, choices=scales.ala_priorities)
        for n in c.niso:
            if n not in scales.niso_principles:
                problems.add(rel, f"{where}.niso", "is not one of the 12 NISO principles",
                             value=n, choices=scales.niso_principles)
        if c.hard_gate and c.gate_rule not in policy.gate_rules:
            problems.add(rel, f"{where}.gate_rule", "a hard-gate control needs a gate_rule "
                         f"from policy.yaml: {sorted(policy.gate_rules)}", value=c.gate_rule,
                         choices=policy.gate_rules)
        if c.derived_from is not None:
            scope = names.DERIVED_CHECK_SCOPES.get(c.derived_from)
            if scope is None:
                problems.add(rel, f"{where}.derived_from", "is not a known fact check",
                             value=c.derived_from, choices=names.DERIVED_CHECK_SCOPES)
            elif scope != c.applies_to:
                problems.add(rel, f"{where}.applies_to", f"{c.derived_from} is checked per "
                             f"{scope}", value=c.applies_to)
        factor_ids = [f.id for f in scales.likelihood_factors]
        for factor in c.mitigates:
            if factor not in factor_ids:
                problems.add(rel, f"{where}.mitigates", "names no likelihood factor in "
                             "scales.yaml", value=factor, choices=factor_ids)
        w = c.when
        if w.min_tier is not None and w.min_tier not in tier_ids:
            problems.add(rel, f"{where}.when.min_tier", f"must be one of {tier_ids}",
                         value=w.min_tier, choices=tier_ids)
        for field, allowed in (("kinds", kinds), ("categories", categories),
                               ("elements_any", elements)):
            for v in getattr(w, field) or []:
                if allowed is not None and v not in allowed:
                    problems.add(rel, f"{where}.when.{field}", "is not in the taxonomy",
                                 value=v, choices=allowed)
    # scales must be internally consistent or scoring would silently mis-score
    srel = "policy/scales.yaml"
    sev_values = {lv.value for lv in scales.severity}
    for tier in tier_ids:
        if tier not in scales.severity_by_tier:
            problems.add(srel, "severity_by_tier", "needs a severity for every tier", value=tier)
    for tier, sev in scales.severity_by_tier.items():
        if tier not in tier_ids:
            problems.add(srel, "severity_by_tier", f"names a tier not in tiers {tier_ids}",
                         value=tier, choices=tier_ids)
        if sev not in sev_values:
            problems.add(srel, f"severity_by_tier.{tier}",
                         f"must be a severity value {sorted(sev_values)}", value=sev)
    for key in scales.severity_modifiers:
        if key not in names.SEVERITY_MODIFIERS:
            problems.add(srel, "severity_modifiers", "known modifiers are "
                         + " and ".join(names.SEVERITY_MODIFIERS), value=key,
                         choices=names.SEVERITY_MODIFIERS)
    _check_declared_names(policy, problems)
    max_sev = max(sev_values, default=4)
    max_like = max((lv.value for lv in scales.likelihood), default=4)
    for product in {s * li for s in range(1, max_sev + 1) for li in range(1, max_like + 1)}:
        if not any(b.min <= product <= b.max for b in scales.risk_bands):
            problems.add(srel, "risk_bands", "every severity × likelihood product needs a band",
                         value=product)
    levels = [b.level for b in scales.likelihood_bands]
    if levels != sorted(levels) or (scales.likelihood_bands
                                    and scales.likelihood_bands[-1].below is not None):
        problems.add(srel, "likelihood_bands", "must rise by level and end with below: null")
    for status in scales.control_credit:
        if status not in scales.statuses:
            problems.add(srel, "control_credit", "names a status not in statuses",
                         value=status, choices=scales.statuses)
    for key in ("k_anonymity", "l_diversity"):
        if key in scales.evidence and scales.evidence[key] < 1:
            problems.add(srel, f"evidence.{key}", "must be 1 or more", value=scales.evidence[key])


_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _check_declared_names(policy: Policy, problems: _Problems) -> None:
    """The names the code looks up (``lcopia.names``) must exist in the data, so renaming
    one is a ``validate`` error here and never a ``KeyError`` in scoring or the report."""
    for rule in names.GATE_RULES:
        if rule not in policy.gate_rules:
            problems.items.append(Problem(
                file="policy/policy.yaml", field="gate_rules", expected=f"needs the gate rule "
                f"'{rule}' stated in words (lcopia raises it by this id)",
                suggestion=did_you_mean(rule, policy.gate_rules)))
    srel = "policy/scales.yaml"
    band_ids = [b.id for b in policy.scales.risk_bands]
    for band in names.BAND_IDS:
        if band not in band_ids:
            problems.add(srel, "risk_bands", f"needs a band with id '{band}' (lcopia knows the "
                         f"bands {', '.join(names.BAND_IDS)} by id; change labels, not ids)")
    for b in policy.scales.risk_bands:
        if b.id not in names.BAND_IDS:
            problems.add(srel, "risk_bands.id", f"must be one of {list(names.BAND_IDS)}",
                         value=b.id, choices=names.BAND_IDS)
        if not _COLOUR.match(b.colour):
            problems.add(srel, f"risk_bands.{b.id}.colour", "must be a color written "
                         "#rrggbb, for example #e38b8b", value=b.colour)
    ids = {"clause": {c.id for c in policy.clauses}, "control": {c.id for c in policy.controls}}
    for role, kind in names.ROLES.items():
        target = policy.roles.get(role)
        if target is None:
            problems.add("policy/policy.yaml", f"roles.{role}", f"needs the id of the {kind} "
                         f"that plays this role (lcopia looks it up by role)")
        elif target not in ids[kind]:
            file = "policy/policy.yaml" if kind == "clause" else "policy/controls.yaml"
            problems.add("policy/policy.yaml", f"roles.{role}", f"names no {kind} in {file}",
                         value=target, choices=ids[kind])
    for role in policy.roles:
        if role not in names.ROLES:
            problems.add("policy/policy.yaml", "roles", "is not a role lcopia knows",
                         value=role, choices=names.ROLES)


def _normalise_quote(text: str) -> str:
    """Whitespace folded and ``[x](#)`` link markup dropped, as a reader sees the text."""
    return " ".join(re.sub(r"\[([^\]]*)\]\(#\)", r"\1", text).split())


def _check_quotes(policy: Policy, taxonomy: Taxonomy | None, root: Path,
                  problems: _Problems) -> None:
    """Every clause and category quote must stand verbatim in the approved policy text."""
    rel = f"policy/{policy.source_file}"
    source_text = _read_text(root / "policy" / policy.source_file, rel, problems)
    if source_text is None:
        if problems.items and problems.items[-1].file == rel and "missing" in\
                problems.items[-1].expected:
            problems.items[-1] = Problem(
                file=rel, field=None, expected="is missing: the approved policy text is needed "
                "to check that every clause is quoted verbatim; put the policy's text file there")
        return
    text = _normalise_quote(source_text)
    quotes = [("policy/policy.yaml", f"clause {c.id}.text", c.text) for c in policy.clauses]
    if taxonomy is not None:
        quotes += [("taxonomy/categories.yaml", f"category {c.id}.policy_text", c.policy_text)
                   for c in taxonomy.categories if c.policy_text]
        quotes += [("taxonomy/elements.yaml", f"element {e.id}.policy_text", e.policy_text)
                   for e in taxonomy.elements if e.policy_text]
    for rel_file, field, quote in quotes:
        if _normalise_quote(quote) not in text:
            problems.add(rel_file, field, "is not a verbatim quote of the approved policy "
                         f"({policy.source_file}); quote it exactly, do not paraphrase",
                         value=quote)


def _check_taxonomy(taxonomy: Taxonomy, policy: Policy | None, problems: _Problems) -> None:
    tier_ids = [t.id for t in policy.scales.tiers] if policy else None
    clause_ids = {c.id for c in policy.clauses} if policy else None
    for ident, n in Counter(c.id for c in taxonomy.categories).items():
        if n > 1:
            problems.add("taxonomy/categories.yaml", "id", "must be unique", value=ident)
    for ident, n in Counter(e.id for e in taxonomy.elements).items():
        if n > 1:
            problems.add("taxonomy/elements.yaml", "id", "must be unique", value=ident)
    for c in taxonomy.categories:
        if clause_ids is not None and c.clause not in clause_ids:
            problems.add("taxonomy/categories.yaml", f"category {c.id}.clause",
                         "names no clause in policy.yaml", value=c.clause, choices=clause_ids)
    for e in taxonomy.elements:
        if tier_ids is not None and e.tier not in tier_ids:
            problems.add("taxonomy/elements.yaml", f"element {e.id}.tier",
                         f"must be one of {tier_ids}", value=e.tier, choices=tier_ids)


def _check_library(lib: Library, policy: Policy | None, problems: _Problems) -> None:
    """library.yaml on its own: checked even when a table cannot be read, so a new project
    sees every placeholder it must replace at the first ``validate``."""
    for name, value in lib.model_dump().items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and PLACEHOLDER in item:
                problems.add("inventory/library.yaml", name, "is still the placeholder from "
                             "'lcopia init'; write your library's own value", value=item)
    if policy is not None and policy.library.casefold() not in lib.name.casefold()\
            and PLACEHOLDER not in lib.name:
        problems.warnings.append(
            f"policy/policy.yaml is the policy of {policy.library}, not of {lib.name}: put your "
            "library's own policy text in policy/ and quote its clauses (see policy/README.md)")


def _check_inventory(inv: Inventory, policy: Policy | None, taxonomy: Taxonomy | None,
                     as_of: dt.date | None, problems: _Problems) -> None:
    _unique(inv.systems, "system_id", "inventory/systems.csv", problems)
    _unique(inv.flows, "flow_id", "inventory/flows.csv", problems)
    _unique(inv.disclosures, "request_id", "inventory/disclosures.csv", problems)
    system_ids = {s.system_id for s in inv.systems}
    flow_ids = {f.flow_id for f in inv.flows}
    # rows already reported for a bad cell still exist for the user: no follow-on problems
    known_systems = system_ids | problems.dropped.get("systems.csv", set())
    known_flows = flow_ids | problems.dropped.get("flows.csv", set())
    voc: Vocabularies | None = taxonomy.vocabularies if taxonomy else None
    cats = [c.id for c in taxonomy.categories] if taxonomy else None
    elems = [e.id for e in taxonomy.elements] if taxonomy else None

    def vocab(rel: str, row: int, field: str, value: str, allowed: list[str] | None) -> None:
        if allowed is not None and value not in allowed:
            problems.add(rel, field, f"must be one of: {', '.join(allowed)}", row=row,
                         value=value, choices=allowed)

    def not_future(rel: str, row: int, field: str, value: dt.date | None) -> None:
        if as_of is not None and value is not None and value > as_of:
            problems.add(rel, field, f"is after the assessment date {as_of.isoformat()}; "
                         "check the year", row=row, value=value.isoformat())

    rel = "inventory/systems.csv"
    for s in inv.systems:
        vocab(rel, s.row, "kind", s.kind, [t.id for t in voc.system_kinds] if voc else None)
        for u in s.uses:
            vocab(rel, s.row, "uses", u, [t.id for t in voc.uses] if voc else None)
        not_future(rel, s.row, "privacy_policy_reviewed", s.privacy_policy_reviewed)
        if s.privacy_policy_url and not re.match(r"^https?://[^\s<>\"']+$", s.privacy_policy_url):
            problems.add(rel, "privacy_policy_url", "must be a web address starting with "
                         "https://", row=s.row, value=s.privacy_policy_url)
    rel = "inventory/flows.csv"
    for f in inv.flows:
        if f.system_id not in known_systems:
            problems.add(rel, "system_id", "names no system in systems.csv", row=f.row,
                         value=f.system_id, choices=system_ids)
        vocab(rel, f.row, "category", f.category, cats)
        for e in f.elements:
            vocab(rel, f.row, "elements", e, elems)
        if not f.elements:
            problems.add(rel, "elements", "list at least one data element", row=f.row)
        vocab(rel, f.row, "direction", f.direction, [t.id for t in voc.directions] if voc else None)
        for field in ("retention_days", "retention_need_days", "patrons_affected"):
            value = getattr(f, field)
            if isinstance(value, int) and value < 0:
                problems.add(rel, field, "cannot be negative; leave retention_days blank for "
                             "'kept indefinitely'", row=f.row, value=value)
    rel = "inventory/answers.csv"
    controls = {c.id: c for c in policy.controls} if policy else None
    seen: Counter[tuple[str, str, str]] = Counter()
    for a in inv.answers:
        seen[(a.control_id, a.scope, a.target_id)] += 1
        if controls is not None:
            control = controls.get(a.control_id)
            if control is None:
                problems.add(rel, "control_id", "names no control in policy/controls.yaml",
                             row=a.row, value=a.control_id, choices=controls)
            elif control.derived_from:
                problems.add(rel, "control_id", f"is computed from the inventory "
                             f"({control.derived_from}); edit those facts and delete this row",
                             row=a.row, value=a.control_id)
            elif control.applies_to != a.scope:
                problems.add(rel, "scope", f"control {a.control_id} applies to each "
                             f"{control.applies_to}", row=a.row, value=a.scope)
        if policy is not None:
            vocab(rel, a.row, "status", a.status, policy.scales.statuses)
        not_future(rel, a.row, "review_date", a.review_date)
        targets = {"system": known_systems, "flow": known_flows, "library": {"library"}}[a.scope]
        if a.target_id not in targets:
            problems.add(rel, "target_id", f"names no {a.scope}" +
                         (" (write 'library')" if a.scope == "library" else ""),
                         row=a.row, value=a.target_id, choices=targets)
    for a in inv.answers:
        if seen[(a.control_id, a.scope, a.target_id)] > 1:
            problems.add(rel, "control_id", f"answered more than once for {a.target_id}; "
                         "keep one row", row=a.row, value=a.control_id)
    rel = "inventory/disclosures.csv"
    for d in inv.disclosures:
        not_future(rel, d.row, "received", d.received)
        if voc is not None:
            vocab(rel, d.row, "requester_type", d.requester_type,
                  [t.id for t in voc.requester_types])
            vocab(rel, d.row, "instrument", d.instrument, [t.id for t in voc.instruments])
            vocab(rel, d.row, "court_finding", d.court_finding,
                  [t.id for t in voc.court_findings])
            vocab(rel, d.row, "decision", d.decision, [t.id for t in voc.decisions])
            if d.consent_by:
                vocab(rel, d.row, "consent_by", d.consent_by, [t.id for t in voc.consenters])
            if d.counsel_review:
                vocab(rel, d.row, "counsel_review", d.counsel_review,
                      [t.id for t in voc.counsel_reviews])
        for c in [*d.categories, *d.categories_released]:
            vocab(rel, d.row, "categories", c, cats)
        if d.search_cost < 0:
            problems.add(rel, "search_cost", "cannot be negative", row=d.row, value=d.search_cost)
    lib = inv.library
    if lib.period_end < lib.period_start:
        problems.add("inventory/library.yaml", "period_end", "is before period_start",
                     value=lib.period_end.isoformat())
    if policy is not None and lib.policy_id != policy.id:
        problems.add("inventory/library.yaml", "policy_id", f"must be {policy.id!r}, the id in "
                     "policy/policy.yaml", value=lib.policy_id)


# ----------------------------------------------------------------------------- entry points


def vocabulary_columns(policy: Policy | None, taxonomy: Taxonomy | None
                        ) -> dict[str, dict[str, list[str]]]:
    """Table → column → the closed vocabulary its cells come from (for forgiving matching)."""
    out: dict[str, dict[str, list[str]]] = {
        "answers.csv": {"scope": ["library", "system", "flow"]}}
    if policy is not None:
        out["answers.csv"]["status"] = list(policy.scales.statuses)
    if taxonomy is not None:
        voc = taxonomy.vocabularies
        cats = [c.id for c in taxonomy.categories]
        out["systems.csv"] = {"kind": [t.id for t in voc.system_kinds],
                              "uses": [t.id for t in voc.uses]}
        out["flows.csv"] = {"category": cats, "elements": [e.id for e in taxonomy.elements],
                            "direction": [t.id for t in voc.directions]}
        out["disclosures.csv"] = {
            "requester_type": [t.id for t in voc.requester_types],
            "instrument": [t.id for t in voc.instruments],
            "court_finding": [t.id for t in voc.court_findings],
            "decision": [t.id for t in voc.decisions], "categories": cats}
    return out


def _validate(model: type[BaseModel], data: Any, rel: str, problems: _Problems,
              list_key: str | None = None) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        if list_key and isinstance(data, dict) and isinstance(data.get(list_key), list):
            names = _located(data[list_key], "id")
            for err in exc.errors():
                loc = list(err["loc"])
                if len(loc) >= 2 and loc[0] == list_key and isinstance(loc[1], int):
                    err_field = f"{list_key}[{names.get(loc[1], loc[1])}]." + ".".join(
                        str(p) for p in loc[2:])
                else:
                    err_field = ".".join(str(p) for p in loc)
                value = err.get("input")
                shown = value if isinstance(value, str | int | float | bool) else None
                expected = ("is not a known field; remove it or check its spelling"
                            if err["type"] == "extra_forbidden" else err["msg"])
                problems.add(rel, err_field, expected, value=shown if err["type"] != "missing"
                             else None)
            return None
        _model_problems(exc, rel, problems)
        return None


def _project_root(data_dir: Path | str | DataDir) -> DataDir:
    project = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    if not project.root.is_dir():
        raise InventoryError([Problem(file=str(project.root), field=None, expected=(
            "is not a folder; give --data the folder that holds policy/, taxonomy/ and "
            "inventory/ (the sample is 'data')"))])
    return project


def _raise(project: DataDir, problems: _Problems) -> None:
    """One InventoryError, its problems file by file (in reading order) and row by row."""
    order = {project.rel(p): i for i, p in enumerate(project.input_files())}
    ranked = sorted(problems.items, key=lambda p: (order.get(p.file, len(order)), p.row or 0))
    raise InventoryError(ranked, problems.warnings)


def _read_rules(project: DataDir, problems: _Problems
                ) -> tuple[Policy | None, Taxonomy | None]:
    raw: dict[str, Any] = {}
    for path in project.input_files():
        if path.suffix == ".yaml" and path.parent != project.inventory:
            rel = project.rel(path)
            raw[rel] = _yaml(path, rel, problems)
    policy = taxonomy = None
    scales = _validate(Scales, raw["policy/scales.yaml"], "policy/scales.yaml", problems)\
        if raw["policy/scales.yaml"] is not None else None
    parts = [raw[f"policy/{n}"] for n in ("policy.yaml", "statutes.yaml", "controls.yaml",
                                          "counsel_questions.yaml")]
    if scales is not None and all(p is not None for p in parts):
        merged = {**parts[0], "statutes": parts[1].get("statutes"),
                  "controls": parts[2].get("controls"), "scales": scales,
                  "counsel_questions": parts[3].get("counsel_questions")}
        for rel, key in (("policy/policy.yaml", "clauses"), ("policy/statutes.yaml", "statutes"),
                         ("policy/controls.yaml", "controls")):
            sub = {key: merged.get(key)}
            if not isinstance(sub[key], list):
                problems.add(rel, key, f"needs a '{key}:' list")
        policy = _validate(Policy, merged, "policy/controls.yaml", problems, list_key="controls")
    tparts = [raw[f"taxonomy/{n}"] for n in TAXONOMY_FILES]
    if all(p is not None for p in tparts):
        vocab = _validate(Vocabularies, tparts[2], "taxonomy/vocabularies.yaml", problems)
        if vocab is not None:
            taxonomy = _validate(Taxonomy, {"categories": tparts[0].get("categories"),
                                            "elements": tparts[1].get("elements"),
                                            "vocabularies": vocab},
                                 "taxonomy/elements.yaml", problems, list_key="elements")
    if policy is not None:
        _check_policy(policy, taxonomy, problems)
        _check_quotes(policy, taxonomy, project.root, problems)
    if taxonomy is not None:
        _check_taxonomy(taxonomy, policy, problems)
    return policy, taxonomy


def load_rules(data_dir: Path | str | DataDir) -> tuple[Policy, Taxonomy]:
    """The policy and taxonomy alone: enough to build an inventory workbook for a library
    whose inventory is still blank. Raises one InventoryError listing every problem."""
    project = _project_root(data_dir)
    problems = _Problems()
    policy, taxonomy = _read_rules(project, problems)
    if problems.items or policy is None or taxonomy is None:
        if not problems.items:
            problems.add(str(project.root), None, "could not be loaded")
        _raise(project, problems)
    assert policy is not None and taxonomy is not None
    return policy, taxonomy


def load(data_dir: Path | str | DataDir, *, as_of: dt.date | None = None) -> Bundle:
    """Load and cross-check everything under ``data_dir``; raise one InventoryError if bad.

    ``as_of`` enables checks against the assessment date (no review or request dated in the
    future); the loader never reads the clock itself.
    """
    project = _project_root(data_dir)
    problems = _Problems()
    policy, taxonomy = _read_rules(project, problems)
    lib_rel = f"inventory/{LIBRARY_FILE}"
    lib_raw = _yaml(project.inventory / LIBRARY_FILE, lib_rel, problems)
    library = _validate(Library, lib_raw, lib_rel, problems) if lib_raw is not None else None
    choices = vocabulary_columns(policy, taxonomy)
    tables = {name: _read_csv(project.inventory / name, f"inventory/{name}", model, problems,
                              choices.get(name))
              for name, model in CSV_MODELS.items()}
    tables["answers.csv"] = [
        a.model_copy(update={"target_id": "library"})
        if a.scope == "library" and a.target_id.casefold() == "library" else a
        for a in tables["answers.csv"]]
    inventory = None
    if library is not None:
        _check_library(library, policy, problems)
        inventory = Inventory(library=library, systems=tables["systems.csv"],
                              flows=tables["flows.csv"], answers=tables["answers.csv"],
                              disclosures=tables["disclosures.csv"])
        if not problems.unreadable:
            _check_inventory(inventory, policy, taxonomy, as_of, problems)
            if taxonomy is not None:
                problems.warnings.extend(holds_records_contradictions(inventory, taxonomy))
    if problems.items or policy is None or taxonomy is None or inventory is None:
        if not problems.items:
            problems.add(str(project.root), None, "could not be loaded")
        _raise(project, problems)
    files = dict(sorted(problems.hashes.items()))
    return Bundle(policy=policy, taxonomy=taxonomy, inventory=inventory, files=files,
                  warnings=problems.warnings)


def summary(bundle: Bundle) -> str:
    """One screen a privacy officer reads after editing: counts and what is still unknown."""
    inv, tax = bundle.inventory, bundle.taxonomy
    lines = [f"{inv.library.name}: assessment data is valid.",
             f"Policy: {bundle.policy.title} (approved {bundle.policy.approved.isoformat()}), "
             f"{len(bundle.policy.clauses)} clauses, {len(bundle.policy.controls)} controls.",
             f"Systems: {len(inv.systems)} "
             f"({sum(s.external for s in inv.systems)} outside the library).",
             f"Flows: {len(inv.flows)}"]
    per_cat = Counter(f.category for f in inv.flows)
    for cat in tax.categories:
        lines.append(f"  {cat.name:<58} {per_cat.get(cat.id, 0):>3}")
    statuses = Counter(a.status for a in inv.answers)
    lines.append("Control answers: " + ", ".join(
        f"{statuses.get(s, 0)} {s.replace('_', ' ')}" for s in bundle.policy.scales.statuses))
    lines.append(f"Disclosure requests on file: {len(inv.disclosures)}")
    if inv.library.illustrative:
        lines.append("Note: this inventory is marked illustrative (sample data).")
    lines.append("Unanswered controls count as unknown (a gap, never a pass); "
                 "run 'lcopia score' to see them.")
    return "\n".join(lines)
