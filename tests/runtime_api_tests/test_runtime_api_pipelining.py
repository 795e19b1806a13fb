"""The Runtime API client's pipelined ``/next``: sent with the result, its answer read after.

A scripted HTTP/1.1 server on 127.0.0.1 (h11 in the SERVER role) records, for every request, the
connection it came on and whether the next request had already arrived when it was complete,
and can misbehave: answer a POST with an error, close a connection after an answer, or say
``Connection: close``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import h11
import pytest
import trio

from runtime._runtime_api_client import PIPELINE_LIMIT, RuntimeApiClient, RuntimeApiError

NEXT = "/2018-06-01/runtime/invocation/next"
#: How long the server looks for a request behind a complete POST before answering it. A
#: pipelined one is sent in the same write, so it is there at once; a client that waits for the
#: 202 sends nothing, and this is how long it waits.
PIPELINED_WAIT_S = 0.3
#: Bounds every test: a client that waits for an answer the server never sends fails, not hangs.
TEST_TIMEOUT_S = 20.0


@attrs.frozen
class Seen:
    """One request: which connection (0, 1, ...), method, target, and whether the next request
    was already there, unread, when this one was complete."""

    connection: int
    method: str
    target: str
    next_was_there: bool
    headers: dict[bytes, bytes]


@attrs.define(eq=False)
class ScriptedApi:
    """Answers ``/next`` with events ``r1``, ``r2``, ... and POSTs with ``post_status``."""

    post_status: int = 202
    close_after: frozenset[str] = frozenset()
    connection_close_on_post: bool = False
    seen: list[Seen] = attrs.field(factory=list)
    connections: int = 0
    served_events: int = 0

    async def serve(self, stream: trio.SocketStream) -> None:
        index, self.connections = self.connections, self.connections + 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._request(stream, conn)
                if request is None:
                    return
                method, target = request.method.decode(), request.target.decode()
                if method == "POST":
                    await self._wait_for_more(stream, conn)
                there = bool(conn.trailing_data[0])
                self.seen.append(Seen(index, method, target, there, dict(request.headers)))
                status, headers, body = self._answer(method)
                out = conn.send(h11.Response(status_code=status, headers=headers))
                out += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
                await stream.send_all(out)
                if method in self.close_after or conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, h11.RemoteProtocolError):
            return
        finally:
            await stream.aclose()

    @staticmethod
    async def _request(stream: trio.SocketStream, conn: h11.Connection) -> h11.Request | None:
        request = None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(1 << 20))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.EndOfMessage):
                return request
            elif isinstance(event, h11.ConnectionClosed):
                return None

    @staticmethod
    async def _wait_for_more(stream: trio.SocketStream, conn: h11.Connection) -> None:
        """Read what comes behind a complete POST, for a moment, so that ``trailing_data``
        shows whether the next request came in the same write (then it is there at once)."""
        if conn.trailing_data[0] or conn.trailing_data[1]:
            return
        with trio.move_on_after(PIPELINED_WAIT_S):
            conn.receive_data(await stream.receive_some(1 << 20))

    def _answer(self, method: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if method == "GET":
            self.served_events += 1
            request_id = f"r{self.served_events}"
            headers = [
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Content-Type", "application/json"),
            ]
            body = b'{"n": %d}' % self.served_events
        else:
            headers = [("Content-Type", "application/json")]
            if self.connection_close_on_post:
                headers.append(("Connection", "close"))
            body = b'{"status":"OK"}'
        headers.append(("Content-Length", str(len(body))))
        return (200 if method == "GET" else self.post_status), headers, body


@asynccontextmanager
async def scripted(api: ScriptedApi) -> AsyncIterator[RuntimeApiClient]:
    with trio.fail_after(TEST_TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            nursery.start_soon(trio.serve_listeners, api.serve, listeners)
            port = listeners[0].socket.getsockname()[1]
            client = RuntimeApiClient(f"127.0.0.1:{port}")
            try:
                yield client
            finally:
                await client.aclose()
                nursery.cancel_scope.cancel()


def _calls(api: ScriptedApi) -> list[tuple[int, str, str]]:
    return [(s.connection, s.method, s.target) for s in api.seen]


def _response(request_id: str) -> str:
    return f"/2018-06-01/runtime/invocation/{request_id}/response"


async def test_next_is_sent_with_the_result_and_read_after_it() -> None:
    api = ScriptedApi()
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json", then_next=True)
        second = await client.next_invocation()
        await client.post_error(second.request_id, b"{}", xray_cause=None, then_next=True)
        third = await client.next_invocation()
    assert [(i.request_id, i.body) for i in (first, second, third)] == [
        ("r1", b'{"n": 1}'),
        ("r2", b'{"n": 2}'),
        ("r3", b'{"n": 3}'),
    ]
    assert _calls(api) == [
        (0, "GET", NEXT),
        (0, "POST", _response("r1")),
        (0, "GET", NEXT),
        (0, "POST", "/2018-06-01/runtime/invocation/r2/error"),
        (0, "GET", NEXT),
    ]
    # Each POST was complete with the GET already behind it: both came in one write.
    assert [s.next_was_there for s in api.seen if s.method == "POST"] == [True, True]


async def test_without_then_next_the_client_waits_for_the_202() -> None:
    api = ScriptedApi()
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json")
        await client.next_invocation()
    assert [s.next_was_there for s in api.seen if s.method == "POST"] == [False]


async def test_error_answer_to_a_pipelined_post_is_raised_by_next_invocation() -> None:
    api = ScriptedApi(post_status=500)
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json", then_next=True)
        with pytest.raises(RuntimeApiError) as caught:
            await client.next_invocation()
        address = client.address
    assert str(caught.value) == (
        f"failed to POST to http://{address}{_response('r1')}: got unexpected status code: 500"
    )


async def test_a_body_over_the_limit_is_posted_alone() -> None:
    api = ScriptedApi(post_status=500)
    body = b"x" * (PIPELINE_LIMIT + 1)
    async with scripted(api) as client:
        first = await client.next_invocation()
        with pytest.raises(RuntimeApiError, match="got unexpected status code: 500"):
            await client.post_response(first.request_id, body, "application/json", then_next=True)
    assert [s.next_was_there for s in api.seen if s.method == "POST"] == [False]
    assert _calls(api)[-1][1] == "POST"  # no other event was asked for


@pytest.mark.parametrize(
    ("closes_after", "expected_connections"),
    [
        # The pipelined GET died with the connection after the 202: asked for on a fresh one.
        (frozenset({"POST"}), [0, 0, 1]),
        # The kept-alive connection was gone before the POST: the POST alone on a fresh one,
        # then the GET on that one.
        (frozenset({"GET"}), [0, 1, 1]),
    ],
)
async def test_connections_closed_by_the_server_are_replaced(
    closes_after: frozenset[str], expected_connections: list[int]
) -> None:
    api = ScriptedApi(close_after=closes_after)
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json", then_next=True)
        second = await client.next_invocation()
    assert second.request_id == "r2"
    assert [c for c, _, _ in _calls(api)] == expected_connections
    assert [m for _, m, _ in _calls(api)] == ["GET", "POST", "GET"]


@pytest.mark.parametrize("then_next", [True, False])
async def test_connection_close_on_the_202(then_next: bool) -> None:
    api = ScriptedApi(connection_close_on_post=True)
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json", then_next=then_next)
        second = await client.next_invocation()
    assert second.request_id == "r2"
    assert _calls(api) == [(0, "GET", NEXT), (0, "POST", _response("r1")), (1, "GET", NEXT)]


async def test_a_second_post_before_next_invocation_is_refused() -> None:
    api = ScriptedApi()
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json", then_next=True)
        with pytest.raises(RuntimeError, match="must be followed by next_invocation"):
            await client.post_response(first.request_id, b"{}", "application/json")
        assert (await client.next_invocation()).request_id == "r2"


async def test_header_values_go_out_as_utf_8_bytes() -> None:
    # With AWS_EXECUTION_ENV naming Python 3.12+, the X-Ray cause is JSON with non-ASCII text
    # unescaped, as awslambdaric writes it; it goes into the header as its UTF-8 bytes.
    cause = '{"exceptions": [{"message": "caf\u00e9"}]}'.encode()
    api = ScriptedApi()
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_error(first.request_id, b"{}", xray_cause=cause, then_next=True)
        await client.next_invocation()
    (post,) = [s for s in api.seen if s.method == "POST"]
    assert post.headers[b"lambda-runtime-function-xray-error-cause"] == cause
    assert post.headers[b"content-type"] == b"application/json"
    assert post.headers[b"content-length"] == b"2"
