"""``lambda-legacy serve`` end to end: context, trace id, client context, handlers and their errors.

Each test starts a real server process and drives it with the service side of net/rpc
(``runtime._client``). What a handler sees is compared with awslambdaric's ``LambdaContext`` (4.2.2:
attribute names, value types, None when absent, ``memory_limit_in_mb`` a string; when written,
``served_handlers.context_report`` gave the very same report for awslambdaric's own class built
from the same inputs); what goes back on the wire with aws-lambda-go's ``InvokeResponse``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import trio

# The suite imports test modules with importlib, which does not put their folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from served_process import (
    HERE,
    PROCESS_TIMEOUT,
    gate_event,
    guarded,
    invoke_request,
    served,
    wait_for_file,
)

from runtime._client import connect_function
from runtime._messages import InvokeResponse

LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "served",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/served",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef",
}
ARN = "arn:aws:lambda:us-east-1:123456789012:function:served"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
CLIENT = {
    "installation_id": "install-1",
    "app_title": "Title",
    "app_version_name": "1.0",
    "app_version_code": "10",
    "app_package_name": "com.example.app",
}
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CLIENT_CONTEXT = {
    "client": CLIENT,
    "custom": {"colour": "blue"},
    "env": {"platform": "Android"},
    "w3c": {"traceparent": TRACEPARENT, "unlisted": "dropped"},
}
HANDLERS_FILE = str(HERE / "served_handlers.py")
#: The context attributes that come from the process environment.
ENVIRONMENT_ATTRIBUTES = (
    "function_name",
    "function_version",
    "memory_limit_in_mb",
    "log_group_name",
    "log_stream_name",
)


def described(value: object) -> dict[str, object]:
    """How served_handlers.context_report shows one attribute."""
    return {"type": type(value).__name__, "value": value}


def payload_of(response: InvokeResponse) -> object:
    assert response.error is None, response.error
    return json.loads(response.payload)


@guarded
async def test_every_context_attribute_as_awslambdaric_has_it() -> None:
    with served("served_handlers.context_report", LAMBDA_ENV) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            sent_at_ms = time.time_ns() // 10**6
            deadline_ns = (sent_at_ms + 30_000) * 10**6 + 123_456
            full = payload_of(
                await client.invoke(
                    invoke_request(
                        b"{}",
                        "req-full",
                        deadline_ns=deadline_ns,
                        trace_id=TRACE_ID,
                        client_context=json.dumps(CLIENT_CONTEXT).encode(),
                        cognito_identity_id="us-east-1:identity",
                        cognito_identity_pool_id="us-east-1:pool",
                        function_arn=ARN,
                    )
                )
            )
            bare = payload_of(
                await client.invoke(
                    invoke_request(b"{}", "req-bare", deadline_ns=0, function_arn=ARN)
                )
            )
    assert isinstance(full, dict)
    remaining = full.pop("remaining_time_in_millis")
    assert isinstance(remaining, dict)
    assert remaining["type"] == "int"
    assert 0 < remaining["value"] <= deadline_ns // 10**6 - sent_at_ms
    from_environment = {
        "function_name": described("served"),
        "function_version": described("$LATEST"),
        "memory_limit_in_mb": described("256"),  # a string, as awslambdaric keeps it
        "log_group_name": described(LAMBDA_ENV["AWS_LAMBDA_LOG_GROUP_NAME"]),
        "log_stream_name": described(LAMBDA_ENV["AWS_LAMBDA_LOG_STREAM_NAME"]),
    }
    assert full == {
        "aws_request_id": described("req-full"),
        "invoked_function_arn": described(ARN),
        **from_environment,
        "tenant_id": described(None),
        "identity": {
            "type": "CognitoIdentity",
            "cognito_identity_id": described("us-east-1:identity"),
            "cognito_identity_pool_id": described("us-east-1:pool"),
        },
        "client_context": {
            "type": "ClientContext",
            "custom": described({"colour": "blue"}),
            "env": described({"platform": "Android"}),
            "client": {"type": "Client", **{k: described(v) for k, v in CLIENT.items()}},
        },
        "w3c": {"traceparent": TRACEPARENT},
        "trace_id_env": TRACE_ID,
    }
    # Nothing optional in the request: identity still an object, no client context, the trace
    # id variable set to "" (as Go sets it), and a 1970 deadline leaves 0 ms, never less.
    assert bare == {
        "aws_request_id": described("req-bare"),
        "invoked_function_arn": described(ARN),
        **from_environment,
        "tenant_id": described(None),
        "identity": {
            "type": "CognitoIdentity",
            "cognito_identity_id": described(None),
            "cognito_identity_pool_id": described(None),
        },
        "client_context": None,
        "remaining_time_in_millis": described(0),
        "w3c": {},
        "trace_id_env": "",
    }


@guarded
async def test_unset_lambda_variables_are_none_in_the_context() -> None:
    with served("served_handlers.context_report") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            report = payload_of(await client.invoke(invoke_request(b"{}", "req-1")))
    assert isinstance(report, dict)
    for name in ENVIRONMENT_ATTRIBUTES:
        assert report[name] == described(None), name


@guarded
async def test_invalid_client_context_is_an_error_and_the_handler_is_not_called() -> None:
    with served("served_handlers.print_and_echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            refused = await client.invoke(
                invoke_request(b"{}", "req-refused", client_context=b"{ not json }")
            )
            accepted = await client.invoke(invoke_request(b'{"ok":1}', "req-accepted"))
            output = await server.wait_for_stdout("called req-accepted")
    assert refused.error is not None
    assert refused.payload == b""
    assert (refused.error.type, refused.error.message) == (
        "SyntaxError",
        "invalid character 'n' looking for beginning of object key string",
    )
    assert not refused.error.should_exit
    assert payload_of(accepted) == {"ok": 1}
    assert "called req-refused" not in output


@pytest.mark.parametrize("handler", ["raise_error", "async_raise_error"])
@guarded
async def test_exception_becomes_an_error_with_frames_innermost_first(handler: str) -> None:
    with served(f"served_handlers.{handler}") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            response = await client.invoke(invoke_request(b'{"message":"bad input"}', "req-1"))
            # The process goes on serving after an ordinary error.
            again = await client.invoke(invoke_request(b'{"message":"again"}', "req-2"))
    error = response.error
    assert error is not None
    assert (error.type, error.message, error.should_exit) == ("ValueError", "bad input", False)
    assert error.stack_trace is not None
    source = Path(HANDLERS_FILE).read_text().splitlines()
    raise_line = source.index("    raise ValueError(message)") + 1
    start = next(
        i for i, line in enumerate(source) if line.split("(")[0].endswith(f"def {handler}")
    )
    call_line = source.index('    _inner_failure(str(event["message"]))', start) + 1
    frames = [(frame.path, frame.line, frame.label) for frame in error.stack_trace]
    assert frames == [
        (HANDLERS_FILE, raise_line, "_inner_failure"),
        (HANDLERS_FILE, call_line, handler),
    ]
    assert again.error is not None
    assert again.error.message == "again"


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "MemoryError"])
@guarded
async def test_should_exit_reply_is_delivered_then_the_process_exits_non_zero(kind: str) -> None:
    event = json.dumps({"raise": kind, "message": "going down"}).encode()
    with served("served_handlers.raise_base_exception") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            response = await client.invoke(invoke_request(event, "req-1"))
        status = await server.wait()
    assert response.error is not None
    assert (response.error.type, response.error.message) == (kind, "going down")
    assert response.error.should_exit
    assert response.error.stack_trace
    assert response.error.stack_trace[0].label == "raise_base_exception"
    assert status == 1


@guarded
async def test_async_handler_is_awaited() -> None:
    with served("served_handlers.async_echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            response = await client.invoke(invoke_request(b'{"a":[1,2]}', "req-async"))
    assert payload_of(response) == {"event": {"a": [1, 2]}, "request_id": "req-async"}


@pytest.mark.parametrize("handler", ["gated", "async_gated"])
@guarded
async def test_ping_is_answered_while_a_handler_runs(handler: str, tmp_path: Path) -> None:
    with served(f"served_handlers.{handler}") as server:
        async with (
            connect_function(server.port, timeout=PROCESS_TIMEOUT) as client,
            connect_function(server.port, timeout=PROCESS_TIMEOUT) as other,
            trio.open_nursery() as nursery,
        ):
            replies: list[InvokeResponse] = []

            async def invoke() -> None:
                replies.append(await client.invoke(invoke_request(gate_event(tmp_path, "a"), "r")))

            nursery.start_soon(invoke)
            await wait_for_file(tmp_path / "started-a")
            await client.ping()  # on the invoke's own connection
            await other.ping()  # and on another one
            assert not replies, "the handler cannot have returned: it was not released"
            (tmp_path / "release").touch()
    assert payload_of(replies[0]) == {"tag": "a", "request_id": "r"}


@guarded
async def test_invalid_and_empty_payloads_are_error_replies() -> None:
    with served("served_handlers.print_and_echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            empty = await client.invoke(invoke_request(b"", "req-empty"))
            broken = await client.invoke(invoke_request(b'{"a":', "req-broken"))
            out_of_range = await client.invoke(invoke_request(b"1e400", "req-big"))
    assert empty.error is not None
    assert (empty.error.type, empty.error.message) == ("errorString", "EOF")
    assert broken.error is not None
    assert (broken.error.type, broken.error.message) == ("errorString", "unexpected EOF")
    assert out_of_range.error is not None
    assert out_of_range.error.type == "UnmarshalTypeError"  # 1e400 is beyond float64


@guarded
async def test_large_replies_and_pings_on_one_connection_never_interleave() -> None:
    # Replies of several MiB do not fit in the socket buffer at once, so they are written in
    # parts while other replies wait for the connection's write lock.
    events = [b'{"blob":"' + str(n).encode() * (3 << 20) + b'"}' for n in range(3)]
    replies: dict[int, InvokeResponse] = {}
    pings = 0
    with served("served_handlers.echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:

            async def invoke(n: int) -> None:
                replies[n] = await client.invoke(invoke_request(events[n], f"req-{n}"))

            async def ping() -> None:
                nonlocal pings
                await client.ping()
                pings += 1

            async with trio.open_nursery() as nursery:
                for n in range(len(events)):
                    nursery.start_soon(invoke, n)
                    for _ in range(5):
                        nursery.start_soon(ping)
    assert pings == 5 * len(events)
    for n, event in enumerate(events):
        assert replies[n].error is None
        assert replies[n].payload == event


@guarded
async def test_a_trace_id_with_a_nul_byte_leaves_the_variable_as_go_does() -> None:
    # Go's os.Setenv refuses the value (EINVAL), aws-lambda-go ignores that, and the handler runs
    # with the variable as it was.
    with served("served_handlers.context_report", LAMBDA_ENV) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            before = await client.invoke(invoke_request(b"{}", "r1", trace_id=TRACE_ID))
            nul = await client.invoke(invoke_request(b"{}", "r2", trace_id="Root=1-a\x00b"))
    first, second = payload_of(before), payload_of(nul)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["trace_id_env"] == second["trace_id_env"] == TRACE_ID
