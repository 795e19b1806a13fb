"""FunctionServer in process, over a memory stream: how calls map onto tasks.

The task that reads a call answers it and a new task reads on (see runtime._server). What must not
change with that: each call runs in a context of its own, so what one invoke sets in a context
variable is not seen by the next; a call whose handler waits does not hold up the calls after it
on the same connection; and every reply goes to its own call.
"""

from __future__ import annotations

from contextvars import ContextVar

import trio
import trio.testing

from gobrpc import (
    FIRST_USER_ID_LEGACY,
    ClientConnection,
    ConnectionClosed,
    Reply,
    TypeRegistry,
    struct_type,
)
from runtime._messages import (
    INVOKE,
    PING,
    InvokeRequest,
    InvokeResponse,
    PingRequest,
    PingResponse,
    ReplyNow,
)
from runtime._server import FunctionServer
from runtime._stream import RpcStream

_SEEN: ContextVar[str] = ContextVar("seen", default="unset")
#: A guard, not a timing assertion: a server that stopped reading would otherwise hang the test.
_DEADLOCK_GUARD = 30
_INVOKE_REQUEST = struct_type(InvokeRequest)
_INVOKE_RESPONSE = struct_type(InvokeResponse)


class _Function:
    """Answers each event with what ``_SEEN`` held when it started, then sets ``_SEEN``.

    An event ``b"wait"`` waits for :attr:`release` first.
    """

    def __init__(self) -> None:
        self.release = trio.Event()
        self.waiting = trio.Event()

    async def invoke(self, request: InvokeRequest, reply: ReplyNow | None = None) -> InvokeResponse:
        seen = _SEEN.get()
        _SEEN.set(request.request_id)
        if request.payload == b"wait":
            self.waiting.set()
            await self.release.wait()
        return InvokeResponse(payload=f"{request.request_id} saw {seen}".encode())


class _Caller:
    """The service's side of one connection, over a memory stream."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.rpc = RpcStream(stream, ClientConnection(TypeRegistry(FIRST_USER_ID_LEGACY)))

    async def invoke(self, request_id: str, payload: bytes = b"{}") -> int:
        request = InvokeRequest(payload=payload, request_id=request_id)
        seq, data = self.rpc.connection.send_call(
            INVOKE, _INVOKE_REQUEST, request, _INVOKE_RESPONSE
        )
        await self.rpc.stream.send_all(data)
        return seq

    async def ping(self) -> int:
        seq, data = self.rpc.connection.send_call(
            PING, struct_type(PingRequest), PingRequest(), struct_type(PingResponse)
        )
        await self.rpc.stream.send_all(data)
        return seq

    async def reply(self) -> Reply:
        event = await self.rpc.next_event()
        assert isinstance(event, Reply), event
        return event


def _payload(reply: Reply) -> bytes:
    assert isinstance(reply.body, InvokeResponse)
    return reply.body.payload


async def test_each_invoke_runs_in_a_context_of_its_own() -> None:
    server_stream, client_stream = trio.testing.memory_stream_pair()
    server = FunctionServer(_Function())
    caller = _Caller(client_stream)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.handle_connection, server_stream)
        answers = []
        for name in ("first", "second", "third"):
            seq = await caller.invoke(name)
            reply = await caller.reply()
            assert reply.seq == seq
            answers.append(_payload(reply))
        await client_stream.aclose()
    assert answers == [b"first saw unset", b"second saw unset", b"third saw unset"]


async def test_a_waiting_invoke_holds_up_neither_ping_nor_later_invokes() -> None:
    server_stream, client_stream = trio.testing.memory_stream_pair()
    function = _Function()
    server = FunctionServer(function)
    caller = _Caller(client_stream)
    with trio.fail_after(_DEADLOCK_GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.handle_connection, server_stream)
            waiting = await caller.invoke("slow", b"wait")
            await function.waiting.wait()
            ping = await caller.ping()
            assert (await caller.reply()).seq == ping
            fast = await caller.invoke("fast")
            reply = await caller.reply()
            assert (reply.seq, _payload(reply)) == (fast, b"fast saw unset")
            function.release.set()
            reply = await caller.reply()
            assert (reply.seq, _payload(reply)) == (waiting, b"slow saw unset")
            await client_stream.aclose()


async def test_calls_sent_together_are_each_answered_and_the_connection_then_closes() -> None:
    server_stream, client_stream = trio.testing.memory_stream_pair()
    server = FunctionServer(_Function())
    caller = _Caller(client_stream)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.handle_connection, server_stream)
        # Several calls in one write: the server reads them from one buffer.
        sent = {}
        data = b""
        for name in ("a", "b", "c", "d"):
            seq, call = caller.rpc.connection.send_call(
                INVOKE, _INVOKE_REQUEST, InvokeRequest(request_id=name), _INVOKE_RESPONSE
            )
            sent[seq] = name
            data += call
        await client_stream.send_all(data)
        await client_stream.send_eof()
        got = {}
        for _ in sent:
            reply = await caller.reply()
            got[reply.seq] = _payload(reply)
        # The server closes its side once every call has been answered.
        assert isinstance(await caller.rpc.next_event(), ConnectionClosed)
    assert got == {seq: f"{name} saw unset".encode() for seq, name in sent.items()}
