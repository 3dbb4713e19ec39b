"""Every identifier kind is stated once (lcopia.evidence.detectors.RULES); its fast
whole-column route must give the same answer as its defining rule, whatever the values."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcopia.evidence import detectors as d

FIRST = ["Maria", "Ann", "James", "Lee", "Robert", "Linda"]
LAST = ["Lopez", "Smith", "Lee", "Nguyen", "Quackenbush"]


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if d.luhn_ok(body + check):
            return body + check
    raise AssertionError


digits = st.text("0123456789", min_size=1, max_size=20)
barcode = st.builds(lambda p, body, fix: _luhn_complete(p + body) if fix else p + body + "7",
                    st.sampled_from(["2", "3", "9", "29999"]),
                    st.text("0123456789", min_size=8, max_size=12), st.booleans())
name = st.builds(lambda f, s, style: {0: f"{f} {s}", 1: f"{s}, {f}", 2: f, 3: s.lower(),
                                      4: f"{f} Q. {s}", 5: f"The {s} River"}[style],
                 st.sampled_from(FIRST), st.sampled_from(LAST), st.integers(0, 5))
stamp = st.builds(lambda y, mo, dd, h, mi, sep: f"{y}-{mo:02d}-{dd:02d}{sep}{h:02d}:{mi:02d}:00",
                  st.integers(1890, 2130), st.integers(0, 13), st.integers(0, 32),
                  st.integers(0, 25), st.integers(0, 61), st.sampled_from([" ", "T", "x", "/"]))
date = st.builds(lambda y, mo, dd, us: f"{mo}/{dd}/{y}" if us else f"{y}-{mo:02d}-{dd:02d}",
                 st.integers(1890, 2130), st.integers(0, 13), st.integers(0, 32), st.booleans())
shaped = st.one_of(
    st.text(st.sampled_from(list("aZ9 -.@(),'#+/:x")), max_size=24),
    st.text(max_size=12), digits, barcode, name, stamp, date,
    st.sampled_from(["ann@example.org", "417-555-0186", "(417) 555-0186", "123-45-6789",
                     "4111111111111111", "4111 1111 1111 1111", "192.168.0.1", "::1",
                     "3738 Division Ln", "PO Box 12", "65802", "65802-1234", "1975", "34",
                     "20-29", "F", "female", "2024-06", "note: call 417-555-0186",
                     "Mr. Quackenbush", "", " padded "]))
values = st.lists(st.one_of(st.none(), shaped), max_size=30)
learnt = st.one_of(st.none(), st.tuples(st.sampled_from([(11,), (14,), (10, 12)]),
                                        st.sampled_from(["", "2", "9"])))


def _agree(kind: str, arr: pa.Array | pa.ChunkedArray, learnt_shape=None) -> None:
    arr = d.trim(arr)
    rule = d.confirm_mask(kind, arr, d.BarcodeConfig(), learnt_shape).tolist()
    fast = d.kind_mask(kind, arr, d.BarcodeConfig(), learnt_shape).tolist()
    assert rule == fast, kind


@pytest.mark.parametrize("kind", sorted(d.RULES))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile
@given(vals=values, split=st.integers(0, 30), shape=learnt)
def test_the_sampling_rule_and_the_whole_column_rule_agree_for_every_kind(kind, vals, split,
                                                                         shape):
    shape = shape if kind in ("card_barcode", "item_barcode") else None
    _agree(kind, pa.array(vals, pa.string()), shape)
    _agree(kind, pa.chunked_array([vals[:split], vals[split:]], pa.string()), shape)


@pytest.mark.parametrize("kind", sorted(d.RULES))
@settings(deadline=None)  # examples from the hypothesis profile (quick, or full in make fuzz)
@given(vals=st.lists(st.one_of(barcode, stamp), min_size=1, max_size=30))
def test_the_byte_level_routes_agree_on_columns_of_one_width(kind, vals):
    width = len(vals[0])
    same = [v for v in vals if len(v) == width]  # one width, no nulls: the byte paths run
    _agree(kind, pa.array(same, pa.string()))


def test_every_kind_a_classifier_can_return_has_one_rule_record():
    assert set(d.RULES) >= d.DIRECT_KINDS and set(d.RULES) >= d.QUASI_KINDS
    assert {"item_barcode", "count", "none"} <= set(d.RULES)
    assert d.COUNT_REGEX["email"] == d.PATTERNS["email"]
