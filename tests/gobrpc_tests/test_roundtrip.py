"""Property tests: every Go type decodes back to what gob's rules say, however it is chunked."""

from __future__ import annotations

import pytest
from codec_helpers import canon, decode_all, expected, three_ways, values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import Pair, split_points, typed_values

from gobrpc import (
    BasicType,
    DecodedValue,
    Encoder,
    Field,
    GobEncodeError,
    InterfaceType,
    Kind,
    PointerType,
    SliceType,
    StructType,
    TypeDefinition,
    TypeRegistry,
)


@given(typed_values())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_whole_and_bytewise(pair: Pair) -> None:
    go_type, value = pair
    registry = TypeRegistry()
    data = Encoder(registry).encode(go_type, value)
    want = [canon(expected(go_type, value, registry))]
    for chunks in three_ways(data):
        assert [canon(v) for v in values(decode_all(chunks))] == want


@given(typed_values().flatmap(lambda p: st.tuples(st.just(p), st.data())))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_random_splits(case: tuple[Pair, st.DataObject]) -> None:
    (go_type, value), data_object = case
    registry = TypeRegistry()
    data = Encoder(registry).encode(go_type, value)
    chunks = data_object.draw(split_points(data))
    assert [canon(v) for v in values(decode_all(chunks))] == [
        canon(expected(go_type, value, registry))
    ]


@given(typed_values())
def test_definitions_sent_once_per_stream(pair: Pair) -> None:
    go_type, value = pair
    encoder = Encoder(TypeRegistry())
    first = encoder.encode_writes(go_type, value)
    second = encoder.encode_writes(go_type, value)
    assert len(second) == 1  # the value alone: every definition went out with the first
    items = decode_all([b"".join(first + second)])
    assert sum(isinstance(i, TypeDefinition) for i in items) == len(first) - 1
    assert sum(isinstance(i, DecodedValue) for i in items) == 2


@given(typed_values())
def test_a_second_stream_reuses_the_registry_ids(pair: Pair) -> None:
    go_type, value = pair
    registry = TypeRegistry()
    one = Encoder(registry).encode(go_type, value)
    two = Encoder(registry).encode(go_type, value)
    assert one == two


def test_none_through_a_pointer_to_an_interface_round_trips() -> None:
    # Go's decoder gives None for a pointer to a nil interface ([]*interface{}{new(interface{})});
    # the encoder sends it back as Go does. A nil pointer to a struct still cannot be sent.
    t = SliceType(PointerType(InterfaceType()))
    data = Encoder(TypeRegistry(64)).encode(t, [None])
    assert [item.value for item in decode_all([data]) if isinstance(item, DecodedValue)] == [[None]]
    item = StructType("Item", fields=(Field("N", BasicType(Kind.INT)),))
    with pytest.raises(GobEncodeError, match="nil element"):
        Encoder(TypeRegistry(64)).encode(SliceType(PointerType(item)), [None])
