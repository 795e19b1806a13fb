"""The main thread is held to its caller's CPU from each hand-off until it wakes, and takes its
own CPUs back before it runs anything (:mod:`runtime._cpu_affinity`)."""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from runtime._cpu_affinity import WakeOnCallersCpu
from runtime._handler_threads import MainThreadCalls
from runtime._main_thread import StopRequests, run_beside_main_thread

# The suite imports test modules with importlib, which does not put folders on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server_tests"))

from served_process import PROCESS_TIMEOUT, guarded, invoke_request, served

from runtime._client import connect_function
from runtime._messages import InvokeResponse

OWN_CPUS = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()

pytestmark = pytest.mark.skipif(
    len(OWN_CPUS) < 2, reason="fewer than two CPUs allowed here: there is nothing to hold"
)

#: Sequential invokes in the served test: each is one hold and one release.
SEQUENTIAL_INVOKES = 50


class _Waiting:
    """A thread standing in for the main thread: it waits until told to wake."""

    def __init__(self) -> None:
        self.wake_on_callers_cpu: WakeOnCallersCpu | None = None
        self.woken = threading.Event()
        self.cpus_after_waking: frozenset[int] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        self.wake_on_callers_cpu = WakeOnCallersCpu.for_this_thread()
        assert self.wake_on_callers_cpu is not None
        self.wake_on_callers_cpu.going_to_sleep()
        self._ready.set()
        self.woken.wait()
        assert self.wake_on_callers_cpu is not None
        self.wake_on_callers_cpu.on_waking()
        self.cpus_after_waking = frozenset(os.sched_getaffinity(0))

    def start(self) -> WakeOnCallersCpu:
        self._thread.start()
        self._ready.wait()
        assert self.wake_on_callers_cpu is not None
        return self.wake_on_callers_cpu

    def wake(self) -> None:
        self.woken.set()
        self._thread.join()


@pytest.fixture
def waiting() -> Iterator[_Waiting]:
    thread = _Waiting()
    yield thread
    thread.wake()


def test_a_hand_off_holds_the_waiting_thread_to_one_cpu_until_it_wakes(
    waiting: _Waiting,
) -> None:
    wake = waiting.start()
    wake.before_handing()
    held = frozenset(os.sched_getaffinity(wake.thread_id))
    assert len(held) == 1
    assert held <= OWN_CPUS
    waiting.wake()
    assert waiting.cpus_after_waking == OWN_CPUS


def test_a_thread_that_is_not_asleep_is_never_held() -> None:
    wake = WakeOnCallersCpu.for_this_thread()  # this thread: busy, not waiting for a call
    assert wake is not None
    wake.before_handing()
    assert frozenset(os.sched_getaffinity(0)) == OWN_CPUS
    wake.going_to_sleep()
    wake.on_waking()  # woken at once: a hand-off now finds it awake again
    wake.before_handing()
    assert frozenset(os.sched_getaffinity(0)) == OWN_CPUS


def test_a_thread_held_to_one_cpu_by_its_own_code_keeps_it() -> None:
    one_cpu = frozenset({max(OWN_CPUS)})
    seen: list[frozenset[int]] = []

    def handler_thread() -> None:
        wake = WakeOnCallersCpu.for_this_thread()
        assert wake is not None
        os.sched_setaffinity(0, one_cpu)  # as a handler may do for itself
        wake.going_to_sleep()
        wake.before_handing()  # from this thread: whatever CPU it is on, it may use only one
        wake.on_waking()
        seen.append(frozenset(os.sched_getaffinity(0)))

    thread = threading.Thread(target=handler_thread)
    thread.start()
    thread.join()
    assert seen == [one_cpu]


def test_waking_without_a_hold_changes_nothing(waiting: _Waiting) -> None:
    waiting.start()
    waiting.wake()
    assert waiting.cpus_after_waking == OWN_CPUS


def test_nothing_is_held_where_the_thread_may_use_one_cpu_only() -> None:
    found: list[WakeOnCallersCpu | None] = []

    def on_one_cpu() -> None:
        os.sched_setaffinity(0, {min(OWN_CPUS)})
        found.append(WakeOnCallersCpu.for_this_thread())

    thread = threading.Thread(target=on_one_cpu)
    thread.start()
    thread.join()
    assert found == [None]


def test_a_refused_hold_turns_the_holding_off(
    waiting: _Waiting, monkeypatch: pytest.MonkeyPatch
) -> None:
    wake = waiting.start()

    def refused(pid: int, cpus: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    with monkeypatch.context() as patched:
        patched.setattr(os, "sched_setaffinity", refused)
        wake.before_handing()
    assert not wake.enabled
    assert frozenset(os.sched_getaffinity(wake.thread_id)) == OWN_CPUS
    wake.before_handing()  # no longer tries
    assert frozenset(os.sched_getaffinity(wake.thread_id)) == OWN_CPUS


def test_a_refused_release_is_said_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wake = WakeOnCallersCpu.for_this_thread()
    assert wake is not None
    wake.going_to_sleep()
    wake.before_handing()
    assert len(os.sched_getaffinity(0)) == 1
    try:
        with monkeypatch.context() as patched:
            patched.setattr(os, "sched_setaffinity", _refuse)
            wake.on_waking()
    finally:
        os.sched_setaffinity(0, OWN_CPUS)
    assert not wake.enabled
    assert "could not give the main thread its CPUs back" in capsys.readouterr().err


def _refuse(pid: int, cpus: object) -> None:
    raise OSError(errno.EINVAL, "Invalid argument")


def test_calls_on_the_main_thread_run_on_its_own_cpus_and_it_keeps_them_after() -> None:
    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        assert calls.wake_on_callers_cpu is not None
        seen = [frozenset(await calls.run_sync(os.sched_getaffinity, 0)) for _ in range(20)]
        return 0 if seen == [OWN_CPUS] * 20 else 1

    assert run_beside_main_thread(main) == 0
    assert frozenset(os.sched_getaffinity(0)) == OWN_CPUS


@guarded
async def test_a_served_handler_and_the_threads_it_starts_have_the_process_s_cpus() -> None:
    with served("served_handlers.cpu_affinity") as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            replies = [
                await client.invoke(invoke_request(b"{}", f"r{n}"))
                for n in range(SEQUENTIAL_INVOKES)
            ]
    own = sorted(OWN_CPUS)
    for reply in replies:
        assert reply.error is None, reply.error
        assert reply.payload == f'{{"handler":{own},"new_thread":{own}}}'.replace(" ", "").encode()


#: Clients invoking at once in the test below, and invokes each; each call sleeps, so that
#: calls queue for the main thread while it runs one.
CONCURRENT_CLIENTS = 3
INVOKES_PER_CLIENT = 15


@guarded
async def test_calls_queued_while_the_main_thread_is_busy_never_hold_it() -> None:
    replies: list[InvokeResponse] = []

    async def client(port: int, tag: int) -> None:
        async with connect_function(port, timeout=PROCESS_TIMEOUT) as connection:
            for n in range(INVOKES_PER_CLIENT):
                request = invoke_request(b'{"sleep": 0.005}', f"c{tag}-{n}")
                replies.append(await connection.invoke(request))

    with served("served_handlers.cpu_affinity") as server:
        async with trio.open_nursery() as nursery:
            for tag in range(CONCURRENT_CLIENTS):
                nursery.start_soon(client, server.port, tag)
    own = sorted(OWN_CPUS)
    assert len(replies) == CONCURRENT_CLIENTS * INVOKES_PER_CLIENT
    for reply in replies:
        assert reply.error is None, reply.error
        assert json.loads(reply.payload) == {"handler": own, "new_thread": own}
