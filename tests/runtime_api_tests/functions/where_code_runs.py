"""Handlers that report where a plain handler, and its module's own code, run.

Under awslambdaric both run with no event loop around them: module code on the main thread, a
handler on a plain thread of its own. A library inside may start ``asyncio.run`` or ``trio.run``
and must then see that loop (``sniffio``, which anyio and httpx ask), not ours.
"""

from __future__ import annotations

import asyncio
import signal
import threading

import sniffio
import trio


async def _library() -> str:
    return sniffio.current_async_library()


async def _ok() -> str:
    return "ok"


def _outcome(run: object) -> str:
    try:
        return str(run() if callable(run) else run)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _set_a_signal_handler() -> str:
    signal.signal(signal.SIGUSR2, signal.getsignal(signal.SIGUSR2))
    return "ok"


# Module code, run once at import.
IMPORT_REPORT = {
    "main_thread": threading.current_thread() is threading.main_thread(),
    "asyncio_sees": _outcome(lambda: asyncio.run(_library())),
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
