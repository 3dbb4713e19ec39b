"""One inventory workbook: the four inventory tables as sheets, and back again.

A privacy officer works in a spreadsheet. ``export_workbook`` writes ``inventory.xlsx`` with
a sheet per table, help on every column header, drop-down lists from the vocabularies, and
an *Answers* sheet that lists every control that applies to every target, so answering is
changing statuses, not finding out which rows to add. ``import_workbook`` reads it back
with the loader's own validation, locates every problem by sheet, row and column, and
writes the CSV files only when the whole workbook is valid.

CSV → workbook → CSV loses nothing: cells are written as text exactly as the CSV holds
them (never as formulas), and read back as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from lcopia.errors import InventoryError, LcopiaError, Problem
from lcopia.fsio import (
    FileProblem,
    decode_text,
    read_bytes_limited,
    require_regular_file,
    sha256_bytes,
    write_atomic,
)
from lcopia.load import (
    CSV_MODELS,
    MAX_FILE_BYTES,
    cell_converter,
    load,
    load_rules,
    vocabulary_columns,
    vocabulary_key,
)
from lcopia.models import Bundle, Policy
from lcopia.project import DataDir
from lcopia.scoring import assess

SHEETS: dict[str, str] = {"systems.csv": "Systems", "flows.csv": "Flows",
                          "answers.csv": "Answers", "disclosures.csv": "Disclosures"}
LISTS_SHEET = "Lists"
ABOUT_SHEET = "About"
# Columns on the Answers sheet that help the reader and are never imported.
READING_AIDS = ("question", "target_name")
MAX_ROWS = 5_000            # far more than any library's inventory; past it: a wrong file
MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
VALIDATION_ROWS = 2_000     # drop-downs reach this far down each sheet
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
_AID_FILL = PatternFill("solid", fgColor="EEEEEE")


class WorkbookError(LcopiaError):
    """The workbook cannot be read or imported as it is; nothing was written."""


@dataclass
class TableChange:
    """What an import changes in one table, by row key."""

    table: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass
class ImportResult:
    changes: list[TableChange]
    written: list[str]
    warnings: list[str]


# ----------------------------------------------------------------------------- export


def _csv_rows(path: Path, rel: str) -> tuple[list[str], list[list[str]], str]:
    """Header, rows and the sha256 of a CSV table, read exactly as text."""
    raw = read_bytes_limited(path, rel, MAX_FILE_BYTES, what="inventory file")
    text, _ = decode_text(raw, rel)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [h.strip() for h in rows[0]] if rows else []
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    return header, body, sha256_bytes(raw)


def _column_help(table: str, column: str, choices: dict[str, list[str]]) -> str:
    model = CSV_MODELS[table]
    info = model.model_fields.get(column)
    lines = []
    if info is not None:
        if info.description:
            lines.append(info.description)
        expected, _ = cell_converter(info.annotation)
        lines.append(f"Write {expected}.")
    if column in choices:
        allowed = choices[column]
        shown = ", ".join(allowed[:25]) + (" …" if len(allowed) > 25 else "")
        lines.append(f"Allowed: {shown}.")
    return "\n".join(lines) or "See the inventory README for this column."


def _applicable_answers(bundle: Bundle, as_of: dt.date) -> list[tuple[str, str, str]]:
    """Every (control, scope, target) the inventory asks an answer for, in a stable order.

    Controls computed from the inventory (``derived_from``) are facts, not answers, so they
    are left out: answering them would let the two disagree.
    """
    derived = {c.id for c in bundle.policy.controls if c.derived_from}
    order = {c.id: i for i, c in enumerate(bundle.policy.controls)}
    pairs = {(r.control_id, r.scope, r.target_id)
             for r in assess(bundle, as_of).controls if r.control_id not in derived}
    return sorted(pairs, key=lambda p: (order.get(p[0], 0), p[1], p[2]))


def _names(bundle: Bundle) -> dict[tuple[str, str], str]:
    out = {("library", "library"): bundle.inventory.library.name}
    out.update({("system", s.system_id): s.name for s in bundle.inventory.systems})
    out.update({("flow", f.flow_id): f.purpose for f in bundle.inventory.flows})
    return out


def _set_text(cell: Any, value: str) -> None:
    """Store ``value`` as text: a cell that starts with ``=`` stays words, never a formula."""
    cell.value = value
    if value:
        cell.data_type = "s"


def export_workbook(data_dir: Path | str | DataDir, out: Path, *, as_of: dt.date) -> Path:
    """Write the inventory workbook; the Answers sheet lists every applicable question
    when the inventory is valid (a blank inventory still gets every table and list)."""
    project = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    policy, taxonomy = load_rules(project)
    choices = vocabulary_columns(policy, taxonomy)
    bundle: Bundle | None
    try:
        bundle = load(project, as_of=as_of)
    except InventoryError:
        bundle = None  # a blank or half-filled inventory: tables only, no question list
    wb = Workbook()
    wb.remove(wb.active)
    columns = _list_columns(choices)
    refs = _list_refs(columns)
    hashes: dict[str, str] = {}
    for table, title in SHEETS.items():
        rel = f"inventory/{table}"
        try:
            header, rows, digest = _csv_rows(project.inventory / table, rel)
        except FileProblem as exc:
            raise WorkbookError(str(exc)) from None
        hashes[table] = digest
        if not header:
            header = [n for n in CSV_MODELS[table].model_fields if n != "row"]
        ws = wb.create_sheet(title)
        if table == "answers.csv" and bundle is not None:
            rows = _answers_rows(header, rows, bundle, policy, as_of)
            header = [*header, *READING_AIDS]
        _write_table(ws, table, header, rows, choices.get(table, {}), refs)
    _write_lists(wb, columns)
    _write_about(wb, project, hashes, bundle is not None, as_of)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    wb.save(buf)
    write_atomic(out, buf.getvalue())
    return out


def _answers_rows(header: list[str], rows: list[list[str]], bundle: Bundle, policy: Policy,
                  as_of: dt.date) -> list[list[str]]:
    """Existing answers first, then a row at ``unknown`` for every question not yet answered,
    each with the question and the target's name to read."""
    col = {name: i for i, name in enumerate(header)}
    titles = {c.id: c.title for c in policy.controls}
    names = _names(bundle)
    seen = set()
    out = []
    for r in rows:
        cells = r + [""] * (len(header) - len(r))
        key = tuple(cells[col[k]].strip() for k in ("control_id", "scope", "target_id"))
        seen.add(key)
        out.append([*cells, titles.get(key[0], ""), names.get((key[1], key[2]), "")])
    for control_id, scope, target_id in _applicable_answers(bundle, as_of):
        if (control_id, scope, target_id) in seen:
            continue
        cells = [""] * len(header)
        cells[col["control_id"]], cells[col["scope"]] = control_id, scope
        cells[col["target_id"]], cells[col["status"]] = target_id, "unknown"
        out.append([*cells, titles.get(control_id, ""), names.get((scope, target_id), "")])
    return out


def _write_table(ws: Any, table: str, header: list[str], rows: list[list[str]],
                 choices: dict[str, list[str]], refs: dict[tuple[str, str], str]) -> None:
    bold = Font(bold=True)
    for j, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=j, value=name)
        cell.font = bold
        aid = name in READING_AIDS and table == "answers.csv"
        cell.fill = _AID_FILL if aid else _HEADER_FILL
        text = ("For reading only: lcopia ignores this column on import." if aid
                else _column_help(table, name, choices))
        cell.comment = Comment(text, "lcopia", width=320, height=160)
        ws.column_dimensions[get_column_letter(j)].width = min(
            60, max(12, len(name) + 2, *(len(r[j - 1]) + 2 for r in rows[:200] if j <= len(r))))
    for i, cells in enumerate(rows, start=2):
        for j, value in enumerate(cells[:len(header)], start=1):
            _set_text(ws.cell(row=i, column=j), value)
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(2, len(rows) + 1)}"
    for j, name in enumerate(header, start=1):
        info = CSV_MODELS[table].model_fields.get(name)
        if info is None:
            continue
        if name in choices and "list[str]" not in str(info.annotation):
            ref = refs[(table, name)]
        elif "YesNo" in str(info.annotation):
            ref = refs[("", "yes_no_unknown")]
        else:
            continue
        letter = get_column_letter(j)
        dv = DataValidation(type="list", formula1=ref, allow_blank=True, showDropDown=False,
                            errorStyle="warning", error="Choose from the list (lcopia also "
                            "accepts other spellings of the same word).",
                            errorTitle="Not in the list")
        dv.add(f"{letter}2:{letter}{VALIDATION_ROWS}")
        ws.add_data_validation(dv)


def _list_columns(choices: dict[str, dict[str, list[str]]]
                  ) -> list[tuple[tuple[str, str], list[str]]]:
    """One column per vocabulary on the hidden Lists sheet, in a fixed order."""
    columns: list[tuple[tuple[str, str], list[str]]] = [
        (("", "yes_no_unknown"), ["yes", "no", "unknown"])]
    for table, cols in choices.items():
        columns += [((table, name), allowed) for name, allowed in cols.items()]
    return columns


def _list_refs(columns: list[tuple[tuple[str, str], list[str]]]) -> dict[tuple[str, str], str]:
    return {key: f"{LISTS_SHEET}!${get_column_letter(j)}$2:${get_column_letter(j)}$"
                 f"{len(allowed) + 1}" for j, (key, allowed) in enumerate(columns, start=1)}


def _write_lists(wb: Workbook, columns: list[tuple[tuple[str, str], list[str]]]) -> None:
    """A hidden sheet with one column per vocabulary, for the drop-downs."""
    ws = wb.create_sheet(LISTS_SHEET)
    for j, (key, allowed) in enumerate(columns, start=1):
        ws.cell(row=1, column=j, value=f"{key[0]}:{key[1]}" if key[0] else key[1])
        for i, value in enumerate(allowed, start=2):
            _set_text(ws.cell(row=i, column=j), value)
    ws.sheet_state = "hidden"


def _write_about(wb: Workbook, project: DataDir, hashes: dict[str, str], questions: bool,
                 as_of: dt.date) -> None:
    ws = wb.create_sheet(ABOUT_SHEET, 0)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90
    lines = [
        ("lcopia inventory workbook", ""),
        ("Exported for", as_of.isoformat()),
        ("How to use", "Edit the Systems, Flows, Answers and Disclosures sheets, save as .xlsx, "
                       "then run: lcopia workbook import inventory.xlsx"),
        ("Answers", "Every question that applies is listed at 'unknown': change the status "
                    "and add evidence, owner and date." if questions else
                    "Fill Systems and Flows first, import, then export again: the Answers "
                    "sheet will list every question that applies."),
        ("Lists", "A cell of several values is separated by ';' (for example "
                  "card_number;patron_name)."),
    ]
    lines += [(f"sha256 {t}", h) for t, h in hashes.items()]
    for i, (k, v) in enumerate(lines, start=1):
        ws.cell(row=i, column=1, value=k).font = Font(bold=i == 1)
        _set_text(ws.cell(row=i, column=2), v)


# ----------------------------------------------------------------------------- import


def _check_zip(path: Path, shown: str) -> None:
    """Refuse a workbook whose parts would unpack to far more than an inventory needs."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise WorkbookError(f"{shown}: is not a readable .xlsx workbook (damaged or not a "
                            "workbook); open it in a spreadsheet program and save it again "
                            "as .xlsx") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise WorkbookError(f"{shown}: has {len(infos):,} parts inside, more than the "
                            f"{MAX_ZIP_ENTRIES} an inventory workbook needs; is this the "
                            "right file?")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise WorkbookError(f"{shown}: would unpack to {total // 1_000_000:,} MB, more than "
                            f"the {MAX_UNZIPPED_BYTES // 1_000_000} MB an inventory workbook "
                            "may; save only the inventory sheets in it")


def _text(value: Any) -> str:
    """A cell as the CSV text lcopia reads: dates ISO, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet_rows(ws: Any) -> list[list[str]]:
    """The sheet's cells as text, merged ranges filled with their top-left value."""
    merged = list(ws.merged_cells.ranges)
    for rng in merged:
        top = ws.cell(row=rng.min_row, column=rng.min_col).value
        ws.unmerge_cells(str(rng))
        for row in ws.iter_rows(min_row=rng.min_row, max_row=rng.max_row,
                                min_col=rng.min_col, max_col=rng.max_col):
            for cell in row:
                cell.value = top
    rows = []
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if i > MAX_ROWS + 1:
            raise WorkbookError(f"sheet {ws.title} has more than {MAX_ROWS:,} rows; "
                                "is this the right workbook?")
        rows.append([_text(v) for v in row])
    while rows and not any(rows[-1]):
        rows.pop()
    return rows


def _table_from_sheet(rows: list[list[str]], table: str, current_header: list[str]
                      ) -> tuple[list[str], list[list[str]]]:
    """Columns put back in the CSV's order (a vendor or colleague may have moved them),
    reading aids dropped; columns lcopia does not know are kept so the loader names them."""
    if not rows:
        return current_header, []
    header = [h.strip() for h in rows[0]]
    fields = [n for n in CSV_MODELS[table].model_fields if n != "row"]
    by_key = {vocabulary_key(n): n for n in fields}
    named = [by_key.get(vocabulary_key(h), h) for h in header]
    keep = [j for j, h in enumerate(named)
            if h and not (table == "answers.csv" and h in READING_AIDS)]
    order = [n for n in current_header if n in {named[j] for j in keep}]
    order += [named[j] for j in keep if named[j] not in order]
    index = {named[j]: j for j in keep}
    body = []
    for r in rows[1:]:
        cells = r + [""] * (len(header) - len(r))
        if not any(cells[j] for j in keep):
            continue
        body.append([cells[index[n]] for n in order])
    return order, body


def _csv_text(header: list[str], rows: Iterable[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _drop_blank_unknowns(header: list[str], rows: list[list[str]],
                         existing: set[tuple[str, str, str]]) -> list[list[str]]:
    """Pre-filled ``unknown`` rows nobody touched carry no answer: keep them out of the CSV
    unless the CSV had them, so a round trip changes nothing."""
    col = {n: i for i, n in enumerate(header)}
    out = []
    for r in rows:
        key = tuple(r[col[k]] for k in ("control_id", "scope", "target_id"))
        rest = [r[i] for n, i in col.items()
                if n not in ("control_id", "scope", "target_id", "status")]
        untouched = r[col["status"]].strip().lower() in ("unknown", "") and not any(rest)
        if untouched and key not in existing:
            continue
        out.append(r)
    return out


def _row_keys(table: str, header: list[str], rows: list[list[str]]) -> dict[str, str]:
    col = {n: i for i, n in enumerate(header)}
    key_cols = (["control_id", "scope", "target_id"] if table == "answers.csv"
                else [header[0]] if header else [])
    out = {}
    for r in rows:
        if all(k in col for k in key_cols):
            out["/".join(r[col[k]] for k in key_cols)] = "\x1f".join(r)
    return out


def _relocate(problems: list[Problem], shown: str) -> list[Problem]:
    """Loader problems named by sheet and column, as the officer sees the workbook."""
    out = []
    for p in problems:
        table = p.file.removeprefix("inventory/")
        if table in SHEETS:
            out.append(Problem(file=f"{shown}, sheet {SHEETS[table]}", field=p.field,
                               expected=p.expected, row=p.row, value=p.value,
                               suggestion=p.suggestion))
        else:
            out.append(p)
    return out


def import_workbook(path: Path, data_dir: Path | str | DataDir, *, as_of: dt.date,
                    force: bool = False) -> ImportResult:
    """Read the workbook, validate it as the loader would, then write the four CSV files.

    Refuses, writing nothing, when a CSV changed since the workbook was exported (unless
    ``force``) or when any cell is invalid; every problem names sheet, row and column.
    """
    project = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
    shown = path.name
    wb = open_workbook(path, "an inventory workbook",
                       missing="file is missing; give the path of the workbook exported by "
                       "'lcopia workbook export'")
    exported = _exported_hashes(wb)
    current: dict[str, tuple[list[str], list[list[str]], str]] = {}
    for table in SHEETS:
        rel = f"inventory/{table}"
        try:
            current[table] = _csv_rows(project.inventory / table, rel)
        except FileProblem as exc:
            raise WorkbookError(str(exc)) from None
    stale = [t for t, (_, _, h) in current.items() if t in exported and exported[t] != h]
    if stale and not force:
        raise WorkbookError(
            f"{shown}: inventory/{', inventory/'.join(stale)} changed after this workbook was "
            "exported, so importing it would undo those edits; export a new workbook and "
            "make your changes there, or pass --force to replace them")
    texts: dict[str, str] = {}
    changes = []
    for table, title in SHEETS.items():
        if title not in wb.sheetnames:
            raise WorkbookError(f"{shown}: has no sheet named {title!r}; the workbook needs "
                                f"the sheets {', '.join(SHEETS.values())}")
        header, rows = _table_from_sheet(_sheet_rows(wb[title]), table, current[table][0])
        old_header, old_rows, _ = current[table]
        if table == "answers.csv":
            col = {n: i for i, n in enumerate(old_header)}
            existing = {tuple(r[col[k]] for k in ("control_id", "scope", "target_id"))
                        for r in old_rows if all(k in col for k in
                                                 ("control_id", "scope", "target_id"))}
            rows = _drop_blank_unknowns(header, rows, existing)
        texts[table] = _csv_text(header, rows)
        old, new = _row_keys(table, old_header, old_rows), _row_keys(table, header, rows)
        changes.append(TableChange(
            table, added=sorted(set(new) - set(old)), removed=sorted(set(old) - set(new)),
            changed=sorted(k for k in set(old) & set(new) if old[k] != new[k])))
    warnings = _validate_staged(project, texts, shown, as_of)
    written = []
    for table, text in texts.items():
        target = project.inventory / table
        if target.read_bytes() != text.encode("utf-8"):
            write_atomic(target, text)
            written.append(f"inventory/{table}")
    return ImportResult(changes=changes, written=written, warnings=warnings)


def open_workbook(path: Path, what: str, *, missing: str | None = None) -> Any:
    """A returned workbook, opened only after refusing special files, oversized files and
    zip bombs: the one way lcopia reads a workbook a person edited."""
    shown = path.name
    try:
        st = require_regular_file(path, shown, missing=missing)
    except FileProblem as exc:
        raise WorkbookError(str(exc)) from None
    if st.st_size > MAX_WORKBOOK_BYTES:
        raise WorkbookError(f"{shown}: is {st.st_size // 1_000_000} MB, larger than the "
                            f"{MAX_WORKBOOK_BYTES // 1_000_000} MB {what} may be")
    _check_zip(path, shown)
    try:
        return load_workbook(path, data_only=True)
    except Exception:  # openpyxl raises many types for damaged files; all mean the same
        raise WorkbookError(f"{shown}: is not a readable .xlsx workbook; open it in a "
                            "spreadsheet program and save it again as .xlsx") from None


def _exported_hashes(wb: Any) -> dict[str, str]:
    if ABOUT_SHEET not in wb.sheetnames:
        return {}
    out = {}
    for key, value in wb[ABOUT_SHEET].iter_rows(min_col=1, max_col=2, values_only=True):
        if isinstance(key, str) and key.startswith("sha256 ") and isinstance(value, str):
            out[key.removeprefix("sha256 ")] = value
    return out


def _validate_staged(project: DataDir, texts: dict[str, str], shown: str,
                     as_of: dt.date) -> list[str]:
    """Load a staged copy of the project with the new tables: the same checks and messages
    as ``validate``, before anything real is touched."""
    with tempfile.TemporaryDirectory(prefix=".lcopia-import-") as tmp:
        stage = DataDir(Path(tmp) / "data")
        for sub in ("policy", "taxonomy"):
            shutil.copytree(project.root / sub, stage.root / sub, symlinks=True)
        stage.inventory.mkdir(parents=True)
        shutil.copyfile(project.inventory / "library.yaml", stage.inventory / "library.yaml")
        for table, text in texts.items():
            (stage.inventory / table).write_text(text, encoding="utf-8")
        try:
            bundle = load(stage, as_of=as_of)
        except InventoryError as exc:
            raise InventoryError(_relocate(exc.problems, shown), exc.warnings) from None
    return list(bundle.warnings)
