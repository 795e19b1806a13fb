"""What gob's semantics say a value decodes to, and feeding helpers shared by codec tests."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from gobrpc import (
    NEED_DATA,
    ArrayType,
    BasicType,
    ClientConnection,
    ConnectionClosed,
    DecodedValue,
    Decoder,
    GobInterface,
    GobMarshaled,
    GobStruct,
    GoType,
    InterfaceType,
    Kind,
    MapType,
    MarshalerType,
    NeedData,
    PointerType,
    ServerConnection,
    SliceType,
    StructType,
    TypeDefinition,
    TypeRegistry,
)
from gobrpc._wire import float_to_uint

_ZERO = {
    Kind.BOOL: False,
    Kind.STRING: "",
    Kind.BYTES: b"",
    Kind.FLOAT32: 0.0,
    Kind.FLOAT64: 0.0,
    Kind.COMPLEX64: 0j,
    Kind.COMPLEX128: 0j,
}


def zero_of(t: GoType) -> Any:
    """The generic value a decoder reports for an omitted field of type ``t``."""
    t = _base(t)
    if isinstance(t, BasicType):
        return _ZERO.get(t.kind, 0)
    if isinstance(t, SliceType) and isinstance(t.elem, BasicType) and t.elem.kind is Kind.UINT8:
        return b""
    return None


def _base(t: GoType) -> GoType:
    while isinstance(t, PointerType):
        t = t.elem
    return t


def _omitted(t: GoType, v: Any) -> bool:
    t = _base(t)
    if v is None:
        return True
    if isinstance(t, BasicType):
        if isinstance(v, float):
            return v == 0 and not math.isnan(v)
        if isinstance(v, str | bytes):
            return len(v) == 0
        return v == 0 or v is False
    if isinstance(t, SliceType):
        return len(v) == 0
    return False


def expected(t: GoType, v: Any, registry: TypeRegistry) -> Any:
    """What the decoder should produce for value ``v`` of ``t`` sent with zeros (not in a struct).

    Struct names come from ``registry``: Go names a struct by how it was first reached.
    """
    t = _base(t)
    if isinstance(t, StructType):
        assert isinstance(v, GobStruct)
        items = []
        for f in t.sent_fields:
            fv = v.get(f.name)
            items.append(
                (
                    f.name,
                    zero_of(f.type) if _omitted(f.type, fv) else expected(f.type, fv, registry),
                )
            )
        return GobStruct(registry.wire_name(t), tuple(items))
    if isinstance(t, SliceType | ArrayType):
        if isinstance(t, SliceType) and isinstance(t.elem, BasicType) and t.elem.kind is Kind.UINT8:
            return bytes(v or b"")
        return [expected(t.elem, x, registry) for x in (v or [])]
    if isinstance(t, MapType):
        return {
            expected(t.key, k, registry): expected(t.elem, x, registry)
            for k, x in (v or {}).items()
        }
    if isinstance(t, BasicType) and t.kind is Kind.BYTES:
        return bytes(v or b"")
    if isinstance(t, InterfaceType) and isinstance(v, GobInterface) and v.go_type is not None:
        return GobInterface(v.name, expected(v.go_type, v.value, registry))
    if isinstance(t, MarshalerType):
        data = v.data if isinstance(v, GobMarshaled) else bytes(v)
        return GobMarshaled(registry.wire_name(t), data)
    return v


def canon(v: object) -> object:
    """A comparable form in which floats compare by their bits (NaN, -0.0)."""
    if isinstance(v, float):
        return ("float", float_to_uint(v))
    if isinstance(v, complex):
        return ("complex", float_to_uint(v.real), float_to_uint(v.imag))
    if isinstance(v, GobStruct):
        return ("struct", v.type_name, tuple((k, canon(x)) for k, x in v.fields))
    if isinstance(v, list | tuple):
        return ("list", tuple(canon(x) for x in v))
    if isinstance(v, dict):
        return ("map", frozenset((canon(k), canon(x)) for k, x in v.items()))
    if isinstance(v, GobInterface):
        return ("iface", v.name, canon(v.value))
    if isinstance(v, GobMarshaled):
        return ("marshaled", v.type_name, v.data)
    return v


def decode_all(chunks: Iterable[bytes]) -> list[TypeDefinition | DecodedValue]:
    """Feed chunks one by one, draining items after each; check the stream ends cleanly."""
    decoder = Decoder()
    items: list[TypeDefinition | DecodedValue] = []
    for chunk in chunks:
        decoder.receive_data(chunk)
        while not isinstance(item := decoder.next_item(), NeedData):
            items.append(item)
    decoder.check_eof()
    return items


def values(items: list[TypeDefinition | DecodedValue]) -> list[object]:
    """The decoded values among ``items``."""
    return [i.value for i in items if isinstance(i, DecodedValue)]


def three_ways(data: bytes) -> list[list[bytes]]:
    """Whole, and one byte at a time (random splits come from Hypothesis)."""
    return [[data], [data[i : i + 1] for i in range(len(data))]]


def drain(connection: ServerConnection | ClientConnection, chunks: list[bytes]) -> list[object]:
    """Feed chunks then EOF; every event up to and including ConnectionClosed."""
    events: list[object] = []
    for chunk in [*chunks, b""]:
        connection.receive_data(chunk)
        while (event := connection.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, ConnectionClosed):
                return events
    raise AssertionError("no ConnectionClosed after EOF")
