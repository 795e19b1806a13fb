"""A server in the test's own trio run: for tests that reach into its tasks (no process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

from runtime._dispatch import HandlerFunction
from runtime._server import serve_function
from runtime._settings import Settings


@asynccontextmanager
async def serving(handler: Callable[..., object]) -> AsyncIterator[int]:
    """Serve ``handler`` on a free 127.0.0.1 port, yielded; stopped when the block ends."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_function, HandlerFunction(handler, Settings()), 0)
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()
