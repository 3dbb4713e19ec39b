"""Due dates a library can meet: counted from the Board meeting that approves the plan.

An action is not due before the Board has approved it, and not on a weekend or a federal
holiday when nobody is in the office to do it. US federal holidays are computed by rule
(5 U.S.C. 6103, with the Saturday-to-Friday and Sunday-to-Monday observance of Executive
Order 11582), so no table goes stale and no package is needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol

# Calendar days the plan allows when the library lists no Board meeting after the assessment.
DEFAULT_MEETING_GAP = 30


class _HasMeetings(Protocol):
    board_meetings: list[dt.date]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based) given weekday of a month; n = -1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def us_federal_holidays(year: int) -> dict[dt.date, str]:
    """The observed dates of the US federal holidays falling in ``year``, with their names.

    New Year's Day of the next year observed on 31 December is included in this year.
    """
    mon, thu = 0, 3
    fixed = {
        "New Year's Day": (1, 1), "Juneteenth National Independence Day": (6, 19),
        "Independence Day": (7, 4), "Veterans Day": (11, 11), "Christmas Day": (12, 25)}
    out: dict[dt.date, str] = {}
    for name, (month, day) in fixed.items():
        if name.startswith("Juneteenth") and year < 2021:
            continue
        out[_observed(dt.date(year, month, day))] = name
    out[_nth_weekday(year, 1, mon, 3)] = "Birthday of Martin Luther King, Jr."
    out[_nth_weekday(year, 2, mon, 3)] = "Washington's Birthday"
    out[_nth_weekday(year, 5, mon, -1)] = "Memorial Day"
    out[_nth_weekday(year, 9, mon, 1)] = "Labor Day"
    out[_nth_weekday(year, 10, mon, 2)] = "Columbus Day"
    out[_nth_weekday(year, 11, thu, 4)] = "Thanksgiving Day"
    next_new_year = _observed(dt.date(year + 1, 1, 1))
    if next_new_year.year == year:
        out[next_new_year] = "New Year's Day"
    return {d: n for d, n in sorted(out.items()) if d.year == year}


def is_business_day(day: dt.date) -> bool:
    """Monday to Friday and not a (observed) federal holiday."""
    return day.weekday() < 5 and day not in us_federal_holidays(day.year)


def next_business_day(day: dt.date) -> dt.date:
    """``day`` itself when it is a business day, else the first business day after it."""
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def previous_business_day(day: dt.date) -> dt.date:
    """``day`` itself when it is a business day, else the last business day before it."""
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def due_date(approval: dt.date, days: int) -> dt.date:
    """``days`` calendar days after the approval, moved forward onto a business day."""
    return next_business_day(approval + dt.timedelta(days=max(days, 1)))


def board_meeting_after(library: _HasMeetings, as_of: dt.date) -> dt.date:
    """The first listed Board meeting after the assessment date: the one the report goes to.

    With no later meeting listed, a business day ``DEFAULT_MEETING_GAP`` days after the
    assessment stands in, so dates still fall after a plausible approval.
    """
    later = sorted(d for d in getattr(library, "board_meetings", []) or [] if d > as_of)
    if later:
        return later[0]
    return due_date(as_of, DEFAULT_MEETING_GAP)


def has_meeting_after(library: _HasMeetings, as_of: dt.date) -> bool:
    """Whether ``board_meeting_after`` reads a real meeting date rather than its stand-in."""
    return any(d > as_of for d in getattr(library, "board_meetings", []) or [])


def spread_due_dates(approval: dt.date, windows: Sequence[int],
                     order: Iterable[int] | None = None) -> list[dt.date]:
    """Due dates for actions in priority order, spread over their band's window.

    ``windows[i]`` is the number of days action i's band allows (30 for Critical, say). The
    actions sharing a window are spaced evenly inside the part of it not used by tighter
    windows (three Critical actions in 30 days fall at days 10, 20, 30; High actions share
    days 31-90), so the work is not all due on one day and every date stays within its
    band's promise: a date that lands on a weekend or holiday moves back to the business day
    before, never past the deadline and never onto or before the approval itself.
    ``order`` gives the priority order (default: as given); results follow the input order.
    """
    idx = list(order) if order is not None else list(range(len(windows)))
    tighter = sorted(set(windows))
    start_of = {w: (tighter[i - 1] if i else 0) for i, w in enumerate(tighter)}
    members: dict[int, list[int]] = {}
    for i in idx:
        members.setdefault(windows[i], []).append(i)
    out: dict[int, dt.date] = {}
    for window, items in members.items():
        lo, n = start_of[window], len(items)
        for k, i in enumerate(items, start=1):
            offset = lo + round((window - lo) * k / n)
            day = approval + dt.timedelta(days=max(offset, 1))
            back = previous_business_day(day)
            out[i] = back if back > approval else next_business_day(day)
    return [out[i] for i in range(len(windows))]
