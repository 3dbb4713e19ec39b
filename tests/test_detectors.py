"""Identifier detection: each kind, check digits, name lists, and masks that reveal nothing."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lcopia import detectors as d


def kind_of(name: str, values: list[str]) -> d.ColumnVerdict:
    return d.classify(name, pa.array(values, pa.string()))


def luhn_complete(body: str) -> str:
    for check in "0123456789":
        if d.luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable")


PATRON_CARDS = [luhn_complete(f"20417{n:08d}") for n in range(1000, 1060)]
ITEM_CARDS = [luhn_complete(f"30417{n:08d}") for n in range(5000, 5060)]
TITLES = ["The Silent River", "Garden of the Lost Crown", "Midnight Orchards", "Wild Roads",
          "A Long Winter", "The Hidden Kingdom", "Songs of the Sea", "Burning Bridges",
          "The Last Letter", "Quiet Harbors", "Anne Frank", "The Golden Storm"] * 5


# ----------------------------------------------------------------------------- Luhn


def test_luhn_accepts_known_test_card_numbers_and_rejects_a_changed_digit():
    assert d.luhn_ok("4111111111111111")
    assert d.luhn_ok("5500005555555559")
    assert not d.luhn_ok("4111111111111112")
    assert not d.luhn_ok("41111x1111111111")


@given(st.lists(st.from_regex(r"\A[0-9]{14}\Z"), min_size=1, max_size=40))
@settings(deadline=None)  # examples from the hypothesis profile (quick, or full in make fuzz)
def test_vectorised_luhn_agrees_with_the_scalar_check(numbers):
    vector = d.luhn_valid_fixed(pa.array(numbers), 14)
    assert vector.tolist() == [d.luhn_ok(n) for n in numbers]


def test_mixed_length_luhn_mask_groups_by_length():
    values = ["4111111111111111", "378282246310005", "12", "abc", "4111111111111112"]
    assert d.luhn_mask(pa.array(values)).tolist() == [True, True, False, False, False]


# ----------------------------------------------------------------------------- kinds


def test_patron_barcodes_with_prefix_2_and_check_digit_are_cards():
    v = kind_of("patron_barcode", PATRON_CARDS)
    assert (v.kind, v.by, v.confidence) == ("card_barcode", "both", "high")


def test_barcodes_are_found_by_values_alone_under_an_opaque_header():
    v = kind_of("col7", PATRON_CARDS)
    assert v.kind == "card_barcode" and v.by == "values"


def test_item_barcodes_with_prefix_3_are_not_patron_cards():
    assert kind_of("barcode", ITEM_CARDS).kind == "item_barcode"


def test_a_column_named_item_is_an_item_barcode_even_with_patron_prefixes():
    assert kind_of("item_barcode", PATRON_CARDS).kind == "item_barcode"


def test_another_systems_11_digit_cards_are_found_by_name_and_shared_prefix():
    cards = [f"99999{n:06d}" for n in range(300000, 300400, 7)]
    v = kind_of("barcode", cards)
    assert v.kind == "card_barcode" and v.shape == "11 digits, prefix 9"


def test_custom_barcode_convention_is_configurable():
    cfg = d.BarcodeConfig(lengths=(10,), patron_prefixes=("77",), check_digit=False)
    v = d.classify("x", pa.array([f"77{n:08d}" for n in range(100)]), cfg=cfg)
    assert v.kind == "card_barcode"


def test_payment_cards_need_issuer_prefix_and_luhn():
    cards = ["4111 1111 1111 1111", "5500-0055-5555-5559", "4012888888881881"] * 10
    assert kind_of("value", cards).kind == "payment_card"
    wrong = ["4111111111111112"] * 10
    assert kind_of("value", wrong).kind != "payment_card"


def test_email_phone_ip_and_ssn_by_values():
    assert kind_of("a", ["ann.lee@example.org", "bo@example.com"]).kind == "email"
    assert kind_of("b", ["417-555-0101", "(417) 555-0199"]).kind == "phone"
    assert kind_of("contact", ["4175550101", "4175550102"]).kind != "phone"
    assert kind_of("home_phone", ["4175550101", "4175550102"]).kind == "phone"
    assert kind_of("c", ["10.0.0.1", "192.168.7.20"]).kind == "ip_address"
    assert kind_of("c", ["2001:db8::1", "fe80::1ff:fe23:4567:890a"]).kind == "ip_address"
    assert kind_of("d", ["123-45-6789", "234-56-7890"]).kind == "government_id"


def test_timestamps_are_not_ipv6_or_phones():
    assert kind_of("t", ["10:26:51", "11:02:03"]).kind not in ("ip_address", "phone")


def test_driver_licence_pattern_needs_a_name_hint():
    values = ["RI-123456789", "MO-99988899", "A123456789"]
    assert kind_of("ident_value", values).kind == "government_id"
    assert kind_of("sku", values).kind != "government_id"


def test_street_addresses_by_suffix_and_loose_shapes_only_with_a_name_hint():
    assert kind_of("x", ["1809 Target Way", "12 Oak St", "4 Elm Street Apt 2"]).kind == (
        "street_address")
    loose = ["3481 Facility Mead", "7626 Secret Institute Xyz"]
    assert kind_of("street1", loose).kind == "street_address"
    assert kind_of("title", ["101 Dalmatians", "2001 A Space Odyssey"]).kind != "street_address"


def test_names_need_the_first_name_dictionary_so_titles_stay_titles():
    people = ["Maria Lopez", "James Smith", "Ann Lee", "Robert Brown", "Lee, Ann"] * 4
    assert kind_of("borrower", people).kind == "person_name"
    assert kind_of("title", TITLES).kind == "none"


def test_single_given_names_by_values_and_surnames_only_with_a_hint():
    firsts = ["Terri", "Shannon", "Gregory", "Maria", "Kenneth", "Linda", "Paul", "Ruth",
              "Oscar", "Nina", "Walter", "Edith"]
    assert kind_of("col3", firsts).kind == "person_name"
    assert kind_of("family_name", ["Brooks", "Jackson", "Jones", "Nguyen"]).kind == (
        "person_name")
    assert kind_of("genre", ["Fiction", "Mystery", "Romance", "History"] * 5).kind == "none"


def test_birth_dates_by_name_or_by_a_wide_spread_of_years():
    assert kind_of("dob", ["1997-02-02", "1974-06-26"]).kind == "dob"
    wide = [f"{1940 + i}-0{1 + i % 9}-1{i % 9}" for i in range(60)]
    assert kind_of("d1", wide).kind == "dob"
    recent = ["2026-01-02", "2026-01-03", "2025-12-30"] * 10
    assert kind_of("due", recent).kind == "date"


def test_free_text_with_embedded_identifiers():
    notes = ["Patron called from 417-555-0142 about a fine", "Damaged on return",
             "Email ann.lee@example.org when the hold arrives", "Left in the book drop late"]
    v = kind_of("staff_note", notes)
    assert v.kind == "free_text_pii"
    assert set(v.embedded) == {"email", "phone"}


def test_quasi_identifier_kinds():
    assert kind_of("zip", ["65802", "02134", "65810"]).kind == "zip"
    assert kind_of("age_band", ["0-12", "13-17", "65+"]).kind == "age"
    assert kind_of("gender", ["F", "M", "X"]).kind == "sex"
    assert kind_of("branch", ["Central", "Eastside"]).kind == "branch"
    assert kind_of("patron_type", ["Adult", "Juvenile"]).kind == "patron_category"
    assert kind_of("month", ["2026-01", "2026-02"]).kind == "date"


def test_an_empty_column_is_judged_by_its_name_with_low_confidence():
    v = kind_of("email", [])
    assert (v.kind, v.by, v.confidence) == ("email", "name", "low")


def test_confirm_mask_matches_the_sampled_kind_on_the_whole_column():
    values = pa.array(["ann@example.org", "not an email", "bo@example.com"])
    assert d.confirm_mask("email", values).tolist() == [True, False, True]
    cards = pa.array([PATRON_CARDS[0], ITEM_CARDS[0], "2041700001234"])
    assert d.confirm_mask("card_barcode", cards).tolist() == [True, False, False]


def test_header_cells_that_are_data():
    assert d.looks_like_value("ann@example.org")
    assert d.looks_like_value(PATRON_CARDS[0])
    assert d.looks_like_value("2026-01-02")
    assert not d.looks_like_value("patron_barcode")
    assert not d.looks_like_value("Checkout Date")


# ----------------------------------------------------------------------------- masks


@pytest.mark.parametrize("kind,value", [
    ("card_barcode", PATRON_CARDS[3]), ("email", "zebediah.quackenbush@example.org"),
    ("person_name", "Zebediah Quackenbush"), ("phone", "417-555-0142"),
    ("street_address", "4821 Quackenbush Lane"), ("dob", "1961-04-17"),
    ("payment_card", "4111111111111111"), ("ip_address", "192.168.77.31"),
    ("government_id", "MO-123456789"), ("zip", "65802"),
])
def test_masks_keep_no_run_of_the_value(kind, value):
    mask = d.mask_example(kind, value)
    for i in range(len(value) - 2):
        piece = value[i:i + 3]
        if re.fullmatch(r"[A-Za-z0-9]+", piece) and piece not in d._GENERIC_TLDS:
            assert piece.lower() not in mask.lower(), (kind, mask)


@given(st.from_regex(r"\A[a-z]{3,12}\.[a-z]{3,12}@[a-z]{3,10}\.(org|com|zz)\Z"))
@settings(deadline=None)  # examples from the hypothesis profile (quick, or full in make fuzz)
def test_email_masks_are_the_same_for_every_address_with_the_same_suffix(email):
    assert d.mask_example("email", email) in ("***@***.org", "***@***.com", "***@***.***")


@given(st.from_regex(r"\A[0-9]{14}\Z"))
@settings(deadline=None)  # examples from the hypothesis profile (quick, or full in make fuzz)
def test_barcode_masks_show_only_length_and_type_digit(number):
    assert d.mask_example("card_barcode", number) == f"14 digits, prefix {number[0]}"


def test_shape_collapses_runs_so_lengths_are_not_kept():
    assert d.shape_of("Ann Lee") == d.shape_of("Bartholomew Quackenbush") == "Aa Aa"
    assert d.shape_of("417-555-0142") == "9-9-9"


def test_name_lists_are_loaded_from_the_bundled_public_domain_files():
    firsts = d.first_names()
    assert len(firsts) > 4000 and "mary" in firsts.to_pylist()
    assert "in" not in firsts.to_pylist()  # function words that are also census names
    assert np.isin(["smith", "johnson"], d.surnames().to_pylist()).all()


# ----------------------------------------------------------------------------- whole columns


@given(st.lists(st.from_regex(r"\A[23][0-9]{13}\Z"), min_size=1, max_size=60))
@settings(deadline=None)  # examples from the hypothesis profile (quick, or full in make fuzz)
def test_the_byte_level_barcode_check_agrees_with_the_pattern_path(numbers):
    cfg = d.BarcodeConfig()
    fast = d.kind_mask("card_barcode", pa.array(numbers), cfg)  # all 14 digits: byte path
    general = d.kind_mask("card_barcode", pa.array([*numbers, None]), cfg)[:-1]
    assert fast.tolist() == general.tolist() == [
        n.startswith("2") and d.luhn_ok(n) for n in numbers]


@pytest.mark.parametrize("by_distinct", [False, True])
def test_whole_column_counts_are_the_same_row_by_row_or_by_distinct_value(by_distinct):
    names = pa.chunked_array([["Maria Lopez", " Ann Lee", None, "Lee, Ann"],
                              ["The Silent River", "Maria Lopez", "", "Smith"]])
    check = d.check_column("person_name", names, d.BarcodeConfig(), by_distinct=by_distinct)
    assert (check.matches, check.present) == (5, 6)
    encoded = d.check_column("person_name", pc.dictionary_encode(names), d.BarcodeConfig())
    assert (encoded.matches, encoded.present) == (5, 6)


def test_the_leak_screen_finds_a_card_number_among_ids_without_separators():
    ids = [f"L{n:08d}" for n in range(5000)]
    hits, found = d.leak_mask(pa.array(ids), d.LEAK_KINDS)
    assert not hits.any() and found == ()
    ids[3210] = "paid with 4111111111111111"
    hits, found = d.leak_mask(pa.array(ids), d.LEAK_KINDS)
    assert np.flatnonzero(hits).tolist() == [3210] and found == ("card_number",)


def test_timestamps_read_as_bytes_match_exactly_what_the_pattern_matches():
    values = ["2024-09-25 04:56:59", "1999-12-31T23:59:00", "2124-09-25 04:56:59",
              "2024-09-25x04:56:59", "2024/09/25 04:56:59", "20a4-09-25 04:56:59",
              "1899-01-01 00:00:00", "2024-13-45 99:99:99", "12/31/2024 10:00:00"]
    assert d._stamp_rows(pa.array(values)) is not None  # all 19 bytes: the byte path runs
    for kind in ("date", "dob"):
        fast = d.kind_mask(kind, pa.array(values))  # one length, no nulls: byte path
        slow = d._np(pc.match_substring_regex(pa.array(values), d.COUNT_REGEX[kind]))
        assert fast.tolist() == slow.tolist()
        assert fast.tolist()[:3] == [True, True, False] and fast.tolist()[-1]
