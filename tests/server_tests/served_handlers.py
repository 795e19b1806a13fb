"""Handlers served by ``lambda-legacy serve`` in the end-to-end server tests.

The tests point ``LAMBDA_TASK_ROOT`` at this folder and name a handler here (``served_handlers.X``).
Handlers that must stay in flight while the test does something else use a *gate*: the event names
a folder; the handler creates ``started-<tag>`` in it, then waits until ``release`` exists. That
orders things across processes without any timing assumption.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import trio

from lambda_legacy import LambdaContext

#: How often a gated handler looks for the release file.
GATE_POLL_SECONDS = 0.005


def _gate(event: object) -> tuple[Path, str]:
    assert isinstance(event, dict)
    return Path(event["gate"]), str(event["tag"])


def echo(event: object, context: LambdaContext) -> object:
    """Return the event unchanged."""
    return event


async def async_echo(event: object, context: LambdaContext) -> object:
    """Return the event after yielding to trio once (so it really runs as a coroutine)."""
    await trio.sleep(0)
    return {"event": event, "request_id": context.aws_request_id}


def print_and_echo(event: object, context: LambdaContext) -> object:
    """Print ``called <request id>`` on stdout, then return the event."""
    print(f"called {context.aws_request_id}")
    return event


def _described(value: object) -> dict[str, object]:
    return {"type": type(value).__name__, "value": value}


def context_report(event: object, context: LambdaContext) -> object:
    """Every context attribute as ``{"type", "value"}``, and ``_X_AMZN_TRACE_ID`` as set."""
    identity = context.identity
    client_context = context.client_context
    report: dict[str, object] = {
        name: _described(getattr(context, name))
        for name in (
            "aws_request_id",
            "invoked_function_arn",
            "function_name",
            "function_version",
            "memory_limit_in_mb",
            "log_group_name",
            "log_stream_name",
            "tenant_id",
        )
    }
    report["identity"] = {
        "type": type(identity).__name__,
        "cognito_identity_id": _described(identity.cognito_identity_id),
        "cognito_identity_pool_id": _described(identity.cognito_identity_pool_id),
    }
    if client_context is None:
        report["client_context"] = None
    else:
        client = client_context.client
        report["client_context"] = {
            "type": type(client_context).__name__,
            "custom": _described(client_context.custom),
            "env": _described(client_context.env),
            "client": None
            if client is None
            else {
                "type": type(client).__name__,
                **{
                    name: _described(getattr(client, name))
                    for name in (
                        "installation_id",
                        "app_title",
                        "app_version_name",
                        "app_version_code",
                        "app_package_name",
                    )
                },
            },
        }
    report["remaining_time_in_millis"] = _described(context.get_remaining_time_in_millis())
    report["w3c"] = context.w3c()
    report["trace_id_env"] = os.environ.get("_X_AMZN_TRACE_ID")
    return report


def _inner_failure(message: str) -> None:
    raise ValueError(message)


def raise_error(event: object, context: LambdaContext) -> object:
    """Raise ``ValueError(event["message"])`` one call below the handler."""
    assert isinstance(event, dict)
    _inner_failure(str(event["message"]))
    return None


async def async_raise_error(event: object, context: LambdaContext) -> object:
    """The async twin of :func:`raise_error`."""
    await trio.sleep(0)
    assert isinstance(event, dict)
    _inner_failure(str(event["message"]))
    return None


def raise_base_exception(event: object, context: LambdaContext) -> object:
    """Raise the exception named by the event: SystemExit, KeyboardInterrupt or MemoryError."""
    assert isinstance(event, dict)
    kinds: dict[str, type[BaseException]] = {
        "SystemExit": SystemExit,
        "KeyboardInterrupt": KeyboardInterrupt,
        "MemoryError": MemoryError,
    }
    raise kinds[str(event["raise"])](str(event.get("message", "")))


def print_gated(event: object, context: LambdaContext) -> object:
    """Print a line (and nothing that would flush stdout), then wait for the release."""
    folder, tag = _gate(event)
    print(f"print while running {context.aws_request_id}")
    (folder / f"started-{tag}").touch()
    while not (folder / "release").exists():
        time.sleep(GATE_POLL_SECONDS)
    return tag


def gated(event: object, context: LambdaContext) -> object:
    """Log, announce the start, wait for the release, log again, and return the tag.

    Each log line names the request id it expects to be stamped with, so the test can check it.
    """
    folder, tag = _gate(event)
    logging.warning("before %s", context.aws_request_id)
    (folder / f"started-{tag}").touch()
    while not (folder / "release").exists():
        time.sleep(GATE_POLL_SECONDS)
    logging.warning("after %s", context.aws_request_id)
    return {"tag": tag, "request_id": context.aws_request_id}


async def async_gated(event: object, context: LambdaContext) -> object:
    """:func:`gated` as a coroutine on the server's trio loop."""
    folder, tag = _gate(event)
    logging.warning("before %s", context.aws_request_id)
    (folder / f"started-{tag}").touch()
    while not (folder / "release").exists():
        await trio.sleep(GATE_POLL_SECONDS)
    logging.warning("after %s", context.aws_request_id)
    return {"tag": tag, "request_id": context.aws_request_id}


def log_levels(event: object, context: LambdaContext) -> object:
    """One record at each level, with an ``extra`` field for the JSON format."""
    logger = logging.getLogger("served")
    logger.debug("debug line")
    logger.info("info line")
    logger.warning("warning line", extra={"order_id": 7})
    return None


# What the module sets up for the thread that imports it: a plain handler must find it there.
_IMPORTED_ON = threading.current_thread()
_LOCAL = threading.local()
_LOCAL.value = "set at import"
_DATABASE = sqlite3.connect(":memory:")


async def _ok() -> str:
    return "ok"


def _outcome(run: Callable[[], object]) -> str:
    try:
        return str(run())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def thread_state(event: object, context: LambdaContext) -> object:
    """Where this call runs, and what it finds of the thread that imported the module."""
    return {
        "main_thread": threading.current_thread() is threading.main_thread(),
        "import_thread": threading.current_thread() is _IMPORTED_ON,
        "get_event_loop": _outcome(
            lambda: asyncio.get_event_loop().run_until_complete(_ok())  # the pre-3.7 idiom
        ),
        "thread_local": getattr(_LOCAL, "value", "<gone>"),
        "sqlite": _outcome(lambda: _DATABASE.execute("select 'ok'").fetchone()[0]),
        "signal": _outcome(lambda: signal.signal(signal.SIGUSR2, signal.SIG_DFL) is not None),
        "own_trio_run": _outcome(lambda: trio.run(_ok)),
    }


def gated_each(event: object, context: LambdaContext) -> object:
    """:func:`gated` with a release of its own per tag (``release-<tag>``); the tag ``exit``
    raises SystemExit once released (a reply with ShouldExit)."""
    folder, tag = _gate(event)
    (folder / f"started-{tag}").touch()
    while not (folder / f"release-{tag}").exists():
        time.sleep(GATE_POLL_SECONDS)
    if tag == "exit":
        raise SystemExit("released")
    return {"tag": tag}


async def async_gated_each(event: object, context: LambdaContext) -> object:
    """:func:`gated_each` as a coroutine on the server's trio loop."""
    folder, tag = _gate(event)
    (folder / f"started-{tag}").touch()
    while not (folder / f"release-{tag}").exists():
        await trio.sleep(GATE_POLL_SECONDS)
    if tag == "exit":
        raise SystemExit("released")
    return {"tag": tag}


def gated_thread(event: object, context: LambdaContext) -> object:
    """:func:`gated`, answering whether it ran on the main thread."""
    folder, tag = _gate(event)
    (folder / f"started-{tag}").touch()
    while not (folder / "release").exists():
        time.sleep(GATE_POLL_SECONDS)
    return {"tag": tag, "main_thread": threading.current_thread() is threading.main_thread()}


def asyncio_signal_handler(event: object, context: LambdaContext) -> object:
    """Runs an asyncio loop that handles SIGTERM itself; closing it leaves SIGTERM at SIG_DFL."""

    async def with_a_handler() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: None)

    asyncio.run(with_a_handler())
    return "done"


def forks(event: object, context: LambdaContext) -> object:
    """Fork. The child leaves the handler too, as the event's ``child`` says: ``returns``,
    ``raises``, or ``exits N`` (``sys.exit(N)``); the parent waits for it to end, then answers
    with its exit status and where the call ran. A gated event (see :func:`gated_thread`) only
    holds the thread it runs on."""
    assert isinstance(event, dict)
    if "gate" in event:
        return gated_thread(event, context)
    pid = os.fork()
    if pid == 0:
        if event["child"] == "raises":
            raise RuntimeError("raised in the child")
        if event["child"].startswith("exits "):
            sys.exit(int(event["child"].split()[1]))
        return "child"
    _, status = os.waitpid(pid, 0)
    return {
        "child_status": os.waitstatus_to_exitcode(status),
        "main_thread": threading.current_thread() is threading.main_thread(),
    }


def cpu_affinity(event: object, context: LambdaContext) -> object:
    """The CPUs this call may run on, and those of a thread it starts (which inherits them),
    after sleeping for the event's ``sleep`` seconds, if any."""
    if isinstance(event, dict):
        time.sleep(event.get("sleep", 0))
    started: list[list[int]] = []
    thread = threading.Thread(target=lambda: started.append(sorted(os.sched_getaffinity(0))))
    thread.start()
    thread.join()
    return {"handler": sorted(os.sched_getaffinity(0)), "new_thread": started[0]}
