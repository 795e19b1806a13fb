"""The Lambda Runtime API client on trio, for the bridge: h11 does the protocol
(:mod:`runtime._runtime_api_http`), trio does the I/O.

Each event crosses this module twice on the invoke's critical path (its ``/next`` answer in, the
result out), so the I/O skips what trio's stream methods add to every call:

- A request goes out in one ``writev`` straight to the non-blocking descriptor; only what the
  kernel does not take at once goes through ``send_all``. Cancellation is checked before h11
  renders the request, so a cancelled call sends nothing and the connection stays usable.
- An answer is read straight from the descriptor with one schedule point per read, as
  ``runtime/_stream.py`` reads gob (:func:`runtime._socket_io.receive_some`: a cancelled reader
  consumes nothing). ``SocketStream`` takes two schedule points per send and two per receive.
  TCP_NODELAY is trio's default; its 16 KiB ``TCP_NOTSENT_LOWAT`` is not kept
  (:func:`runtime._socket_io.send_queue_as_go_leaves_it`).

httpx (on trio through anyio) was measured against this and was slower per invoke; see
``benchmarks/runtime_api_client.py``.
"""

from __future__ import annotations

import attrs
import h11
import trio

from ._runtime_api_http import (
    ApiCall,
    ConnectionLostError,
    Invocation,
    ResponseAssembly,
    RuntimeApiRequests,
    RuntimeApiResponse,
    new_connection,
    request_pieces,
    reusable,
    split_address,
)
from ._socket_io import descriptor, receive_some, send_queue_as_go_leaves_it, writev_now

__all__ = ["RuntimeApiClient"]

# What ends a call as RuntimeApiError: the connection, or the HTTP on it, failed (UnicodeError:
# text that cannot be written as bytes, such as a lone surrogate in a request id).
_FAILURES = (
    ConnectionLostError,
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    h11.ProtocolError,
    UnicodeError,
)


@attrs.define(eq=False)
class RuntimeApiClient:
    """A keep-alive HTTP/1.1 client on trio for one Runtime API address (``host:port``).

    Not safe for concurrent use: calls are made one after another, as a runtime makes them.
    Each returns once the server's whole answer is read and its status checked, and raises
    :class:`RuntimeApiError` if the status is not the expected one or the connection failed.
    """

    address: str
    user_agent: str = "lambda-legacy"
    _stream: trio.SocketStream | None = None
    _conn: h11.Connection | None = None
    _fresh: bool = False
    _requests: RuntimeApiRequests = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._requests = RuntimeApiRequests(self.address, self.user_agent)

    async def next_invocation(self) -> Invocation:
        """``GET invocation/next``: wait for the next event."""
        return Invocation.from_response(await self._call(self._requests.next_call()))

    async def post_response(
        self, request_id: str, body: bytes, content_type: str, *, invocation_id: str | None = None
    ) -> None:
        """``POST invocation/<id>/response`` (:meth:`RuntimeApiRequests.response_call`)."""
        await self._call(
            self._requests.response_call(request_id, body, content_type, invocation_id)
        )

    async def post_error(
        self,
        request_id: str,
        body: bytes,
        *,
        xray_cause: bytes | None,
        invocation_id: str | None = None,
    ) -> None:
        """``POST invocation/<id>/error`` (:meth:`RuntimeApiRequests.error_call`)."""
        await self._call(self._requests.error_call(request_id, body, xray_cause, invocation_id))

    async def post_init_error(self, body: bytes, *, error_type: str) -> None:
        """``POST init/error`` (:meth:`RuntimeApiRequests.init_error_call`)."""
        await self._call(self._requests.init_error_call(body, error_type))

    async def aclose(self) -> None:
        """Close the connection, if one is open."""
        self._drop()
        await trio.lowlevel.checkpoint()

    async def _call(self, call: ApiCall) -> RuntimeApiResponse:
        """Send ``call``, read its whole answer, and check its status."""
        try:
            try:
                response = await self._exchange(call)
            except ConnectionLostError:
                if self._fresh:
                    raise
                self._drop()  # the server closed a kept-alive connection: try once more
                response = await self._exchange(call)
        except _FAILURES as exc:
            self._drop()
            raise self._requests.failed(call, exc) from exc
        return self._requests.checked(call, response)

    def _drop(self) -> None:
        """Close the connection now (a socket closes without waiting)."""
        stream, self._stream, self._conn = self._stream, None, None
        if stream is not None:
            stream.socket.close()

    async def _connect(self) -> tuple[trio.SocketStream, h11.Connection]:
        if self._stream is not None and self._conn is not None:
            if reusable(self._conn):
                self._fresh = False
                return self._stream, self._conn
            self._drop()
        host, port = split_address(self.address)
        self._stream = await trio.open_tcp_stream(host, port)
        send_queue_as_go_leaves_it(self._stream)
        self._conn = new_connection()
        self._fresh = True
        return self._stream, self._conn

    async def _exchange(self, call: ApiCall) -> RuntimeApiResponse:
        """Write the request in one write, then read the whole answer."""
        stream, conn = await self._connect()
        # Before h11 moves on: a cancelled call sends nothing and leaves the connection usable.
        await trio.lowlevel.checkpoint_if_cancelled()
        pieces = request_pieces(conn, call)
        try:
            for piece in writev_now(descriptor(stream.socket), pieces):
                await stream.send_all(piece)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ConnectionLostError(str(exc)) from exc
        return await _read_response(stream.socket, conn)


async def _read_response(sock: trio.socket.SocketType, conn: h11.Connection) -> RuntimeApiResponse:
    """Read one whole answer."""
    answer = ResponseAssembly()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await receive_some(sock)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                if not answer.received:
                    raise ConnectionLostError(str(exc)) from exc
                raise
            answer.data(data)
            conn.receive_data(data)
        elif (response := answer.event(conn, event)) is not None:
            return response
