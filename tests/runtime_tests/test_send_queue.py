"""Every TCP connection we make or accept has the kernel's send queue, as Go's ``net`` leaves it,
not trio's 16 KiB ``TCP_NOTSENT_LOWAT`` (which, under BBR, stalled large messages for 70-150 ms).

``getsockopt(TCP_NOTSENT_LOWAT)`` reads back 0 when the socket follows the kernel's default, and
16384 on a trio ``SocketStream`` left as trio made it.
"""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from gobrpc import FIRST_USER_ID_LEGACY, ServerConnection, TypeRegistry
from runtime._client import dial_function
from runtime._messages import METHODS
from runtime._runtime_api_client import RuntimeApiClient
from runtime._socket_io import send_queue_as_go_leaves_it
from runtime._stream import RpcStream

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "TCP_NOTSENT_LOWAT"), reason="this platform has no TCP_NOTSENT_LOWAT"
)

#: What trio sets on every TCP SocketStream it makes.
TRIO_LOWAT = 16384
TEST_TIMEOUT_S = 10


def _lowat(stream: trio.SocketStream) -> int:
    value: int = stream.getsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT)
    return value


async def _pair() -> tuple[trio.SocketListener, trio.SocketStream, trio.SocketStream]:
    """A listener, a stream dialled to it by trio, and the stream it accepted."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    dialled = await trio.open_tcp_stream("127.0.0.1", listener.socket.getsockname()[1])
    accepted = await listener.accept()
    assert isinstance(accepted, trio.SocketStream)
    return listener, dialled, accepted


async def test_trio_sets_the_low_water_mark_that_we_give_back() -> None:
    listener, dialled, accepted = await _pair()
    async with listener, dialled, accepted:
        assert _lowat(dialled) == TRIO_LOWAT == _lowat(accepted)  # the premise
        send_queue_as_go_leaves_it(dialled)
        assert _lowat(dialled) == 0
        assert _lowat(accepted) == TRIO_LOWAT


async def test_a_connection_the_server_accepts() -> None:
    listener, dialled, accepted = await _pair()
    async with listener, dialled:
        rpc = RpcStream(accepted, ServerConnection(TypeRegistry(FIRST_USER_ID_LEGACY), METHODS))
        assert _lowat(accepted) == 0
        await rpc.aclose()


async def test_a_function_the_service_dials() -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    async with listener:
        with trio.fail_after(TEST_TIMEOUT_S):
            stream = await dial_function(listener.socket.getsockname()[1])
        async with stream:
            assert isinstance(stream, trio.SocketStream)
            assert _lowat(stream) == 0


async def test_the_runtime_api_connection() -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    client = RuntimeApiClient(f"127.0.0.1:{listener.socket.getsockname()[1]}")
    async with listener:
        with trio.fail_after(TEST_TIMEOUT_S):
            stream, _ = await client._connect()
        assert _lowat(stream) == 0
        await client.aclose()


async def test_other_streams_are_left_alone() -> None:
    send_queue_as_go_leaves_it(trio.testing.memory_stream_pair()[0])  # no socket at all
    ours, peer = trio.socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with peer:
        async with trio.SocketStream(ours) as stream:
            send_queue_as_go_leaves_it(stream)  # not TCP: the kernel refuses, and that is fine
            await stream.send_all(b"still usable")
            assert await peer.recv(100) == b"still usable"
