"""A field the encoder left out decodes as Go's zero value of the local type it decodes into.

gob sends no zero values and no nil pointers: a Go sender whose struct holds a field by pointer
leaves it out when nil, and a receiver that holds the same field by value gets the zero value
there, never nil: a struct with every field zero, an array of zero elements. A receiver holding it
by pointer gets nil. (The ``deadline_left_out`` transcript shows aws-lambda-go's server doing
this with a real Go client; here each kind of field, both decoding paths, and every feeding.)
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import pytest
from codec_helpers import three_ways

from gobrpc import (
    ArrayType,
    BasicType,
    DecodedValue,
    Decoder,
    Encoder,
    GoType,
    Kind,
    NeedData,
    PointerType,
    TypeRegistry,
    gob_field,
    struct_type,
    structure,
)

_INT = BasicType(Kind.INT64)
_STRING = BasicType(Kind.STRING)


@attrs.frozen(kw_only=True)
class Inner:
    """Its defaults are not zero: a left-out Inner must still come back zero, as in Go."""

    __gob_name__: ClassVar[str] = "Inner"
    x: int = gob_field("X", _INT, default=7)
    s: str = gob_field("S", _STRING, default="not zero")


@attrs.frozen(kw_only=True)
class Middle:
    __gob_name__: ClassVar[str] = "Middle"
    inner: Inner = gob_field("Inner", Inner, factory=lambda: Inner(x=1))
    n: int = gob_field("N", _INT, default=0)


@attrs.frozen(kw_only=True)
class SentWithPointers:
    """The sender: every field by pointer, all nil, so none is sent but ``Tag``."""

    __gob_name__: ClassVar[str] = "Outer"
    middle: Middle | None = gob_field("Middle", PointerType(struct_type(Middle)), default=None)
    numbers: list[int] | None = gob_field("Numbers", PointerType(ArrayType(_INT, 3)), default=None)
    cells: list[Inner] | None = gob_field(
        "Cells", PointerType(ArrayType(struct_type(Inner), 2)), default=None
    )
    tag: str = gob_field("Tag", _STRING, default="")


@attrs.frozen(kw_only=True)
class HeldByValue:
    __gob_name__: ClassVar[str] = "Outer"
    middle: Middle | None = gob_field("Middle", Middle, default=None)
    numbers: list[int] | None = gob_field("Numbers", ArrayType(_INT, 3), default=None)
    cells: list[Inner] | None = gob_field("Cells", ArrayType(struct_type(Inner), 2), default=None)
    tag: str = gob_field("Tag", _STRING, default="")


_ZERO_INNER = Inner(x=0, s="")
_BY_VALUE = HeldByValue(
    middle=Middle(inner=_ZERO_INNER, n=0),
    numbers=[0, 0, 0],
    cells=[_ZERO_INNER, _ZERO_INNER],
    tag="sent",
)
_BY_POINTER = SentWithPointers(tag="sent")  # the sender's own type: nil stays nil


def _stream() -> bytes:
    """Two values: the first with the definitions, then a warm one."""
    encoder = Encoder(TypeRegistry())
    sent = struct_type(SentWithPointers)
    return b"".join(encoder.encode(sent, SentWithPointers(tag="sent")) for _ in range(2))


@pytest.mark.parametrize(
    ("into", "want"),
    [(HeldByValue, _BY_VALUE), (SentWithPointers, _BY_POINTER)],
    ids=["by_value", "by_pointer"],
)
def test_compiled_readers_give_gos_zero_for_left_out_fields(into: type, want: object) -> None:
    for chunks in three_ways(_stream()):
        decoder = Decoder()
        got: list[object] = []
        for chunk in chunks:
            decoder.receive_data(chunk)
            while not isinstance(item := decoder.next_value(struct_type(into)), NeedData):
                assert item.error is None
                got.append(item.value)
        assert got == [want, want]


@pytest.mark.parametrize(
    ("into", "want"),
    [(HeldByValue, _BY_VALUE), (SentWithPointers, _BY_POINTER)],
    ids=["by_value", "by_pointer"],
)
def test_the_generic_path_gives_the_same(into: type, want: object) -> None:
    decoder = Decoder()
    decoder.receive_data(_stream())
    local: GoType = struct_type(into)
    got = []
    while not isinstance(item := decoder.next_item(), NeedData):
        if isinstance(item, DecodedValue):
            got.append(structure(local, item.type_id, decoder.types, item.value))
    assert got == [want, want]


def test_each_left_out_struct_is_a_new_instance() -> None:
    """A zero value is made afresh for each field and value: one shared instance would let a
    mutable bound class carry one value's changes into the next."""
    decoder = Decoder()
    decoder.receive_data(_stream())
    first, second = _two_values(decoder)
    assert first == second
    assert first.middle is not second.middle
    assert first.cells is not None
    assert first.cells[0] is not first.cells[1]


def _two_values(decoder: Decoder) -> tuple[HeldByValue, HeldByValue]:
    values: list[HeldByValue] = []
    while len(values) < 2:
        item = decoder.next_value(struct_type(HeldByValue))
        assert not isinstance(item, NeedData)
        assert isinstance(item.value, HeldByValue)
        values.append(item.value)
    return values[0], values[1]
