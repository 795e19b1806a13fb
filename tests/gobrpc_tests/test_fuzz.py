"""Fuzz invariant (h11's fuzz/afl-server.py): any bytes in give events/values or the protocol error.

Random bytes, and golden streams from Go with bytes flipped, cut out, repeated or spliced, are fed
to the Decoder (which may raise only RemoteProtocolError) and to both net/rpc roles (which never
raise: bad input becomes BadCall or ConnectionClosed). Sizes are bounded, and every loop here is
bounded by the input's size, so a decoder that stops consuming fails the test instead of hanging.
"""

from __future__ import annotations

import contextlib
import itertools

from golden_json import GOB_CASES, TRANSCRIPTS, load, writes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gobrpc import (
    NEED_DATA,
    BadCall,
    Call,
    CallFailed,
    ClientConnection,
    ConnectionClosed,
    DecodedValue,
    Decoder,
    ErrorReply,
    GobInterface,
    GobMarshaled,
    GobStruct,
    NeedData,
    RemoteProtocolError,
    Reply,
    ServerConnection,
    TypeDefinition,
    TypeRegistry,
    struct_type,
)
from runtime._messages import (
    INVOKE,
    METHODS,
    PING,
    InvokeRequest,
    InvokeResponse,
    PingRequest,
    PingResponse,
)

GOB_STREAMS = [
    b"".join(writes(case))
    for case in map(load, GOB_CASES)
    if "writes" in case and sum(map(len, case["writes"])) < 4096
]
CLIENT_STREAMS = [
    bytes.fromhex(c["client_to_server"]) for p in TRANSCRIPTS for c in load(p)["connections"]
]
SERVER_STREAMS = [
    bytes.fromhex(c["server_to_client"]) for p in TRANSCRIPTS for c in load(p)["connections"]
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- inputs ------------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, streams: list[bytes]) -> bytes:
    """A golden stream with a few edits: flipped bytes, a cut, a repeat, a splice, random bytes."""
    data = bytearray(draw(st.sampled_from(streams)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "repeat", "splice", "insert", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
        elif kind == "splice":
            other = draw(st.sampled_from(streams))
            start = draw(st.integers(0, len(other)))
            data[at:] = other[start:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at:]
    return bytes(data)


def chunked(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """``data`` whole, one byte at a time, or cut at random points."""
    cuts = st.lists(st.integers(0, len(data)), max_size=6).map(
        lambda points: sorted({0, len(data), *points})
    )
    return st.one_of(
        st.just([data]),
        st.just([data[k : k + 1] for k in range(len(data))]),
        cuts.map(lambda p: [data[a:b] for a, b in itertools.pairwise(p)]),
    )


def with_chunks(data: st.SearchStrategy[bytes]) -> st.SearchStrategy[list[bytes]]:
    return data.flatmap(chunked)


RANDOM_BYTES = st.binary(max_size=512)
ANY_GOB = st.one_of(RANDOM_BYTES, mutated(GOB_STREAMS), mutated(CLIENT_STREAMS))

# --- the decoder ---------------------------------------------------------------------------------


def _check_value(value: object, depth: int = 0) -> None:
    """Only GobValue's kinds come out."""
    assert depth < 200
    if isinstance(value, list | tuple):
        for v in value:
            _check_value(v, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            hash(k)
            _check_value(k, depth + 1)
            _check_value(v, depth + 1)
    elif isinstance(value, GobStruct):
        for _, v in value.fields:
            _check_value(v, depth + 1)
    elif isinstance(value, GobInterface):
        _check_value(value.value, depth + 1)
    else:
        assert value is None or isinstance(
            value, bool | int | float | complex | str | bytes | GobMarshaled
        )


def run_decoder(chunks: list[bytes]) -> None:
    """Feed chunks, take items after each; a RemoteProtocolError is allowed, nothing else."""
    decoder = Decoder()
    total = sum(map(len, chunks))
    steps = 0
    for chunk in chunks:
        decoder.receive_data(chunk)
        while True:
            steps += 1
            # Every item or error consumes at least one byte, unless the framing is broken.
            assert steps <= 2 * total + 2 * len(chunks) + 2
            try:
                item = decoder.next_item()
            except RemoteProtocolError:
                if decoder.broken:
                    return  # no later message can be found: the stream is over
                continue
            if isinstance(item, NeedData):
                break
            assert isinstance(item, TypeDefinition | DecodedValue)
            if isinstance(item, DecodedValue):
                _check_value(item.value)
    with contextlib.suppress(RemoteProtocolError):
        decoder.check_eof()


@given(with_chunks(ANY_GOB))
@FUZZ
def test_decoder_yields_items_or_the_protocol_error(chunks: list[bytes]) -> None:
    run_decoder(chunks)


# --- the two net/rpc roles -----------------------------------------------------------------------


def run_connection(
    connection: ServerConnection | ClientConnection, chunks: list[bytes]
) -> list[object]:
    """Feed chunks then EOF, taking events; never an exception, and always a ConnectionClosed."""
    events: list[object] = []
    budget = 2 * sum(map(len, chunks)) + 2 * len(chunks) + 4
    for chunk in [*chunks, b""]:
        connection.receive_data(chunk)
        while True:
            budget -= 1
            assert budget > 0, "the connection stopped consuming input"
            event = connection.next_event()
            if event is NEED_DATA:
                assert chunk, "NEED_DATA after EOF"
                break
            events.append(event)
            if isinstance(event, ConnectionClosed):
                assert connection.next_event() == event  # and it stays closed
                return events
    raise AssertionError("no ConnectionClosed after EOF")


@given(with_chunks(st.one_of(RANDOM_BYTES, mutated(CLIENT_STREAMS))))
@FUZZ
def test_server_connection_never_raises(chunks: list[bytes]) -> None:
    server = ServerConnection(TypeRegistry(), METHODS)
    events = run_connection(server, chunks)
    for event in events[:-1]:
        assert isinstance(event, Call | BadCall)
        if isinstance(event, Call):
            assert isinstance(event.body, PingRequest | InvokeRequest)
            assert event.service_method in METHODS
        # Every request can be answered, whatever state reading left the connection in.
        if isinstance(event, Call) and event.service_method == PING:
            server.send_reply(event.seq, PING, struct_type(PingResponse), PingResponse())
        else:
            server.send_error(event.seq, event.service_method, "rpc: answered")


@given(
    with_chunks(st.one_of(RANDOM_BYTES, mutated(SERVER_STREAMS))),
    st.integers(0, 6),
)
@FUZZ
def test_client_connection_never_raises(chunks: list[bytes], calls: int) -> None:
    client = ClientConnection(TypeRegistry())
    for n in range(calls):
        if n % 2:
            client.send_call(
                INVOKE, struct_type(InvokeRequest), InvokeRequest(), struct_type(InvokeResponse)
            )
        else:
            client.send_call(
                PING, struct_type(PingRequest), PingRequest(), struct_type(PingResponse)
            )
    events = run_connection(client, chunks)
    answered: set[int] = set()
    for event in events[:-1]:
        assert isinstance(event, Reply | ErrorReply | CallFailed)
        assert event.seq not in answered, "a call answered twice"
        assert event.seq < calls, "an event for a call never made"
        answered.add(event.seq)
        if isinstance(event, Reply):
            assert isinstance(event.body, PingResponse | InvokeResponse)
    assert client.pending == frozenset()  # answered, or failed with the connection
