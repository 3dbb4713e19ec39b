"""Board text carries no internal id, file name, column name or ISO date."""

from __future__ import annotations

from lcopia.report.language import plain


def test_plain_removes_file_and_column_names_ids_and_iso_dates() -> None:
    text = plain("Identifier in statistics in exports/circulation_stats.csv: column "
                 "'contact_email' holds e-mails; 3 open records in 'checkin_time' were not "
                 "counted (DR-2026-004), checked 2026-06-09; see capture web/home.har.")
    for gone in (".csv", "contact_email", "checkin_time", "DR-2026", "2026-06-09", ".har"):
        assert gone not in text
    assert "in the exported file" in text and "a column holds" in text
    assert "June 9, 2026" in text and "the page capture" in text


def test_plain_leaves_ordinary_quoted_words_alone() -> None:
    assert plain("an order on 'good cause' only") == "an order on 'good cause' only"
