"""Due dates: after the approving Board meeting, on business days, spread by priority."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from lcopia import calendar as cal

D = dt.date


def test_federal_holidays_match_the_published_observed_dates() -> None:
    # OPM's published observed dates for 2027, including Christmas observed on Friday 24
    # December and New Year's Day 2028 observed on Friday 31 December 2027
    assert sorted(cal.us_federal_holidays(2027)) == [
        D(2027, 1, 1), D(2027, 1, 18), D(2027, 2, 15), D(2027, 5, 31), D(2027, 6, 18),
        D(2027, 7, 5), D(2027, 9, 6), D(2027, 10, 11), D(2027, 11, 11), D(2027, 11, 25),
        D(2027, 12, 24), D(2027, 12, 31)]
    assert D(2026, 7, 3) in cal.us_federal_holidays(2026)  # 4 July 2026 is a Saturday
    assert D(2020, 6, 19) not in cal.us_federal_holidays(2020)  # Juneteenth from 2021


def test_a_due_date_never_falls_on_a_weekend_or_a_holiday() -> None:
    assert cal.due_date(D(2026, 12, 2), 30) == D(2027, 1, 4)  # 1 Jan 2027 holiday, then weekend
    start = D(2026, 11, 1)
    for days in range(1, 400):
        due = cal.due_date(start, days)
        assert cal.is_business_day(due) and due >= start + dt.timedelta(days=days)


def test_the_report_goes_to_the_first_meeting_after_the_assessment() -> None:
    lib = SimpleNamespace(board_meetings=[D(2027, 1, 12), D(2026, 12, 8), D(2026, 11, 10)])
    assert cal.board_meeting_after(lib, D(2026, 11, 30)) == D(2026, 12, 8)
    assert cal.has_meeting_after(lib, D(2026, 11, 30))
    none = SimpleNamespace(board_meetings=[])
    stand_in = cal.board_meeting_after(none, D(2026, 11, 30))
    assert not cal.has_meeting_after(none, D(2026, 11, 30))
    assert stand_in > D(2026, 11, 30) and cal.is_business_day(stand_in)


def test_actions_are_spread_inside_their_band_window_in_priority_order() -> None:
    approval = D(2026, 12, 8)
    windows = [30, 30, 30, 90, 90, 365]
    dues = cal.spread_due_dates(approval, windows)
    assert all(cal.is_business_day(d) and d > approval for d in dues)
    assert dues[:3] == sorted(dues[:3]) and len(set(dues)) == len(dues)
    for due, window in zip(dues, windows, strict=True):
        assert due <= approval + dt.timedelta(days=window)  # never past the band's promise
    assert dues[3] > approval + dt.timedelta(days=30)  # High work starts after the Critical
    assert dues[3] > dues[2] and dues[5] > dues[4]
    # order changes which action gets the earlier slot, not the set of dates
    again = cal.spread_due_dates(approval, windows, order=[2, 1, 0, 4, 3, 5])
    assert again[2] == dues[0] and again[0] == dues[2] and again[3] == dues[4]
