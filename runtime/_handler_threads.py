"""Worker threads for plain (``def``) handlers: a cheaper ``trio.to_thread.run_sync`` for them.

Theory of operation. A sync handler must not run on the trio thread, or ``Function.Ping`` and the
other connections' calls would wait for it; aws-lambda-go runs each invoke in a goroutine of its
own. ``trio.to_thread.run_sync`` does the job but costs about as much as the rest of a small invoke
(a CapacityLimiter, naming the OS thread before and after each call, a message loop that serves
``trio.from_thread``), so this module does only what a handler call needs:

- The calling task copies its context (so :data:`~runtime._logging.INVOKE_REQUEST_ID` and any
  other context variable are seen in the thread), hands the call to an idle worker's own
  :class:`queue.SimpleQueue`, starting a new worker when none is idle, and sleeps in
  :func:`trio.lowlevel.wait_task_rescheduled`.
- The worker runs the call in that context, captures its result or exception (any
  ``BaseException``, traceback included) as an :class:`outcome.Outcome`, puts itself back on the
  idle list, and wakes the task through the run's :class:`~trio.lowlevel.TrioToken`.
- Cancellation never abandons the call: the abort function answers ``Abort.FAILED``, so the task
  waits for the handler to finish and trio delivers ``Cancelled`` at its next checkpoint, as
  ``abandon_on_cancel=False`` does. A task already cancelled on entry does not start the call.

Unlike ``trio.to_thread``, nothing sets up ``trio.from_thread`` in a worker (it would need trio's
private per-thread state and a message loop in the waiting task, the cost this module avoids): a
handler that wants trio is written ``async def``.

Workers are daemon threads (an idle one never keeps the process alive) and end after
:data:`IDLE_THREAD_SECONDS` without work. At most :data:`MAX_HANDLER_THREADS` calls of one trio run
are in threads at once; further calls wait their turn on a :class:`trio.Semaphore`, in order.

One pool serves the process, as trio's own thread cache does: threads are a process resource, and
consecutive ``trio.run`` calls (``start()`` after an import error, the test suite) then reuse the
same idle threads instead of each leaving its own behind. What a handler sees does not depend on
the pool's history. After ``fork`` the child forgets the parent's workers, which it does not have.

Frames of this module never reach an error reply: a worker's captured traceback starts at the
handler, and the frames above it on the trio side are in this package, which
:mod:`runtime._faults` drops from the front of a trace.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

import attrs
import outcome
import trio

from ._cpu_affinity import WakeOnCallersCpu
from ._faults import hide_frames_of
from ._handler import exit_if_forked

__all__ = [
    "IDLE_THREAD_SECONDS",
    "MAX_HANDLER_THREADS",
    "HandlerThreadPool",
    "MainThreadCalls",
    "MainThreadFirst",
    "run_sync",
]

#: Most sync handler calls of one trio run in threads at once. Each concurrent invoke needs a
#: thread of its own, as each gets a goroutine in aws-lambda-go; 40 is the bound trio's default
#: thread limiter placed on the same calls before this module, and a Lambda sandbox serves one
#: invoke at a time, so more only serve local load tests, where the rest wait their turn.
MAX_HANDLER_THREADS = 40

#: An idle worker ends after this many seconds without a call, so a burst of concurrent invokes
#: does not leave its threads behind for good; trio's thread cache waits as long.
IDLE_THREAD_SECONDS = 10.0

_T = TypeVar("_T")


def _no_step_aside() -> None:
    """Where the platform has no ``sched_yield``: hand over and carry on."""


_STEP_ASIDE: Callable[[], None] = getattr(os, "sched_yield", _no_step_aside)

hide_frames_of(trio, outcome)  # the hand-off to a handler's thread is no part of its trace


@attrs.define(eq=False)
class _Call:
    """One handler call on its way to a worker, and where its outcome goes.

    Never changed once made; not ``frozen`` only because a frozen class's ``__init__`` costs about
    a microsecond more, on the path this module exists to shorten.
    """

    fn: Callable[..., object]
    args: tuple[object, ...]
    context: contextvars.Context
    task: trio.lowlevel.Task
    token: trio.lowlevel.TrioToken
    #: The process the waiting task runs in; a child the call forks is not it.
    pid: int

    @classmethod
    def from_here(cls, fn: Callable[..., object], args: tuple[object, ...]) -> _Call:
        """The call of ``fn(*args)`` for the current trio task, in a copy of its context."""
        return cls(
            fn=fn,
            args=args,
            context=contextvars.copy_context(),
            task=trio.lowlevel.current_task(),
            token=trio.lowlevel.current_trio_token(),
            pid=os.getpid(),
        )

    def run(self) -> outcome.Outcome[object]:
        """``fn(*args)`` in the call's context, on this thread; a child it forks ends here."""
        result = outcome.capture(self.context.run, self.fn, *self.args)
        exit_if_forked(self.pid, result.error if isinstance(result, outcome.Error) else None)
        return result

    def answer(self, result: outcome.Outcome[object]) -> None:
        """Wake the waiting task with ``result``, from the thread that ran the call."""
        try:  # noqa: SIM105 - a try costs nothing here, contextlib.suppress a microsecond
            self.token.run_sync_soon(trio.lowlevel.reschedule, self.task, result)
        except trio.RunFinishedError:
            pass  # the run ended under a waiting task (it crashed): no one is left to tell


@attrs.define(eq=False)
class _Worker:
    """One worker thread's inbox; the thread itself only ever reads it."""

    calls: queue.SimpleQueue[_Call] = attrs.field(factory=queue.SimpleQueue)


def _keep_waiting(raise_cancel: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
    """Refuse to abandon a running handler; ``Cancelled`` comes at the next checkpoint instead."""
    return trio.lowlevel.Abort.FAILED


@attrs.define(eq=False)
class HandlerThreadPool:
    """Idle worker threads kept for reuse, and the per-run bound on calls in threads.

    ``max_threads`` and ``idle_seconds`` default to :data:`MAX_HANDLER_THREADS` and
    :data:`IDLE_THREAD_SECONDS`; tests pass smaller ones.
    """

    max_threads: int = MAX_HANDLER_THREADS
    idle_seconds: float = IDLE_THREAD_SECONDS
    # Most recently idle last: reuse takes it, so the others stay idle long enough to end.
    _idle: list[_Worker] = attrs.field(init=False, factory=list)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _slots: trio.lowlevel.RunVar[trio.Semaphore] = attrs.field(init=False)
    _names: itertools.count[int] = attrs.field(init=False, factory=lambda: itertools.count(1))

    @_slots.default
    def _slots_var(self) -> trio.lowlevel.RunVar[trio.Semaphore]:
        # A Semaphore rather than trio's CapacityLimiter: the same FIFO wait, a fifth the cost.
        return trio.lowlevel.RunVar("handler thread slots")

    @property
    def idle_count(self) -> int:
        """How many workers wait for a call right now."""
        return len(self._idle)

    async def run_sync(self, fn: Callable[..., _T], *args: object) -> _T:
        """Return ``fn(*args)`` run in a worker thread, in a copy of the caller's context.

        Waits for the call to finish even when cancelled (trio's ``abandon_on_cancel=False``);
        ``Cancelled`` is then raised at the caller's next checkpoint. Raises whatever ``fn``
        raises, unchanged and with its traceback; ``Cancelled`` if the caller is cancelled before
        the call starts (on entry, or while all :attr:`max_threads` are busy).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        slots = self._run_slots()
        try:
            slots.acquire_nowait()
        except trio.WouldBlock:
            await slots.acquire()
        try:
            call = _Call.from_here(fn, args)
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                self._start_worker(call)
            else:
                worker.calls.put(call)
            # trio sends the worker's Outcome into this task: a value returns, an error raises.
            result: _T = await trio.lowlevel.wait_task_rescheduled(_keep_waiting)
        finally:
            slots.release()
        return result

    def _run_slots(self) -> trio.Semaphore:
        """This trio run's bound on calls in threads (trio's thread limiter is per run too)."""
        try:
            return self._slots.get()
        except LookupError:
            slots = trio.Semaphore(self.max_threads)
            self._slots.set(slots)
            return slots

    def _start_worker(self, first: _Call) -> None:
        # The first call goes through the inbox too: thread arguments live as long as the thread.
        worker = _Worker()
        worker.calls.put(first)
        name = f"lambda-legacy handler {next(self._names)}"
        threading.Thread(target=self._work, args=(worker,), name=name, daemon=True).start()

    def _work(self, worker: _Worker) -> None:
        """A worker thread's life: run calls until idle for :attr:`idle_seconds`."""
        call = self._next_call(worker)
        while call is not None:
            result = call.run()
            # Idle again before the caller resumes, so its next call finds this thread.
            with self._lock:
                self._idle.append(worker)
            call.answer(result)
            del result
            call = None  # hold neither the event, the context nor the result while idle
            call = self._next_call(worker)

    def _next_call(self, worker: _Worker) -> _Call | None:
        """The worker's next call, or None once it has waited :attr:`idle_seconds` in vain."""
        while True:
            try:
                return worker.calls.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if worker in self._idle:
                        self._idle.remove(worker)
                        return None
                # A caller took this worker off the idle list just now; its call is on the way.

    def forget_workers(self) -> None:
        """After ``fork``: the child has none of the parent's threads, and maybe a held lock."""
        self._idle = []
        self._lock = threading.Lock()


@attrs.define(eq=False)
class MainThreadCalls:
    """Calls run one at a time on the thread that runs :meth:`serve` (the main thread), for a
    trio run on another thread.

    awslambdaric calls a plain handler on the main thread, the one that imported its module:
    ``asyncio.get_event_loop()``, a ``threading.local`` or an sqlite connection made at import,
    and ``signal.signal`` all work there, as they do not on a worker thread. With trio on a
    thread of its own, the main thread is also outside trio's run, so the handler's own
    ``asyncio.run`` or ``trio.run`` works. Waiting for a call never abandons it, as
    :meth:`HandlerThreadPool.run_sync`.

    Handing a call to a serving thread that waits for one, the handing thread then steps aside
    (:attr:`step_aside`, ``os.sched_yield``, which also lets go of the GIL): the kernel runs the
    thread it has just woken, on this CPU when :attr:`wake_on_callers_cpu` holds it here, and the
    handler starts at once instead of after the rest of trio's scheduler pass (parking the
    connection's next reader, ~20-40 us here), which the GIL would otherwise make it wait for.
    Measured with ``benchmarks.server``'s Go client, plain echo, paired batches: 35-42 us less
    per invoke at p50 on the project's 2-vCPU machine.
    """

    #: Run on the serving thread after each call (the caller's upkeep: signal handlers).
    after_call: Callable[[], None] | None = None
    #: Wakes the serving thread on the CPU that hands it a call (None: where the kernel likes).
    wake_on_callers_cpu: WakeOnCallersCpu | None = None
    #: Called on the handing thread after it has woken the serving thread (see above).
    step_aside: Callable[[], None] = _STEP_ASIDE
    _calls: queue.SimpleQueue[_Call | None] = attrs.field(init=False, factory=queue.SimpleQueue)
    #: The serving thread waits for a call: set and cleared on it, read by the handing thread (a
    #: stale read only costs or saves one ``step_aside``).
    _waiting: bool = attrs.field(init=False, default=False)

    async def run_sync(self, fn: Callable[..., _T], *args: object) -> _T:
        """Return ``fn(*args)`` run on the serving thread, in a copy of the caller's context."""
        await trio.lowlevel.checkpoint_if_cancelled()
        call = _Call.from_here(fn, args)
        if self.wake_on_callers_cpu is not None:
            self.wake_on_callers_cpu.before_handing()
        waiting = self._waiting
        self._calls.put(call)
        del call
        if waiting:
            self.step_aside()
        result: _T = await trio.lowlevel.wait_task_rescheduled(_keep_waiting)
        return result

    @property
    def waiting(self) -> bool:
        """Whether the serving thread waits for a call right now."""
        return self._waiting

    def serve(self) -> None:
        """Run calls on this thread until :meth:`close`."""
        wake = self.wake_on_callers_cpu
        try:
            while True:
                if wake is not None:
                    wake.going_to_sleep()
                self._waiting = True
                call = self._calls.get()
                self._waiting = False
                if wake is not None:
                    wake.on_waking()
                if call is None:
                    return
                result = call.run()
                if self.after_call is not None:
                    self.after_call()
                call.answer(result)
                del result, call  # their finalizers run here, before this thread may be held
        finally:
            self._waiting = False
            if wake is not None:
                wake.on_waking()

    def close(self) -> None:
        """Let :meth:`serve` return once the calls before this one are done."""
        self._calls.put(None)


_POOL = HandlerThreadPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.forget_workers)

#: :meth:`HandlerThreadPool.run_sync` on the process's pool (bound, so no extra coroutine per call).
run_sync = _POOL.run_sync


@attrs.define(eq=False)
class MainThreadFirst:
    """Plain handler calls on the main thread while it is free, else on the worker pool.

    Lambda sends a go1.x function one invoke at a time, so every call runs on the main thread,
    as under awslambdaric (see :class:`MainThreadCalls`); concurrent invokes, which only local
    load puts on a function, take worker threads as before rather than wait their turn.

    The main thread counts as free again once its call is done, or once it is about to send the
    call's reply itself (:meth:`replying`): the client may send its next invoke as soon as it has
    the reply, before this thread is back for its next call, and that invoke must still queue
    for the main thread, not take a worker. A call's end frees the main thread only if no later
    call has claimed it meanwhile (a count of claims tells), or that later call, running there,
    would count as free and concurrent invokes would queue behind it. The flag is read on the
    trio thread and set on either (the GIL makes that atomic); a stale reading only queues a
    call behind the main thread's.
    """

    main: MainThreadCalls
    pool: HandlerThreadPool = _POOL
    _main_busy: bool = False
    #: Calls that have claimed the main thread so far.
    _claims: int = 0

    async def run_sync(self, fn: Callable[..., _T], *args: object) -> _T:
        """``fn(*args)`` on the main thread if it is free, else as :func:`run_sync`."""
        if self._main_busy:
            return await self.pool.run_sync(fn, *args)
        self._main_busy = True
        self._claims += 1
        claim = self._claims
        try:
            return await self.main.run_sync(fn, *args)
        finally:
            if self._claims == claim:  # else a later call runs there now, or is queued to
                self._main_busy = False

    def replying(self) -> None:
        """Called on the thread that runs a call, just before it sends that call's reply.

        On the main thread, its upkeep (:attr:`MainThreadCalls.after_call`) runs now too, not
        only after the call: the client may act on the reply at once (a SIGTERM right after it
        must meet our handler, not the SIG_DFL a handler's asyncio loop left behind).
        """
        if threading.current_thread() is threading.main_thread():
            self._main_busy = False
            if self.main.after_call is not None:
                self.main.after_call()
