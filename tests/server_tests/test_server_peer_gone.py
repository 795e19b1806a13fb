"""A client that goes away while the server still owes it several replies: the replies are
dropped with that connection, and the server goes on serving everyone else.

Every reply after the first failed write meets a connection already marked as failed; each must
end like the first (the peer is gone), not as an error that escapes the server.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

import pytest
import trio
import trio.testing
from in_process_server import serving

from gobrpc import ClientConnection, TypeRegistry, struct_type
from runtime._client import connect_function
from runtime._dispatch import HandlerFunction
from runtime._messages import InvokeRequest, PingRequest, PingResponse
from runtime._server import FunctionServer
from runtime._settings import Settings

#: Invokes left unanswered when the client resets: more than one, so that a later reply meets
#: the connection already marked failed by an earlier one.
OWED = 3
#: No run here may take longer (a lost or stuck reply fails instead of hanging).
RUN_TIMEOUT_S = 30.0


@pytest.fixture
def answers_done(monkeypatch: pytest.MonkeyPatch) -> list[BaseException | None]:
    """How each ``FunctionServer._answer`` ended: None, or what it raised."""
    ended: list[BaseException | None] = []
    original = FunctionServer._answer

    async def recording(self: FunctionServer, *args: object) -> None:
        try:
            await original(self, *args)  # type: ignore[arg-type]
        except BaseException as exc:
            ended.append(exc)
            raise
        ended.append(None)

    monkeypatch.setattr(FunctionServer, "_answer", recording)
    return ended


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST, as a crashed or killed peer's does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def _wait_until(condition: Callable[[], bool]) -> None:
    while not condition():
        await trio.sleep(0.01)


@pytest.mark.parametrize("kind", ["def", "async def"])
async def test_a_client_reset_with_replies_owed_leaves_the_serverserving(
    kind: str, answers_done: list[BaseException | None], capsys: pytest.CaptureFixture[str]
) -> None:
    entered = threading.Semaphore(0)
    release = threading.Event()
    trio_release = trio.Event()

    def plain(event: object, context: object) -> object:
        entered.release()
        release.wait(RUN_TIMEOUT_S)
        return event

    async def coroutine(event: object, context: object) -> object:
        entered.release()
        await trio_release.wait()
        return event

    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(plain if kind == "def" else coroutine) as port:
            async with (
                trio.open_nursery() as callers,
                connect_function(port, timeout=10) as doomed,
            ):
                for index in range(OWED):
                    request = InvokeRequest(payload=b'{"n": %d}' % index)
                    callers.start_soon(doomed.invoke, request)
                for _ in range(OWED):
                    await trio.to_thread.run_sync(entered.acquire)
                _reset(doomed._rpc.stream.socket._sock)  # type: ignore[attr-defined]
                callers.cancel_scope.cancel()
            release.set()
            trio_release.set()
            # connect_function's Ping, then the invokes owed.
            await _wait_until(lambda: len(answers_done) == 1 + OWED)
            assert answers_done == [None] * (1 + OWED)
            async with connect_function(port, timeout=10) as client:
                await client.ping()
                response = await client.invoke(InvokeRequest(payload=b'{"after": true}'))
    assert response.error is None
    assert response.payload == b'{"after":true}'
    # The replies owed are dropped with the connection, not reported as encoding failures.
    assert "rpc: gob error" not in capsys.readouterr().err


async def test_an_error_reply_to_a_peer_that_has_gone_ends_only_that_connection() -> None:
    """A bad call (unknown method) whose peer is gone before its error reply is written: the
    connection ends quietly, as for any reply; nothing escapes to stop the listener."""
    client, server_side = trio.testing.memory_stream_pair()
    caller = ClientConnection(TypeRegistry())
    _seq, call = caller.send_call(
        "Function.Nope", struct_type(PingRequest), PingRequest(), struct_type(PingResponse)
    )
    await client.send_all(call)
    await client.aclose()
    function = HandlerFunction(handler=lambda event, context: event, settings=Settings.from_env({}))
    server = FunctionServer(function)
    with trio.fail_after(RUN_TIMEOUT_S):
        await server.handle_connection(server_side)  # returns: no exception
