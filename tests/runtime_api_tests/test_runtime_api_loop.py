"""The Runtime API loop and client in-process, against a scripted Runtime API on 127.0.0.1.

The end-to-end comparison with awslambdaric runs in subprocesses behind an emulator; these tests
cover what that cannot reach cheaply: the header mapping, a handler that ends the process, a
server that drops kept-alive connections, unexpected status codes, and the JSON edge cases.
"""

from __future__ import annotations

import decimal
import io
import json
import logging
import math
import os
import socket
import sys
from collections import namedtuple
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import pytest
import trio
from scripted_runtime_api import CLIENT_KINDS, ScriptedApi, api_client, scripted_address

from runtime._errors import LambdaContextUnmarshalError, MarshalError, UnmarshalError
from runtime._runtime_api import build_runtime_api_context, prepare_runtime_api, run_prepared
from runtime._runtime_api_http import Invocation, RuntimeApiError
from runtime._runtime_api_json import make_encoder, marshal_result, unmarshal_event
from runtime._settings import Settings

NOW_NS = 1_795_401_118_255_000_000


def _invocation(**headers: str | None) -> Invocation:
    fields: dict[str, str | None] = {
        "deadline_ms": None,
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "trace_id": None,
        "client_context": None,
        "cognito_identity": None,
        "tenant_id": None,
        "content_type": "application/json",
    }
    fields.update(headers)
    return Invocation(request_id="req-1", body=b"{}", **fields)


# --- the context -----------------------------------------------------------------------------


def test_context_from_headers() -> None:
    settings = Settings(function_name="fn", memory_size="512", function_version="$LATEST")
    client_context = {
        "client": {"installation_id": "i", "app_title": "t"},
        "custom": {"a": 1},
        "env": {"e": "v"},
        "w3c": {"traceparent": "tp", "tracestate": 7},
    }
    invocation = _invocation(
        deadline_ms=str(NOW_NS // 1_000_000 + 1500),
        client_context=json.dumps(client_context),
        cognito_identity='{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}',
        tenant_id="tenant",
    )
    context = build_runtime_api_context(invocation, settings, lambda: NOW_NS)
    assert context.aws_request_id == "req-1"
    assert context.get_remaining_time_in_millis() == 1500
    assert (context.function_name, context.memory_limit_in_mb) == ("fn", "512")
    assert context.identity.cognito_identity_id == "id"
    assert context.identity.cognito_identity_pool_id == "pool"
    assert context.tenant_id == "tenant"
    assert context.w3c() == {"traceparent": "tp"}
    assert context.client_context is not None
    assert context.client_context.custom == {"a": 1}
    assert context.client_context.client is not None
    assert context.client_context.client.app_title == "t"
    assert context.client_context.client.app_version_name is None


def test_context_without_optional_headers() -> None:
    context = build_runtime_api_context(_invocation(), Settings(), lambda: NOW_NS)
    assert context.get_remaining_time_in_millis() == 0  # no deadline header: 0, as awslambdaric
    assert context.client_context is None
    assert context.identity.cognito_identity_id is None
    assert context.tenant_id is None
    assert context.w3c() == {}


@pytest.mark.parametrize(
    ("header", "name"),
    [("client_context", "Client Context"), ("cognito_identity", "Cognito Identity")],
)
def test_context_header_not_json(header: str, name: str) -> None:
    invocation = _invocation(**{header: "{not json"})
    with pytest.raises(LambdaContextUnmarshalError) as caught:
        build_runtime_api_context(invocation, Settings(), lambda: NOW_NS)
    assert caught.value.message == (
        f"Unable to parse {name} JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )
    assert caught.value.error_type == "Runtime.LambdaContextUnmarshalError"


def test_context_header_json_but_not_an_object() -> None:
    with pytest.raises(AttributeError, match="'list' object has no attribute 'get'"):
        build_runtime_api_context(_invocation(client_context="[1]"), Settings(), lambda: NOW_NS)


# --- JSON in and out -------------------------------------------------------------------------

Point = namedtuple("Point", "x y")  # a plain namedtuple: simplejson writes it as an object


def test_results_as_awslambdaric_writes_them() -> None:
    encoder = make_encoder(None)
    value = {
        "d": decimal.Decimal("1.10"),
        "nan": decimal.Decimal("NaN"),
        "f": math.inf,
        "p": Point(1, 2),
        "s": "caf\u00e9",
        "b": b"raw",
    }
    body, content_type = marshal_result(encoder, value)
    assert content_type == "application/json"
    assert body == (
        b'{"d": 1.10, "nan": NaN, "f": Infinity, "p": {"x": 1, "y": 2}, '
        b'"s": "caf\\u00e9", "b": "raw"}'
    )
    unescaped, _ = marshal_result(make_encoder("AWS_Lambda_python3.12"), "caf\u00e9")
    assert unescaped == '"caf\u00e9"'.encode()
    assert marshal_result(encoder, b"\x00\xff") == (b"\x00\xff", "application/unknown")


def test_unmarshalable_result() -> None:
    with pytest.raises(MarshalError) as caught:
        marshal_result(make_encoder(None), {1, 2})
    assert caught.value.message == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )


def test_events_as_awslambdaric_reads_them() -> None:
    assert unmarshal_event(b'{"a": [1, 2.5]}', "application/json") == {"a": [1, 2.5]}
    assert unmarshal_event(b"raw", "text/plain") == b"raw"
    assert unmarshal_event(b"{}", None) == b"{}"
    with pytest.raises(UnmarshalError) as caught:
        unmarshal_event(b"", "application/json")
    assert (
        caught.value.message
        == "Unable to unmarshal input: Expecting value: line 1 column 1 (char 0)"
    )


def _next_headers(request_id: str, **extra: str) -> dict[str, str]:
    return {
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": "9999999999999",
        "Content-Type": "application/json",
        **extra,
    }


@pytest.fixture
def task_root(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "loop_handlers.py").write_text(
        "import os\n"
        "def trace(event, context):\n"
        "    return os.environ.get('_X_AMZN_TRACE_ID')\n"
        "def leave(event, context):\n"
        "    raise SystemExit(3)\n"
        "import trio\n"
        "_runs = []\n"
        "async def same_run(event, context):\n"
        "    await trio.sleep(0)\n"
        "    _runs.append(trio.lowlevel.current_trio_token())\n"
        "    return len(set(map(id, _runs)))\n"
        "async def fails(event, context):\n"
        "    await trio.sleep(0)\n"
        "    raise ValueError('async no')\n"
        "async def _inner():\n"
        "    await trio.sleep(0)\n"
        "    return 'awaited'\n"
        "def hidden(event, context):\n"
        "    return _inner()\n",
        encoding="utf-8",
    )
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.modules.pop("loop_handlers", None)


async def _serve(
    handler: str, address: str, task_root: Path, environ: MutableMapping[str, str]
) -> int:
    settings = Settings(runtime_api=address)
    prepared = prepare_runtime_api(
        handler, settings, environ=environ, cwd=str(task_root), stdout=io.StringIO()
    )
    # The loop blocks its thread, as it blocks the main thread when served for real. A test
    # that has seen enough cancels it and leaves it waiting for an event; it ends with the API.
    return await trio.to_thread.run_sync(run_prepared, prepared, abandon_on_cancel=True)


async def test_trace_id_set_then_removed(task_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = ScriptedApi(
        events=[
            (_next_headers("r1", **{"Lambda-Runtime-Trace-Id": "Root=1-a"}), b"{}"),
            (_next_headers("r2"), b"{}"),
        ]
    )
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "stale")  # the handler reads the real environment
    environ = os.environ
    async with scripted_address(api) as address, trio.open_nursery() as nursery:
        nursery.start_soon(_serve, "loop_handlers.trace", address, task_root, environ)
        await api.drained.wait()
        nursery.cancel_scope.cancel()
    posts = [(seen.target, seen.body) for seen in api.seen if seen.method == "POST"]
    assert posts == [
        ("/2018-06-01/runtime/invocation/r1/response", b'"Root=1-a"'),
        ("/2018-06-01/runtime/invocation/r2/response", b"null"),
    ]
    assert "_X_AMZN_TRACE_ID" not in environ


async def _posts_of(handler: str, task_root: Path, count: int) -> list[tuple[str, bytes]]:
    """Serve ``count`` events to ``handler``; the target and body of each POST."""
    api = ScriptedApi(events=[(_next_headers(f"r{n}"), b"{}") for n in range(1, count + 1)])
    async with scripted_address(api) as address, trio.open_nursery() as nursery:
        nursery.start_soon(_serve, handler, address, task_root, {})
        await api.drained.wait()
        nursery.cancel_scope.cancel()
    return [
        (seen.target.rsplit("/", 1)[1], seen.body) for seen in api.seen if seen.method == "POST"
    ]


async def test_async_handlers_are_awaited_on_one_trio_run_kept_between_invokes(
    task_root: Path,
) -> None:
    posts = await _posts_of("loop_handlers.same_run", task_root, 3)
    assert posts == [("response", b"1")] * 3


async def test_a_coroutine_a_plain_handler_returns_is_awaited(task_root: Path) -> None:
    assert await _posts_of("loop_handlers.hidden", task_root, 1) == [("response", b'"awaited"')]


async def test_an_async_handler_s_error_shows_its_own_frames_only(task_root: Path) -> None:
    ((target, body),) = await _posts_of("loop_handlers.fails", task_root, 1)
    document = json.loads(body)
    assert (target, document["errorType"], document["errorMessage"]) == (
        "error",
        "ValueError",
        "async no",
    )
    # awslambdaric's strings, outermost first: the handler's line, and nothing of trio's.
    (frame,) = document["stackTrace"]
    assert "loop_handlers.py" in frame
    assert "in fails" in frame
    assert "raise ValueError('async no')" in frame


async def test_a_default_socket_timeout_set_at_import_does_not_bound_the_wait(
    task_root: Path,
) -> None:
    # A library may call socket.setdefaulttimeout at import; the wait for an event is unbounded
    # all the same, and never asks twice (a second /next could take an event and lose it).
    (task_root / "sets_timeout.py").write_text(
        "import socket\nsocket.setdefaulttimeout(0.05)\ndef echo(event, context):\n"
        "    return event\n",
        encoding="utf-8",
    )
    hold = trio.Event()
    api = ScriptedApi(events=[(_next_headers("r1"), b"1")], hold_first_event=hold)
    try:
        async with scripted_address(api) as address, trio.open_nursery() as nursery:
            nursery.start_soon(_serve, "sets_timeout.echo", address, task_root, {})
            await trio.sleep(0.5)  # ten of those timeouts
            hold.set()
            await api.drained.wait()
            nursery.cancel_scope.cancel()
    finally:
        socket.setdefaulttimeout(None)
        sys.modules.pop("sets_timeout", None)
    assert [(seen.connection, seen.method) for seen in api.seen[:2]] == [(0, "GET"), (0, "POST")]


async def test_base_exception_is_posted_then_exits(task_root: Path) -> None:
    events = [(_next_headers("r1"), b"{}"), (_next_headers("r2"), b"{}")]
    api = ScriptedApi(events=events)
    async with scripted_address(api) as address:
        status = await _serve("loop_handlers.leave", address, task_root, {})
    assert status == 1
    (post,) = [seen for seen in api.seen if seen.method == "POST"]
    assert post.target == "/2018-06-01/runtime/invocation/r1/error"
    document = json.loads(post.body)
    assert (document["errorType"], document["errorMessage"], document["requestId"]) == (
        "SystemExit",
        "3",
        "r1",
    )
    assert len(events) == 1  # the second event was never asked for


async def test_init_error_is_posted_then_exits(task_root: Path) -> None:
    api = ScriptedApi(events=[])
    async with scripted_address(api) as address:
        status = await _serve("loop_handlers.missing", address, task_root, {})
    assert status == 1
    (seen,) = api.seen
    assert (seen.method, seen.target) == ("POST", "/2018-06-01/runtime/init/error")
    assert seen.headers[b"lambda-runtime-function-error-type"] == b"Runtime.HandlerNotFound"
    assert json.loads(seen.body) == {
        "errorMessage": "Handler 'missing' missing on module 'loop_handlers'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "",
        "stackTrace": [],
    }


# --- the client ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_client_reconnects_when_server_closes_kept_alive_connection(kind: str) -> None:
    api = ScriptedApi(
        events=[(_next_headers("r1"), b"1"), (_next_headers("r2"), b"2")],
        close_after=frozenset({"GET", "POST"}),
    )
    async with scripted_address(api) as address:
        client = api_client(kind, address)
        first = await client.next_invocation()
        await client.post_response(first.request_id, b"1", "application/json")
        second = await client.next_invocation()
        await client.aclose()
    assert (first.body, second.body) == (b"1", b"2")
    assert [seen.target for seen in api.seen] == [
        "/2018-06-01/runtime/invocation/next",
        "/2018-06-01/runtime/invocation/r1/response",
        "/2018-06-01/runtime/invocation/next",
    ]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_client_unexpected_status(kind: str) -> None:
    api = ScriptedApi(events=[], next_status=500)
    async with scripted_address(api) as address:
        client = api_client(kind, address)
        with pytest.raises(RuntimeApiError) as caught:
            await client.next_invocation()
        await client.aclose()
    assert str(caught.value) == (
        f"failed to GET http://{address}/2018-06-01/runtime/invocation/next: "
        "got unexpected status code: 500"
    )


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_client_large_bodies_round_trip(kind: str) -> None:
    event = b'"' + b"x" * (3 * 1024 * 1024) + b'"'
    api = ScriptedApi(events=[(_next_headers("big"), event)])
    async with scripted_address(api) as address:
        client = api_client(kind, address)
        invocation = await client.next_invocation()
        await client.post_response("big", invocation.body, "application/json")
        await client.aclose()
    assert invocation.body == event
    assert api.seen[-1].body == event
    assert api.seen[-1].headers[b"content-length"] == b"%d" % len(event)
