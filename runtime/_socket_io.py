"""Reading and writing a trio socket's descriptor directly, with trio's contracts and errors.

Why. The go1.x connection (:mod:`runtime._stream`) and the Runtime API client
(:mod:`runtime._runtime_api_client`) each cross a socket twice per invoke on its critical path.
``trio.SocketStream`` takes two schedule points per send and two per receive; on a loaded 2-core
machine each costs some tens of microseconds. The socket is non-blocking, so what the kernel takes
or has can be written or read at once, and only an empty read waits, with ``wait_readable``.

The contract kept from ``receive_some``: a cancelled reader consumes nothing (cancellation is
checked before the read), and every read is a schedule point: the wait for readability when
nothing has arrived yet, or a cancel-shielded one after a read that found bytes already there (so
a peer that floods the connection cannot starve other tasks). Errors are trio's streams' own:
``ClosedResourceError`` for a socket closed on our side, ``BrokenResourceError`` otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Sequence

import trio

__all__ = [
    "RECEIVE_SIZE",
    "descriptor",
    "receive_some",
    "send_queue_as_go_leaves_it",
    "write_now",
    "writev_now",
]

#: How much to read at once. Big enough that a 6 MB payload arrives in a hundred reads, small
#: enough not to waste memory per idle connection.
RECEIVE_SIZE = 64 * 1024

# What trio's SocketStream reports as ClosedResourceError rather than BrokenResourceError.
_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK})


#: The socket option trio sets and Go does not (Linux and macOS name it; elsewhere there is none).
_NOTSENT_LOWAT = getattr(socket, "TCP_NOTSENT_LOWAT", None)


def send_queue_as_go_leaves_it(stream: trio.abc.Stream) -> None:
    """Give a TCP stream's socket back the kernel's send queue, as Go's ``net`` leaves it.

    Why. trio's ``SocketStream`` sets ``TCP_NOTSENT_LOWAT`` to 16 KiB, so that the kernel holds
    little unsent data (a latency aid for protocols that interleave streams on one connection).
    net/rpc writes each message whole, and Go never sets the option. With it, a 1 MiB message
    leaves 16 KiB of unsent data at a time, and on this project's machines, whose congestion
    control is BBR, about one 1 MiB invoke in twenty stalled for 70-150 ms (BBR's pacing rate fell
    to tens of Mbit/s, one 64 KiB segment per wake-up). With the option at 0, the kernel's default
    (``net.ipv4.tcp_notsent_lowat``, no limit), those stalls did not happen in the same runs.
    Other streams (memory streams in tests, TLS) are left alone.
    """
    if isinstance(stream, trio.SocketStream) and _NOTSENT_LOWAT is not None:
        with contextlib.suppress(OSError):  # not TCP, or already closed: nothing to give back
            stream.setsockopt(socket.IPPROTO_TCP, _NOTSENT_LOWAT, 0)


def _stream_error(exc: OSError) -> trio.ClosedResourceError | trio.BrokenResourceError:
    """The error trio's ``SocketStream`` raises for ``exc``: closed by us, or broken."""
    if exc.errno in _CLOSED_ERRNOS:
        return trio.ClosedResourceError("this socket was already closed")
    return trio.BrokenResourceError(f"socket connection broken: {exc}")


def descriptor(sock: trio.socket.SocketType) -> int:
    """``sock``'s file descriptor; ``ClosedResourceError`` once it is closed."""
    fd = sock.fileno()
    if fd == -1:
        raise trio.ClosedResourceError("this socket was already closed")
    return fd


def write_now(fd: int, data: bytes) -> int:
    """Write what the kernel takes now, without blocking; how many bytes it took."""
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as exc:
        raise _stream_error(exc) from exc


def writev_now(fd: int, pieces: Sequence[bytes]) -> list[memoryview]:
    """Write ``pieces`` in one ``writev`` without blocking; what the kernel did not take."""
    try:
        written = os.writev(fd, pieces)
    except BlockingIOError:
        written = 0
    except OSError as exc:
        raise _stream_error(exc) from exc
    left: list[memoryview] = []
    for piece in pieces:
        if written >= len(piece):
            written -= len(piece)
            continue
        left.append(memoryview(piece)[written:])
        written = 0
    return left


def _read_now(fd: int) -> bytes | None:
    """What has arrived (``b""`` at end of stream), or None if nothing has yet."""
    try:
        return os.read(fd, RECEIVE_SIZE)
    except BlockingIOError:
        return None
    except OSError as exc:
        raise _stream_error(exc) from exc


async def receive_some(sock: trio.socket.SocketType) -> bytes:
    """``SocketStream.receive_some(RECEIVE_SIZE)`` with one schedule point instead of two."""
    await trio.lowlevel.checkpoint_if_cancelled()
    data = _read_now(descriptor(sock))
    if data is not None:
        await trio.lowlevel.cancel_shielded_checkpoint()
        return data
    while True:
        await trio.lowlevel.wait_readable(sock)
        data = _read_now(descriptor(sock))
        if data is not None:
            return data
