"""Dates and counts read from text columns, vectorised (ISO, US m/d/yyyy, timestamps)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lcopia.evidence import detectors

EPOCH = dt.date(1970, 1, 1)

_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def iso_days(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Days since 1970 of ISO-dated values, from their bytes, and which rows that settles.

    Only for a fixed-width chunk of 10+ bytes (:func:`detectors.fixed_width_bytes`, e.g. a
    timestamp column). A row is settled when its first 10 bytes are ``YYYY-MM-DD`` with a
    year 1000-2999, a month 01-12 and a day that exists in that month: pyarrow's strptime
    reads those the same way. It rolls a day that does not exist (2023-02-30) over into the
    next month, so such rows, and every other unsettled one, are left to it.
    """
    rows = detectors.fixed_width_bytes(chunk, 10)
    if rows is None:
        return None
    digit = detectors.DIGIT_BYTES
    sure = (rows[:, 0] == 49) | (rows[:, 0] == 50)  # year 1xxx or 2xxx
    for j in (1, 2, 3, 5, 6, 8, 9):
        sure &= digit[rows[:, j]]
    sure &= (rows[:, 4] == 45) & (rows[:, 7] == 45)  # "-"

    def num(*cols: int) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.int32)
        for j in cols:
            out = out * 10 + rows[:, j] - 48
        return out

    year, month, day = num(0, 1, 2, 3), num(5, 6), num(8, 9)
    sure &= (month >= 1) & (month <= 12) & (day >= 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    sure &= day <= _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    # days from the civil date (H. Hinnant's algorithm), valid for the settled rows
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468).astype(np.int32), sure


def date_numbers(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970 of ISO dates/timestamps or US m/d/yyyy, and which rows are dates.

    Fixed-width ISO timestamps are read from their bytes (:func:`iso_days`, 3x cheaper than
    strptime); every row that does not settle goes through :func:`parse_dates_text`.
    """
    days_parts: list[np.ndarray] = []
    valid_parts: list[np.ndarray] = []
    for chunk in (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]):
        if not len(chunk):
            continue
        fast = iso_days(chunk)
        if fast is None:
            text = parse_dates_text(chunk).cast(pa.int32())
            days_parts.append(pc.fill_null(text, 0).to_numpy(zero_copy_only=False))
            valid_parts.append(pc.is_valid(text).to_numpy(zero_copy_only=False))
            continue
        days, sure = fast
        valid = sure.copy()
        if not sure.all():
            rest = np.flatnonzero(~sure)
            slow = parse_dates_text(pc.take(chunk, pa.array(rest))).cast(pa.int32())
            days[rest] = pc.fill_null(slow, 0).to_numpy(zero_copy_only=False)
            valid[rest] = pc.is_valid(slow).to_numpy(zero_copy_only=False)
        days_parts.append(days)
        valid_parts.append(valid)
    if not days_parts:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=bool)
    return np.concatenate(days_parts), np.concatenate(valid_parts)


def parse_dates(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """ISO dates/timestamps (first 10 characters) or US m/d/yyyy, as date32; else null."""
    days, valid = date_numbers(arr)
    return pa.array(days, type=pa.int32(), mask=~valid).cast(pa.date32())


def parse_dates_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """ISO dates/timestamps (first 10 characters) or US m/d/yyyy, as date32; else null."""
    iso = pc.strptime(pc.utf8_slice_codeunits(arr, 0, 10), format="%Y-%m-%d", unit="s",
                      error_is_null=True)
    if iso.null_count == arr.null_count:  # every value was ISO: the US pattern adds nothing
        return iso.cast(pa.date32())
    us_part = pc.struct_field(pc.extract_regex(arr, r"^(?P<d>\d{1,2}/\d{1,2}/\d{4})"), [0])
    us = pc.strptime(us_part, format="%m/%d/%Y", unit="s", error_is_null=True)
    found = pc.coalesce(iso, us).cast(pa.date32())
    if found.null_count == arr.null_count:
        return found
    return pc.coalesce(found, _month_ends(arr))


def _month_ends(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``YYYY-MM`` and ``MM/YYYY`` read as the month's last day (date32; else null).

    The last day, so a record is only called past retention once its whole month is.
    """
    iso = pc.extract_regex(arr, r"^\s*(?P<y>(?:1|2)\d{3})-(?P<m>0[1-9]|1[0-2])\s*$")
    us = pc.extract_regex(arr, r"^\s*(?P<m>0?[1-9]|1[0-2])/(?P<y>(?:1|2)\d{3})\s*$")
    year = pc.coalesce(pc.struct_field(iso, [0]), pc.struct_field(us, [1]))
    month = pc.coalesce(pc.struct_field(iso, [1]), pc.struct_field(us, [0]))
    valid = pc.is_valid(year).to_numpy(zero_copy_only=False)
    y = np.asarray(pc.fill_null(year, "1970").cast(pa.int32()).to_numpy(zero_copy_only=False))
    m = np.asarray(pc.fill_null(month, "1").cast(pa.int32()).to_numpy(zero_copy_only=False))
    ny, nm = np.where(m == 12, y + 1, y), np.where(m == 12, 1, m + 1)
    days = civil_days(ny, nm, np.ones_like(nm)) - 1
    return pa.array(days, type=pa.int32(), mask=~valid).cast(pa.date32())


def civil_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of civil dates (H. Hinnant's algorithm), vectorised."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468).astype(np.int32)


def parse_counts(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    digits = pc.fill_null(pc.match_substring_regex(arr, r"^\s*\d{1,15}(\.0+)?\s*$"), False)
    clean = pc.if_else(digits, pc.replace_substring_regex(arr, r"\.0+\s*$|\s", ""),
                       pa.scalar(None, pa.string()))
    return clean.cast(pa.int64())

