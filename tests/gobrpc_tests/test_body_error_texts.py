"""A call whose body fails to decode is answered with the text Go's decoder gives, as net/rpc's
server puts it in ``Response.Error``; our exception's own text (which says where) stays ours.

Each case is a Request definition and header, a malformed body, then a good Ping call: the real
aws-lambda-go server (``gopeer function``) gets the bytes over TCP, and its replies are the
expectation; ``ServerConnection`` gets the same bytes whole, a byte at a time and split at random
points, and must answer each call with Go's error text (or none), and read on as Go does (after
a message length Go refuses, from the bytes after it).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from codec_helpers import three_ways
from go_peer import go_function_listening

from gobrpc import (
    FIRST_USER_ID_GO_1_21,
    BadCall,
    Call,
    ConnectionClosed,
    Encoder,
    NeedData,
    ServerConnection,
    StreamDumper,
    TypeRegistry,
    struct_type,
)
from gobrpc._rpc import REQUEST, RequestHeader
from runtime._messages import METHODS, PING, InvokeRequest, PingRequest

#: Hang guard for one exchange with the Go function, in seconds (not a performance expectation).
_TIMEOUT = 20.0


def _uint(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    data = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([256 - len(data)]) + data


def _int(n: int) -> bytes:
    return _uint(n << 1 if n >= 0 else (~n << 1) | 1)


def _message(payload: bytes) -> bytes:
    return _uint(len(payload)) + payload


def _definitions(t: type, value: object, first_id: int) -> tuple[bytes, bytes]:
    """What a Go client sends for ``value`` on a stream that has sent nothing of its type yet:
    the definitions (ids from ``first_id`` on; 64 is the Request header's), then the value."""
    encoder = Encoder(TypeRegistry(first_id))
    with_definitions = encoder.encode(struct_type(t), value)
    alone = encoder.encode(struct_type(t), value)
    return with_definitions[: -len(alone)], alone


_PING_DEFINITION, _PING_VALUE = _definitions(PingRequest, PingRequest(), 65)
_PING_DEFINITION_AND_VALUE = _PING_DEFINITION + _PING_VALUE
_INVOKE_DEFINITIONS = _definitions(InvokeRequest, InvokeRequest(), 66)[0]


def _payload(message: bytes) -> bytes:
    return message[1:] if message[0] < 0x80 else message[1 + 256 - message[0] :]


_CASES = {
    "value of an undefined type id": (PING, _message(_int(99) + b"\x00")),
    "an unknown method whose body does not decode (Go ignores how)": (
        "Function.Nope",
        _message(_int(99) + b"\x00"),
    ),
    "a type defined twice": (PING, _PING_DEFINITION + _PING_DEFINITION + _PING_VALUE),
    "a definition with a reserved id": (
        PING,
        _message(_int(-10) + _payload(_PING_DEFINITION)[2:]) + _PING_VALUE,
    ),
    "a field PingRequest does not have": (
        PING,
        _PING_DEFINITION + _message(_int(65) + b"\x01\x02\x00"),
    ),
    "a field past InvokeRequest's last": (
        "Function.Invoke",
        _INVOKE_DEFINITIONS + _message(_int(66) + b"\x09\x02\x00"),
    ),
    "an integer of more than 8 bytes": (PING, _PING_DEFINITION + _message(_int(65) + b"\xf7")),
    "a definition with a byte after it (Go keeps the definition)": (
        PING,
        _message(_payload(_PING_DEFINITION) + b"\x00") + _PING_VALUE,
    ),
    "a zero-length message": (PING, b"\x00"),
    "a message length of more than 8 bytes (Go skips its first byte)": (PING, b"\x80"),
    "a message length of 8 GiB or more (Go skips it)": (PING, b"\xf8" + b"\xff" * 8),
    "a message whose type id is cut short": (PING, _message(b"\xff")),
    "a CommonType with a field 2": (
        PING,
        _message(_int(-70) + b"\x03\x01\x03\x00\x00\x00") + _PING_DEFINITION_AND_VALUE,
    ),
    "a wireType with a field 7": (
        PING,
        _message(_int(-70) + b"\x08\x00") + _PING_DEFINITION_AND_VALUE,
    ),
    "a struct definition claiming 100 fields": (
        PING,
        _message(_int(-70) + b"\x03\x01\x01\x01X\x01" + _int(70) + b"\x00\x01\x64\x00\x00")
        + _PING_DEFINITION_AND_VALUE,
    ),
}


def _stream(service_method: str, body: bytes) -> bytes:
    """The bad call (seq 0), then a Ping (seq 1) whose body is defined on the way if need be."""
    headers = Encoder(TypeRegistry(64))
    return (
        headers.encode(REQUEST, RequestHeader(service_method, 0))
        + body
        + headers.encode(REQUEST, RequestHeader(PING, 1))
        + (_PING_VALUE if _PING_DEFINITION in body else _PING_DEFINITION_AND_VALUE)
    )


def _connect(port: int) -> socket.socket:
    """A connection to the Go function, which may still be starting."""
    deadline = time.monotonic() + _TIMEOUT
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=_TIMEOUT)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _go_answers(port: int, data: bytes) -> list[tuple[int, str]]:
    """(seq, error) of every reply Go's server sends for ``data`` (then the end of input)."""
    with _connect(port) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    dumper = StreamDumper(rpc=True)
    records = dumper.feed(reply) + dumper.close()
    return [
        (int(str(r["seq"])), str(r["error"]))
        for r in records
        if r["kind"] == "value" and r.get("rpc") == "header"
    ]


def _our_answers(chunks: list[bytes]) -> list[tuple[int, str]]:
    server = ServerConnection(TypeRegistry(FIRST_USER_ID_GO_1_21), METHODS)
    answers: list[tuple[int, str]] = []
    for chunk in [*chunks, b""]:  # b"": the end of input, as the client's half-close
        server.receive_data(chunk)
        while not isinstance(event := server.next_event(), NeedData | ConnectionClosed):
            assert isinstance(event, Call | BadCall)
            answers.append((event.seq, event.error if isinstance(event, BadCall) else ""))
        if isinstance(event, ConnectionClosed):
            break
    return answers


@pytest.fixture(scope="module")
def go_port() -> Iterator[int]:
    with go_function_listening("echo") as port:
        yield port


@pytest.mark.parametrize("case", list(_CASES))
def test_a_body_that_fails_to_decode_gets_gos_reply(case: str, go_port: int) -> None:
    service_method, body = _CASES[case]
    data = _stream(service_method, body)
    go = _go_answers(go_port, data)
    assert go[0][1], "Go answered the bad call without an error: not a case for this test"
    for chunks in three_ways(data):
        assert _our_answers(chunks) == go
