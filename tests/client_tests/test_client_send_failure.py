"""A call whose request cannot be written ends the client, and says why: later calls fail at once
with the same reason (``closed_reason``), as they do after a failed read."""

from __future__ import annotations

import socket

import pytest
import trio
from in_process_server import serving

from runtime._client import connect_function

#: No run here may take longer (a stuck call fails instead of hanging).
RUN_TIMEOUT_S = 30.0


def _echo(event: object, context: object) -> object:
    return event


async def test_a_failed_send_is_the_reason_every_later_call_gives() -> None:
    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(_echo) as port, connect_function(port, timeout=10) as client:
            sock = client._rpc.stream.socket  # type: ignore[attr-defined]
            sock.shutdown(socket.SHUT_WR)  # our writes now fail with EPIPE
            with pytest.raises(trio.BrokenResourceError):
                await client.ping()
            reason = client.closed_reason
            assert reason is not None
            assert reason.startswith("connection broken")
            with pytest.raises(trio.BrokenResourceError, match="connection broken"):
                await client.ping()
