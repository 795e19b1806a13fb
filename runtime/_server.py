"""The go1.x function server: net/rpc over gob on 127.0.0.1, as aws-lambda-go's RPC mode serves.

One listener; a nursery per connection; requests read one after another, each valid call handled in
its own task (so ``Function.Ping`` is answered while an invoke runs) and replied to under the
connection's write lock. Error replies for bad requests are sent from the read loop, as Go sends
them. A connection whose header fails to decode is closed once its calls in flight have replied;
the listener and every other connection go on.

One task reads the connection at a time. The task that reads a call answers it itself, after
handing the reading on to a new task, rather than starting a task to answer it and reading on: the
reply then goes out in the same scheduler pass as the call arrived, before the connection is read
again, instead of one pass later and after it. Which task reads next makes no other difference:
each call still runs in a task of its own, in a copy of a context no handler has run in.

A plain ``def`` handler's reply is written by the worker thread that ran it, when nothing else is
being sent on the connection (:meth:`runtime._stream.RpcStream.send_from_thread`): the client has
it one thread switch sooner. The answering task still wakes afterwards, to finish a reply the
kernel took only in part and to count the call answered.

All connections share one :class:`TypeRegistry`, as all encoders in one Go process share the type
table, so type ids are the same on every connection and follow the process's history.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import attrs
import trio

from gobrpc import (
    FIRST_USER_ID_LEGACY,
    BadCall,
    Call,
    ConnectionClosed,
    GoType,
    LocalProtocolError,
    ServerConnection,
    TypeRegistry,
    struct_type,
)

from ._messages import (
    INVOKE,
    METHODS,
    PING,
    InvokeRequest,
    InvokeResponse,
    PingResponse,
    ReplyNow,
)
from ._stream import RpcStream, ThreadSend

__all__ = ["Function", "FunctionServer", "serve_function"]

LISTEN_HOST = "127.0.0.1"
_PING_RESPONSE = struct_type(PingResponse)
_INVOKE_RESPONSE = struct_type(InvokeResponse)


class Function(Protocol):
    """What the server calls for each invoke."""

    async def invoke(self, request: InvokeRequest, reply: ReplyNow | None = None) -> InvokeResponse:
        """Run the handler for one event; never raises for handler errors.

        May offer the response to ``reply`` before returning it, from any thread, once.
        """
        ...


@attrs.define(eq=False)
class FunctionServer:
    """Serves ``function`` to any number of connections.

    ``exit_status`` is set when the server should stop: 0 after SIGTERM, 1 once an invoke's reply
    says ShouldExit, after it was written (or failed to be: the process is no longer fit either
    way, and aws-lambda-go's service would end it).
    """

    function: Function
    registry: TypeRegistry = attrs.field(factory=lambda: TypeRegistry(FIRST_USER_ID_LEGACY))
    exit_status: int | None = None
    _in_flight: int = 0
    #: Set when the last call in flight has been answered; made only when SIGTERM waits for it.
    _idle: trio.Event | None = None
    _stop: trio.Event = attrs.field(factory=trio.Event)
    #: Held around every encode: workers encode replies too, and the registry is shared.
    _encode_lock: threading.Lock = attrs.field(factory=threading.Lock)

    async def handle_connection(self, stream: trio.abc.Stream) -> None:
        """Serve one connection until the peer closes it or its stream breaks."""
        rpc = RpcStream(stream, ServerConnection(self.registry, METHODS), self._encode_lock)
        try:
            async with trio.open_nursery() as nursery:
                await self._read_then_answer(rpc, nursery)
        finally:
            with trio.CancelScope(shield=True):
                await rpc.aclose()

    async def _read_then_answer(
        self, rpc: RpcStream[ServerConnection], nursery: trio.Nursery
    ) -> None:
        """Read requests until one is a call; then start the next reader and answer the call.

        The connection is over when no reader goes on: the nursery then waits for the calls
        still being answered.
        """
        while True:
            try:
                event = await rpc.next_event()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if isinstance(event, ConnectionClosed):
                if event.over_limit:  # Go's server would read on: say why this one did not
                    print(f"lambda-legacy: closing a connection: {event.reason}", file=sys.stderr)
                return
            if isinstance(event, BadCall):
                await self._reply_error(rpc, event)
            elif isinstance(event, Call):
                nursery.start_soon(self._read_then_answer, rpc, nursery)
                await self._answer(rpc, event)
                return

    async def _reply_error(self, rpc: RpcStream[ServerConnection], event: BadCall) -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await rpc.send(lambda c: c.send_error(event.seq, event.service_method, event.error))

    async def _answer(self, rpc: RpcStream[ServerConnection], call: Call) -> None:
        self._in_flight += 1
        body_type: GoType
        body: object
        try:
            if call.service_method == PING:
                body_type, body = _PING_RESPONSE, PingResponse()
                should_exit = False
            else:
                assert call.service_method == INVOKE
                assert isinstance(call.body, InvokeRequest)
                offered: list[ThreadSend | BaseException] = []
                reply_now = self._reply_from_thread(rpc, call, offered)
                response = await self.function.invoke(call.body, reply_now)
                if offered:
                    await self._finish_thread_send(rpc, offered[0])
                    if offered[0] is not ThreadSend.LEFT:
                        return
                body_type, body = _INVOKE_RESPONSE, response
                should_exit = response.error is not None and response.error.should_exit
            # A peer that went away does not make a process that must exit fit again.
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await rpc.send(
                    lambda c: c.send_reply(call.seq, call.service_method, body_type, body)
                )
            if should_exit:
                self.exit_status = 1
                self._stop.set()
        except LocalProtocolError as exc:
            # A reply gob cannot encode: Go's server logs this line and closes the connection,
            # and so does this one; every other connection goes on.
            print(f"rpc: gob error encoding body: {exc}", file=sys.stderr)
            await rpc.aclose()
        finally:
            self._in_flight -= 1
            if self._in_flight == 0 and self._idle is not None:
                self._idle.set()

    @staticmethod
    def _reply_from_thread(
        rpc: RpcStream[ServerConnection], call: Call, offered: list[ThreadSend | BaseException]
    ) -> ReplyNow:
        """The ``reply`` given to the function: sends from the worker, noting what happened."""

        def reply_now(response: InvokeResponse) -> None:
            try:
                offered.append(
                    rpc.send_from_thread(
                        lambda c: c.send_reply(
                            call.seq, call.service_method, _INVOKE_RESPONSE, response
                        )
                    )
                )
            except BaseException as exc:  # raised on trio's side, as before
                offered.append(exc)

        return reply_now

    @staticmethod
    async def _finish_thread_send(
        rpc: RpcStream[ServerConnection], offered: ThreadSend | BaseException
    ) -> None:
        """After a worker offered the reply: raise what encoding raised, or write what is left."""
        if isinstance(offered, BaseException):
            raise offered
        if offered is ThreadSend.PARTIAL:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await rpc.send_tail()

    async def wait_for_stop(self, signals: AsyncIterator[int]) -> int:
        """Wait for SIGTERM from ``signals`` (the calls in flight finish first) or a ShouldExit
        reply; the exit status."""
        async with trio.open_nursery() as nursery:

            async def on_signal() -> None:
                async for _ in signals:
                    if self._in_flight:
                        self._idle = trio.Event()
                        await self._idle.wait()
                    if self.exit_status is None:
                        self.exit_status = 0
                    self._stop.set()
                    return

            nursery.start_soon(on_signal)
            await self._stop.wait()
            nursery.cancel_scope.cancel()
        return self.exit_status if self.exit_status is not None else 0


async def serve_function(
    function: Function,
    port: int,
    *,
    registry: TypeRegistry | None = None,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
    on_listening: Callable[[int], Awaitable[None]] | None = None,
    stop_requests: AsyncIterator[int] | None = None,
) -> int:
    """Listen on 127.0.0.1:``port`` (0 picks a free port) and serve until told to stop.

    ``stop_requests`` yields a number for each SIGTERM caught elsewhere (trio on a thread other
    than the main one cannot catch signals); without it, SIGTERM is caught here.

    Returns the process exit status: 0 after SIGTERM, 1 after a ShouldExit reply.
    """
    server = FunctionServer(function) if registry is None else FunctionServer(function, registry)
    # SIGTERM is caught from before the first connection, so it can never kill a served process.
    receiver = (
        trio.open_signal_receiver(signal.SIGTERM)
        if stop_requests is None
        else contextlib.nullcontext(stop_requests)
    )
    with receiver as signals:
        try:
            # As bytes: a str host goes through the idna codec first, a millisecond of imports
            # before the first Ping.
            listeners = await trio.open_tcp_listeners(port, host=LISTEN_HOST.encode())
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            print(f"listen tcp {LISTEN_HOST}:{port}: bind: {reason}", file=sys.stderr)
            return 1
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, server.handle_connection, listeners)
            task_status.started(listeners)
            if on_listening is not None:
                await on_listening(listeners[0].socket.getsockname()[1])
            status = await server.wait_for_stop(signals)
            nursery.cancel_scope.cancel()
    return status
