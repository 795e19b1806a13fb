"""Worker threads for sync handlers (runtime._handler_threads) and what a handler sees through them.

Every wait on another thread is bounded (``trio.fail_after``, barrier and join timeouts) so a
broken pool fails a test instead of hanging it; nothing here asserts how long anything took.
"""

from __future__ import annotations

import contextvars
import io
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator

import pytest
import trio
import trio.testing

import runtime
from runtime._context import LambdaContext
from runtime._dispatch import HandlerFunction
from runtime._faults import error_from_exception
from runtime._handler import call_handler
from runtime._handler_threads import (
    IDLE_THREAD_SECONDS,
    MAX_HANDLER_THREADS,
    HandlerThreadPool,
    MainThreadCalls,
    MainThreadFirst,
    run_sync,
)
from runtime._logging import INVOKE_REQUEST_ID, install_lambda_logging
from runtime._messages import InvokeRequest
from runtime._settings import Settings

HERE = os.path.abspath(__file__)
RUNTIME_DIR = os.path.dirname(os.path.abspath(runtime.__file__)) + os.sep
#: Bound on every cross-thread wait: far above what any step needs, short enough to fail fast.
WAIT_SECONDS = 10


def make_context() -> LambdaContext:
    return LambdaContext(aws_request_id="r", invoked_function_arn="a", deadline_ns=0, clock=int)


def current_thread() -> threading.Thread:
    return threading.current_thread()


# --- threads: reuse, growth, the bound, idle exit -----------------------------------------------


async def test_the_bound_is_the_one_trio_to_thread_placed_on_handlers() -> None:
    assert trio.to_thread.current_default_thread_limiter().total_tokens == MAX_HANDLER_THREADS
    assert HandlerThreadPool().max_threads == MAX_HANDLER_THREADS
    assert HandlerThreadPool().idle_seconds == IDLE_THREAD_SECONDS


async def test_sequential_calls_reuse_one_daemon_worker() -> None:
    pool = HandlerThreadPool()
    threads = [await pool.run_sync(current_thread) for _ in range(5)]
    assert len(set(threads)) == 1
    (worker,) = set(threads)
    assert worker is not threading.current_thread()
    assert worker.daemon
    assert pool.idle_count == 1


async def test_a_new_worker_starts_when_all_are_busy() -> None:
    pool = HandlerThreadPool()
    # Each call waits until all three are inside their handler: only concurrent threads pass.
    barrier = threading.Barrier(3, timeout=WAIT_SECONDS)
    threads: list[threading.Thread] = []

    def meet() -> None:
        barrier.wait()
        threads.append(threading.current_thread())

    with trio.fail_after(WAIT_SECONDS * 2):
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(pool.run_sync, meet)
    assert len(set(threads)) == 3
    assert pool.idle_count == 3


async def test_calls_beyond_max_threads_wait_for_a_free_worker() -> None:
    pool = HandlerThreadPool(max_threads=2)
    lock = threading.Lock()
    inside, most_inside = 0, 0
    threads: set[threading.Thread] = set()

    def count_overlap() -> None:
        nonlocal inside, most_inside
        with lock:
            inside += 1
            most_inside = max(most_inside, inside)
            threads.add(threading.current_thread())
        threading.Event().wait(0.001)  # give other calls a chance to overlap this one
        with lock:
            inside -= 1

    with trio.fail_after(WAIT_SECONDS):
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(pool.run_sync, count_overlap)
    assert most_inside <= 2
    assert len(threads) <= 2


async def test_one_slot_serialises_calls_on_one_worker() -> None:
    pool = HandlerThreadPool(max_threads=1)
    threads: list[threading.Thread] = []

    def record() -> None:
        threads.append(threading.current_thread())

    # The second and third calls find the only worker busy and may not start another.
    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(pool.run_sync, record)
    assert len(threads) == 3
    assert len(set(threads)) == 1


async def test_idle_workers_end_after_the_idle_time() -> None:
    pool = HandlerThreadPool(idle_seconds=0.01)
    barrier = threading.Barrier(2, timeout=WAIT_SECONDS)

    def meet() -> threading.Thread:
        barrier.wait()
        return threading.current_thread()

    results: list[threading.Thread] = []

    async def call() -> None:
        results.append(await pool.run_sync(meet))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call)
        nursery.start_soon(call)
    assert len(set(results)) == 2
    for thread in results:
        await trio.to_thread.run_sync(thread.join, WAIT_SECONDS)
        assert not thread.is_alive()
    assert pool.idle_count == 0
    # The pool still works after its workers have gone.
    assert await pool.run_sync(lambda: 7) == 7


async def test_workers_that_retire_while_calls_arrive_lose_no_call() -> None:
    # Idle time close to the gap between calls, so retirements race with new calls.
    pool = HandlerThreadPool(idle_seconds=0.0005)
    with trio.fail_after(WAIT_SECONDS * 3):
        for number in range(200):
            assert await pool.run_sync(lambda n=number: n) == number
            await trio.sleep(0.0005 * (number % 3))


def test_a_forked_child_does_not_wait_for_its_parents_workers() -> None:
    async def one_call() -> threading.Thread:
        return await run_sync(current_thread)

    parent_worker = trio.run(one_call)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        # A call handed to the parent's (absent) worker would never come back: the alarm ends it.
        signal.alarm(WAIT_SECONDS)
        try:
            child_worker = trio.run(one_call)
            os._exit(0 if child_worker is not parent_worker and child_worker.is_alive() else 3)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- what the handler sees ----------------------------------------------------------------------


async def test_context_is_copied_in_and_changes_stay_in_the_thread() -> None:
    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable")
    variable.set("from the task")

    def read_then_write() -> str:
        seen = variable.get()
        variable.set("from the thread")
        return seen

    pool = HandlerThreadPool()
    assert await pool.run_sync(read_then_write) == "from the task"
    assert variable.get() == "from the task"
    # The next call on the same worker starts from the task's context again, not the last one.
    assert await pool.run_sync(read_then_write) == "from the task"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    settings = Settings(log_format="JSON", log_level="INFO")
    handler = install_lambda_logging(settings, INVOKE_REQUEST_ID.get, stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def test_overlapping_invokes_log_with_their_own_request_ids(log_stream: io.StringIO) -> None:
    barrier = threading.Barrier(2, timeout=WAIT_SECONDS)

    def handler(event: object, context: LambdaContext) -> object:
        barrier.wait()  # both invokes are in their threads at once
        logging.getLogger("user").info("in %s", context.aws_request_id)
        return INVOKE_REQUEST_ID.get()

    function = HandlerFunction(handler, Settings(), environ={})
    payloads: dict[str, bytes] = {}

    async def invoke(request_id: str) -> None:
        response = await function.invoke(InvokeRequest(payload=b"{}", request_id=request_id))
        payloads[request_id] = response.payload

    with trio.fail_after(WAIT_SECONDS * 2):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(invoke, "req-a")
            nursery.start_soon(invoke, "req-b")
    assert payloads == {"req-a": b'"req-a"', "req-b": b'"req-b"'}
    records = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    user_records = [record for record in records if record["logger"] == "user"]
    assert sorted((r["requestId"], r["message"]) for r in user_records) == [
        ("req-a", "in req-a"),
        ("req-b", "in req-b"),
    ]


async def test_return_value_comes_back_as_the_same_object() -> None:
    value = {"big": list(range(10))}
    assert await call_handler(lambda event, context: event, value, make_context()) is value


async def test_returned_coroutine_is_awaited_on_the_trio_thread() -> None:
    async def on_trio() -> threading.Thread:
        await trio.sleep(0)
        return threading.current_thread()

    def hides_async(event: object, context: LambdaContext) -> object:
        return on_trio()

    assert await call_handler(hides_async, None, make_context()) is threading.current_thread()


def _raise(error_type: type[BaseException], raised: list[BaseException]) -> None:
    raised.append(error_type())
    raise raised[-1]


@pytest.mark.parametrize(
    ("error_type", "should_exit"),
    [
        (LookupError, False),
        (SystemExit, True),
        (KeyboardInterrupt, True),
        (MemoryError, True),
        (GeneratorExit, True),
    ],
)
async def test_any_base_exception_comes_back_unchanged_with_user_frames_only(
    error_type: type[BaseException], should_exit: bool
) -> None:
    raised: list[BaseException] = []

    def handler(event: object, context: LambdaContext) -> object:
        _raise(error_type, raised)
        return None

    with pytest.raises(error_type) as info:
        await call_handler(handler, None, make_context())
    assert [info.value] == raised
    # The dispatcher's view, from call_handler down: this file's frames only, innermost first.
    tb = info.value.__traceback__
    assert tb is not None
    reported = error_from_exception(info.value, tb.tb_next)
    assert [(f.path, f.label) for f in reported.stack_trace] == [
        (HERE, "_raise"),
        (HERE, "handler"),
    ]
    assert reported.should_exit is should_exit

    # And the reply the server sends, for a second, fresh exception.
    function = HandlerFunction(handler, Settings(), environ={})
    response = await function.invoke(InvokeRequest(payload=b"{}"))
    assert response.error is not None
    assert (response.error.type, response.error.should_exit) == (error_type.__name__, should_exit)
    frames = response.error.stack_trace or []
    assert [(f.path, f.label) for f in frames] == [(HERE, "_raise"), (HERE, "handler")]
    assert not any(f.path.startswith(RUNTIME_DIR) for f in frames)


# --- cancellation -------------------------------------------------------------------------------


async def test_cancel_while_running_waits_for_the_handler_then_raises_cancelled() -> None:
    pool = HandlerThreadPool()
    started, release = threading.Event(), threading.Event()
    events: list[str] = []

    def handler() -> str:
        started.set()
        release.wait(WAIT_SECONDS)
        events.append("handler finished")
        return "result"

    async def call_then_checkpoint(task_status: trio.TaskStatus[trio.CancelScope]) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            events.append(await pool.run_sync(handler))
            events.append("returned")
            await trio.sleep(0)  # the first checkpoint after the call: Cancelled is raised here
            events.append("not reached")
        events.append("cancelled" if scope.cancelled_caught else "not cancelled")

    with trio.fail_after(WAIT_SECONDS * 2):
        async with trio.open_nursery() as nursery:
            scope = await nursery.start(call_then_checkpoint)
            await trio.to_thread.run_sync(started.wait, WAIT_SECONDS)
            scope.cancel()
            # Every task now blocks; one that had abandoned its thread would have left the scope.
            await trio.testing.wait_all_tasks_blocked()
            events.append("cancel delivered")
            release.set()
    assert events == ["cancel delivered", "handler finished", "result", "returned", "cancelled"]
    assert pool.idle_count == 1  # the worker is not lost either


async def test_cancelled_before_the_call_runs_nothing() -> None:
    pool = HandlerThreadPool()
    ran: list[bool] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        await pool.run_sync(ran.append, True)
    assert scope.cancelled_caught
    assert ran == []


async def test_cancelled_while_waiting_for_a_worker_runs_nothing() -> None:
    pool = HandlerThreadPool(max_threads=1)
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocker() -> None:
        started.set()
        release.wait(WAIT_SECONDS)
        ran.append("blocker")

    async def waiter(task_status: trio.TaskStatus[trio.CancelScope]) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            await pool.run_sync(ran.append, "waiter")
        ran.append("waiter cancelled" if scope.cancelled_caught else "waiter not cancelled")

    with trio.fail_after(WAIT_SECONDS * 2):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pool.run_sync, blocker)
            await trio.to_thread.run_sync(started.wait, WAIT_SECONDS)
            scope = await nursery.start(waiter)
            await trio.testing.wait_all_tasks_blocked()
            scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            release.set()
    assert ran == ["waiter cancelled", "blocker"]
    # The slot the waiter gave up is free again.
    assert await pool.run_sync(lambda: "after") == "after"


# --- the main thread's calls: handing over ------------------------------------------------------


async def _until_waiting(calls: MainThreadCalls) -> None:
    with trio.fail_after(WAIT_SECONDS):
        while not calls.waiting:
            await trio.sleep(0.001)


async def test_handing_a_call_to_a_waiting_thread_steps_aside_once_and_never_when_it_is_busy() -> (
    None
):
    stepped_aside: list[str] = []
    calls = MainThreadCalls(step_aside=lambda: stepped_aside.append("aside"))
    serving = threading.Thread(target=calls.serve)
    serving.start()
    first_running, release_first = threading.Event(), threading.Event()

    def first() -> str:
        first_running.set()
        release_first.wait(WAIT_SECONDS)
        return "first"

    results: list[str] = []

    async def call(fn: Callable[[], str]) -> None:
        results.append(await calls.run_sync(fn))

    try:
        await _until_waiting(calls)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(call, first)
            with trio.fail_after(WAIT_SECONDS):
                while not first_running.is_set():
                    await trio.sleep(0.001)
            assert stepped_aside == ["aside"]  # the thread was waiting: the call went to it
            nursery.start_soon(call, lambda: "second")  # queued while the thread is busy
            await trio.sleep(0.01)
            release_first.set()
        assert sorted(results) == ["first", "second"]  # trio wakes the two callers in any order
        assert stepped_aside == ["aside"]
    finally:
        release_first.set()
        calls.close()
        serving.join(WAIT_SECONDS)
    assert not serving.is_alive()
    assert not calls.waiting


def test_replying_on_the_main_thread_runs_its_upkeep_at_once() -> None:
    """The client may act on a reply at once (a SIGTERM right after it must meet our handler), so
    the main thread's upkeep runs before its reply goes, not only after the call; a worker's
    reply runs none of it."""
    ran: list[str] = []
    first = MainThreadFirst(MainThreadCalls(after_call=lambda: ran.append("upkeep")))
    worker = threading.Thread(target=first.replying)
    worker.start()
    worker.join()
    assert ran == []
    first.replying()  # pytest runs tests on the main thread
    assert ran == ["upkeep"]
