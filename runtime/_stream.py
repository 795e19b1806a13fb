"""The one place a gobrpc connection meets trio: drives it over a ``trio.abc.Stream``.

Reading: bytes from ``receive_some`` go into the sans-IO connection until it yields an event.
Writing: Go's net/rpc holds one ``sending`` mutex around "encode, then write" so that the
definitions, header and body of one reply stay contiguous and the peer's view of which types it has
seen stays in step with ours; :class:`RpcStream` does the same with a ``trio.Lock``. A send that is
cancelled or fails part-way leaves the peer with a partial message, so the connection is marked
with ``send_failed()``, and every later send on it raises ``trio.BrokenResourceError``, the error
its callers already expect from a connection that is gone (a server may still owe that peer other
replies when it goes away).

The fast path. Most replies are small, nobody else is sending, and the kernel takes all the bytes
at once. For a TCP :class:`trio.SocketStream` that case skips trio's two schedule points (one in
``Lock.acquire``, one after a successful ``send``): the lock is taken with ``acquire_nowait`` and
the bytes are written straight to the socket's descriptor, which is non-blocking. Whatever the
kernel does not take is sent with ``send_all``, under the same lock, as before. On a loaded
2-core machine each schedule point skipped saves some tens of microseconds per reply.

Reading from a TCP socket likewise goes straight to the descriptor, with one schedule point per
read instead of two (:func:`runtime._socket_io.receive_some`).

Replies from worker threads. A plain ``def`` handler runs in a worker thread
(:mod:`runtime._handler_threads`); when it returns, that thread can encode and write the reply
itself (:meth:`RpcStream.send_from_thread`), instead of waking the trio thread to do it, which
costs a thread switch and a scheduler pass on the invoke's critical path. Three locks keep the
bytes whole and in order:

- ``_send_lock`` (trio): held by a trio task from before it writes until all its bytes are out,
  across any wait for the socket. A worker never writes while it is held; it leaves the reply to
  the trio side instead.
- ``_wire`` (a thread lock, per connection): held, by either side, around "encode, then write
  what the kernel takes now", around :attr:`_tail`, and around decoding the next request (which
  records the calls awaiting an answer, as a reply clears them). It is never held across a wait
  for the socket; the trio thread may still wait for it while a worker encodes a reply, and, on a
  loaded machine, while that worker waits for the CPU.
- ``encode_lock`` (a thread lock shared by every connection of a server): the type registry is
  process-wide, and gob encoders assign ids and compile writers in it on first use.

If the kernel takes only part of a worker's reply, the rest is kept in :attr:`_tail`: the next
sender on the trio side writes it before anything else, and the invoke's own task writes it if
nobody has yet (:meth:`RpcStream.send_tail`).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import trio

from gobrpc import NEED_DATA, ClientConnection, ServerConnection

from ._socket_io import (
    RECEIVE_SIZE,
    descriptor,
    receive_some,
    send_queue_as_go_leaves_it,
    write_now,
)

__all__ = ["RpcStream", "ThreadSend"]

C = TypeVar("C", ServerConnection, ClientConnection)


class ThreadSend(enum.Enum):
    """What :meth:`RpcStream.send_from_thread` did."""

    #: All the bytes are written (or the connection is gone, as a trio-side send ignores too).
    SENT = enum.auto()
    #: Some are written; the rest waits in the stream for :meth:`RpcStream.send_tail`.
    PARTIAL = enum.auto()
    #: Nothing written: a trio task is mid-send, or this is no socket. Send it the usual way.
    LEFT = enum.auto()


class RpcStream(Generic[C]):
    """A gobrpc connection (either role) bound to a trio stream."""

    def __init__(
        self, stream: trio.abc.Stream, connection: C, encode_lock: threading.Lock | None = None
    ) -> None:
        self.stream = stream
        self.connection: C = connection
        self._send_lock = trio.Lock()
        self._wire = threading.Lock()
        self._encode_lock = encode_lock or threading.Lock()
        #: The unwritten end of a worker's reply; goes out before any other bytes.
        self._tail: memoryview | None = None
        #: A write failed or was cancelled part-way: the peer's view of the stream is lost.
        self._broken = False
        # Only a real socket has a descriptor to write to; other streams (memory streams in
        # tests, TLS) always take the general path.
        self._socket = stream.socket if isinstance(stream, trio.SocketStream) else None
        send_queue_as_go_leaves_it(stream)

    async def next_event(self) -> object:
        """The connection's next event, reading from the stream as needed."""
        while True:
            # Under the wire lock: a worker's reply (send_from_thread) updates the same
            # connection's record of which calls await an answer.
            with self._wire:
                event = self.connection.next_event()
            if event is not NEED_DATA:
                return event
            if self._socket is None:
                data = await self.stream.receive_some(RECEIVE_SIZE)
            else:
                data = await receive_some(self._socket)
            self.connection.receive_data(data)

    async def send(self, produce: Callable[[C], bytes]) -> None:
        """Encode with ``produce(connection)`` and send the bytes, under the write lock."""
        lock = self._send_lock
        if self._socket is None or lock.locked():
            await lock.acquire()
        else:
            lock.acquire_nowait()  # the common case: no schedule point
        try:
            with self._wire:
                tail, self._tail = self._tail, None
                if tail is None:  # the common case: encode and write in one hold of the lock
                    data, written = self._encode_and_write(produce)
            if tail is not None:
                await self._send_all(tail)
                with self._wire:
                    data, written = self._encode_and_write(produce)
            if written < len(data):
                await self._send_all(memoryview(data)[written:] if written else data)
        finally:
            lock.release()

    def send_from_thread(self, produce: Callable[[C], bytes]) -> ThreadSend:
        """From a thread other than trio's: encode with ``produce`` and write what the kernel
        takes now, unless a trio task is sending; what became of the bytes.

        ``trio.BrokenResourceError`` and ``ClosedResourceError`` count as sent (the connection is
        marked failed, as a trio-side send does); whatever ``produce`` raises propagates, with
        nothing written.
        """
        if self._socket is None:
            return ThreadSend.LEFT
        with self._wire:
            if self._send_lock.locked() or self._tail is not None:
                return ThreadSend.LEFT
            try:
                data, written = self._encode_and_write(produce)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return ThreadSend.SENT
            if written == len(data):
                return ThreadSend.SENT
            self._tail = memoryview(data)[written:]
            return ThreadSend.PARTIAL

    def _encode_and_write(self, produce: Callable[[C], bytes]) -> tuple[bytes, int]:
        """With the wire lock held: the message's bytes, and how many the kernel took now."""
        if self._broken:
            raise trio.BrokenResourceError("an earlier send on this connection failed")
        with self._encode_lock:
            data = produce(self.connection)
        return data, (0 if self._socket is None else self._write_now(data))

    async def send_tail(self) -> None:
        """Write the rest of a worker's reply, if no trio-side send has done it yet."""
        async with self._send_lock:
            await self._write_tail()

    async def _write_tail(self) -> None:
        """With the send lock held: the rest of a worker's reply goes first."""
        with self._wire:
            tail, self._tail = self._tail, None
        if tail is not None:
            await self._send_all(tail)

    def _write_now(self, data: bytes) -> int:
        """Write what the kernel takes now; the socket exists. Marks the connection failed if the
        write fails."""
        assert self._socket is not None
        try:
            return write_now(descriptor(self._socket), data)
        except BaseException:
            self._broken = True
            self.connection.send_failed()
            raise

    async def _send_all(self, data: bytes | memoryview) -> None:
        try:
            await self.stream.send_all(data)
        except BaseException:
            self._broken = True
            self.connection.send_failed()
            raise

    async def aclose(self) -> None:
        """Close the underlying stream."""
        await self.stream.aclose()
