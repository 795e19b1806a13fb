"""The Runtime API client on the wire: one request, its whole answer, its status checked.

Against the scripted Runtime API of ``tests/scripted_runtime_api.py``, which records every
request, the raw bytes of each connection and whether anything was sent ahead of an answer.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import pytest
import trio
import trio.testing
from scripted_runtime_api import (
    CLIENT_KINDS,
    READ_SIZE,
    TEST_TIMEOUT_S,
    ApiClient,
    ScriptedApi,
    scripted,
    scripted_address,
)

from runtime._runtime_api import prepare_runtime_api, run_prepared
from runtime._runtime_api_blocking import BlockingRuntimeApiClient
from runtime._runtime_api_client import RuntimeApiClient
from runtime._runtime_api_http import (
    MAX_XRAY_CAUSE_BYTES,
    XRAY_CAUSE_HEADER,
    Invocation,
    RuntimeApiError,
    RuntimeApiResponse,
)
from runtime._settings import Settings

NEXT = "/2018-06-01/runtime/invocation/next"


def _calls(api: ScriptedApi) -> list[tuple[int, str, str]]:
    return [(s.connection, s.method, s.target) for s in api.seen]


def _response(request_id: str) -> str:
    return f"/2018-06-01/runtime/invocation/{request_id}/response"


def _error(request_id: str) -> str:
    return f"/2018-06-01/runtime/invocation/{request_id}/error"


# --- request, whole answer, status: one call at a time ---------------------------------------


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_each_call_is_answered_before_the_next_is_sent(kind: str) -> None:
    api = ScriptedApi()
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json")
        second = await client.next_invocation()
        await client.post_error(second.request_id, b"{}", xray_cause=None)
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
        (0, "POST", _error("r2")),
        (0, "GET", NEXT),
    ]
    # Nothing was ever sent behind a request: each one waited for its answer.
    assert [s.more_was_there for s in api.seen] == [False] * 5


async def _post(client: ApiClient, post: str, request_id: str) -> None:
    if post == "response":
        await client.post_response(request_id, b"{}", "application/json")
    else:
        await client.post_error(request_id, b"{}", xray_cause=None)


@pytest.mark.parametrize("post", ["response", "error"])
@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_a_refused_result_raises_and_no_other_event_is_asked_for(
    post: str, kind: str
) -> None:
    api = ScriptedApi(post_status=413)
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        with pytest.raises(RuntimeApiError) as caught:
            await _post(client, post, first.request_id)
        address = client.address
        await trio.testing.wait_all_tasks_blocked()
    target = _response("r1") if post == "response" else _error("r1")
    assert str(caught.value) == (
        f"failed to POST to http://{address}{target}: got unexpected status code: 413"
    )
    assert _calls(api) == [(0, "GET", NEXT), (0, "POST", target)]
    assert not api.seen[-1].more_was_there
    assert api.served_events == 1


def echo(event: object, context: object) -> object:
    """The handler of the runtime loop tests."""
    return event


def refuse(event: object, context: object) -> object:
    """A handler whose error is posted (and refused)."""
    raise ValueError("no")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """prepare_runtime_api adds Lambda's handler to the root logger; take it away again."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def _serve(handler: Callable[[object, object], object], address: str, task_root: Path) -> int:
    """Serve ``handler`` from the scripted API at ``address``; the runtime's exit status."""
    prepared = prepare_runtime_api(
        handler,
        Settings(runtime_api=address),
        environ={},
        cwd=str(task_root),
        stdout=io.StringIO(),
    )
    # The loop blocks its thread, as it blocks the main thread when served for real. A test
    # that has seen enough cancels it and leaves it waiting for an event; it ends with the API.
    return await trio.to_thread.run_sync(run_prepared, prepared, abandon_on_cancel=True)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    ("handler", "target"), [(echo, _response("r1")), (refuse, _error("r1"))], ids=["ok", "raised"]
)
async def test_the_runtime_ends_on_a_refused_result_without_taking_another_event(
    handler: Callable[[object, object], object], target: str, tmp_path: Path
) -> None:
    # Lambda's own runtimes never ask for an event before their result is accepted: a runtime
    # that had would be handed one and then fail it with the refused result.
    api = ScriptedApi(post_status=500)
    async with scripted_address(api) as address:
        status = await _serve(handler, address, tmp_path)
    assert status == 1
    assert _calls(api) == [(0, "GET", NEXT), (0, "POST", target)]
    assert api.served_events == 1


# --- connections the server ends -------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_connection_close_on_the_202_reconnects(kind: str) -> None:
    api = ScriptedApi(connection_close_on_post=True)
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json")
        second = await client.next_invocation()
    assert second.request_id == "r2"
    assert _calls(api) == [(0, "GET", NEXT), (0, "POST", _response("r1")), (1, "GET", NEXT)]


@pytest.mark.parametrize(
    ("closes_after", "expected_connections"),
    [
        # The kept-alive connection was gone before the POST: the POST on a fresh one.
        (frozenset({"GET"}), [0, 1, 1]),
        # ... or before the next GET: that GET on a fresh one.
        (frozenset({"POST"}), [0, 0, 1]),
    ],
)
@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_kept_alive_connections_closed_by_the_server_are_replaced(
    closes_after: frozenset[str], expected_connections: list[int], kind: str
) -> None:
    api = ScriptedApi(close_after=closes_after)
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"{}", "application/json")
        second = await client.next_invocation()
    assert second.request_id == "r2"
    assert [c for c, _, _ in _calls(api)] == expected_connections
    assert [m for _, m, _ in _calls(api)] == ["GET", "POST", "GET"]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_a_fresh_connection_that_fails_is_not_tried_again(kind: str) -> None:
    api = ScriptedApi(answers_before_hang_up=0)
    async with scripted(api, kind) as client:
        with pytest.raises(RuntimeApiError) as caught:
            await client.next_invocation()
        address = client.address
    assert str(caught.value) == (
        f"failed to GET http://{address}{NEXT}: connection closed before the response"
    )
    assert _calls(api) == [(0, "GET", NEXT)]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_a_request_is_sent_once_more_and_only_once(kind: str) -> None:
    # The kept-alive connection fails (tried once more, on a fresh connection), which fails too.
    api = ScriptedApi(answers_before_hang_up=1)
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        with pytest.raises(RuntimeApiError, match="connection closed before the response"):
            await client.post_response(first.request_id, b"{}", "application/json")
    assert _calls(api) == [
        (0, "GET", NEXT),
        (0, "POST", _response("r1")),
        (1, "POST", _response("r1")),
    ]


# --- what goes on the wire -------------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_header_values_go_out_as_utf_8_bytes(kind: str) -> None:
    # With AWS_EXECUTION_ENV naming Python 3.12+, the X-Ray cause is JSON with non-ASCII text
    # unescaped, as awslambdaric writes it; it goes into the header as its UTF-8 bytes.
    cause = '{"exceptions": [{"message": "caf\u00e9 \u2603"}]}'.encode()
    api = ScriptedApi()
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        await client.post_error(first.request_id, b"{}", xray_cause=cause)
    post = api.seen[-1]
    assert post.headers[b"lambda-runtime-function-xray-error-cause"] == cause
    assert post.headers[b"content-type"] == b"application/json"
    assert post.headers[b"content-length"] == b"2"


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_a_request_id_h11_refuses_is_an_error_and_sends_nothing(kind: str) -> None:
    api = ScriptedApi()
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        with pytest.raises(RuntimeApiError, match=r"^failed to POST http://.*/bad id/response: "):
            await client.post_response("bad id", b"{}", "application/json")
        await client.post_response(first.request_id, b"{}", "application/json")
    assert _calls(api) == [(0, "GET", NEXT), (0, "POST", _response("r1"))]


async def test_each_request_is_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []
    real_writev = os.writev

    def recording_writev(fd: int, pieces: Sequence[bytes]) -> int:
        written = real_writev(fd, pieces)
        writes.append(b"".join(pieces)[:written])
        return written

    monkeypatch.setattr(os, "writev", recording_writev)
    api = ScriptedApi()
    body = b'"' + b"x" * 98 + b'"'
    async with scripted(api) as client:
        first = await client.next_invocation()
        await client.post_response(first.request_id, body, "application/json")
        await client.next_invocation()
    # Three requests, three writes, and together they are every byte the server received.
    assert len(writes) == 3
    assert b"".join(writes) == bytes(api.received[0])
    assert writes[1].startswith(b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\n")
    assert writes[1].endswith(b"\r\n\r\n" + body)
    assert writes[0] == writes[2]  # the /next request, built once, rendered the same each time


def test_each_request_of_the_blocking_client_is_one_sendmsg(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes: list[bytes] = []
    real_sendmsg = socket.socket.sendmsg

    def recording_sendmsg(sock: socket.socket, pieces: Sequence[memoryview]) -> int:
        written = real_sendmsg(sock, pieces)
        writes.append(b"".join(pieces)[:written])
        return written

    async def exchange(address: str) -> None:
        client = BlockingRuntimeApiClient(address)
        first = await trio.to_thread.run_sync(client.next_invocation)
        post = functools.partial(client.post_response, first.request_id, body, "application/json")
        await trio.to_thread.run_sync(post)
        await trio.to_thread.run_sync(client.next_invocation)
        client.close()

    async def main() -> None:
        async with scripted_address(api) as address:
            await exchange(address)

    monkeypatch.setattr(socket.socket, "sendmsg", recording_sendmsg)
    api = ScriptedApi()
    body = b'"' + b"x" * 98 + b'"'
    trio.run(main)
    assert len(writes) == 3
    assert b"".join(writes) == bytes(api.received[0])
    assert writes[1].endswith(b"\r\n\r\n" + body)
    assert writes[0] == writes[2]


# --- cancellation and schedule points ---------------------------------------------------------


async def test_a_cancelled_call_sends_nothing_and_the_connection_stays_usable() -> None:
    api = ScriptedApi()
    async with scripted(api) as client:
        first = await client.next_invocation()
        with trio.CancelScope() as scope:
            scope.cancel()
            await client.post_response(first.request_id, b"{}", "application/json")
        assert scope.cancelled_caught
        await trio.testing.wait_all_tasks_blocked()
        assert _calls(api) == [(0, "GET", NEXT)]
        await client.post_response(first.request_id, b"{}", "application/json")
    assert _calls(api) == [(0, "GET", NEXT), (0, "POST", _response("r1"))]
    assert len(api.received) == 1


async def test_a_cancelled_first_call_sends_nothing() -> None:
    api = ScriptedApi()
    async with scripted(api) as client:
        with trio.CancelScope() as scope:
            scope.cancel()
            await client.next_invocation()
        assert scope.cancelled_caught
        await trio.testing.wait_all_tasks_blocked()
        assert api.seen == []
        assert (await client.next_invocation()).request_id == "r1"
    assert [m for _, m, _ in _calls(api)] == ["GET"]
    assert b"".join(api.received).count(b"GET ") == 1


async def test_a_call_cancelled_while_waiting_leaves_its_answer_behind() -> None:
    # The answer to the cancelled /next arrives after all; the next call must not take it as
    # its own: it goes out on a fresh connection.
    release = trio.Event()
    api = ScriptedApi(hold_first_event=release)
    async with scripted(api) as client, trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def wait_for_an_event() -> None:
            with scope:
                await client.next_invocation()

        nursery.start_soon(wait_for_an_event)
        await trio.testing.wait_all_tasks_blocked()
        assert _calls(api) == [(0, "GET", NEXT)]
        scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
        release.set()
        await trio.testing.wait_all_tasks_blocked()
        assert api.served_events == 1  # r1 went to the cancelled call's connection
        second = await client.next_invocation()
    assert scope.cancelled_caught
    assert (second.request_id, second.body) == ("r2", b'{"n": 2}')
    assert _calls(api) == [(0, "GET", NEXT), (1, "GET", NEXT)]


class _Steps(trio.abc.Instrument):
    """Counts the steps of one task: one per schedule point it passed (and was resumed from)."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.count += 1


async def _schedule_points(call: Callable[[], Awaitable[object]]) -> int:
    """How many schedule points the current task passes in ``call()``."""
    steps = _Steps(trio.lowlevel.current_task())
    trio.lowlevel.add_instrument(steps)
    try:
        await call()
    finally:
        trio.lowlevel.remove_instrument(steps)
    return steps.count


async def test_a_call_that_waits_for_its_answer_yields_once() -> None:
    api = ScriptedApi()
    async with scripted(api) as client:
        first = await client.next_invocation()  # connects: not counted

        async def post() -> None:
            await client.post_response(first.request_id, b"{}", "application/json")

        assert await _schedule_points(post) == 1
        assert await _schedule_points(client.next_invocation) == 1
    assert [m for _, m, _ in _calls(api)] == ["GET", "POST", "GET"]


async def test_a_read_of_an_answer_already_there_yields_once() -> None:
    # The server writes the 202 before the POST arrives, so the client's read finds it there
    # and takes the one cancel-shielded schedule point, not none.
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    client = RuntimeApiClient(f"127.0.0.1:{listeners[0].socket.getsockname()[1]}")
    event = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 2\r\n\r\n{}"
    accepted = b'HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{"status":"OK"}'
    with trio.fail_after(TEST_TIMEOUT_S):
        async with listeners[0], trio.open_nursery() as nursery:
            nursery.start_soon(client.next_invocation)
            server = await listeners[0].accept()
            await server.send_all(event)
            await trio.testing.wait_all_tasks_blocked()
            await server.send_all(accepted)

            async def post() -> None:
                await client.post_response("r1", b"{}", "application/json")

            assert await _schedule_points(post) == 1
            received = b""
            while b"/r1/response" not in received or not received.endswith(b"{}"):
                received += await server.receive_some(READ_SIZE)
            await client.aclose()
            await server.aclose()
    assert received.startswith(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n")
    assert b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\n" in received


# --- what awslambdaric 4.2.2 sends and reads besides the body ---------------------------------


@pytest.mark.parametrize(
    ("size", "sent"), [(MAX_XRAY_CAUSE_BYTES - 1, True), (MAX_XRAY_CAUSE_BYTES, False)]
)
@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_an_xray_cause_of_1_mib_or_more_is_left_out(size: int, sent: bool, kind: str) -> None:
    # RIE refuses a header that long and drops the connection: the error would be lost with it.
    api = ScriptedApi()
    cause = b"x" * size
    async with scripted(api, kind) as client:
        first = await client.next_invocation()
        await client.post_error(first.request_id, b"{}", xray_cause=cause)
    header = api.seen[-1].headers.get(XRAY_CAUSE_HEADER.lower().encode())
    assert header == (cause if sent else None)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_header_values_are_read_as_utf8(kind: str) -> None:
    text = '{"custom":{"name":"caf\u00e9 \u2603"}}'
    headers = {
        "Lambda-Runtime-Aws-Request-Id": "r1",
        "Lambda-Runtime-Client-Context": text.encode(),
        "Lambda-Runtime-Cognito-Identity": b'{"cognitoIdentityId":"\xc3\xa9"}',
    }
    api = ScriptedApi(events=[(headers, b"{}")])  # type: ignore[list-item]
    async with scripted(api, kind) as client:
        invocation = await client.next_invocation()
    assert invocation.client_context == text
    assert invocation.cognito_identity == '{"cognitoIdentityId":"\u00e9"}'


def test_empty_header_values_count_as_absent() -> None:
    # awslambdaric's HTTP client hands an empty header value on as None.
    names = [
        "lambda-runtime-deadline-ms",
        "lambda-runtime-invoked-function-arn",
        "lambda-runtime-trace-id",
        "lambda-runtime-client-context",
        "lambda-runtime-cognito-identity",
        "lambda-runtime-aws-tenant-id",
        "lambda-runtime-invocation-id",
        "content-type",
    ]
    headers = {"lambda-runtime-aws-request-id": "r1", **dict.fromkeys(names, "")}
    response = RuntimeApiResponse(status=200, headers=headers, body=b"{}")
    invocation = Invocation.from_response(response)
    assert invocation.request_id == "r1"
    assert [
        invocation.deadline_ms,
        invocation.invoked_function_arn,
        invocation.trace_id,
        invocation.client_context,
        invocation.cognito_identity,
        invocation.tenant_id,
        invocation.invocation_id,
        invocation.content_type,
    ] == [None] * len(names)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(("handler", "target"), [(echo, "response"), (refuse, "error")])
async def test_the_invocation_id_goes_back_with_the_result(
    handler: Callable[[object, object], object], target: str, tmp_path: Path
) -> None:
    events = [
        ({"Lambda-Runtime-Aws-Request-Id": "r1", "Lambda-Runtime-Invocation-Id": "inv-9"}, b"{}"),
        ({"Lambda-Runtime-Aws-Request-Id": "r2"}, b"{}"),
    ]
    api = ScriptedApi(events=events)
    async with scripted_address(api) as address, trio.open_nursery() as nursery:
        nursery.start_soon(_serve, handler, address, tmp_path)
        await api.drained.wait()
        nursery.cancel_scope.cancel()
    posts = [seen for seen in api.seen if seen.method == "POST"]
    assert [seen.target.rsplit("/", 1)[1] for seen in posts] == [target, target]
    assert [seen.headers.get(b"lambda-runtime-invocation-id") for seen in posts] == [b"inv-9", None]
