"""The one place a gobrpc connection meets trio: drives it over a ``trio.abc.Stream``.

Reading: bytes from ``receive_some`` go into the sans-IO connection until it yields an event.
Writing: Go's net/rpc holds one ``sending`` mutex around "encode, then write" so that the
definitions, header and body of one reply stay contiguous and the peer's view of which types it has
seen stays in step with ours; :class:`RpcStream` does the same with a ``trio.Lock``. A send that is
cancelled or fails part-way leaves the peer with a partial message, so the connection is marked
with ``send_failed()`` and refuses further sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import trio

from gobrpc import NEED_DATA, ClientConnection, ServerConnection

__all__ = ["RpcStream"]

#: How much to ask ``receive_some`` for at once. Big enough that a 6 MB payload arrives in a
#: hundred reads, small enough not to waste memory per idle connection.
RECEIVE_SIZE = 64 * 1024

C = TypeVar("C", ServerConnection, ClientConnection)


class RpcStream(Generic[C]):
    """A gobrpc connection (either role) bound to a trio stream."""

    def __init__(self, stream: trio.abc.Stream, connection: C) -> None:
        self.stream = stream
        self.connection: C = connection
        self._send_lock = trio.Lock()

    async def next_event(self) -> object:
        """The connection's next event, reading from the stream as needed."""
        while True:
            event = self.connection.next_event()
            if event is not NEED_DATA:
                return event
            data = await self.stream.receive_some(RECEIVE_SIZE)
            self.connection.receive_data(data)

    async def send(self, produce: Callable[[C], bytes]) -> None:
        """Encode with ``produce(connection)`` and send the bytes, under the write lock."""
        async with self._send_lock:
            data = produce(self.connection)
            try:
                await self.stream.send_all(data)
            except BaseException:
                self.connection.send_failed()
                raise

    async def aclose(self) -> None:
        """Close the underlying stream."""
        await self.stream.aclose()
