"""A scripted Lambda Runtime API on 127.0.0.1, for in-process tests of the Runtime API loop and
client.

An HTTP/1.1 server (h11 in the SERVER role) that records, for every request, the connection it
came on, its headers and body, the raw bytes of each connection, and whether more bytes were
already waiting behind the request when it was complete (a client that sends its next request
before the answer, in the same write, leaves them there). It can misbehave: refuse a POST or a
``/next``, close a connection after an answer, say ``Connection: close``, hang up without
answering, or hold the first event until the test lets it go.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import attrs
import h11
import trio

from runtime._runtime_api_blocking import BlockingRuntimeApiClient
from runtime._runtime_api_client import RuntimeApiClient
from runtime._runtime_api_http import Invocation

__all__ = [
    "CLIENT_KINDS",
    "READ_SIZE",
    "TEST_TIMEOUT_S",
    "ApiClient",
    "ScriptedApi",
    "Seen",
    "api_client",
    "scripted",
    "scripted_address",
]

#: The two Runtime API clients: trio's (the bridge's) and the blocking one (Runtime API mode's).
CLIENT_KINDS = ("trio", "blocking")

#: Bounds every test: a client that waits for an answer the server never sends fails, not hangs.
TEST_TIMEOUT_S = 20.0
#: How much the server reads at once.
READ_SIZE = 1 << 20


@attrs.frozen
class Seen:
    """One request: which connection (0, 1, ...), method, target, headers (names lowercased),
    body, and whether bytes of another request were already there, unread, when this one was
    complete."""

    connection: int
    method: str
    target: str
    headers: dict[bytes, bytes]
    body: bytes
    more_was_there: bool


@attrs.define(eq=False)
class ScriptedApi:
    """Answers ``/next`` with ``events`` (headers, body) in order, or when none are given with
    events ``r1``, ``r2``, ... (body ``{"n": N}``) without end; POSTs with ``post_status``.

    Once given events run out, ``drained`` is set and the next ``/next`` is never answered.
    """

    events: list[tuple[dict[str, str], bytes]] | None = None
    next_status: int = 200
    post_status: int = 202
    #: The connection is closed after answering these methods.
    close_after: frozenset[str] = frozenset()
    connection_close_on_post: bool = False
    #: Answer this many requests in all, then hang up on every later one without answering.
    answers_before_hang_up: int | None = None
    #: The first event is held back until this is set.
    hold_first_event: trio.Event | None = None
    seen: list[Seen] = attrs.field(factory=list)
    received: list[bytearray] = attrs.field(factory=list)
    answered: int = 0
    served_events: int = 0
    drained: trio.Event = attrs.field(factory=trio.Event)

    async def serve(self, stream: trio.SocketStream) -> None:
        index = len(self.received)
        raw = bytearray()
        self.received.append(raw)
        # Heads up to 2 MiB: a runtime may send an X-Ray cause of up to 1 MiB, as RIE takes.
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=2 << 20)
        try:
            while True:
                received = await self._request(stream, conn, raw)
                if received is None:
                    return
                request, body = received
                more = self._read_what_is_there(stream, conn, raw)
                method, target = request.method.decode(), request.target.decode()
                self.seen.append(Seen(index, method, target, dict(request.headers), body, more))
                limit = self.answers_before_hang_up
                if limit is not None and self.answered >= limit:
                    return
                self.answered += 1
                hold = self.hold_first_event
                if method == "GET" and hold is not None and self.served_events == 0:
                    await hold.wait()
                status, headers, reply = await self._answer(method)
                out = conn.send(h11.Response(status_code=status, headers=headers))
                out += conn.send(h11.Data(data=reply)) + conn.send(h11.EndOfMessage())
                await stream.send_all(out)  # one write: the client wakes to the whole answer
                if method in self.close_after or conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, h11.RemoteProtocolError):
            return
        finally:
            await stream.aclose()

    @staticmethod
    async def _request(
        stream: trio.SocketStream, conn: h11.Connection, raw: bytearray
    ) -> tuple[h11.Request, bytes] | None:
        request = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(READ_SIZE)
                raw += data
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                return request, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                return None

    @staticmethod
    def _read_what_is_there(
        stream: trio.SocketStream, conn: h11.Connection, raw: bytearray
    ) -> bool:
        """Whether bytes beyond the complete request are already there. The client writes a
        request in one write, so on 127.0.0.1 anything sent in that write has arrived."""
        try:
            data = os.read(stream.socket.fileno(), READ_SIZE)
        except BlockingIOError:
            data = None
        if data:
            raw += data
            conn.receive_data(data)
        return bool(conn.trailing_data[0])

    async def _answer(self, method: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if method == "GET":
            if self.next_status != 200:
                return self.next_status, [("Content-Length", "2")], b"{}"
            headers, body = await self._next_event()
        else:
            headers = [("Content-Type", "application/json")]
            if self.connection_close_on_post:
                headers.append(("Connection", "close"))
            body = b'{"status":"OK"}'
        headers.append(("Content-Length", str(len(body))))
        return (200 if method == "GET" else self.post_status), headers, body

    async def _next_event(self) -> tuple[list[tuple[str, str]], bytes]:
        self.served_events += 1
        if self.events is None:
            headers = [
                ("Lambda-Runtime-Aws-Request-Id", f"r{self.served_events}"),
                ("Content-Type", "application/json"),
            ]
            return headers, b'{"n": %d}' % self.served_events
        if not self.events:
            self.drained.set()
            await trio.sleep_forever()
        given, body = self.events.pop(0)
        return list(given.items()), body


@asynccontextmanager
async def scripted_address(api: ScriptedApi) -> AsyncIterator[str]:
    with trio.fail_after(TEST_TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            nursery.start_soon(trio.serve_listeners, api.serve, listeners)
            yield f"127.0.0.1:{listeners[0].socket.getsockname()[1]}"
            nursery.cancel_scope.cancel()


class ApiClient(Protocol):
    """What the tests call on either Runtime API client."""

    @property
    def address(self) -> str: ...

    async def next_invocation(self) -> Invocation: ...

    async def post_response(
        self, request_id: str, body: bytes, content_type: str, *, invocation_id: str | None = None
    ) -> None: ...

    async def post_error(
        self,
        request_id: str,
        body: bytes,
        *,
        xray_cause: bytes | None,
        invocation_id: str | None = None,
    ) -> None: ...

    async def post_init_error(self, body: bytes, *, error_type: str) -> None: ...

    async def aclose(self) -> None: ...


@attrs.frozen
class ThreadedBlockingClient:
    """The blocking client with each call made in a worker thread, so that a trio test drives
    it as it drives the trio client, while the scripted API answers on trio."""

    client: BlockingRuntimeApiClient

    @property
    def address(self) -> str:
        return self.client.address

    async def next_invocation(self) -> Invocation:
        return await trio.to_thread.run_sync(self.client.next_invocation)

    async def post_response(
        self, request_id: str, body: bytes, content_type: str, *, invocation_id: str | None = None
    ) -> None:
        post = functools.partial(
            self.client.post_response, request_id, body, content_type, invocation_id=invocation_id
        )
        await trio.to_thread.run_sync(post)

    async def post_error(
        self,
        request_id: str,
        body: bytes,
        *,
        xray_cause: bytes | None,
        invocation_id: str | None = None,
    ) -> None:
        post = functools.partial(
            self.client.post_error,
            request_id,
            body,
            xray_cause=xray_cause,
            invocation_id=invocation_id,
        )
        await trio.to_thread.run_sync(post)

    async def post_init_error(self, body: bytes, *, error_type: str) -> None:
        post = functools.partial(self.client.post_init_error, body, error_type=error_type)
        await trio.to_thread.run_sync(post)

    async def aclose(self) -> None:
        self.client.close()
        await trio.lowlevel.checkpoint()


def api_client(kind: str, address: str) -> ApiClient:
    """A client of ``kind`` (one of :data:`CLIENT_KINDS`) for the API at ``address``."""
    if kind == "trio":
        return RuntimeApiClient(address)
    return ThreadedBlockingClient(BlockingRuntimeApiClient(address))


@asynccontextmanager
async def scripted(api: ScriptedApi, kind: str = "trio") -> AsyncIterator[ApiClient]:
    async with scripted_address(api) as address:
        client = api_client(kind, address)
        try:
            yield client
        finally:
            await client.aclose()
