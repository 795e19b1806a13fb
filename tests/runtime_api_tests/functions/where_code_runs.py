"""Handlers that report where a plain handler, and its module's own code, run.

Under awslambdaric both run on the main thread with no event loop around them. A library inside
may start ``asyncio.run`` or ``trio.run`` and must then see that loop (``sniffio``, which anyio
and httpx ask), not ours; what the module set up for its thread (an ``asyncio`` loop, a
``threading.local``, an sqlite connection) must still be there when the handler runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading

import sniffio
import trio


async def _library() -> str:
    return sniffio.current_async_library()


async def _ok() -> str:
    return "ok"


def _in_a_new_loop() -> str:
    # Not asyncio.run, which leaves the thread without a current loop for get_event_loop().
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_library())
    finally:
        loop.close()


def _outcome(run: object) -> str:
    try:
        return str(run() if callable(run) else run)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _set_a_signal_handler() -> str:
    signal.signal(signal.SIGUSR2, signal.getsignal(signal.SIGUSR2))
    return "ok"


# Module code, run once at import.
_LOCAL = threading.local()
_LOCAL.value = "set at import"
_DATABASE = sqlite3.connect(":memory:")
IMPORT_REPORT = {
    "main_thread": threading.current_thread() is threading.main_thread(),
    "asyncio_sees": _outcome(_in_a_new_loop),
    "trio_run": _outcome(lambda: trio.run(_ok)),
    "signal": _outcome(_set_a_signal_handler),
}


def import_report(event: object, context: object) -> object:
    """What the module's code found at import."""
    return IMPORT_REPORT


def nested_loops(event: object, context: object) -> object:
    """What a handler's own event loops see."""
    return {
        "asyncio_sees": _outcome(lambda: asyncio.run(_library())),
        "trio_run": _outcome(lambda: trio.run(_ok)),
    }


def thread_state(event: object, context: object) -> object:
    """What a handler finds of the thread that imported its module."""
    return {
        "main_thread": threading.current_thread() is threading.main_thread(),
        "get_event_loop": _outcome(
            lambda: asyncio.get_event_loop().run_until_complete(_ok())  # the pre-3.7 idiom
        ),
        "thread_local": getattr(_LOCAL, "value", "<gone>"),
        "sqlite": _outcome(lambda: _DATABASE.execute("select 'ok'").fetchone()[0]),
        "signal": _outcome(_set_a_signal_handler),
    }


def forks(event: object, context: object) -> object:
    """Fork; the child returns from the handler too. The parent waits for it to end and answers
    with its exit status (the child, with no trio thread, must end instead of answering)."""
    pid = os.fork()
    if pid == 0:
        return "child"
    _, status = os.waitpid(pid, 0)
    return {"child_status": os.waitstatus_to_exitcode(status)}
