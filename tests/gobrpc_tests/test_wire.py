"""gob primitives against the encodings Go produces (PROTOCOL.md section 3.2, checked with Go)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gobrpc import GobDecodeError, GobEncodeError
from gobrpc._wire import Reader, float_from_uint, float_to_uint, put_int, put_string, put_uint

UINTS = [
    (0, "00"),
    (127, "7f"),
    (128, "ff80"),
    (256, "fe0100"),
    (1000, "fe03e8"),
    (2**64 - 1, "f8ffffffffffffffff"),
]
INTS = [(0, "00"), (-1, "01"), (3, "06"), (-64, "7f"), (64, "ff80"), (-129, "fe0101")]
FLOATS = [(17.0, "fe3140"), (1.5, "fef83f"), (-0.0, "ff80")]


@pytest.mark.parametrize(("n", "hex_"), UINTS)
def test_uint(n: int, hex_: str) -> None:
    out = bytearray()
    put_uint(out, n)
    assert out.hex() == hex_
    assert Reader(bytes.fromhex(hex_)).read_uint() == n


@pytest.mark.parametrize(("n", "hex_"), INTS)
def test_int(n: int, hex_: str) -> None:
    out = bytearray()
    put_int(out, n)
    assert out.hex() == hex_
    assert Reader(bytes.fromhex(hex_)).read_int() == n


@pytest.mark.parametrize(("f", "hex_"), FLOATS)
def test_float(f: float, hex_: str) -> None:
    out = bytearray()
    put_uint(out, float_to_uint(f))
    assert out.hex() == hex_
    assert struct.pack(">d", Reader(bytes.fromhex(hex_)).read_float()) == struct.pack(">d", f)


def test_go_nan_bits_survive() -> None:
    go_nan = struct.unpack(">d", (0x7FF8000000000001).to_bytes(8, "big"))[0]
    out = bytearray()
    put_uint(out, float_to_uint(go_nan))
    assert out.hex() == "f8010000000000f87f"
    assert math.isnan(float_from_uint(Reader(bytes(out)).read_uint()))


def test_non_utf8_string_round_trips() -> None:
    out = bytearray()
    put_string(out, b"\xff".decode("utf-8", "surrogateescape"))
    assert out.hex() == "01ff"
    assert Reader(bytes(out)).read_string().encode("utf-8", "surrogateescape") == b"\xff"


def test_uint_over_eight_bytes_is_refused() -> None:
    with pytest.raises(GobDecodeError, match="out of range"):
        Reader(bytes.fromhex("f7" + "00" * 9)).read_uint()


def test_out_of_range_values_are_refused_on_encode() -> None:
    with pytest.raises(GobEncodeError):
        put_uint(bytearray(), 2**64)
    with pytest.raises(GobEncodeError):
        put_int(bytearray(), 2**63)


def test_non_minimal_uint_is_accepted_like_go() -> None:
    assert Reader(bytes.fromhex("fe0005")).read_uint() == 5


@given(st.integers(0, 2**64 - 1))
def test_uint_round_trip(n: int) -> None:
    out = bytearray()
    put_uint(out, n)
    r = Reader(bytes(out))
    assert r.read_uint() == n
    assert r.remaining() == 0


@given(st.integers(-(2**63), 2**63 - 1))
def test_int_round_trip(n: int) -> None:
    out = bytearray()
    put_int(out, n)
    assert Reader(bytes(out)).read_int() == n


@given(st.floats(allow_nan=True))
def test_float_round_trip_bitwise(f: float) -> None:
    assert struct.pack(">d", float_from_uint(float_to_uint(f))) == struct.pack(">d", f)
