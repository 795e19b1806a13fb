"""``async def`` handlers in Runtime API mode: awaited on a trio run of their own, on a thread
started before the first invoke.

Runtime API mode serves plain handlers on the main thread without an event loop (see
:mod:`runtime._runtime_api`). An ``async def`` handler is awaited on trio, as in RPC mode, so a
trio run is started for it, at start-up once the handler is known to be one (or at the first
coroutine a plain handler returns), and kept for the process's life: what the handler leaves on
trio (a task in a nursery it keeps, a connection pool) is still there at the next invoke. The
thread is a daemon: an idle run never keeps the process alive.

Each call runs in a copy of the calling thread's context (``trio.from_thread``'s rule), so a
context variable set at import is seen by every invoke, and one a handler sets is gone by the
next; a plain handler, on the main thread, keeps what it sets, as under awslambdaric.

A run that ends, because something the handler left on it failed, ends the runtime: its error is
printed on stderr at once, and the next call raises :class:`TrioRunEndedError`, which the loop
posts as that invoke's error before exiting 1, as it does after a ``SystemExit``.
"""

from __future__ import annotations

import inspect
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import attrs
import outcome
import trio

from ._faults import hide_frames_of
from ._handler import Handler

__all__ = ["TrioRunEndedError", "TrioSideRun"]

_T = TypeVar("_T")

#: How long a caller waits for the ended run's thread to finish printing why it ended.
THREAD_END_SECONDS = 5.0

hide_frames_of(trio, outcome)  # the hand-off to the run is no part of a handler's trace


class TrioRunEndedError(BaseException):
    """The trio run that awaits ``async def`` handlers has ended; the runtime cannot go on.

    A ``BaseException``, as ``SystemExit`` is: the invoke's error is posted, then the process
    exits 1.
    """


async def _awaited(coroutine: Coroutine[Any, Any, object]) -> object:
    return await coroutine


async def _call_async(handler: Handler, event: object, context: object) -> object:
    result = handler(event, context)
    if inspect.iscoroutine(result):
        return await result
    return result


@attrs.define(eq=False)
class TrioSideRun:
    """A trio run on a daemon thread that awaits handlers for callers on other threads."""

    _token: trio.lowlevel.TrioToken | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the run now, if it has not started (else the first call starts it).

        Raises:
            TrioRunEndedError: the run failed to start (its error is on stderr).
        """
        self._started()

    def call(self, handler: Handler, event: object, context: object) -> object:
        """``handler(event, context)``, awaited on the run if it gives a coroutine; raises what
        the handler raises, or :class:`TrioRunEndedError`."""
        return self._run(_call_async, handler, event, context)

    def await_(self, coroutine: Coroutine[Any, Any, object]) -> object:
        """The value of ``coroutine`` (one a plain handler returned), awaited on the run."""
        return self._run(_awaited, coroutine)

    def _run(self, afn: Callable[..., Awaitable[_T]], *args: object) -> _T:
        try:
            return trio.from_thread.run(afn, *args, trio_token=self._started())
        # Cancelled: the run ended during this call (calls run as system tasks, which only the
        # end of the run cancels); RunFinishedError: it had ended before.
        except (trio.RunFinishedError, trio.Cancelled):
            self._ended()

    def _ended(self) -> NoReturn:
        """Wait for the run's thread to finish printing why it ended, then say so."""
        if self._thread is not None:
            self._thread.join(THREAD_END_SECONDS)
        raise TrioRunEndedError(
            "the trio run that awaits async def handlers has ended (its error is on stderr)"
        ) from None

    def _started(self) -> trio.lowlevel.TrioToken:
        if self._token is None:
            if self._thread is not None:  # started before, and failed to
                self._ended()
            started: list[trio.lowlevel.TrioToken] = []
            ready = threading.Event()

            async def keep_running() -> None:
                started.append(trio.lowlevel.current_trio_token())
                ready.set()
                await trio.sleep_forever()

            name = "lambda-legacy trio (async def handlers)"
            self._thread = threading.Thread(
                target=_run_until_it_ends, args=(keep_running, ready), name=name, daemon=True
            )
            self._thread.start()
            ready.wait()
            if not started:
                self._ended()
            self._token = started[0]
        return self._token


def _run_until_it_ends(main: Callable[[], Awaitable[None]], ready: threading.Event) -> None:
    """``trio.run(main)``; what ends it goes to stderr (a handler's task failed on it)."""
    try:
        trio.run(main)
    except BaseException as exc:  # on a thread of its own: stderr is the only place for it
        print("lambda-legacy: the trio run of async def handlers ended:", file=sys.stderr)
        traceback.print_exception(exc)
        sys.stderr.flush()
    finally:
        ready.set()  # a run that failed to start must not leave start() waiting
