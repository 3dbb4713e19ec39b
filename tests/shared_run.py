"""The one real ``lcopia assess`` run the suite shares, over a planted copy of the sample.

A copy of the sample data gets canary patrons in every evidence file (a loans export, a
statistics file, a workbook, a JSON-lines export and a browser capture) and hostile text in the
inventory: the first system is named with a formula, a script and an outside address, and its
vendor, notes, and an answer carry script and formula payloads. The leak tests search every
output for the canaries; the report, browser and runner tests read the same run folder.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import builders
import openpyxl
from builders import rows

BARCODE = "20417987654321"
NAME = "Zebulon Quillfeather"
EMAIL = "zebulon.quillfeather@canary-patron.example"
PHONE = "660-314-1592"
STREET = "77 Quillfeather Hollow Rd"
SEARCH = "quillfeather custody dispute"
HAR_SEARCH = "coping with gambling debt"  # the sample capture's search, replaced by SEARCH
# The rare words alone too: a PDF may wrap a name or an address across two lines.
CANARIES = (BARCODE, NAME, EMAIL, PHONE, STREET, SEARCH, "quillfeather", "zebulon")

XSS = '<script>alert("lcopia-xss")</script>'
FORMULA = '=HYPERLINK("http://evil.example/steal","open me")'
SCRIPT = "<script>alert(1)</script>"
# The first system's name: a formula (=1+2), a script and an outside address, no quotes, so
# its escaped form in HTML is exactly html.escape(HOSTILE_NAME, quote=False).
HOSTILE_NAME = f"=1+2 {SCRIPT} http://evil.example/steal"


def variants(value: str) -> set[str]:
    """The spellings an output could carry a value in: as is, escaped, encoded, bare digits."""
    low = value.lower()
    out = {low, html.escape(low), quote(low), quote_plus(low), quote(quote_plus(low)),
           json.dumps(low)[1:-1]}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 10:
        out.add(digits)
    words = low.split()
    if len(words) > 1:
        out |= {"+".join(words), "%20".join(words), "%2b".join(words)}
    return {v.lower() for v in out}


read_rows = rows


def write_rows(path: Path, table: list[list[str]]) -> None:
    """Every cell quoted, as some ILS exports write them."""
    builders.write_rows(path, table, quoting=csv.QUOTE_ALL)


def plant_evidence(data: Path) -> dict[str, int]:
    """Add canary patrons to every evidence export; return each file's expected row count."""
    exports = data / "evidence" / "exports"
    counts: dict[str, int] = {}

    loans = read_rows(exports / "circulation_loans.csv")
    row = dict(zip(loans[0], loans[1], strict=True))
    row.update(loan_id="L09999999", patron_barcode=BARCODE, patron_name=NAME, email=EMAIL,
               phone=PHONE, street_address=STREET,
               staff_note=f"Patron {NAME} asked us to call {PHONE} about {SEARCH}")
    loans.append([row[c] for c in loans[0]])
    write_rows(exports / "circulation_loans.csv", loans)
    counts["exports/circulation_loans.csv"] = len(loans) - 1

    stats = read_rows(exports / "circulation_stats.csv")
    contact = stats[0].index("contact_email")
    stats[1][contact] = EMAIL  # an email inside a file that claims to be statistics
    write_rows(exports / "circulation_stats.csv", stats)
    counts["exports/circulation_stats.csv"] = len(stats) - 1

    book = openpyxl.load_workbook(exports / "pc_sessions.xlsx")
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    template = [c.value for c in sheet[2]]
    template[header.index("session_id")] = "S999999"
    template[header.index("card_number")] = int(BARCODE)
    sheet.append(template)
    book.save(exports / "pc_sessions.xlsx")
    counts["exports/pc_sessions.xlsx"] = sheet.max_row - 1

    events = exports / "event_attendance.jsonl"
    lines = events.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record.update(registration_id="R99999", name=NAME, email=EMAIL, phone=PHONE)
    lines.append(json.dumps(record))
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["exports/event_attendance.jsonl"] = len(lines)

    har = data / "evidence" / "web" / "catalog-search-leaky.har"
    text = har.read_text(encoding="utf-8")
    planted = 0
    for encode in (lambda s: s, lambda s: s.replace(" ", "+"), lambda s: s.replace(" ", "%20"),
                   lambda s: s.replace(" ", "%2B")):
        planted += text.count(encode(HAR_SEARCH))
        text = text.replace(encode(HAR_SEARCH), encode(SEARCH))
    assert planted, "the sample capture no longer holds the search to replace"
    har.write_text(text, encoding="utf-8")
    return counts


def plant_hostile_inventory(data: Path) -> None:
    """A formula and script as a system's name, script in its notes and vendor, a formula
    and script in an answer."""
    systems = data / "inventory" / "systems.csv"
    table = read_rows(systems)
    head = table[0]
    first = table[1]
    first[head.index("name")] = HOSTILE_NAME
    first[head.index("vendor")] = XSS
    first[head.index("notes")] = XSS
    write_rows(systems, table)
    answers = data / "inventory" / "answers.csv"
    table = read_rows(answers)
    table[1][table[0].index("evidence")] = FORMULA
    table[1][table[0].index("comment")] = XSS
    write_rows(answers, table)


@dataclass(frozen=True)
class SharedRun:
    """Where the shared run read and wrote, what it printed, and the planted row counts."""

    data: Path  # the planted copy of data/ it assessed
    out: Path  # the reports folder it wrote into
    run_dir: Path  # out/<as-of date>
    result: subprocess.CompletedProcess  # exit code, stdout and stderr of the command
    counts: dict[str, int]  # each planted evidence file's expected row count
    seen: dict[str, str | None]  # $TMPDIR and tempfile.gettempdir() in the PDF step, and after
    home: dict[str, Path]  # the person's own $TMPDIR, caches and IPython folder
    startup_canary: Path  # made by the person's IPython start-up script, if it ever ran


def planted_copy(source: Path, dest: Path) -> dict[str, int]:
    """Copy ``source`` to ``dest`` and plant the canaries and the hostile text in it."""
    shutil.copytree(source, dest)
    before = "\n".join(p.read_text(encoding="utf-8", errors="replace").lower()
                       for p in dest.rglob("*") if p.is_file() and p.suffix != ".xlsx")
    for canary in CANARIES:
        assert canary.lower() not in before, f"{canary!r} is already in the sample data"
    counts = plant_evidence(dest)
    plant_hostile_inventory(dest)
    return counts
