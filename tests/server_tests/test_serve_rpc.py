"""net/rpc end to end against ``lambda-legacy serve``: a real Go client (tools/gopeer) and ours.

Bad calls get Go's error replies and the connection goes on; a header that does not decode closes
that connection only; many concurrent invokes over several connections each get their own reply.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from go_peer import gopeer

# The suite imports test modules with importlib, which does not put their folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from served_process import HERE, PROCESS_TIMEOUT, guarded, invoke_request, served

from gobrpc import (
    FIRST_USER_ID_GO_1_21,
    FIRST_USER_ID_LEGACY,
    MAX_MESSAGE_SIZE,
    BasicType,
    ClientConnection,
    DecodedValue,
    Decoder,
    Kind,
    RemoteCallError,
    TypeDefinition,
    TypeRegistry,
    struct_type,
)
from runtime._client import connect_function
from runtime._messages import INVOKE, PING, InvokeResponse, PingRequest, PingResponse

#: A message that defines type id 2, which is built in (int): Go's decoder fails with "gob:
#: duplicate type received", so net/rpc cannot read the request header.
UNDECODABLE_HEADER = bytes([0x03, 0x03, 0x41, 0x42])


def go_client(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(gopeer()), "client", "--port", str(port), "--wait", f"{PROCESS_TIMEOUT}s", *args],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT * 2,
        check=False,
    )


def go_call(port: int, *args: str) -> dict[str, object]:
    result = go_client(port, *args)
    assert result.returncode == 0, result.stderr
    line: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return line


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("Function.Nope", "rpc: can't find method Function.Nope"),
        ("Nope.Invoke", "rpc: can't find service Nope.Invoke"),
        ("FunctionInvoke", "rpc: service/method request ill-formed: FunctionInvoke"),
    ],
)
def test_go_client_gets_go_s_rpc_errors_and_the_server_goes_on(method: str, error: str) -> None:
    with served("served_handlers.echo") as server:
        # gopeer pings first, so this also shows the server ready.
        refused = go_call(server.port, "--method", method)
        answered = go_call(server.port, "--payload", '{"after":"error"}')
    assert refused["error"] == error
    assert answered["error"] == ""
    assert answered["payload"] == '{"after":"error"}'


def test_go_client_sees_a_python_exception_as_invoke_response_error() -> None:
    with served("served_handlers.raise_error") as server:
        line = go_call(server.port, "--payload", '{"message":"from go"}')
    assert (line["error"], line["error_type"], line["error_message"]) == (
        "",
        "ValueError",
        "from go",
    )
    frames = line["stack_trace"]
    assert isinstance(frames, list)
    assert [frame["label"] for frame in frames] == ["_inner_failure", "raise_error"]
    assert {frame["path"] for frame in frames} == {str(HERE / "served_handlers.py")}
    assert line["should_exit"] is False


def test_500_concurrent_go_invokes_over_3_connections_each_get_their_reply() -> None:
    with served("served_handlers.echo") as server:
        result = go_client(
            server.port, "--count", "500", "--conns", "3", "--concurrency", "8", "--quiet"
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"ok": 500, "mismatched": 0, "errors": 0}


@guarded
async def test_a_body_that_does_not_decode_gets_an_error_reply_on_a_live_connection() -> None:
    with served("served_handlers.echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            with pytest.raises(RemoteCallError) as refused:
                await client.call(
                    INVOKE, BasicType(Kind.STRING), "not a request", struct_type(InvokeResponse)
                )
            await client.ping()
            after = await client.invoke(invoke_request(b'{"still":"serving"}', "req-2"))
    assert refused.value.message.startswith("gob: ")
    assert after.error is None
    assert json.loads(after.payload) == {"still": "serving"}


@guarded
async def test_an_undecodable_header_closes_that_connection_only() -> None:
    with served("served_handlers.echo") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as bystander:
            bad = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with bad:
                await bad.send_all(UNDECODABLE_HEADER)
                with trio.fail_after(PROCESS_TIMEOUT):
                    received = await bad.receive_some()
            await bystander.ping()
            response = await bystander.invoke(invoke_request(b"[1]", "req-1"))
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as newcomer:
            await newcomer.ping()
    assert received == b"", "Go closes without replying when a header does not decode"
    assert json.loads(response.payload) == [1]


async def _send_alone(port: int, data: bytes) -> bytes:
    """Once the server listens, ``data`` on a connection of its own; what first comes back."""
    async with connect_function(port, timeout=PROCESS_TIMEOUT) as first:
        await first.ping()
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(data)
        with trio.fail_after(PROCESS_TIMEOUT):
            return await stream.receive_some()


@guarded
async def test_a_connection_closed_on_our_own_limit_says_so_on_stderr() -> None:
    """A header announcing more than gobrpc's 8 MiB message limit: Go's server would wait for it
    (its limit is 8 GiB); ours closes that connection, says why, and serves the others."""
    oversized = bytes([0xFC]) + (MAX_MESSAGE_SIZE + 1).to_bytes(4, "big") + b"\x00" * 100
    with served("served_handlers.echo") as server:
        received = await _send_alone(server.port, oversized)
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as newcomer:
            await newcomer.ping()
        with trio.fail_after(PROCESS_TIMEOUT):
            while "closing a connection" not in server.stderr():
                await trio.sleep(0.01)
    assert received == b""
    assert (
        "lambda-legacy: closing a connection: rpc: server cannot decode request: invalid message "
        f"length: {MAX_MESSAGE_SIZE + 1} bytes" in server.stderr()
    )


@guarded
async def test_a_header_go_cannot_decode_closes_without_a_word() -> None:
    """Go's server logs nothing when a header does not decode; neither does ours."""
    with served("served_handlers.echo") as server:
        assert await _send_alone(server.port, UNDECODABLE_HEADER) == b""
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as newcomer:
            await newcomer.ping()
    assert "closing a connection" not in server.stderr()


async def _first_type_ids(port: int) -> list[int]:
    """Ping over a raw socket; the ids of the type definitions in the reply, in order."""
    caller = ClientConnection(TypeRegistry(FIRST_USER_ID_LEGACY))
    _seq, call = caller.send_call(
        PING, struct_type(PingRequest), PingRequest(), struct_type(PingResponse)
    )
    decoder = Decoder()
    ids: list[int] = []
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(call)
        values = 0
        while values < 2:  # the Response header, then the PingResponse body
            item = decoder.next_item()
            if isinstance(item, TypeDefinition):
                ids.append(item.id)
            elif isinstance(item, DecodedValue):
                values += 1
            else:
                data = await stream.receive_some()
                assert data, "the server closed before its reply was complete"
                decoder.receive_data(data)
    return ids


@pytest.mark.parametrize(
    ("option", "first_id"),
    [((), FIRST_USER_ID_LEGACY), (("--gob-first-id", "64"), FIRST_USER_ID_GO_1_21)],
    ids=["default-go1.20", "go1.21"],
)
@guarded
async def test_gob_type_ids_start_where_the_go_release_starts_them(
    option: tuple[str, ...], first_id: int
) -> None:
    with served("served_handlers.echo", serve_options=option) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT):
            pass  # ready
        ids = await _first_type_ids(server.port)
    # rpc.Response, then messages.PingResponse, numbered from the release's first user id.
    assert ids == [first_id, first_id + 1]
