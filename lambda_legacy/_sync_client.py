"""A blocking client for a go1.x function: the sans-IO net/rpc connection over a plain socket.

For harnesses that are not written on trio (plain pytest, scripts). It makes one call at a time:
send the call's bytes, then read until the reply to that call's Seq has arrived. Calls made from
several threads take turns (:meth:`BlockingFunctionClient.turn`, held for the whole call), so none
reads away another's reply; a thread waits its turn at most as long as it would wait for a read.
The wire work is gobrpc's :class:`~gobrpc.ClientConnection`, the same object the trio client
drives, so the bytes are identical; only the I/O differs.

Errors are the builtin ones a socket user expects: ``ConnectionError`` when the connection ends
before the reply (the message is Go's client error text, e.g. ``unexpected EOF``), and
``TimeoutError`` when a call outlives the client's I/O timeout, after which the client is closed
because the conversation's state is unknown.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import NoReturn

from gobrpc import (
    FIRST_USER_ID_LEGACY,
    CallFailed,
    ClientConnection,
    ConnectionClosed,
    ErrorReply,
    GoType,
    NeedData,
    RemoteCallError,
    Reply,
    TypeRegistry,
    struct_type,
)
from runtime._client import DIAL_RETRY_INTERVAL, SHUT_DOWN
from runtime._messages import (
    INVOKE,
    PING,
    InvokeRequest,
    InvokeResponse,
    PingRequest,
    PingResponse,
)

__all__ = ["BlockingFunctionClient", "dial_blocking"]

#: How much to ask ``recv`` for at once (as ``runtime._socket_io.RECEIVE_SIZE``).
RECEIVE_SIZE = 64 * 1024


def dial_blocking(host: str, port: int, deadline: float) -> socket.socket:
    """Connect, retrying every 5 ms while the dial fails, until ``deadline`` (``time.monotonic``).

    Raises:
        TimeoutError: the deadline passed; chained to the last dial error.
    """
    while True:
        try:
            sock = socket.create_connection(
                (host, port), timeout=max(deadline - time.monotonic(), 0)
            )
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"nothing accepted a connection on {host}:{port}") from exc
            time.sleep(DIAL_RETRY_INTERVAL)
        else:
            if sock.getsockname() != sock.getpeername():
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            # Connected to itself (TCP simultaneous open on a port nobody listens on yet).
            sock.close()
            time.sleep(DIAL_RETRY_INTERVAL)


class BlockingFunctionClient:
    """Ping and Invoke over one blocking socket, one call at a time."""

    def __init__(self, sock: socket.socket, *, registry: TypeRegistry | None = None) -> None:
        self._sock: socket.socket | None = sock
        self._connection = ClientConnection(registry or TypeRegistry(FIRST_USER_ID_LEGACY))
        self._closed_reason: str | None = None
        #: Held for a whole call: one call on the connection at a time, whichever thread makes it.
        #: Reentrant: a call a signal handler makes on the calling thread still goes through.
        self._turn = threading.RLock()

    @contextlib.contextmanager
    def turn(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the connection for one call, and for what the caller does just before it (an
        invoke's deadline is "now + timeout" when its turn comes, not when it started waiting).

        Raises:
            TimeoutError: another thread's call held the connection for ``timeout`` seconds;
                this client stays open.
        """
        if not self._turn.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"another thread's call held this connection for {timeout:g} s")
        try:
            yield
        finally:
            self._turn.release()

    def close(self) -> None:
        """Close the socket; later calls fail with ``connection is shut down``."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._closed_reason = self._closed_reason or SHUT_DOWN

    def call(
        self,
        service_method: str,
        body_type: GoType,
        body: object,
        reply_type: GoType,
        *,
        timeout: float | None = None,
    ) -> object:
        """Make one call and wait (at most ``timeout`` seconds for each read) for its reply.

        Raises:
            RemoteCallError: the server set ``Response.Error``.
            ConnectionError: the connection ended first; Go's client error text.
            TimeoutError: the reply did not come in time; the client is closed. Or another
                thread's call kept the connection that long (see :meth:`turn`).
        """
        with self.turn(timeout):
            return self._call(service_method, body_type, body, reply_type, timeout)

    def _call(
        self,
        service_method: str,
        body_type: GoType,
        body: object,
        reply_type: GoType,
        timeout: float | None,
    ) -> object:
        sock = self._sock
        if sock is None or self._closed_reason is not None:
            raise ConnectionError(self._closed_reason or SHUT_DOWN)
        seq, data = self._connection.send_call(service_method, body_type, body, reply_type)
        sock.settimeout(timeout)
        try:
            sock.sendall(data)
            event = self._reply_to(seq, sock)
        except TimeoutError:
            self.close()
            raise
        except OSError as exc:
            self._fail(f"connection broken: {exc!r}")
        if isinstance(event, Reply):
            return event.body
        if isinstance(event, ErrorReply):
            raise RemoteCallError(event.error)
        if isinstance(event, CallFailed):
            self._fail(event.error)
        return self._fail(event.reason or "unexpected EOF")

    def _reply_to(
        self, seq: int, sock: socket.socket
    ) -> Reply | ErrorReply | CallFailed | ConnectionClosed:
        while True:
            event = self._connection.next_event()
            if isinstance(event, NeedData):
                self._connection.receive_data(sock.recv(RECEIVE_SIZE))
            elif isinstance(event, ConnectionClosed) or event.seq == seq:
                return event
            # else: a reply nobody waits for; Go's client discards it too

    def _fail(self, reason: str) -> NoReturn:
        self.close()
        self._closed_reason = reason
        raise ConnectionError(reason)

    def ping(self, *, timeout: float | None = None) -> None:
        """Call ``Function.Ping`` once."""
        self.call(
            PING,
            struct_type(PingRequest),
            PingRequest(),
            struct_type(PingResponse),
            timeout=timeout,
        )

    def ping_until_answered(self, deadline: float) -> None:
        """Ping every 5 ms until one is answered or ``deadline`` (``time.monotonic``) passes.

        Raises:
            TimeoutError: the deadline passed first.
            ConnectionError: the connection ended.
        """
        while True:
            try:
                self.ping(timeout=max(deadline - time.monotonic(), 0.001))
            except RemoteCallError as exc:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"Function.Ping kept failing: {exc}") from exc
                time.sleep(DIAL_RETRY_INTERVAL)
            else:
                return

    def invoke(self, request: InvokeRequest, *, timeout: float | None = None) -> InvokeResponse:
        """Call ``Function.Invoke``; a function error comes back inside the response."""
        reply = self.call(
            INVOKE,
            struct_type(InvokeRequest),
            request,
            struct_type(InvokeResponse),
            timeout=timeout,
        )
        if not isinstance(reply, InvokeResponse):
            self._fail(f"unexpected reply body {reply!r:.80}")
        return reply
