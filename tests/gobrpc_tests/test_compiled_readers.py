"""Compiled readers decode exactly what the generic path decodes, or fail exactly as it fails.

``Decoder.next_value(into)`` decodes a struct bound to a class straight into it with generated code
(gobrpc's readers module); the generic path is ``next_item`` then ``structure``. Every stream here
is decoded both ways into classes bound to its types, value after value, going on after errors
as a decoder may: the outcomes (values shown by ``repr``, so that NaN, -0.0 and bytes types count;
or the error class and text) must be identical. The streams are Go's golden cases and random types
and values, decoded into local types with narrower integers and renamed fields, from intact and
from corrupted bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest
from golden_json import GOB_CASES, go_type, load, writes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import go_types, values_of

from gobrpc import (
    ArrayType,
    BasicType,
    Decoder,
    Encoder,
    Field,
    GobDecodeError,
    GobStruct,
    GoType,
    Kind,
    MapType,
    NeedData,
    PointerType,
    RemoteProtocolError,
    SliceType,
    StructType,
    TypeDefinition,
    TypeRegistry,
    gob_field,
    struct_type,
    structure,
)
from gobrpc._schema import TypeSpec
from runtime._messages import InvokeRequest, InvokeResponse

#: Integer kinds a local field may narrow to, by the wire's signedness (Go decodes an int64 into
#: an int8 field and fails only for values that do not fit).
_NARROWER = {
    True: [Kind.INT8, Kind.INT16, Kind.INT32, Kind.INT64, Kind.INT],
    False: [Kind.UINT8, Kind.UINT16, Kind.UINT32, Kind.UINT64, Kind.UINT],
}


def bind(t: GoType, memo: dict[int, type] | None = None) -> GoType:
    """``t`` with every struct in it bound to a new frozen attrs class (recursion-safe)."""
    memo = {} if memo is None else memo
    if isinstance(t, PointerType):
        return PointerType(bind(t.elem, memo))
    if isinstance(t, SliceType):
        return SliceType(bind(t.elem, memo), t.name, t.package)
    if isinstance(t, ArrayType):
        return ArrayType(bind(t.elem, memo), t.length, t.name, t.package)
    if isinstance(t, MapType):
        return MapType(bind(t.key, memo), bind(t.elem, memo), t.name, t.package)
    if not isinstance(t, StructType):
        return t
    cls = memo.get(id(t))
    if cls is None:

        def later(f: Field) -> TypeSpec:  # resolved once the class is in ``memo``: recursion
            return lambda: bind(f.type, memo)

        attributes = {
            f"a{i}": gob_field(f.name, later(f), default=None) for i, f in enumerate(t.fields)
        }
        cls = attrs.make_class("Bound", attributes, frozen=True, kw_only=True)
        cls.__gob_name__ = t.name  # type: ignore[attr-defined]
        cls.__gob_package__ = t.package  # type: ignore[attr-defined]
        memo[id(t)] = cls
    return struct_type(cls)


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def generic_outcomes(data: bytes, into: Sequence[GoType]) -> list[str]:
    """``next_item`` then ``structure`` for each value (the i-th into ``into[i]``, the last type
    for any further values), going on after errors until the stream is broken or drained."""
    decoder = Decoder()
    decoder.receive_data(data)
    checked: set[tuple[GoType, int]] = set()
    out: list[str] = []
    while True:
        try:
            item = decoder.next_item()
        except RemoteProtocolError as exc:
            out.append(_error(exc))
            if decoder.broken:
                break
            continue
        if isinstance(item, NeedData):
            break
        if isinstance(item, TypeDefinition):
            continue
        local = into[min(len(out), len(into) - 1)]
        try:
            value = structure(local, item.type_id, decoder.types, item.value, checked=checked)
        except GobDecodeError as exc:
            out.append(_error(exc))
        else:
            out.append(repr(value))
    return out


def compiled_outcomes(data: bytes, into: Sequence[GoType]) -> tuple[list[str], int]:
    """The same through ``next_value``; also how many compiled readers the stream used."""
    decoder = Decoder()
    decoder.receive_data(data)
    out: list[str] = []
    while True:
        local = into[min(len(out), len(into) - 1)]
        try:
            item = decoder.next_value(local)
        except RemoteProtocolError as exc:
            out.append(_error(exc))
            if decoder.broken:
                break
            continue
        if isinstance(item, NeedData):
            break
        out.append(_error(item.error) if item.error is not None else repr(item.value))
    return out, len(decoder._readers)


# --- Go's golden cases --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in GOB_CASES])
def test_golden_cases_decode_the_same_both_ways(path: Path) -> None:
    case = load(path)
    if "encode_error" in case:
        pytest.skip("Go refused to encode this value")
    refs: dict[str, StructType] = {}
    memo: dict[int, type] = {}
    into = [bind(go_type(item["type"], refs), memo) for item in case["values"]]
    data = b"".join(writes(case))
    generic = generic_outcomes(data, into)
    compiled, readers = compiled_outcomes(data, into)
    assert compiled == generic
    assert len(generic) == len(into)
    structs = [t for t in into if isinstance(t, StructType) and t.fields]
    if structs and not any(o.startswith(("GobDecodeError", "MessageTooLarge")) for o in generic):
        assert readers, "the compiled path was not used for a struct case"


def test_lambda_messages_take_the_compiled_path() -> None:
    registry = TypeRegistry()
    for t in (struct_type(InvokeRequest), struct_type(InvokeResponse)):
        assert t.python_class is not None
        encoder = Encoder(registry)
        data = encoder.encode(t, t.python_class()) + encoder.encode(t, t.python_class())
        compiled, readers = compiled_outcomes(data, [t])
        assert compiled == generic_outcomes(data, [t])
        assert readers == 1


# --- random types, local variants and corruptions ------------------------------------------------


@st.composite
def _variant(draw: st.DrawFn, t: GoType, memo: dict[int, StructType]) -> GoType:
    """A local type Go can decode ``t`` into: integers narrowed, struct fields renamed."""
    if isinstance(t, BasicType) and t.kind in _NARROWER[True] + _NARROWER[False]:
        return BasicType(draw(st.sampled_from(_NARROWER[t.kind in _NARROWER[True]])))
    if isinstance(t, PointerType):
        return PointerType(draw(_variant(t.elem, memo)))
    if isinstance(t, SliceType):
        return SliceType(draw(_variant(t.elem, memo)), t.name, t.package)
    if isinstance(t, ArrayType):
        return ArrayType(draw(_variant(t.elem, memo)), t.length, t.name, t.package)
    if isinstance(t, MapType):
        return MapType(draw(_variant(t.key, memo)), draw(_variant(t.elem, memo)))
    if not isinstance(t, StructType):
        return t
    if id(t) in memo:
        return memo[id(t)]
    local = memo[id(t)] = StructType(t.name, t.package)
    fields = []
    for f in t.fields:
        name = f.name if draw(st.integers(0, 4)) else f"Other{f.name}"
        fields.append(Field(name, draw(_variant(f.type, memo))))
    local.fields = tuple(fields)
    return local


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, GoType]:
    """Two values of a random struct type on one stream (maybe corrupted), and a local type."""
    inner = draw(go_types())
    t = inner if isinstance(inner, StructType) else StructType("Top", "main", (Field("V", inner),))
    first, second = draw(values_of(t)), draw(values_of(t))
    encoder = Encoder(TypeRegistry())
    data = bytearray(encoder.encode(t, first) + encoder.encode(t, second))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    return bytes(data), bind(draw(_variant(t, {})))


@given(_streams())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_streams_decode_the_same_both_ways(stream: tuple[bytes, GoType]) -> None:
    data, into = stream
    compiled, _ = compiled_outcomes(data, [into])
    assert compiled == generic_outcomes(data, [into])


def test_range_error_waits_for_the_rest_of_the_value() -> None:
    # A value out of an int8 field's range, then a corrupt field number: the generic path reads
    # the whole value before binding it, so the corruption is what both report.
    wire = StructType("T", "main", (Field("A", BasicType(Kind.INT64)),))
    local = bind(
        StructType(
            "T", "main", (Field("A", BasicType(Kind.INT8)), Field("B", BasicType(Kind.INT8)))
        )
    )
    encoder = Encoder(TypeRegistry())
    cold = encoder.encode(wire, GobStruct.of("T", {"A": 300}))
    warm = encoder.encode(wire, GobStruct.of("T", {"A": 300}))
    # The warm message with field number 1 + 5 (past the wire's only field) before its end.
    corrupt = bytes([warm[0] + 1]) + warm[1:-1] + b"\x05\x00"
    for data, wanted in (
        (cold + warm, 'GobDecodeError: value for "A" out of range'),
        (cold + corrupt, "GobDecodeError: gob: bad data: field numbers out of bounds"),
    ):
        compiled, readers = compiled_outcomes(data, [local])
        assert compiled == generic_outcomes(data, [local])
        assert compiled[0] == 'GobDecodeError: value for "A" out of range'
        assert compiled[-1].startswith(wanted)
        assert readers == 1
