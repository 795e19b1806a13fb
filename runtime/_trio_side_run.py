"""``async def`` handlers in Runtime API mode: awaited on a trio run of their own, on a thread
started when the first one is called.

Runtime API mode serves plain handlers on the main thread without an event loop (see
:mod:`runtime._runtime_api`). An ``async def`` handler is awaited on trio, as in RPC mode, so a
trio run is started for it the first time one is needed and kept for the process's life: what
the handler leaves on trio (a task in a nursery it keeps, a connection pool) is still there at
the next invoke. The thread is a daemon: an idle run never keeps the process alive.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Coroutine
from typing import Any

import attrs
import trio

from ._handler import Handler

__all__ = ["TrioSideRun"]


async def _awaited(coroutine: Coroutine[Any, Any, object]) -> object:
    return await coroutine


async def _call_async(handler: Handler, event: object, context: object) -> object:
    result = handler(event, context)
    if inspect.iscoroutine(result):
        return await result
    return result


@attrs.define(eq=False)
class TrioSideRun:
    """A trio run on a daemon thread, started on first use, that awaits handlers for callers on
    other threads."""

    _token: trio.lowlevel.TrioToken | None = None

    def call(self, handler: Handler, event: object, context: object) -> object:
        """``handler(event, context)``, awaited on the run if it gives a coroutine; raises what
        the handler raises."""
        return trio.from_thread.run(_call_async, handler, event, context, trio_token=self._start())

    def await_(self, coroutine: Coroutine[Any, Any, object]) -> object:
        """The value of ``coroutine`` (one a plain handler returned), awaited on the run."""
        return trio.from_thread.run(_awaited, coroutine, trio_token=self._start())

    def _start(self) -> trio.lowlevel.TrioToken:
        if self._token is None:
            started: list[trio.lowlevel.TrioToken] = []
            ready = threading.Event()

            async def keep_running() -> None:
                started.append(trio.lowlevel.current_trio_token())
                ready.set()
                await trio.sleep_forever()

            name = "lambda-legacy trio (async def handlers)"
            threading.Thread(target=trio.run, args=(keep_running,), name=name, daemon=True).start()
            ready.wait()
            self._token = started[0]
        return self._token
