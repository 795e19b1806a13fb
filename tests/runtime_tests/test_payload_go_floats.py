"""Floats in a handler's result are written as Go's encoding/json writes a float64.

The reference is Go itself: ``gopeer jsonfloat`` prints ``json.Marshal`` of each float64 it is
given (by its bits, so nothing is lost on the way). One Go process checks every case of a test.
"""

from __future__ import annotations

import decimal
import math
import struct
import subprocess

import pytest
from go_peer import gopeer
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime._errors import MarshalError
from runtime._payload import _fixed_notation, encode_result

#: Where Go's notation changes (1e-6 and 1e21), the one-digit exponents it rewrites, signed
#: zeros, the extremes of float64, and floats with integral values that Python writes with ".0".
EDGES = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    10.0,
    100.0,
    0.1,
    0.1 + 0.2,
    1e-6,
    9.999999999999999e-7,
    1e-7,
    1.5e-7,
    1e-5,
    1e-4,
    1e15,
    1e16,
    1e20,
    9.999999999999999e20,
    1e21,
    1e22,
    1.2345e22,
    1e100,
    1e-100,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    2.0**53,
    2.0**53 + 2,
    123456789.123,
]


def _go_json(values: list[float]) -> list[bytes]:
    bits = "".join(f"{struct.unpack('>Q', struct.pack('>d', v))[0]:016x}\n" for v in values)
    done = subprocess.run(
        [str(gopeer()), "jsonfloat"], input=bits.encode(), capture_output=True, check=True
    )
    return done.stdout.splitlines()


def test_edge_floats_are_written_as_go_writes_them() -> None:
    assert [encode_result(v) for v in EDGES] == _go_json(EDGES)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=200))
def test_random_floats_are_written_as_go_writes_them(values: list[float]) -> None:
    assert [encode_result(v) for v in values] == _go_json(values)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.integers(min_value=0, max_value=(1 << 64) - 1).map(
            lambda bits: struct.unpack(">d", struct.pack(">Q", bits))[0]
        ),
        min_size=1,
        max_size=200,
    ).map(lambda values: [v for v in values if math.isfinite(v)] or [0.0])
)
def test_floats_from_any_bits_are_written_as_go_writes_them(values: list[float]) -> None:
    assert [encode_result(v) for v in values] == _go_json(values)


def test_floats_inside_values_are_rewritten_and_strings_are_not() -> None:
    value = {"price": 10.0, "text": '1.0 and 1e-07 "quoted" 2.50', "list": [1, 2.0, -0.0, 1e-7]}
    assert encode_result(value) == (
        b'{"price":10,"text":"1.0 and 1e-07 \\"quoted\\" 2.50","list":[1,2,-0,1e-7]}'
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=200))
def test_decimals_are_written_as_the_float64_go_would_hold(values: list[float]) -> None:
    # boto3 reads DynamoDB numbers as Decimal; a Go function would have read them as float64.
    decimals = [decimal.Decimal(repr(v)) for v in values]
    assert [encode_result(d) for d in decimals] == _go_json(values)


@pytest.mark.parametrize(
    ("value", "text"),
    [(decimal.Decimal("NaN"), "NaN"), (decimal.Decimal("-Infinity"), "-Inf")],
)
def test_a_non_finite_decimal_is_go_s_unsupported_value(value: decimal.Decimal, text: str) -> None:
    with pytest.raises(MarshalError) as caught:
        encode_result({"n": [value]})
    assert (caught.value.message, caught.value.go_type) == (
        f"json: unsupported value: {text}",
        "UnsupportedValueError",
    )


@settings(max_examples=2000, deadline=None)
@given(
    # The two stretches of [1e-6, 1e21) that repr writes with an exponent, either sign.
    st.one_of(
        st.floats(min_value=1e-6, max_value=1e-4, exclude_max=True),
        st.floats(min_value=1e16, max_value=1e21, exclude_max=True),
    ).flatmap(lambda v: st.sampled_from([v, -v]))
)
def test_fixed_notation_has_the_digits_decimal_gives(value: float) -> None:
    # Go writes float64s in [1e-6, 1e21) without an exponent; for those repr writes with one
    # (below 1e-4, from 1e16) the digits move by string alone, checked here against decimal.
    token = repr(value)
    assert "e" in token
    reference = format(decimal.Decimal(token), "f")
    reference = reference.rstrip("0").rstrip(".") if "." in reference else reference
    assert _fixed_notation(token) == reference
