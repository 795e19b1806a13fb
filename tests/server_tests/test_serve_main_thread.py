"""A served plain handler runs on the main thread, the one that imported its module, as
awslambdaric calls it; trio runs on a thread of its own.

So what Lambda code sets up at import for its thread is there when the handler runs
(``asyncio.get_event_loop()``, a ``threading.local``, an sqlite connection), ``signal.signal``
works, and so does the handler's own ``trio.run``. Concurrent invokes, which only local load
sends, take worker threads while the main thread is busy, and Ping is answered meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
import trio.testing

# The suite imports test modules with importlib, which does not put their folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from served_process import (
    PROCESS_TIMEOUT,
    gate_event,
    guarded,
    invoke_request,
    served,
    wait_for_file,
)

from runtime._client import connect_function
from runtime._handler_threads import MainThreadCalls, MainThreadFirst
from runtime._main_thread import StopRequests, run_beside_main_thread
from runtime._messages import InvokeResponse

#: Invokes sent one after another in the test below.
SEQUENTIAL_INVOKES = 200


@guarded
async def test_a_plain_handler_runs_on_the_thread_that_imported_its_module() -> None:
    with served("served_handlers.thread_state") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            first = await client.invoke(invoke_request(b"{}", "r1"))
            # One after another, as Lambda sends them: each comes as soon as the last reply
            # did, while the main thread may still be on its way back from the last call.
            later = [
                await client.invoke(invoke_request(b"{}", f"r{n}"))
                for n in range(2, SEQUENTIAL_INVOKES + 1)
            ]
    assert first.error is None, first.error
    assert json.loads(first.payload) == {
        "main_thread": True,
        "import_thread": True,
        "get_event_loop": "ok",
        "thread_local": "set at import",
        "sqlite": "ok",
        "signal": "True",
        "own_trio_run": "ok",
    }
    assert all(reply == first for reply in later)


@guarded
async def test_concurrent_invokes_take_a_worker_while_the_main_thread_is_busy(
    tmp_path: Path,
) -> None:
    replies: dict[str, InvokeResponse] = {}
    with served("served_handlers.gated_thread") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:

            async def invoke(tag: str) -> None:
                request = invoke_request(gate_event(tmp_path, tag), f"req-{tag}")
                replies[tag] = await client.invoke(request)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(invoke, "a")
                await wait_for_file(tmp_path / "started-a")
                nursery.start_soon(invoke, "b")
                await wait_for_file(tmp_path / "started-b")  # both run at once
                await client.ping()  # and Ping is answered meanwhile
                (tmp_path / "release").touch()
            await invoke("c")
    answers = {tag: json.loads(reply.payload) for tag, reply in replies.items()}
    assert answers == {
        "a": {"tag": "a", "main_thread": True},
        "b": {"tag": "b", "main_thread": False},
        "c": {"tag": "c", "main_thread": True},  # the main thread is free again
    }


# --- run_beside_main_thread itself (in this process: pytest runs tests on the main thread) ----


def test_calls_run_on_the_main_thread_and_the_status_comes_back() -> None:
    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        assert threading.current_thread() is not threading.main_thread()
        here = await calls.run_sync(threading.current_thread)
        return 7 if here is threading.main_thread() else 1

    assert run_beside_main_thread(main) == 7


def test_a_stop_signal_reaches_the_run_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGUSR1)

    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        await calls.run_sync(signal.raise_signal, signal.SIGUSR1)  # on the main thread
        async for number in stop_requests:
            return number
        return 0

    assert run_beside_main_thread(main, stop_signals=(signal.SIGUSR1,)) == signal.SIGUSR1
    assert signal.getsignal(signal.SIGUSR1) == before


def test_a_stop_signal_that_comes_before_the_run_has_started_still_reaches_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A SIGTERM in the moment between catching the signal and the run starting (a service that
    stops a function at once) must still stop it, not be lost."""
    real_start = threading.Thread.start

    def start_after_a_signal(thread: threading.Thread) -> None:
        monkeypatch.setattr(threading.Thread, "start", real_start)  # this thread only
        signal.raise_signal(signal.SIGUSR1)  # caught now, on the main thread
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start_after_a_signal)

    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        with trio.move_on_after(10):  # lost: no number comes
            async for number in stop_requests:
                return number
        return 0

    assert run_beside_main_thread(main, stop_signals=(signal.SIGUSR1,)) == signal.SIGUSR1


def test_what_the_run_raises_is_raised_on_the_main_thread() -> None:
    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        raise LookupError("from the trio thread")

    with pytest.raises(LookupError, match="from the trio thread"):
        run_beside_main_thread(main)


def test_what_a_call_raises_is_raised_in_the_run() -> None:
    def fails() -> None:
        raise KeyError("from the main thread")

    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        try:
            await calls.run_sync(fails)
        except KeyError:
            return 3
        return 0

    assert run_beside_main_thread(main) == 3


@guarded
async def test_sigterm_still_finishes_cleanly_after_a_handler_s_asyncio_signal_handler() -> None:
    # asyncio puts SIGTERM back to SIG_DFL when the handler's loop closes; ours comes back.
    with served("served_handlers.asyncio_signal_handler") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            reply = await client.invoke(invoke_request(b"{}", "r1"))
        server.send_signal(signal.SIGTERM)
        status = await server.wait()
    assert reply.payload == b'"done"'
    assert status == 0, server.stderr()


#: How a forked child leaves the handler, its exit status, and whether a traceback is printed.
CHILD_ENDINGS = [
    ("returns", 0, False),
    ("raises", 1, True),
    ("exits 0", 0, False),
    ("exits 3", 3, False),
]


@pytest.mark.parametrize(("child", "status", "traceback"), CHILD_ENDINGS, ids=str)
@pytest.mark.parametrize("on_main_thread", [True, False], ids=["main-thread", "worker"])
@guarded
async def test_a_child_forked_by_a_handler_ends_without_answering(
    tmp_path: Path, on_main_thread: bool, child: str, status: int, traceback: bool
) -> None:
    # The parent's handler returns only once the child has ended, so a reply from the child
    # would come first.
    fork_event = json.dumps({"child": child}).encode()
    with served("served_handlers.forks") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            if on_main_thread:
                reply = await client.invoke(invoke_request(fork_event, "fork"))
            else:
                async with trio.open_nursery() as nursery:
                    hold = invoke_request(gate_event(tmp_path, "hold"), "hold")
                    nursery.start_soon(client.invoke, hold)
                    await wait_for_file(tmp_path / "started-hold")  # the main thread is busy
                    reply = await client.invoke(invoke_request(fork_event, "fork"))
                    (tmp_path / "release").touch()
            again = await client.invoke(invoke_request(b'{"child": "returns"}', "again"))
    assert json.loads(reply.payload) == {"child_status": status, "main_thread": on_main_thread}
    assert json.loads(again.payload) == {"child_status": 0, "main_thread": True}
    assert ("RuntimeError: raised in the child" in server.stderr()) == traceback
    assert ("Traceback" in server.stderr()) == traceback


#: Servers stopped with two quick SIGTERMs; the window between them moves through shutdown.
DOUBLE_SIGTERMS = 15


@guarded
async def test_a_second_sigterm_during_shutdown_never_shows_a_traceback() -> None:
    for attempt in range(DOUBLE_SIGTERMS):
        with served("served_handlers.echo") as server:
            async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
                await client.ping()
            server.send_signal(signal.SIGTERM)
            await trio.sleep((attempt % 5) * 0.001)
            with contextlib.suppress(ProcessLookupError):
                server.send_signal(signal.SIGTERM)
            status = await server.wait()
        assert "Traceback" not in server.stderr(), server.stderr()
        assert status in (0, -signal.SIGTERM)  # ended, or killed once our handler was gone


def test_a_call_that_ends_after_the_next_one_started_leaves_the_main_thread_busy() -> None:
    # A sends its reply (``replying``) and the client's next invoke B takes the main thread
    # before A's task has resumed; A's end must not free the main thread while B runs there.
    a_replied, a_may_end, b_may_end = threading.Event(), threading.Event(), threading.Event()

    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        first = MainThreadFirst(calls)

        def call_a() -> str:
            first.replying()
            a_replied.set()
            a_may_end.wait()
            return threading.current_thread().name

        def call_b() -> str:
            b_may_end.wait(timeout=5)  # set by C: if C waits behind B, B gives up first
            return threading.current_thread().name

        def call_c() -> str:
            b_may_end.set()
            return threading.current_thread().name

        threads: dict[str, str] = {}

        async def run(tag: str, fn: Callable[[], str]) -> None:
            threads[tag] = await first.run_sync(fn)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "a", call_a)
            while not a_replied.is_set():
                await trio.sleep(0.001)
            nursery.start_soon(run, "b", call_b)  # queued for the main thread behind A
            await trio.testing.wait_all_tasks_blocked()
            a_may_end.set()
            while "a" not in threads:
                await trio.sleep(0.001)
            # B now runs on the main thread: C must take a worker, and it ends B.
            threads["c"] = await first.run_sync(call_c)
        main_thread = threading.main_thread().name
        return 0 if threads["a"] == threads["b"] == main_thread != threads["c"] else 1

    assert run_beside_main_thread(main) == 0
