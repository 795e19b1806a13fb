"""A real Go net/rpc client (tools/gopeer, playing the go1.x service) against our server."""

from __future__ import annotations

import json
import subprocess

import trio
from go_peer import gopeer

from runtime._messages import InvokeRequest, InvokeResponse, ReplyNow
from runtime._server import serve_function


class Echo:
    """Returns the event unchanged, as the Go peer's echo handler does."""

    async def invoke(self, request: InvokeRequest, reply: ReplyNow | None = None) -> InvokeResponse:
        await trio.sleep(0)
        return InvokeResponse(payload=request.payload)


async def _run_client(*args: str) -> subprocess.CompletedProcess[bytes]:
    return await trio.run_process(
        [str(gopeer()), "client", *args], capture_stdout=True, capture_stderr=True, check=False
    )


async def test_go_client_pings_and_invokes() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_function, Echo(), 0)
        port = listeners[0].socket.getsockname()[1]
        result = await _run_client("--port", str(port), "--payload", '{"hello":"world"}')
        nursery.cancel_scope.cancel()
    assert result.returncode == 0, result.stderr.decode()
    reply = json.loads(result.stdout.splitlines()[-1])
    assert reply["payload"] == '{"hello":"world"}'
    assert reply["error"] in ("", None)


async def test_500_concurrent_invokes_over_3_connections_all_match() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_function, Echo(), 0)
        port = listeners[0].socket.getsockname()[1]
        result = await _run_client(
            "--port", str(port), "--count", "500", "--conns", "3", "--concurrency", "8"
        )
        nursery.cancel_scope.cancel()
    assert result.returncode == 0, result.stderr.decode()
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary == {"ok": 500, "mismatched": 0, "errors": 0}
