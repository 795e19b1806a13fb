"""The go1.x service's side of net/rpc: dial a function, Ping it, Invoke it.

A reader task takes replies off the connection and hands each to the call waiting for its Seq, so
calls may overlap and replies may come back in any order, as with Go's ``rpc.Client``. Dialling
and pinging retry every 5 ms until a deadline, as the go1.x service (docker-lambda's mock of it)
does while the function starts.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from gobrpc import (
    FIRST_USER_ID_LEGACY,
    CallFailed,
    ClientConnection,
    ConnectionClosed,
    ErrorReply,
    GoType,
    RemoteCallError,
    Reply,
    TypeRegistry,
    struct_type,
)

from ._messages import (
    INVOKE,
    PING,
    InvokeRequest,
    InvokeResponse,
    PingRequest,
    PingResponse,
)
from ._stream import RpcStream

__all__ = ["DIAL_RETRY_INTERVAL", "FunctionClient", "connect_function"]

#: The go1.x service retries dialling and pinging every 5 ms.
DIAL_RETRY_INTERVAL = 0.005

_Result = Reply | ErrorReply | CallFailed | ConnectionClosed


class FunctionClient:
    """One net/rpc connection to a go1.x function."""

    def __init__(self, rpc: RpcStream[ClientConnection]) -> None:
        self._rpc = rpc
        self._waiting: dict[int, trio.MemorySendChannel[_Result]] = {}
        self._closed: ConnectionClosed | None = None

    async def _read_replies(self) -> None:
        try:
            while True:
                event = await self._rpc.next_event()
                if isinstance(event, Reply | ErrorReply | CallFailed):
                    channel = self._waiting.pop(event.seq, None)
                    if channel is not None:
                        channel.send_nowait(event)
                    if isinstance(event, CallFailed):
                        self._fail_all(ConnectionClosed(event.error))
                        return
                elif isinstance(event, ConnectionClosed):
                    self._fail_all(event)
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._fail_all(ConnectionClosed(f"connection broken: {exc!r}"))

    def _fail_all(self, closed: ConnectionClosed) -> None:
        self._closed = closed
        for channel in self._waiting.values():
            channel.send_nowait(closed)
        self._waiting.clear()

    async def call(
        self, service_method: str, body_type: GoType, body: object, reply_type: GoType
    ) -> object:
        """Make one call and wait for its reply.

        Raises :class:`RemoteCallError` if the server set ``Response.Error``, and
        ``trio.BrokenResourceError`` if the connection ended first (Go's ``unexpected EOF``).
        """
        if self._closed is not None:
            raise trio.BrokenResourceError(self._closed.reason or "connection is shut down")
        send, receive = trio.open_memory_channel[_Result](1)
        seq_box: list[int] = []

        def produce(connection: ClientConnection) -> bytes:
            seq, data = connection.send_call(service_method, body_type, body, reply_type)
            seq_box.append(seq)
            self._waiting[seq] = send
            return data

        await self._rpc.send(produce)
        result = await receive.receive()
        if isinstance(result, Reply):
            return result.body
        if isinstance(result, ErrorReply):
            raise RemoteCallError(result.error)
        if isinstance(result, CallFailed):
            raise trio.BrokenResourceError(result.error)
        raise trio.BrokenResourceError(result.reason or "unexpected EOF")

    async def ping(self) -> None:
        """Call ``Function.Ping``."""
        await self.call(PING, struct_type(PingRequest), PingRequest(), struct_type(PingResponse))

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        """Call ``Function.Invoke``; a function error comes back inside the response."""
        reply = await self.call(
            INVOKE, struct_type(InvokeRequest), request, struct_type(InvokeResponse)
        )
        if not isinstance(reply, InvokeResponse):
            raise trio.BrokenResourceError(f"unexpected reply body {reply!r:.80}")
        return reply


async def _dial(host: str, port: int, deadline: float) -> trio.SocketStream:
    while True:
        try:
            return await trio.open_tcp_stream(host, port)
        except OSError:
            if trio.current_time() >= deadline:
                raise
            await trio.sleep(DIAL_RETRY_INTERVAL)


@asynccontextmanager
async def connect_function(
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = math.inf,
    registry: TypeRegistry | None = None,
    ping: bool = True,
) -> AsyncIterator[FunctionClient]:
    """Dial the function (retrying every 5 ms), Ping it until it answers, and yield a client.

    Both waits end at ``timeout`` seconds from now with ``trio.TooSlowError`` or the last
    ``OSError``. Calls may be made concurrently from several tasks.
    """
    deadline = trio.current_time() + timeout
    with trio.fail_at(deadline):
        stream = await _dial(host, port, deadline)
    rpc = RpcStream(stream, ClientConnection(registry or TypeRegistry(FIRST_USER_ID_LEGACY)))
    client = FunctionClient(rpc)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client._read_replies)
            if ping:
                with trio.fail_at(deadline):
                    await client.ping()
            yield client
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await rpc.aclose()
