"""How a served function starts and stops: SIGTERM, ``lambda_legacy.start``, bad ports."""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
import textwrap
from pathlib import Path

import pytest
import trio
from go_peer import go_function_listening

# The suite imports test modules with importlib, which does not put their folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from served_process import (
    PROCESS_TIMEOUT,
    ServedProcess,
    gate_event,
    guarded,
    invoke_request,
    served,
    started_script,
    wait_for_file,
)

from runtime._client import FunctionClient, connect_function
from runtime._messages import InvokeResponse

SCRIPT = textwrap.dedent(
    """\
    import logging

    import lambda_legacy


    {definition} handler(event, context):
        logging.warning("script handler %s", context.aws_request_id)
        if "raise" in event:
            raise SystemExit(event["raise"])
        return {{"script": True, "event": event}}


    lambda_legacy.start(handler)
    """
)


def write_script(folder: Path, *, is_async: bool = False) -> Path:
    path = folder / "function_main.py"
    path.write_text(SCRIPT.format(definition="async def" if is_async else "def"))
    return path


@pytest.mark.parametrize("handler", ["gated", "async_gated"])
@guarded
async def test_sigterm_finishes_the_invoke_in_flight_then_exits_0(
    handler: str, tmp_path: Path
) -> None:
    with served(f"served_handlers.{handler}") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            reply = await _sigterm_during_an_invoke(server, client, tmp_path, "a", "release")
            status = await server.wait()
            with pytest.raises(trio.BrokenResourceError):
                await client.ping()  # the server closed the connection after the reply
        with pytest.raises(OSError, match="refused"):
            socket.create_connection(("127.0.0.1", server.port)).close()
    assert reply.error is None
    assert json.loads(reply.payload) == {"tag": "a", "request_id": "req-a"}
    assert status == 0


async def _sigterm_during_an_invoke(
    server: ServedProcess, client: FunctionClient, folder: Path, tag: str, release: str
) -> InvokeResponse:
    """Invoke a gated handler with ``tag`` (request id ``req-<tag>``), SIGTERM the server once
    it runs, then create the ``release`` file; the invoke's reply."""
    replies: list[InvokeResponse] = []
    async with trio.open_nursery() as nursery:

        async def invoke() -> None:
            request = invoke_request(gate_event(folder, tag), f"req-{tag}")
            replies.append(await client.invoke(request))

        nursery.start_soon(invoke)
        await wait_for_file(folder / f"started-{tag}")
        server.send_signal(signal.SIGTERM)
        (folder / release).touch()
    return replies[0]


@pytest.mark.parametrize("handler", ["gated_each", "async_gated_each"])
@guarded
async def test_sigterm_waits_for_every_invoke_in_flight(handler: str, tmp_path: Path) -> None:
    """Two invokes in flight when SIGTERM comes: the first to finish does not end the server;
    the second still gets its reply, then the process exits 0."""
    with served(f"served_handlers.{handler}") as server:
        replies: dict[str, InvokeResponse] = {}
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            async with trio.open_nursery() as nursery:

                async def invoke(tag: str) -> None:
                    request = invoke_request(gate_event(tmp_path, tag), f"req-{tag}")
                    replies[tag] = await client.invoke(request)

                for tag in ("a", "b"):
                    nursery.start_soon(invoke, tag)
                    await wait_for_file(tmp_path / f"started-{tag}")
                server.send_signal(signal.SIGTERM)
                (tmp_path / "release-a").touch()
                while "a" not in replies:
                    await trio.sleep(0.01)
                await trio.sleep(0.2)  # time for a server that stopped too soon to be gone
                (tmp_path / "release-b").touch()
            status = await server.wait()
    assert json.loads(replies["a"].payload) == {"tag": "a"}
    assert json.loads(replies["b"].payload) == {"tag": "b"}
    assert status == 0


@pytest.mark.parametrize("handler", ["gated_each", "async_gated_each"])
@guarded
async def test_sigterm_during_an_invoke_that_says_should_exit_exits_1(
    handler: str, tmp_path: Path
) -> None:
    """The reply's ShouldExit decides the status (1), not the SIGTERM that came meanwhile."""
    with served(f"served_handlers.{handler}") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            release = "release-exit"
            reply = await _sigterm_during_an_invoke(server, client, tmp_path, "exit", release)
            status = await server.wait()
    assert reply.error is not None
    assert reply.error.should_exit
    assert status == 1


@guarded
async def test_sigterm_when_idle_exits_0() -> None:
    with served("served_handlers.echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            await client.invoke(invoke_request(b"{}", "req-1"))
            server.send_signal(signal.SIGTERM)
            assert await server.wait() == 0


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@guarded
async def test_start_serves_the_script_s_handler_with_logging(
    tmp_path: Path, is_async: bool
) -> None:
    with started_script(write_script(tmp_path, is_async=is_async)) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            response = await client.invoke(invoke_request(b'{"n":1}', "req-script"))
            output = await server.wait_for_stdout("script handler req-script\n")
            server.send_signal(signal.SIGTERM)
            status = await server.wait()
    assert response.error is None
    assert json.loads(response.payload) == {"script": True, "event": {"n": 1}}
    assert re.search(r"^\[WARNING\]\t\S+Z\treq-script\tscript handler req-script$", output, re.M)
    assert status == 0


@guarded
async def test_start_exits_non_zero_after_a_should_exit_reply(tmp_path: Path) -> None:
    with started_script(write_script(tmp_path)) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            response = await client.invoke(invoke_request(b'{"raise":3}', "req-exit"))
        status = await server.wait()
    assert response.error is not None
    assert (response.error.type, response.error.message) == ("SystemExit", "3")
    assert response.error.should_exit
    assert status == 1


@guarded
async def test_start_without_the_server_port_raises_a_clear_error(tmp_path: Path) -> None:
    with started_script(write_script(tmp_path), with_port=False) as process:
        status = await process.wait()
        stderr = process.stderr()
    assert status == 1  # the uncaught exception
    last_line = stderr.strip().splitlines()[-1]
    assert "LambdaEnvironmentError: " in last_line
    assert "_LAMBDA_SERVER_PORT" in last_line


@guarded
async def test_serve_without_a_port_is_a_usage_error() -> None:
    with served("served_handlers.echo", {"_LAMBDA_SERVER_PORT": ""}) as process:
        status = await process.wait()
        stderr = process.stderr()
    assert status == 2
    assert "_LAMBDA_SERVER_PORT" in stderr


@guarded
async def test_a_busy_port_fails_like_go_s_listen() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with served("served_handlers.echo", port=port) as process:
            status = await process.wait()
            stderr = process.stderr()
    assert status == 1
    assert f"listen tcp 127.0.0.1:{port}: bind: address already in use" in stderr


@guarded
async def test_ctrl_c_between_calls_exits_128_plus_sigint() -> None:
    """SIGINT on an idle server (the main thread waits for a call) ends it as a Python program
    ends on Ctrl-C, with 128 + SIGINT, not 1."""
    with served("served_handlers.echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            await client.ping()
            server.send_signal(signal.SIGINT)
            status = await server.wait()
    assert status == 128 + signal.SIGINT


@guarded
async def test_start_with_no_handler_answers_as_aws_lambda_go_does(tmp_path: Path) -> None:
    """``start(None)``, like Go's ``lambda.Start(nil)``: every invoke gets errorString "handler is
    nil" without ShouldExit, and the function goes on serving (compared with Go's, live)."""
    script = tmp_path / "no_handler.py"
    script.write_text("import lambda_legacy\n\nlambda_legacy.start(None)\n")
    answers: dict[str, list[InvokeResponse]] = {}
    with go_function_listening("nil") as go_port, started_script(script) as ours:
        for name, port in (("go", go_port), ("ours", ours.port)):
            async with connect_function(port, timeout=PROCESS_TIMEOUT) as client:
                answers[name] = [
                    await client.invoke(invoke_request(b"{}", f"req-{n}")) for n in range(2)
                ]
                await client.ping()  # still serving
    assert answers["ours"] == answers["go"]
    assert answers["go"][0].error is not None
    assert answers["go"][0].error.message == "handler is nil"
