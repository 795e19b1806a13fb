"""RpcStream over a real socket: the events equal the sans-IO connection's for the same bytes,
however the peer splits them, and the descriptor read path keeps trio's contracts (one checkpoint
per read, trio's errors for a closed or broken socket)."""

from __future__ import annotations

import random
import socket
import struct

import pytest
import trio
import trio.testing
from codec_helpers import drain, three_ways
from golden_json import TRANSCRIPTS, load

from gobrpc import ConnectionClosed, ServerConnection, TypeRegistry
from gobrpc._types import FIRST_USER_ID_GO_1_21
from runtime._messages import METHODS
from runtime._stream import RpcStream


def _server_connection() -> ServerConnection:
    return ServerConnection(TypeRegistry(FIRST_USER_ID_GO_1_21), METHODS)


def _client_bytes() -> list[bytes]:
    """Every golden transcript's client side, one connection each."""
    return [
        bytes.fromhex(connection["client_to_server"])
        for path in TRANSCRIPTS
        for connection in load(path)["connections"]
    ]


def _socket_pair() -> tuple[trio.SocketStream, trio.socket.SocketType]:
    """Our end as a trio SocketStream (so the descriptor path is taken), and the peer's socket."""
    ours, peer = trio.socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return trio.SocketStream(ours), peer


async def _events_through_stream(chunks: list[bytes]) -> list[object]:
    stream, peer = _socket_pair()
    rpc = RpcStream(stream, _server_connection())

    async def write_then_close() -> None:
        with peer:
            for chunk in chunks:
                await peer.send(chunk)
                await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write_then_close)
        events = await _drain(rpc)
    await rpc.aclose()
    return events


def _splits(data: bytes, seed: int) -> list[list[bytes]]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), min(5, len(data) - 1)))
    at_random = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return [*three_ways(data), at_random]


@pytest.mark.parametrize("index", range(len(_client_bytes())))
async def test_events_equal_the_sans_io_connection_whole_byte_at_a_time_and_split(
    index: int,
) -> None:
    data = _client_bytes()[index]
    expected = drain(_server_connection(), [data])
    for chunks in _splits(data, seed=index):
        assert await _events_through_stream(chunks) == expected


async def test_a_read_of_bytes_already_there_is_one_checkpoint() -> None:
    stream, peer = _socket_pair()
    rpc = RpcStream(stream, _server_connection())
    with peer:
        await peer.send(_client_bytes()[0])
    with trio.testing.assert_checkpoints():
        event = await rpc.next_event()
    assert not isinstance(event, ConnectionClosed)
    await rpc.aclose()


async def test_a_cancelled_reader_does_not_consume_bytes_already_there() -> None:
    stream, peer = _socket_pair()
    rpc = RpcStream(stream, _server_connection())
    data = _client_bytes()[0]
    await peer.send(data)
    with trio.CancelScope() as scope:
        scope.cancel()
        await rpc.next_event()
    assert scope.cancelled_caught
    peer.close()
    assert await _drain(rpc) == drain(_server_connection(), [data])
    await rpc.aclose()


async def _drain(rpc: RpcStream[ServerConnection]) -> list[object]:
    events = []
    while not isinstance(event := await rpc.next_event(), ConnectionClosed):
        events.append(event)
    return [*events, event]


async def test_closing_the_stream_wakes_a_waiting_reader_with_closed_resource_error() -> None:
    stream, peer = _socket_pair()
    rpc = RpcStream(stream, _server_connection())

    async def close_soon() -> None:
        await trio.testing.wait_all_tasks_blocked()
        await rpc.aclose()

    with peer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(close_soon)
            with pytest.raises(trio.ClosedResourceError):
                await rpc.next_event()


async def test_a_reset_connection_is_broken_resource_error() -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    async with listeners[0]:
        client = await trio.open_tcp_stream("127.0.0.1", port)
        accepted = await listeners[0].accept()
        rpc = RpcStream(accepted, _server_connection())
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        client.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await client.send_all(_client_bytes()[0][:5])
        client.socket.close()
        with pytest.raises(trio.BrokenResourceError, match="socket connection broken"):
            await _drain(rpc)
        await rpc.aclose()
