"""ServerConnection and ClientConnection against Go's recorded net/rpc sessions, and Go's rules.

Each transcript (golden/transcripts, a real aws-lambda-go function and Go's rpc.Client) is fed to
our connection in the opposite role, whole, one byte at a time and split at random points, and the
events must be the recorded calls and replies. Our replies and calls, encoded from the recorded
values with Go 1.26's numbering (``TypeRegistry(64)``), must be Go's bytes exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from codec_helpers import drain, three_ways
from golden_json import TRANSCRIPTS, load
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import split_points

from gobrpc import (
    FIRST_USER_ID_GO_1_21,
    BadCall,
    BasicType,
    Call,
    CallFailed,
    ClientConnection,
    ConnectionClosed,
    ConnectionState,
    Encoder,
    ErrorReply,
    GobStruct,
    GoType,
    Kind,
    LocalProtocolError,
    PointerType,
    Reply,
    ServerConnection,
    SliceType,
    StructType,
    TypeRegistry,
    gob_field,
    struct_type,
)
from gobrpc._rpc import REQUEST, RESPONSE
from gobrpc._schema import zero_factory
from runtime._messages import (
    INVOKE,
    METHODS,
    PING,
    InvokeRequest,
    InvokeRequest_Timestamp,
    InvokeResponse,
    PingRequest,
    PingResponse,
)

Json = Any  # parsed fixture JSON
CONNECTIONS = [
    pytest.param(path, index, id=f"{path.stem}-{index}")
    for path in TRANSCRIPTS
    for index in range(len(load(path)["connections"]))
]
TYPES: dict[str, GoType] = {
    "PingRequest": struct_type(PingRequest),
    "PingResponse": struct_type(PingResponse),
    "InvokeRequest": struct_type(InvokeRequest),
    "InvokeResponse": struct_type(InvokeResponse),
    "int": BasicType(Kind.INT),
}


@attrs.frozen(kw_only=True)
class InvokeRequestDeadlineByPointer:
    """The Go client's request type of the ``deadline_left_out`` transcript: InvokeRequest with
    Deadline held by pointer, which gob leaves out when nil (the same definition on the wire)."""

    __gob_name__: ClassVar[str] = "InvokeRequest"
    __gob_package__: ClassVar[str] = "main"
    payload: bytes = gob_field("Payload", BasicType(Kind.BYTES), default=b"")
    request_id: str = gob_field("RequestId", BasicType(Kind.STRING), default="")
    x_amzn_trace_id: str = gob_field("XAmznTraceId", BasicType(Kind.STRING), default="")
    deadline: InvokeRequest_Timestamp | None = gob_field(
        "Deadline", PointerType(struct_type(InvokeRequest_Timestamp)), default=None
    )
    invoked_function_arn: str = gob_field("InvokedFunctionArn", BasicType(Kind.STRING), default="")
    cognito_identity_id: str = gob_field("CognitoIdentityId", BasicType(Kind.STRING), default="")
    cognito_identity_pool_id: str = gob_field(
        "CognitoIdentityPoolId", BasicType(Kind.STRING), default=""
    )
    client_context: bytes = gob_field("ClientContext", BasicType(Kind.BYTES), default=b"")


def sent_type(call: Json) -> GoType:
    """The type the recorded call's body was sent as (which the server decodes into ``TYPES``)."""
    if call["request_type"] == "InvokeRequest" and call["request"].get("Deadline", {}) is None:
        return struct_type(InvokeRequestDeadlineByPointer)
    return TYPES[call["request_type"]]


def build(t: GoType, v: Json) -> Any:
    """A recorded VALUE JSON (golden/README.md) as the Python value our schema classes use. A
    null is the sender's nil: None, or Go's zero value where ``t`` cannot be nil (a struct held
    by value decodes as one with every field zero)."""
    if v is None:
        zero = zero_factory(t)
        return None if zero is None else zero()
    while isinstance(t, PointerType):
        t = t.elem
    if isinstance(t, StructType):
        assert t.python_class is not None
        names = dict(zip((f.name for f in t.sent_fields), t.python_names or (), strict=True))
        kwargs = {names[f.name]: build(f.type, v[f.name]) for f in t.sent_fields if f.name in v}
        return t.python_class(**kwargs)
    if isinstance(t, BasicType) and t.kind is Kind.BYTES:
        return bytes.fromhex(v["bytes"])
    if isinstance(t, SliceType):
        return [build(t.elem, x) for x in v]
    return v


def _calls(connection: Json) -> list[Json]:
    return [c for c in connection["calls"] if c["seq"] is not None]


def _replied(call: Json) -> bool:
    start, end = call["server_bytes"]
    return bool(start < end)


# --- server role: the client's bytes in, the recorded calls out -------------------------------


def expected_requests(connection: Json) -> list[object]:
    events: list[object] = []
    for call in _calls(connection):
        if call["error"] and _replied(call):
            # Go answered with Response.Error: a bad method, or a body it could not decode.
            events.append(BadCall(call["seq"], call["service_method"], call["error"]))
        else:
            body = build(TYPES[call["request_type"]], call["request"])
            events.append(Call(call["seq"], call["service_method"], body))
    return events


def check_server_events(connection: Json, events: list[object]) -> None:
    *requests, closed = events
    assert requests == expected_requests(connection)
    assert isinstance(closed, ConnectionClosed)
    if any(c["seq"] is None for c in connection["calls"]):
        # Raw garbage where a header belongs: Go closes the connection without a word.
        assert closed.reason is not None
        assert closed.reason.startswith("rpc: server cannot decode request: gob: ")
    else:
        assert closed.reason is None


@pytest.mark.parametrize(("path", "index"), CONNECTIONS)
def test_server_reads_the_recorded_calls_whole_and_bytewise(path: Path, index: int) -> None:
    connection = load(path)["connections"][index]
    for chunks in three_ways(bytes.fromhex(connection["client_to_server"])):
        server = ServerConnection(TypeRegistry(FIRST_USER_ID_GO_1_21), METHODS)
        check_server_events(connection, drain(server, chunks))


@pytest.mark.parametrize(("path", "index"), CONNECTIONS)
@given(data=st.data())
@settings(max_examples=10, deadline=None)
def test_server_reads_the_recorded_calls_at_random_splits(
    path: Path, index: int, data: st.DataObject
) -> None:
    connection = load(path)["connections"][index]
    chunks = data.draw(split_points(bytes.fromhex(connection["client_to_server"])))
    server = ServerConnection(TypeRegistry(FIRST_USER_ID_GO_1_21), METHODS)
    check_server_events(connection, drain(server, chunks))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in TRANSCRIPTS])
def test_server_replies_are_gos_bytes(path: Path) -> None:
    """Every reply Go sent, from the recorded values, byte for byte, connections in order on one
    registry (one Go process). This includes ``language_dependent`` replies: a Python handler
    cannot produce Go's panic frames, but given them, the encoding is exact too."""
    transcript = load(path)
    registry = TypeRegistry(FIRST_USER_ID_GO_1_21)
    for connection in transcript["connections"]:
        server = ServerConnection(registry, METHODS)
        events = drain(server, [bytes.fromhex(connection["client_to_server"])])
        sent = bytes.fromhex(connection["server_to_client"])
        for call, event in zip(_calls(connection), events, strict=False):
            assert isinstance(event, Call | BadCall)
            if not _replied(call):
                continue  # the function crashed: Go sent nothing
            if isinstance(event, BadCall):
                ours = server.send_error(event.seq, event.service_method, event.error)
            else:
                reply_type = TYPES[call["response_type"]]
                reply = build(reply_type, call["response"])
                ours = server.send_reply(event.seq, event.service_method, reply_type, reply)
            start, end = call["server_bytes"]
            assert ours.hex() == sent[start:end].hex()


# --- client role: the server's bytes in, the recorded replies out -----------------------------


def start_calls(client: ClientConnection, connection: Json) -> bytes:
    """Make the recorded calls; returns the bytes our client sends (checked against Go's)."""
    out = b""
    for call in _calls(connection):
        body_type = sent_type(call)
        reply_type = TYPES.get(call["response_type"], StructType(""))
        seq, data = client.send_call(
            call["service_method"], body_type, build(body_type, call["request"]), reply_type
        )
        assert seq == call["seq"]
        out += data
    return out


def check_client_events(connection: Json, events: list[object]) -> None:
    *replies, closed = events
    expected: list[object] = []
    for call in _calls(connection):
        if not _replied(call):
            continue
        if call["error"]:
            expected.append(ErrorReply(call["seq"], call["service_method"], call["error"]))
        else:
            body = build(TYPES[call["response_type"]], call["response"])
            expected.append(Reply(call["seq"], call["service_method"], body))
    assert replies == expected
    assert isinstance(closed, ConnectionClosed)
    unanswered = [c for c in _calls(connection) if not _replied(c)]
    # Go fails the calls still pending at EOF with "unexpected EOF", as the transcript recorded.
    assert closed.reason == ("unexpected EOF" if unanswered else None)
    assert all(c["error"] == "unexpected EOF" for c in unanswered)


@pytest.mark.parametrize(("path", "index"), CONNECTIONS)
def test_client_sends_gos_bytes_and_reads_the_recorded_replies(path: Path, index: int) -> None:
    connection = load(path)["connections"][index]
    sent = bytes.fromhex(connection["client_to_server"])
    for chunks in three_ways(bytes.fromhex(connection["server_to_client"])):
        client = ClientConnection(TypeRegistry(FIRST_USER_ID_GO_1_21))
        ours = start_calls(client, connection)
        garbage = [c for c in connection["calls"] if c["seq"] is None]
        assert ours.hex() == sent[: garbage[0]["client_bytes"][0] if garbage else None].hex()
        check_client_events(connection, drain(client, chunks))


@pytest.mark.parametrize(("path", "index"), CONNECTIONS)
@given(data=st.data())
@settings(max_examples=10, deadline=None)
def test_client_reads_the_recorded_replies_at_random_splits(
    path: Path, index: int, data: st.DataObject
) -> None:
    connection = load(path)["connections"][index]
    chunks = data.draw(split_points(bytes.fromhex(connection["server_to_client"])))
    client = ClientConnection(TypeRegistry(FIRST_USER_ID_GO_1_21))
    start_calls(client, connection)
    check_client_events(connection, drain(client, chunks))


def _many_invokes() -> Json:
    return load(next(p for p in TRANSCRIPTS if p.stem == "many_invokes"))["connections"][0]


def test_replies_out_of_order_are_matched_by_seq() -> None:
    connection = _many_invokes()
    server = ServerConnection(TypeRegistry(), METHODS)
    calls = drain(server, [bytes.fromhex(connection["client_to_server"])])[:-1]
    assert len(calls) == 6
    # Answer last call first, as Go's server may when handlers finish in another order; the
    # type definitions then travel with the first reply that needs them.
    replies = b""
    for event in reversed(calls):
        assert isinstance(event, Call)
        recorded = connection["calls"][event.seq]
        reply_type = TYPES[recorded["response_type"]]
        reply = build(reply_type, recorded["response"])
        replies += server.send_reply(event.seq, event.service_method, reply_type, reply)
    for chunks in three_ways(replies):
        fresh = ClientConnection(TypeRegistry())
        start_calls(fresh, connection)
        events = drain(fresh, chunks)
        assert [e.seq for e in events[:-1]] == [5, 4, 3, 2, 1, 0]  # type: ignore[attr-defined]
        for event in events[:-1]:
            assert isinstance(event, Reply)
            recorded = connection["calls"][event.seq]
            assert event.body == build(TYPES[recorded["response_type"]], recorded["response"])
        assert events[-1] == ConnectionClosed(None)


# --- Go's client rules ------------------------------------------------------------------------


def _reply(encoder: Encoder, seq: int, error: str = "", method: str = PING) -> bytes:
    header = GobStruct.of("Response", {"ServiceMethod": method, "Seq": seq, "Error": error})
    return encoder.encode(RESPONSE, header)


def _pinging_client(calls: int = 1) -> ClientConnection:
    client = ClientConnection(TypeRegistry())
    for _ in range(calls):
        client.send_call(PING, TYPES["PingRequest"], PingRequest(), TYPES["PingResponse"])
    return client


def test_replies_nobody_waits_for_are_dropped_without_recursion() -> None:
    encoder = Encoder(TypeRegistry())
    data = b"".join(
        _reply(encoder, seq) + encoder.encode(TYPES["PingResponse"], PingResponse())
        for seq in [999] * 5000 + [0]
    )
    client = _pinging_client()
    assert drain(client, [data]) == [Reply(0, PING, PingResponse()), ConnectionClosed(None)]


def test_a_body_that_cannot_be_read_fails_its_call_then_the_connection() -> None:
    encoder = Encoder(TypeRegistry())
    client = _pinging_client(2)
    events = drain(client, [_reply(encoder, 0) + b"\x04junk"])
    assert isinstance(events[0], CallFailed)
    assert events[0].seq == 0
    assert events[0].error.startswith("reading body gob: unknown type id or corrupted data")
    # Go ends the other pending calls with the same error, unprefixed.
    assert events[1] == ConnectionClosed(events[0].error.removeprefix("reading body "))
    assert client.state is ConnectionState.ERROR
    assert client.pending == frozenset()
    with pytest.raises(LocalProtocolError, match="connection is shut down"):
        client.send_call(PING, TYPES["PingRequest"], PingRequest(), TYPES["PingResponse"])


def test_an_error_reply_with_a_bad_body_keeps_its_error_then_ends() -> None:
    encoder = Encoder(TypeRegistry())
    client = _pinging_client(2)
    events = drain(client, [_reply(encoder, 0, "rpc: boom") + b"\x04junk"])
    assert events[0] == ErrorReply(0, PING, "rpc: boom")
    assert isinstance(events[1], ConnectionClosed)
    assert events[1].reason is not None
    assert events[1].reason.startswith("reading error body: gob: unknown type id")


def test_a_stray_reply_with_a_bad_body_ends_the_connection() -> None:
    encoder = Encoder(TypeRegistry())
    client = _pinging_client()
    (closed,) = drain(client, [_reply(encoder, 7) + b"\x04junk"])
    assert isinstance(closed, ConnectionClosed)
    assert closed.reason is not None
    assert closed.reason.startswith("reading error body: gob: ")


def test_eof_between_header_and_body() -> None:
    client = _pinging_client(2)
    events = drain(client, [_reply(Encoder(TypeRegistry()), 0)])
    assert events == [CallFailed(0, "reading body EOF"), ConnectionClosed("unexpected EOF")]


def test_a_reply_of_the_wrong_type_fails_the_call() -> None:
    encoder = Encoder(TypeRegistry())
    data = _reply(encoder, 0) + encoder.encode(BasicType(Kind.INT), 5)
    events = drain(_pinging_client(), [data])
    assert events[0] == CallFailed(
        0,
        "reading body gob: type mismatch in decoder: want struct type messages.PingResponse; "
        "got non-struct",
    )
    assert isinstance(events[1], ConnectionClosed)


# --- Go's server rules ------------------------------------------------------------------------


def _request(encoder: Encoder, seq: int, method: str = PING) -> bytes:
    header = GobStruct.of("Request", {"ServiceMethod": method, "Seq": seq})
    return encoder.encode(REQUEST, header) + encoder.encode(TYPES["PingRequest"], PingRequest())


def _server() -> ServerConnection:
    return ServerConnection(TypeRegistry(), METHODS)


def test_each_request_is_answered_once() -> None:
    encoder = Encoder(TypeRegistry())
    server = _server()
    events = drain(server, [_request(encoder, 3) + _request(encoder, 3)])
    assert events[:2] == [Call(3, PING, PingRequest())] * 2
    # A client may reuse a Seq; each request still gets one answer.
    server.send_reply(3, PING, TYPES["PingResponse"], PingResponse())
    server.send_error(3, PING, "rpc: second")
    with pytest.raises(LocalProtocolError, match="no request with Seq 3"):
        server.send_reply(3, PING, TYPES["PingResponse"], PingResponse())
    with pytest.raises(LocalProtocolError, match="no request with Seq 4"):
        server.send_error(4, PING, "rpc: never asked")


def test_calls_in_flight_are_answered_after_the_peer_breaks_the_stream() -> None:
    # Go stops reading at a bad header, then still writes the replies of calls in flight.
    encoder = Encoder(TypeRegistry())
    server = _server()
    events = drain(server, [_request(encoder, 0) + b"\x04junk"])
    assert events[0] == Call(0, PING, PingRequest())
    assert isinstance(events[1], ConnectionClosed)
    assert server.state is ConnectionState.ERROR
    reply = server.send_reply(0, PING, TYPES["PingResponse"], PingResponse())
    client = _pinging_client()
    assert drain(client, [reply]) == [Reply(0, PING, PingResponse()), ConnectionClosed(None)]


def test_a_failed_send_stops_sending_and_reading() -> None:
    encoder = Encoder(TypeRegistry())
    server = _server()
    server.receive_data(_request(encoder, 0) + _request(encoder, 1))
    assert server.next_event() == Call(0, PING, PingRequest())
    server.send_failed()
    with pytest.raises(LocalProtocolError):
        server.send_error(0, PING, "rpc: too late")
    assert isinstance(server.next_event(), ConnectionClosed)


def test_eof_inside_a_body_is_answered_then_closes() -> None:
    whole = _request(Encoder(TypeRegistry()), 0, INVOKE)
    header = Encoder(TypeRegistry()).encode(
        REQUEST, GobStruct.of("Request", {"ServiceMethod": INVOKE, "Seq": 0})
    )
    assert drain(_server(), [header]) == [BadCall(0, INVOKE, "EOF"), ConnectionClosed(None)]
    events = drain(_server(), [whole[:-2]])
    assert events[0] == BadCall(0, INVOKE, "unexpected EOF")
    assert isinstance(events[1], ConnectionClosed)
    assert events[1].reason is not None


def test_bad_method_names_are_answered_with_gos_texts() -> None:
    encoder = Encoder(TypeRegistry())
    data = b"".join(
        _request(encoder, n, method)
        for n, method in enumerate(["NoDot", "Nope.Ping", "Function.Nope", "", PING])
    )
    assert drain(_server(), [data]) == [
        BadCall(0, "NoDot", "rpc: service/method request ill-formed: NoDot"),
        BadCall(1, "Nope.Ping", "rpc: can't find service Nope.Ping"),
        BadCall(2, "Function.Nope", "rpc: can't find method Function.Nope"),
        BadCall(3, "", "rpc: service/method request ill-formed: "),
        Call(4, PING, PingRequest()),
        ConnectionClosed(None),
    ]
