"""Write the synthetic exports in data/evidence/exports/ (and, for the benchmark, big ones).

Why synthetic: a real export is patron data and must never enter the repository. These
imitate what the Library Center of the Ozarks' systems export, with a fixed seed so the same
bytes come out every run. Every person is invented: names are drawn at random from the public
domain 1990 Census name lists bundled in ``lcopia/data``, e-mail domains are the reserved
``example.*`` ones, phone numbers use the fictional 555-01xx range, barcodes follow the
14-digit codabar convention (2 = patron, 3 = item, mod-10 check digit).

Files (reference date 2026-11-30):

- ``circulation_loans.csv`` (flow FL-CIRC-LOANS, identifying): three years of loans, about
  6 % still open (no checkin), a staff note column that sometimes holds a phone number.
- ``circulation_stats.csv`` (flow FL-CIRC-STATS, claims statistics): loans by month, branch,
  age band and genre with many counts below 5, and a ``contact_email`` column filled where a
  cell has a single borrower: the leak the evidence check must catch.
- ``pc_sessions.xlsx`` (flow FL-PC-SESSIONS): public-computer sign-ins by card number over
  180 days; sessions still running have no end time.
- ``event_attendance.jsonl`` (flow FL-EVENT-REG): programme registrations back to 2022.

Usage: ``.venv/bin/python scripts/make_evidence_samples.py [--out data/evidence/exports]``.
``benchmarks/bench_scan.py`` imports :func:`circulation` and :func:`aggregated` to write its
million-row files with the same generator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261130
REF = dt.datetime(2026, 11, 30, 17, 0, 0)

BRANCHES = np.array(["Central", "Eastside", "Ozark Hills", "Riverside", "Battlefield"])
CATEGORIES = np.array(["Adult", "Juvenile", "Teen", "Senior", "Non-resident", "Homebound"])
GENRES = np.array(["Fiction", "Mystery", "Romance", "Science Fiction", "Biography", "History",
                   "Children's", "Young Adult", "Cooking", "Health", "Religion", "Politics",
                   "LGBTQ+ Studies", "True Crime", "Poetry", "Travel"])
ZIPS = np.array(["65802", "65803", "65804", "65806", "65807", "65809", "65810", "65619",
                 "65721", "65742", "65738", "65714", "65610", "65648"])
STREETS = np.array(["Oak", "Maple", "Walnut", "Cherry", "Elm", "Pine", "Sunshine", "Glenstone",
                    "Kearney", "Division", "Grand", "Cedar", "Hickory", "Chestnut", "Mill",
                    "Ridge", "Lakeview", "Meadow", "Prairie", "Church"])
SUFFIXES = np.array(["St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Street"])
ADJ = np.array(["Silent", "Hidden", "Last", "Broken", "Golden", "Midnight", "Wild", "Secret",
                "Lost", "Burning", "Quiet", "Distant", "Little", "Long", "Dark", "Bright"])
NOUN = np.array(["River", "Garden", "House", "Kingdom", "Letter", "Mountain", "Promise",
                 "Storm", "Island", "Road", "Orchard", "Winter", "Summer", "Harbor", "Forest",
                 "Library", "Sea", "Bridge", "Crown", "Song"])
AGE_BANDS = np.array(["0-12", "13-17", "18-34", "35-64", "65+"])
EVENTS = np.array(["Teen Coding Club", "Toddler Story Time", "ESL Conversation Circle",
                   "Medicare Basics", "Resume Workshop", "Knitting Circle", "Author Talk",
                   "Citizenship Class", "Grief Support Group", "LEGO Club"])


def _names(resource: str) -> np.ndarray:
    path = ROOT / "lcopia" / "data" / resource
    words = [w.strip() for w in path.read_text(encoding="utf-8").splitlines()
             if w.strip() and not w.startswith("#") and len(w.strip()) > 2]
    return np.array([w.capitalize() for w in words])


def _cat(*parts: object) -> np.ndarray:
    """Element-wise string concatenation of numpy arrays / scalars (vectorised via arrow)."""
    arrays = [pa.array(np.asarray(p).astype(str)) if isinstance(p, np.ndarray) else p
              for p in parts]
    n = max(len(a) for a in arrays if isinstance(a, pa.Array))
    arrays = [a if isinstance(a, pa.Array) else pa.array(np.full(n, str(a))) for a in arrays]
    return np.asarray(pc.binary_join_element_wise(*arrays, "").to_numpy(zero_copy_only=False))


def _luhn_complete(body: np.ndarray) -> np.ndarray:
    """Append a Luhn check digit to equal-length digit strings (vectorised)."""
    width = len(body[0])
    digits = np.frombuffer("".join(body.tolist()).encode(), dtype=np.uint8).reshape(
        -1, width).astype(np.int16) - 48
    double = np.zeros(width, dtype=bool)
    double[width - 1:: -2] = True  # the check digit will sit to the right
    d = digits.copy()
    d[:, double] *= 2
    d[:, double] -= np.where(d[:, double] > 9, 9, 0).astype(np.int16)
    check = (10 - d.sum(axis=1) % 10) % 10
    return _cat(body, check.astype(str))


def barcodes(rng: np.random.Generator, n: int, kind: str, unique: bool = True) -> np.ndarray:
    """14-digit codabar library barcodes: type digit, institution 0417, serial, check."""
    serial = (rng.choice(10**8, size=n, replace=False) if unique
              else rng.integers(0, 10**8, size=n))
    body = _cat("2" if kind == "patron" else "3", "0417",
                np.char.zfill(serial.astype(str), 8))
    return _luhn_complete(body)


def _stamp(seconds: np.ndarray) -> np.ndarray:
    ts = pa.array(seconds.astype("datetime64[s]"))
    return np.asarray(pc.strftime(ts, format="%Y-%m-%d %H:%M:%S").to_numpy(zero_copy_only=False))


def _day(seconds: np.ndarray) -> np.ndarray:
    ts = pa.array(seconds.astype("datetime64[s]"))
    return np.asarray(pc.strftime(ts, format="%Y-%m-%d").to_numpy(zero_copy_only=False))


def patrons(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    first, last = _names("first_names.txt"), _names("surnames.txt")
    f = first[rng.integers(0, len(first), n)]
    s = last[rng.integers(0, len(last), n)]
    ref = np.datetime64(REF.date().isoformat(), "s").astype(np.int64)
    born = ref - rng.integers(6 * 365, 88 * 365, n) * 86400
    domains = np.array(["example.com", "example.org", "example.net"])
    return {
        "patron_barcode": barcodes(rng, n, "patron"),
        "patron_name": _cat(f, " ", s),
        "email": _cat(np.char.lower(f), ".", np.char.lower(s),
                      rng.integers(1, 99, n).astype(str), "@",
                      domains[rng.integers(0, 3, n)]),
        "phone": _cat("417-555-01", np.char.zfill(rng.integers(0, 100, n).astype(str), 2)),
        "street_address": _cat(rng.integers(100, 9999, n).astype(str), " ",
                               STREETS[rng.integers(0, len(STREETS), n)], " ",
                               SUFFIXES[rng.integers(0, len(SUFFIXES), n)]),
        "zip": ZIPS[rng.integers(0, len(ZIPS), n)],
        "birth_date": _day(born),
        "patron_category": CATEGORIES[rng.choice(len(CATEGORIES), n,
                                                 p=[.6, .15, .1, .1, .03, .02])],
    }


def titles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Book titles; about 3 % are shaped like a person's name, as real biographies are."""
    first, last = _names("first_names.txt"), _names("surnames.txt")
    form = rng.integers(0, 100, n)
    a = ADJ[rng.integers(0, len(ADJ), n)]
    b = NOUN[rng.integers(0, len(NOUN), n)]
    c = NOUN[rng.integers(0, len(NOUN), n)]
    out = np.where(form < 40, _cat("The ", a, " ", b),
                   np.where(form < 70, _cat(b, " of the ", a, " ", c),
                            np.where(form < 97, _cat(a, " ", b, "s"),
                                     _cat(first[rng.integers(0, len(first), n)], " ",
                                          last[rng.integers(0, len(last), n)]))))
    return out


COLUMN_TRUTH = {
    "loan_id": "none", "patron_barcode": "card_barcode", "patron_name": "person_name",
    "email": "email", "phone": "phone", "street_address": "street_address", "zip": "zip",
    "birth_date": "dob", "patron_category": "patron_category", "branch": "branch",
    "item_barcode": "item_barcode", "title": "none", "genre": "none",
    "checkout_time": "date", "checkin_time": "date",
}


def circulation(n: int, seed: int = SEED, n_patrons: int | None = None,
                notes: bool = False) -> pa.Table:
    """A circulation (loans) export of n rows; column truth in COLUMN_TRUTH."""
    rng = np.random.default_rng(seed)
    n_patrons = n_patrons or max(50, n // 20)
    people = patrons(rng, n_patrons)
    who = rng.integers(0, n_patrons, n)
    n_items = max(100, n // 5)
    items = barcodes(rng, n_items, "item")
    item_titles = titles(rng, n_items)
    item_genre = GENRES[rng.integers(0, len(GENRES), n_items)]
    what = rng.integers(0, n_items, n)
    ref = np.int64(np.datetime64(REF, "s").astype(np.int64))
    out_at = ref - rng.integers(3600, 3 * 365 * 86400, n)
    back_at = out_at + rng.integers(86400, 42 * 86400, n)
    still_out = (rng.random(n) < 0.06) | (back_at > ref)
    checkin = np.where(still_out, "", _stamp(np.minimum(back_at, ref)))
    cols: dict[str, object] = {
        "loan_id": np.char.add("L", np.char.zfill(np.arange(1, n + 1).astype(str), 8)),
        "patron_barcode": people["patron_barcode"][who],
        "patron_name": people["patron_name"][who],
        "email": people["email"][who],
        "phone": people["phone"][who],
        "street_address": people["street_address"][who],
        "zip": people["zip"][who],
        "birth_date": people["birth_date"][who],
        "patron_category": people["patron_category"][who],
        "branch": BRANCHES[rng.integers(0, len(BRANCHES), n)],
        "item_barcode": items[what],
        "title": item_titles[what],
        "genre": item_genre[what],
        "checkout_time": _stamp(out_at),
        "checkin_time": checkin,
    }
    if notes:
        pick = rng.random(n)
        canned = np.array(["Damaged on return", "Renewed by phone", "Claims returned",
                           "Left in book drop after hours"])
        call = _cat("Patron called from ", people["phone"][who], " about overdue")
        cols["staff_note"] = np.where(pick < 0.02, call, np.where(
            pick < 0.08, canned[rng.integers(0, len(canned), n)], ""))
    table = pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})
    empty = pc.equal(table.column("checkin_time"), "")
    table = table.set_column(table.column_names.index("checkin_time"), "checkin_time",
                             pc.if_else(empty, pa.scalar(None, pa.string()),
                                        table.column("checkin_time")))
    if notes:
        i = table.column_names.index("staff_note")
        col = table.column(i)
        table = table.set_column(i, "staff_note", pc.if_else(
            pc.equal(col, ""), pa.scalar(None, pa.string()), col))
    return table


def aggregated(n: int | None = None, seed: int = SEED, leak: bool = True) -> pa.Table:
    """Loans by month x branch x age band x genre, with many small counts.

    With ``leak``, a ``contact_email`` column names the single borrower of every cell whose
    count is 1 — the kind of drill-down a report tool adds and a statistics file must not hold.
    With ``n``, the grid is extended with extra months until it has about n rows.
    """
    rng = np.random.default_rng(seed + 1)
    months_needed = 12 if n is None else max(1, -(-n // (len(BRANCHES) * len(AGE_BANDS)
                                                          * len(GENRES))))
    months = np.array([f"{2025 - i // 12}-{12 - i % 12:02d}" for i in range(months_needed)][::-1])
    grid = np.array(np.meshgrid(np.arange(len(months)), np.arange(len(BRANCHES)),
                                np.arange(len(AGE_BANDS)), np.arange(len(GENRES)),
                                indexing="ij")).reshape(4, -1)
    if n is not None:
        grid = grid[:, :n]
    m = grid.shape[1]
    scale = np.array([3.0, 1.2, 0.8, 1.5, 0.5])[grid[2]] * np.linspace(2.5, 0.3, len(GENRES))[
        grid[3]] * np.array([4.0, 1.5, 1.0, 1.2, 0.6])[grid[1]]
    counts = rng.poisson(scale * 3)
    cols: dict[str, object] = {
        "month": months[grid[0]], "branch": BRANCHES[grid[1]], "age_band": AGE_BANDS[grid[2]],
        "genre": GENRES[grid[3]], "checkouts": counts.astype(str),
    }
    if leak:
        people = patrons(rng, m)
        cols["contact_email"] = np.where(counts == 1, people["email"], "")
    table = pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})
    if leak:
        col = table.column("contact_email")
        table = table.set_column(table.column_names.index("contact_email"), "contact_email",
                                 pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col))
    return table


def write_csv(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(batch_size=65536))


def pc_sessions(n: int = 1500, seed: int = SEED) -> list[list[object]]:
    rng = np.random.default_rng(seed + 2)
    cards = barcodes(rng, 300, "patron")
    ref = int(np.datetime64(REF, "s").astype(np.int64))
    rows: list[list[object]] = [["session_id", "card_number", "computer", "branch",
                                 "session_start", "session_end", "minutes"]]
    starts = np.sort(ref - rng.integers(600, 180 * 86400, n))
    for i, start in enumerate(starts.tolist()):
        minutes = int(rng.integers(5, 120))
        begin = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=start)
        running = start > ref - 3600 and rng.random() < 0.5
        end = None if running else begin + dt.timedelta(minutes=minutes)
        rows.append([f"S{i + 1:06d}", int(cards[rng.integers(0, len(cards))]),
                     f"PC-{int(rng.integers(1, 25)):02d}", str(BRANCHES[rng.integers(0, 5)]),
                     begin, end, None if running else minutes])
    return rows


def write_xlsx(rows: list[list[object]], path: Path) -> None:
    """An .xlsx whose bytes do not depend on the clock (fixed properties and zip times)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sessions"
    for row in rows:
        ws.append(row)
    for cell in ws["E"][1:] + ws["F"][1:]:
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    fixed = dt.datetime(2026, 11, 30, 0, 0, 0)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "lcopia sample generator"
    raw = io.BytesIO()
    wb.save(raw)
    raw.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-30T00:00:00Z",
                              data)
            zi = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 30, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def events(n: int = 1200, seed: int = SEED) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed + 3)
    people = patrons(rng, 400)
    ref = REF.date()
    out: list[dict[str, object]] = []
    for i in range(n):
        who = int(rng.integers(0, 400))
        day = ref - dt.timedelta(days=int(rng.integers(1, 4 * 365)))
        out.append({
            "registration_id": f"R{i + 1:05d}",
            "event": str(EVENTS[rng.integers(0, len(EVENTS))]),
            "event_date": day.isoformat(),
            "name": str(people["patron_name"][who]),
            "email": str(people["email"][who]),
            "phone": str(people["phone"][who]),
            "age_range": str(AGE_BANDS[rng.integers(0, len(AGE_BANDS))]),
            "attended": bool(rng.random() < 0.8),
        })
    out.sort(key=lambda r: (str(r["event_date"]), str(r["registration_id"])))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "evidence" / "exports")
    args = parser.parse_args(argv)
    out: Path = args.out
    write_csv(circulation(3000, notes=True, n_patrons=400), out / "circulation_loans.csv")
    write_csv(aggregated(), out / "circulation_stats.csv")
    write_xlsx(pc_sessions(), out / "pc_sessions.xlsx")
    lines = [json.dumps(rec, ensure_ascii=False) for rec in events()]
    (out / "event_attendance.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for p in sorted(out.iterdir()):
        print(f"wrote {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p} "
              f"({p.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
