"""The Lambda Runtime API client with blocking sockets, for Runtime API mode.

A runtime serves one invoke at a time: ask for the next event, run the handler, post its
result. awslambdaric does all three on the main thread with blocking HTTP calls, and so does
this client: no event loop to start (``import trio`` alone costs more than the rest of start-up)
and no hand-off between threads on the invoke's critical path. The HTTP is h11's
(:mod:`runtime._runtime_api_http`, shared with the bridge's trio client); this module only moves
the bytes: one ``sendmsg`` per request, ``recv`` until h11 has the whole answer, TCP_NODELAY set
as trio sets it.

A wait for the next event is an ordinary blocking ``recv``: a signal interrupts it only if its
handler raises, as in any Python program (PEP 475).
"""

from __future__ import annotations

import socket

import attrs
import h11

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

__all__ = ["BlockingRuntimeApiClient"]

#: How much to read at once: as the trio side reads (``runtime._socket_io.RECEIVE_SIZE``), so a
#: 6 MB event arrives in about a hundred reads.
RECEIVE_SIZE = 64 * 1024

# What ends a call as RuntimeApiError: the connection, or the HTTP on it, failed (UnicodeError:
# text that cannot be written as bytes, such as a lone surrogate in a request id).
_FAILURES = (ConnectionLostError, OSError, h11.ProtocolError, UnicodeError)


@attrs.define(eq=False)
class BlockingRuntimeApiClient:
    """A keep-alive HTTP/1.1 client with a blocking socket, for one Runtime API address.

    The same calls, answers and errors as :class:`runtime._runtime_api_client.RuntimeApiClient`
    (each raises :class:`~runtime._runtime_api_http.RuntimeApiError` on an unexpected status or
    a failed connection); one caller at a time.
    """

    address: str
    user_agent: str = "lambda-legacy"
    _sock: socket.socket | None = None
    _conn: h11.Connection | None = None
    _fresh: bool = False
    _requests: RuntimeApiRequests = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._requests = RuntimeApiRequests(self.address, self.user_agent)

    def next_invocation(self) -> Invocation:
        """``GET invocation/next``: wait for the next event."""
        return Invocation.from_response(self._call(self._requests.next_call()))

    def post_response(
        self, request_id: str, body: bytes, content_type: str, *, invocation_id: str | None = None
    ) -> None:
        """``POST invocation/<id>/response`` (:meth:`RuntimeApiRequests.response_call`)."""
        self._call(self._requests.response_call(request_id, body, content_type, invocation_id))

    def post_error(
        self,
        request_id: str,
        body: bytes,
        *,
        xray_cause: bytes | None,
        invocation_id: str | None = None,
    ) -> None:
        """``POST invocation/<id>/error`` (:meth:`RuntimeApiRequests.error_call`)."""
        self._call(self._requests.error_call(request_id, body, xray_cause, invocation_id))

    def post_init_error(self, body: bytes, *, error_type: str) -> None:
        """``POST init/error`` (:meth:`RuntimeApiRequests.init_error_call`)."""
        self._call(self._requests.init_error_call(body, error_type))

    def close(self) -> None:
        """Close the connection, if one is open."""
        sock, self._sock, self._conn = self._sock, None, None
        if sock is not None:
            sock.close()

    def _call(self, call: ApiCall) -> RuntimeApiResponse:
        """Send ``call``, read its whole answer, and check its status."""
        try:
            try:
                response = self._exchange(call)
            except ConnectionLostError:
                if self._fresh:
                    raise
                self.close()  # the server closed a kept-alive connection: try once more
                response = self._exchange(call)
        except _FAILURES as exc:
            self.close()
            raise self._requests.failed(call, exc) from exc
        return self._requests.checked(call, response)

    def _connect(self) -> tuple[socket.socket, h11.Connection]:
        if self._sock is not None and self._conn is not None:
            if reusable(self._conn):
                self._fresh = False
                return self._sock, self._conn
            self.close()
        host, port = split_address(self.address)
        # No timeout, whatever socket.setdefaulttimeout a handler's module set: the wait for an
        # event has no bound, and a timed-out wait would look like a connection the API closed.
        sock = socket.create_connection((host, port), timeout=None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._conn, self._fresh = sock, new_connection(), True
        return sock, self._conn

    def _exchange(self, call: ApiCall) -> RuntimeApiResponse:
        """Write the request in one ``sendmsg``, then read the whole answer."""
        sock, conn = self._connect()
        pieces = request_pieces(conn, call)
        try:
            _send_all(sock, pieces)
        except OSError as exc:
            raise ConnectionLostError(str(exc)) from exc
        answer = ResponseAssembly()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = sock.recv(RECEIVE_SIZE)
                except OSError as exc:
                    if not answer.received:
                        raise ConnectionLostError(str(exc)) from exc
                    raise
                answer.data(data)
                conn.receive_data(data)
            elif (response := answer.event(conn, event)) is not None:
                return response


def _send_all(sock: socket.socket, pieces: list[bytes]) -> None:
    """Write every piece, in one ``sendmsg`` when the kernel takes them all at once."""
    views = [memoryview(piece) for piece in pieces]
    while views:
        sent = sock.sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views.pop(0))
        if views and sent:
            views[0] = views[0][sent:]
