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
kept and passed on when it starts. Ctrl-C between calls ends the process with 128 + SIGINT.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import FrameType

import trio

from ._handler_threads import MainThreadCalls

__all__ = ["StopRequests", "run_beside_main_thread"]

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
    calls = MainThreadCalls()
    received: list[int] = []
    started: list[Callable[[int], None]] = []  # passes a signal number into the run

    def on_signal(number: int, frame: FrameType | None) -> None:
        received.append(number)
        if started:
            started[0](number)

    async def run() -> int:
        send, receive = trio.open_memory_channel[int](math.inf)
        token = trio.lowlevel.current_trio_token()
        started.append(lambda number: token.run_sync_soon(send.send_nowait, number))
        for number in list(received):  # came before the line above: pass them on now
            send.send_nowait(number)
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
