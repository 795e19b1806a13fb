"""Trio on a thread of its own, so that plain handlers can run on the main thread.

Why. awslambdaric calls a plain handler on the main thread, the one that imported its module, and
Python code written for Lambda relies on it: ``asyncio.get_event_loop()`` without a loop of its
own, a ``threading.local`` or an sqlite connection made at import, ``signal.signal``. It also
runs with no event loop around it, so the handler's own ``asyncio.run`` or ``trio.run`` works.
Both hold only if trio runs elsewhere: :func:`run_beside_main_thread` starts ``trio.run`` on a
thread and serves :class:`~runtime._handler_threads.MainThreadCalls` on the calling (main) thread
until the run ends.

Signals. Trio can only catch signals on the main thread, which is now the handler's. The stop
signals given are caught there with :func:`signal.signal` and passed into the run as a stream of
signal numbers (the servers' stop requests). A signal that comes before the run has started is
kept and passed on when it starts; one that comes while the run is ending is dropped (the
process is ending anyway). A handler that leaves a stop signal at ``SIG_DFL`` (asyncio's
``add_signal_handler`` does, when its loop closes) gets ours back after its call, so SIGTERM
still finishes the invoke in flight. Ctrl-C between calls ends the process with 128 + SIGINT.

Forks. A child a handler forks has no trio thread: its stop signals go back to their defaults,
and if it returns from the handler it exits (:func:`runtime._handler.exit_if_forked`) instead of
answering its parent's invoke or waiting for calls that never come.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import FrameType

import trio

from ._cpu_affinity import WakeOnCallersCpu
from ._handler_threads import MainThreadCalls

__all__ = ["StopRequests", "run_beside_main_thread"]

#: ``signal.getsignal`` without its conversion to ``signal.Handlers``: that conversion raises and
#: formats a ValueError for every handler that is a function, ours included, about 3 us a call
#: here; this runs for each stop signal twice per plain invoke, on the invoke's critical path.
_current_handler: Callable[[int], object] = getattr(
    importlib.import_module("_signal"), "getsignal", signal.getsignal
)

#: What the run is given: signal numbers, one per stop signal received.
StopRequests = AsyncIterator[int]


def run_beside_main_thread(
    main: Callable[[MainThreadCalls, StopRequests], Awaitable[int]],
    *,
    stop_signals: Sequence[signal.Signals] = (),
) -> int:
    """Run ``main(calls, stop_requests)`` in trio on a new thread, and ``calls`` here; the status
    ``main`` returns (or 128 + SIGINT after Ctrl-C between calls). Raises what ``main`` raises.
    """
    received: list[int] = []
    started: list[Callable[[int], None]] = []  # passes a signal number into the run

    def on_signal(number: int, frame: FrameType | None) -> None:
        received.append(number)
        if started:
            with contextlib.suppress(trio.RunFinishedError):  # the run has just ended
                started[0](number)

    def keep_ours() -> None:
        for number in stop_signals:
            if _current_handler(number) == signal.SIG_DFL:
                signal.signal(number, on_signal)

    calls = MainThreadCalls(
        after_call=keep_ours if stop_signals else None,
        wake_on_callers_cpu=WakeOnCallersCpu.for_this_thread(),
    )

    async def run() -> int:
        send, receive = trio.open_memory_channel[int](math.inf)
        token = trio.lowlevel.current_trio_token()

        def deliver(number: int) -> None:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                send.send_nowait(number)  # refused once ``main`` has returned

        started.append(lambda number: token.run_sync_soon(deliver, number))
        for number in list(received):  # came before the line above: pass them on now
            deliver(number)
        async with receive:
            return await main(calls, receive)

    status: list[int] = []
    failure: list[BaseException] = []

    def trio_thread() -> None:
        try:
            status.append(trio.run(run))
        except BaseException as exc:  # raised again on the main thread
            failure.append(exc)
        finally:
            calls.close()

    previous = {number: signal.signal(number, on_signal) for number in stop_signals}
    _CAUGHT_IN_THIS_PROCESS.update(stop_signals)
    try:
        thread = threading.Thread(target=trio_thread, name="lambda-legacy trio", daemon=True)
        thread.start()
        try:
            calls.serve()
        except KeyboardInterrupt:
            return 128 + signal.SIGINT
        thread.join()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if failure:
        raise failure[0]
    return status[0]


#: The stop signals this process catches for a trio run; a forked child gets their defaults.
_CAUGHT_IN_THIS_PROCESS: set[int] = set()


def _defaults_in_a_child() -> None:
    for number in _CAUGHT_IN_THIS_PROCESS:
        signal.signal(number, signal.SIG_DFL)
    _CAUGHT_IN_THIS_PROCESS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_defaults_in_a_child)
