"""Replies written from a worker thread (RpcStream.send_from_thread): whole, in order, and never
interleaved with a trio-side send, whether the kernel takes them at once or only in part."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest
import trio

from gobrpc import (
    Call,
    ClientConnection,
    LocalProtocolError,
    ServerConnection,
    TypeRegistry,
    struct_type,
)
from gobrpc._types import FIRST_USER_ID_GO_1_21
from runtime._messages import INVOKE, METHODS, InvokeRequest, InvokeResponse
from runtime._socket_io import write_now
from runtime._stream import RpcStream, ThreadSend

_INVOKE_REQUEST = struct_type(InvokeRequest)
_INVOKE_RESPONSE = struct_type(InvokeResponse)
#: Far more than a socket buffer shrunk to its minimum holds, so a write of it is partial.
BIG = 1 << 20
#: What the test sockets' send buffers are set to (the kernel doubles it and rounds it up).
SMALL_BUFFER = 4096

Produce = Callable[[ServerConnection], bytes]


#: Calls every test connection has read, Seq 0 to 3, waiting for their replies.
CALLS = 4


def _connection() -> ServerConnection:
    """A server connection that has read :data:`CALLS` invokes, as a real one would have."""
    connection = ServerConnection(TypeRegistry(FIRST_USER_ID_GO_1_21), METHODS)
    client = ClientConnection(TypeRegistry(FIRST_USER_ID_GO_1_21))
    for _ in range(CALLS):
        _, data = client.send_call(INVOKE, _INVOKE_REQUEST, InvokeRequest(), _INVOKE_RESPONSE)
        connection.receive_data(data)
        assert isinstance(connection.next_event(), Call)
    return connection


def _reply(seq: int, size: int) -> Produce:
    payload = b"x" * size

    def produce(connection: ServerConnection) -> bytes:
        return connection.send_reply(seq, INVOKE, _INVOKE_RESPONSE, InvokeResponse(payload=payload))

    return produce


def _expected(*replies: Produce) -> bytes:
    """The bytes the replies make, in this order, on a connection of their own."""
    twin = _connection()
    return b"".join(produce(twin) for produce in replies)


def _pair() -> tuple[RpcStream[ServerConnection], trio.socket.SocketType]:
    ours, peer = trio.socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    return RpcStream(trio.SocketStream(ours), _connection()), peer


#: No test here waits longer for bytes that should come (a lost tail must fail, not hang).
READ_TIMEOUT_S = 10.0


async def _read_exactly(peer: trio.socket.SocketType, size: int) -> bytes:
    received = bytearray()
    with trio.fail_after(READ_TIMEOUT_S):
        while len(received) < size:
            chunk = await peer.recv(65536)
            assert chunk, f"peer saw the end after {len(received)} of {size} bytes"
            received += chunk
    return bytes(received)


async def _from_thread(rpc: RpcStream[ServerConnection], produce: Produce) -> ThreadSend:
    return await trio.to_thread.run_sync(rpc.send_from_thread, produce)


async def test_a_small_reply_from_a_thread_goes_out_whole_before_the_next() -> None:
    rpc, peer = _pair()
    first, second = _reply(0, 100), _reply(1, 100)
    with peer:
        assert await _from_thread(rpc, first) is ThreadSend.SENT
        await rpc.send(second)
        expected = _expected(first, second)
        assert await _read_exactly(peer, len(expected)) == expected
    await rpc.aclose()


async def test_a_partial_reply_from_a_thread_is_finished_before_any_other_bytes() -> None:
    rpc, peer = _pair()
    big, small = _reply(0, BIG), _reply(1, 100)
    expected = _expected(big, small)
    with peer:
        assert await _from_thread(rpc, big) is ThreadSend.PARTIAL
        # While the rest waits, another thread must leave its reply to trio's side.
        assert await _from_thread(rpc, _reply(2, 10)) is ThreadSend.LEFT
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rpc.send, small)  # writes the tail first, then its own
            received = await _read_exactly(peer, len(expected))
        await rpc.send_tail()  # nothing left: returns at once
    assert received == expected
    await rpc.aclose()


async def test_the_invokes_own_task_writes_the_tail_if_nobody_did() -> None:
    rpc, peer = _pair()
    big = _reply(0, BIG)
    expected = _expected(big)
    with peer:
        assert await _from_thread(rpc, big) is ThreadSend.PARTIAL
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rpc.send_tail)
            assert await _read_exactly(peer, len(expected)) == expected
    await rpc.aclose()


async def test_a_thread_leaves_its_reply_while_a_trio_task_is_mid_send() -> None:
    rpc, peer = _pair()
    big, small = _reply(0, BIG), _reply(1, 100)
    with peer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rpc.send, big)  # blocks: the peer is not reading yet
            await trio.testing.wait_all_tasks_blocked()
            assert await _from_thread(rpc, small) is ThreadSend.LEFT
            expected_big = _expected(big)
            assert await _read_exactly(peer, len(expected_big)) == expected_big
        await rpc.send(small)  # the left reply, sent the usual way: it encodes after big
        expected = _expected(big, small)[len(expected_big) :]
        assert await _read_exactly(peer, len(expected)) == expected
    await rpc.aclose()


async def test_a_thread_reply_to_a_peer_that_left_counts_as_sent_and_ends_sending() -> None:
    rpc, peer = _pair()
    peer.close()
    assert await _from_thread(rpc, _reply(0, 100)) is ThreadSend.SENT
    with pytest.raises(LocalProtocolError):
        _reply(1, 100)(rpc.connection)  # the connection knows a send failed
    await rpc.aclose()


async def test_an_encoding_error_in_a_thread_propagates_and_writes_nothing() -> None:
    rpc, peer = _pair()

    def fails(connection: ServerConnection) -> bytes:
        raise ValueError("cannot encode")

    ok = _reply(0, 100)
    with peer:
        with pytest.raises(ValueError, match="cannot encode"):
            await _from_thread(rpc, fails)
        await rpc.send(ok)
        expected = _expected(ok)
        assert await _read_exactly(peer, len(expected)) == expected
    await rpc.aclose()


async def test_a_stream_that_is_no_socket_always_leaves_the_reply_to_trio() -> None:
    ours, _theirs = trio.testing.memory_stream_pair()
    rpc = RpcStream(ours, _connection())
    assert await _from_thread(rpc, _reply(0, 100)) is ThreadSend.LEFT


class _WatchedLock:
    """A lock that says when the trio thread starts waiting for it."""

    def __init__(self, trio_thread: int) -> None:
        self.lock = threading.Lock()
        self.trio_thread = trio_thread
        self.trio_waiting = threading.Event()

    def __enter__(self) -> None:
        if threading.get_ident() == self.trio_thread:
            self.trio_waiting.set()
        self.lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.lock.release()


async def test_reading_the_next_request_waits_for_a_reply_being_encoded_in_a_thread() -> None:
    # Decoding a call and encoding a reply both update the connection's record of calls that
    # await an answer; the wire lock keeps them apart.
    rpc, peer = _pair()
    wire = _WatchedLock(threading.get_ident())
    rpc._wire = wire  # type: ignore[assignment]
    client = ClientConnection(TypeRegistry(FIRST_USER_ID_GO_1_21))
    for _ in range(CALLS + 1):  # the calls the server has read, then one more
        _, data = client.send_call(INVOKE, _INVOKE_REQUEST, InvokeRequest(), _INVOKE_RESPONSE)
    released: list[bool] = []
    holding = threading.Event()

    def hold_the_wire() -> None:
        with wire.lock:  # as a worker encoding a reply holds it
            holding.set()
            assert wire.trio_waiting.wait(timeout=30), "the read never reached the wire lock"
            released.append(True)

    with peer:
        await peer.send(data)  # the last call's bytes
        thread = threading.Thread(target=hold_the_wire)
        thread.start()
        holding.wait()
        event = await rpc.next_event()
        released_when_read = list(released)
        thread.join()
    assert released_when_read == [True]
    assert isinstance(event, Call)
    await rpc.aclose()


async def test_a_reply_the_kernel_takes_all_but_one_byte_of_is_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first write of a trio-side send takes the reply less its last byte: that byte follows."""

    def all_but_the_last(fd: int, data: bytes) -> int:
        return write_now(fd, data[:-1])

    monkeypatch.setattr("runtime._stream.write_now", all_but_the_last)
    rpc, peer = _pair()
    reply = _reply(0, 100)
    await rpc.send(reply)
    want = _expected(reply)
    assert await _read_exactly(peer, len(want)) == want
