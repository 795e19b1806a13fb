"""Generated writers for attrs-bound structs write exactly what the generic writers write.

A struct bound to a class is encoded by generated straight-line code that writes the common cases
inline (gobrpc's writers module) and hands every other value to the generic field writers. The
same values given as a GobStruct take the generic path only, so the two must give identical bytes,
or identical errors, for any field kinds and values: edge cases, wrong types and large byte
strings (which are spliced rather than copied) included.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import SCALAR_KINDS, scalar_values

from gobrpc import (
    BasicType,
    DecodedValue,
    Decoder,
    Encoder,
    GobEncodeError,
    GobStruct,
    GoType,
    Kind,
    NeedData,
    PointerType,
    StructType,
    TypeRegistry,
    gob_field,
    struct_type,
    structure,
)
from gobrpc._schema import TypeSpec
from gobrpc._types import INT_RANGES
from gobrpc._writers import SPLICE_MIN

_EDGES = st.sampled_from([None, 0, -0.0, float("nan"), "", b"", False, True, "\udcff", "é"])
_WRONG = st.sampled_from(["x", 7, 1.5, b"x", bytearray(b"yz"), [1], 2**70, -(2**70)])


def _outside(kind: Kind) -> st.SearchStrategy[object]:
    """Integers just outside the kind's Go range (nothing for other kinds)."""
    if kind not in INT_RANGES:
        return st.nothing()
    low, high = INT_RANGES[kind]
    return st.sampled_from([low - 1, high + 1])


def _bind(name: str, fields: list[tuple[str, TypeSpec]]) -> StructType:
    """A frozen attrs class with one gob field per (Go name, Go type or class), bound."""
    attributes = {
        f"a{i}": gob_field(go_name, go_type, default=None)
        for i, (go_name, go_type) in enumerate(fields)
    }
    cls = attrs.make_class(name, attributes, frozen=True, kw_only=True)
    return struct_type(cls)


def _outcome(t: StructType, value: object) -> bytes | str:
    """The bytes of two encodes on a fresh stream (cold, then warm), or the error text."""
    encoder = Encoder(TypeRegistry())
    try:
        return encoder.encode(t, value) + encoder.encode(t, value)
    except GobEncodeError as exc:
        return f"GobEncodeError: {exc}"


def _as_gob_struct(t: StructType, instance: object) -> GobStruct:
    assert t.python_names is not None
    fields: dict[str, object] = {}
    for field, name in zip(t.sent_fields, t.python_names, strict=True):
        value = getattr(instance, name)
        if attrs.has(type(value)):
            inner = field.type.elem if isinstance(field.type, PointerType) else field.type
            assert isinstance(inner, StructType)
            value = _as_gob_struct(inner, value)
        fields[field.name] = value
    return GobStruct.of(t.name, fields)  # type: ignore[arg-type]


@st.composite
def _bound_values(draw: st.DrawFn) -> tuple[StructType, object]:
    """A bound struct of random scalar fields (some pointers, maybe a nested struct) and a value."""
    kinds = draw(st.lists(st.sampled_from(SCALAR_KINDS), min_size=1, max_size=6))
    pointers = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    types: list[GoType] = [
        PointerType(BasicType(k)) if p else BasicType(k)
        for k, p in zip(kinds, pointers, strict=True)
    ]
    values = [draw(st.one_of(scalar_values(k), _outside(k), _EDGES, _WRONG)) for k in kinds]
    spec: list[tuple[str, TypeSpec]] = [(f"F{i}", t) for i, t in enumerate(types)]
    if draw(st.booleans()):
        inner = _bind("Inner", [("X", BasicType(Kind.INT32)), ("Y", BasicType(Kind.STRING))])
        assert inner.python_class is not None
        spec.append(("Nested", inner.python_class))
        values.append(
            inner.python_class(
                a0=draw(st.one_of(scalar_values(Kind.INT32), _EDGES)),
                a1=draw(st.one_of(scalar_values(Kind.STRING), _EDGES)),
            )
        )
    t = _bind("Outer", spec)
    assert t.python_class is not None
    return t, t.python_class(**{f"a{i}": v for i, v in enumerate(values)})


@given(_bound_values())
@settings(max_examples=300, deadline=None)
def test_generated_writer_matches_the_generic_path(case: tuple[StructType, object]) -> None:
    t, instance = case
    assert _outcome(t, instance) == _outcome(t, _as_gob_struct(t, instance))


def test_fields_past_127_take_two_byte_deltas() -> None:
    t = _bind("Wide", [(f"F{i}", BasicType(Kind.STRING)) for i in range(130)])
    assert t.python_class is not None
    sparse = t.python_class(a0="first", a128="far", a129="last")
    dense = t.python_class(**{f"a{i}": str(i) for i in range(130)})
    for instance in (sparse, dense):
        assert _outcome(t, instance) == _outcome(t, _as_gob_struct(t, instance))
    assert b"\xff\x80\x03far" in _outcome(t, sparse)  # delta 128 from field 0 to field 128


@given(
    size=st.sampled_from([SPLICE_MIN - 1, SPLICE_MIN, 3 * SPLICE_MIN + 5]),
    wrap=st.sampled_from([bytes, bytearray, memoryview]),
)
@settings(max_examples=12, deadline=None)
def test_large_byte_strings_round_trip_and_match(size: int, wrap: type) -> None:
    t = _bind("Big", [("Head", BasicType(Kind.STRING)), ("Data", BasicType(Kind.BYTES))])
    t2 = _bind("BigText", [("Text", BasicType(Kind.STRING)), ("Tail", BasicType(Kind.INT64))])
    assert t.python_class is not None
    assert t2.python_class is not None
    data = bytes(i % 251 for i in range(size))
    for bound, instance in (
        (t, t.python_class(a0="h", a1=wrap(data))),
        (t2, t2.python_class(a0=data.decode("latin-1"), a1=-5)),
    ):
        encoded = _outcome(bound, instance)
        assert encoded == _outcome(bound, _as_gob_struct(bound, instance))
        assert isinstance(encoded, bytes)
        decoder = Decoder()
        decoder.receive_data(encoded)
        got: list[object] = []
        while not isinstance(item := decoder.next_item(), NeedData):
            if isinstance(item, DecodedValue):
                got.append(structure(bound, item.type_id, decoder.types, item.value))
        expected = attrs.evolve(instance, a1=bytes(data)) if bound is t else instance
        assert got == [expected, expected]


# --- a value that does not encode leaves the stream as it was ----------------------------------


def _zero_like(instance: object) -> object:
    """A value of the same class that always encodes: every field zero, nested structs empty."""
    values = {
        a.name: type(v)() if attrs.has(type(v := getattr(instance, a.name))) else None
        for a in attrs.fields(type(instance))  # type: ignore[arg-type]
    }
    return type(instance)(**values)


@given(_bound_values())
@settings(max_examples=200, deadline=None)
def test_a_failed_encode_sends_nothing_and_the_next_value_brings_the_definitions(
    case: tuple[StructType, object],
) -> None:
    t, instance = case
    zero = _zero_like(instance)
    registry = TypeRegistry()
    encoder = Encoder(registry)
    try:
        encoder.encode(t, instance)
    except GobEncodeError:
        # Nothing went out, so the definitions are still owed: the same bytes as a new stream's.
        assert encoder.encode(t, zero) == Encoder(registry).encode(t, zero)
    else:
        warm = Encoder(registry)
        warm.encode(t, instance)
        assert encoder.encode(t, zero) == warm.encode(t, zero)


def test_encode_many_that_fails_on_its_body_owes_the_header_s_definitions_too() -> None:
    header = _bind("Header", [("Seq", BasicType(Kind.UINT64))])
    body = _bind("Body", [("Payload", BasicType(Kind.BYTES))])
    assert header.python_class is not None
    assert body.python_class is not None
    registry = TypeRegistry()
    encoder = Encoder(registry)
    good = [(header, header.python_class(a0=1)), (body, body.python_class(a0=b"{}"))]
    bad = [(header, header.python_class(a0=1)), (body, body.python_class(a0="{}"))]
    with pytest.raises(GobEncodeError):
        encoder.encode_many(bad)
    assert encoder.encode_many(good) == Encoder(registry).encode_many(good)
    with_writes = Encoder(registry)
    with pytest.raises(GobEncodeError):
        with_writes.encode_writes(body, body.python_class(a0="{}"))
    written = with_writes.encode_writes(body, body.python_class(a0=b"{}"))
    assert b"".join(written) == Encoder(registry).encode(body, body.python_class(a0=b"{}"))
