"""The go1.x service's side of net/rpc: dial a function, Ping it, Invoke it.

Replies are matched to calls by Seq, so calls may overlap and replies may come back in any order,
as with Go's ``rpc.Client``. There is no reader task: the callers take turns reading. Whoever holds
the receive lock reads events off the connection, keeps the replies meant for other callers where
they will find them, and lets go once its own reply is in. A lone caller (the go1.x service makes
one call at a time) therefore wakes straight from its own read, with no task switch in between.
When the connection ends, every call still waiting fails with the text Go's client gives it:
``unexpected EOF`` if the peer closed mid-reply, the gob error if it sent bytes that do not
decode, ``connection is shut down`` after we closed it ourselves. Since nobody reads between
calls, an end is noticed by the next call.

Dialling and pinging retry every 5 ms until a deadline, as the go1.x service (docker-lambda's mock
of it) does while the function starts: a refused dial is retried, and so is a Ping that comes back
with ``Response.Error`` set. A Ping on a connection that broke is not retried here: the caller
decides whether the process died (see ``lambda_legacy._service``).
"""

from __future__ import annotations

import math
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from gobrpc import (
    DEFAULT_LIMITS,
    FIRST_USER_ID_LEGACY,
    CallFailed,
    ClientConnection,
    ConnectionClosed,
    ErrorReply,
    GoType,
    Limits,
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
from ._socket_io import send_queue_as_go_leaves_it
from ._stream import RpcStream

__all__ = [
    "DIAL_RETRY_INTERVAL",
    "SHUT_DOWN",
    "FunctionClient",
    "connect_function",
    "dial_function",
    "free_port",
    "open_client",
]

#: The go1.x service retries dialling and pinging every 5 ms.
DIAL_RETRY_INTERVAL = 0.005

#: Go's ``rpc.ErrShutdown`` text: the call was made on, or waiting on, a client we closed.
SHUT_DOWN = "connection is shut down"

_PING_REQUEST = struct_type(PingRequest)
_PING_RESPONSE = struct_type(PingResponse)
_INVOKE_REQUEST = struct_type(InvokeRequest)
_INVOKE_RESPONSE = struct_type(InvokeResponse)


class FunctionClient:
    """One net/rpc connection to a go1.x function (made by :func:`open_client`)."""

    def __init__(self, rpc: RpcStream[ClientConnection]) -> None:
        self._rpc = rpc
        self._receive_lock = trio.Lock()
        self._changed = trio.Event()
        #: Callers waiting on :attr:`_changed` (a lone caller never does, and is never woken).
        self._turn_waiters = 0
        self._waiting: set[int] = set()
        self._arrived: dict[int, Reply | ErrorReply | CallFailed] = {}
        self._closed: str | None = None

    @property
    def closed_reason(self) -> str | None:
        """Why the connection ended (Go's client error text), or None if no call saw it end."""
        return self._closed

    def shut_down(self) -> None:
        """Mark the client closed: calls made or waiting from now on fail."""
        self._closed = self._closed or SHUT_DOWN
        self._notify()

    def _notify(self) -> None:
        """Wake the callers waiting for their turn: a reply was filed, or the reader let go."""
        if self._turn_waiters:
            self._changed.set()
            self._changed = trio.Event()

    async def _read_one(self) -> None:
        """Read the next event and file it; the caller holds the receive lock."""
        try:
            event = await self._rpc.next_event()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._closed = self._closed or f"connection broken: {exc!r}"
            return
        if isinstance(event, ConnectionClosed):
            self._closed = self._closed or event.reason or "unexpected EOF"
            return
        assert isinstance(event, Reply | ErrorReply | CallFailed), event
        if event.seq in self._waiting:
            self._arrived[event.seq] = event
        if isinstance(event, CallFailed):
            # Go's client stops reading after a body it cannot decode.
            self._closed = self._closed or event.error

    async def _reply_to(self, seq: int) -> Reply | ErrorReply | CallFailed | None:
        """Wait for call ``seq``'s reply, reading when nobody else is; None if it ended first."""
        while True:
            if seq in self._arrived:
                return self._arrived.pop(seq)
            if self._closed is not None:
                return None
            try:
                self._receive_lock.acquire_nowait()
            except trio.WouldBlock:
                self._turn_waiters += 1
                try:
                    await self._changed.wait()
                finally:
                    self._turn_waiters -= 1
                continue
            try:
                await self._read_one()
            finally:
                self._receive_lock.release()
                self._notify()

    async def call(
        self, service_method: str, body_type: GoType, body: object, reply_type: GoType
    ) -> object:
        """Make one call and wait for its reply.

        Raises:
            RemoteCallError: the server set ``Response.Error`` (Go's ``ServerError``).
            trio.BrokenResourceError: the connection ended before the reply; the message is Go's
                client error text (``unexpected EOF``, ``reading body <gob error>``, ...).
        """
        if self._closed is not None:
            raise trio.BrokenResourceError(self._closed)
        seq_box: list[int] = []

        def produce(connection: ClientConnection) -> bytes:
            seq, data = connection.send_call(service_method, body_type, body, reply_type)
            seq_box.append(seq)
            self._waiting.add(seq)
            return data

        try:
            try:
                await self._rpc.send(produce)
            except trio.BrokenResourceError as exc:  # later calls fail with the same reason
                self._closed = self._closed or f"connection broken: {exc!r}"
                self._notify()
                raise
            result = await self._reply_to(seq_box[0])
        finally:
            if seq_box:
                self._waiting.discard(seq_box[0])
                self._arrived.pop(seq_box[0], None)
        if isinstance(result, Reply):
            return result.body
        if isinstance(result, ErrorReply):
            raise RemoteCallError(result.error)
        if isinstance(result, CallFailed):
            raise trio.BrokenResourceError(result.error)
        raise trio.BrokenResourceError(self._closed or "unexpected EOF")

    async def ping(self) -> None:
        """Call ``Function.Ping`` once."""
        await self.call(PING, _PING_REQUEST, PingRequest(), _PING_RESPONSE)

    async def ping_until_answered(self) -> None:
        """Call ``Function.Ping`` every 5 ms until one succeeds, as the go1.x service does.

        Only a Ping answered with ``Response.Error`` is retried; bound the wait with a cancel
        scope. Raises ``trio.BrokenResourceError`` if the connection ends.
        """
        while True:
            try:
                await self.ping()
            except RemoteCallError:
                await trio.sleep(DIAL_RETRY_INTERVAL)
            else:
                return

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        """Call ``Function.Invoke``; a function error comes back inside the response."""
        reply = await self.call(INVOKE, _INVOKE_REQUEST, request, _INVOKE_RESPONSE)
        if not isinstance(reply, InvokeResponse):
            raise trio.BrokenResourceError(f"unexpected reply body {reply!r:.80}")
        return reply


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago, for a function to listen on."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


async def dial_function(port: int, *, host: str = "127.0.0.1") -> trio.SocketStream:
    """Dial ``host:port``, retrying every 5 ms for as long as the dial fails with ``OSError``.

    It never gives up by itself: bound it with a cancel scope (the go1.x service gives up when the
    function's timeout has passed).
    """
    while True:
        try:
            stream = await trio.open_tcp_stream(host, port)
        except OSError:
            await trio.sleep(DIAL_RETRY_INTERVAL)
            continue
        if not _connected_to_itself(stream.socket):
            send_queue_as_go_leaves_it(stream)
            return stream
        # Nothing listens yet and the kernel gave our socket the very port we dialled: TCP's
        # simultaneous open connected it to itself. Go's net.Dial retries in this case too.
        await stream.aclose()
        await trio.sleep(DIAL_RETRY_INTERVAL)


def _connected_to_itself(sock: trio.socket.SocketType) -> bool:
    try:
        return bool(sock.getsockname() == sock.getpeername())
    except OSError:
        return False


@asynccontextmanager
async def open_client(
    stream: trio.abc.Stream,
    *,
    registry: TypeRegistry | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> AsyncIterator[FunctionClient]:
    """A :class:`FunctionClient` over ``stream``, for the duration of the block.

    ``registry`` is the caller's process-wide type table (Go's service has one per process, shared
    by all its connections); a fresh one numbering from 65 if omitted. ``limits`` bound what the
    replies may hold. The stream is closed on exit, and calls still waiting fail with
    ``connection is shut down``.
    """
    connection = ClientConnection(registry or TypeRegistry(FIRST_USER_ID_LEGACY), limits)
    rpc = RpcStream(stream, connection)
    client = FunctionClient(rpc)
    try:
        yield client
    finally:
        client.shut_down()
        with trio.CancelScope(shield=True):
            await rpc.aclose()


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

    Both waits together end at ``timeout`` seconds from now with ``trio.TooSlowError``. Calls may
    be made concurrently from several tasks.
    """
    deadline = trio.current_time() + timeout
    with trio.fail_at(deadline):
        stream = await dial_function(port, host=host)
    async with open_client(stream, registry=registry) as client:
        if ping:
            with trio.fail_at(deadline):
                await client.ping_until_answered()
        yield client
