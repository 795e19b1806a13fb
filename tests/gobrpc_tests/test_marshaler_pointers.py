"""Pointers to marshalers: ids and definitions as Go's getTypeInfo makes them (golden cases).

Go keys a marshaler's type info by the type as given, so ``*T`` gets a gobType of its own: its
definition is sent under T's id with CommonType ``{Name: "", Id: Y}``, and Y is used up even when
``*T`` needs no definition, which moves every later id of the process (type.go, buildTypeInfo).
"""

from __future__ import annotations

import pytest
from codec_helpers import decode_all, three_ways, values
from golden_json import GOLDEN, go_type, load, value, writes
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import split_points

from gobrpc import Encoder, GobMarshaled, GobStruct, StructType, TypeRegistry

CASES = ["gob_encoder_ptr_top", "marshaler_ptr_fields", "gob_encoder_then_ptr"]


def _encode_twice(name: str) -> tuple[list[bytes], list[bytes]]:
    """The case on two fresh encoders of one registry, as capture checks a second Go encoder."""
    case = load(GOLDEN / "gob" / f"{name}.json")
    refs: dict[str, StructType] = {}  # one set of Go types: structs compare by identity
    typed = [
        (t := go_type(item["type"], refs), value(t, item["value"], refs)) for item in case["values"]
    ]
    registry = TypeRegistry()
    streams = []
    for _ in range(2):
        encoder = Encoder(registry)
        streams.append([w for t, v in typed for w in encoder.encode_writes(t, v)])
    return streams[0], streams[1]


def _marshaled(chunks: list[bytes]) -> list[GobMarshaled]:
    """The marshaled values of the stream, top-level or struct fields, in order."""
    found: list[object] = []
    for v in values(decode_all(chunks)):
        found += [x for _, x in v.fields] if isinstance(v, GobStruct) else [v]
    return [x for x in found if isinstance(x, GobMarshaled)]


@pytest.mark.parametrize("name", CASES)
def test_encoder_writes_gos_bytes_on_every_stream_of_a_registry(name: str) -> None:
    go = [w.hex() for w in writes(load(GOLDEN / "gob" / f"{name}.json"))]
    first, second = _encode_twice(name)
    assert [w.hex() for w in first] == go
    assert [w.hex() for w in second] == go


def test_a_pointer_uses_up_an_id_even_when_nothing_is_sent() -> None:
    # GobThing (64), then &GobThing (no definition, but 65 used up), then Point: Go defines Point
    # as 66 (ff 83 is -66) and sends its value under 66 (ff 84).
    go = writes(load(GOLDEN / "gob" / "gob_encoder_then_ptr.json"))
    assert go[-2][1:3] == b"\xff\x83"
    assert go[-1][1:3] == b"\xff\x84"
    first, _ = _encode_twice("gob_encoder_then_ptr")
    assert first[-2:] == go[-2:]


@pytest.mark.parametrize("name", CASES)
def test_decoder_reads_gos_definitions_of_pointer_marshalers(name: str) -> None:
    data = b"".join(writes(load(GOLDEN / "gob" / f"{name}.json")))
    ways = [_marshaled(chunks) for chunks in three_ways(data)]
    assert ways[0]
    assert all(way == ways[0] for way in ways)
    if name != "gob_encoder_then_ptr":  # there GobThing was first defined by value, named
        assert {m.type_name for m in ways[0]} == {""}


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
@settings(max_examples=20, deadline=None)
def test_decoder_reads_them_split_anywhere(name: str, data: st.DataObject) -> None:
    stream = b"".join(writes(load(GOLDEN / "gob" / f"{name}.json")))
    assert _marshaled(data.draw(split_points(stream))) == _marshaled([stream])
