"""Waking the main thread on the CPU of the thread that hands it a call.

Why. A plain handler runs on the main thread, and trio's thread reads each call and hands it
over (:class:`runtime._handler_threads.MainThreadCalls`). Linux wakes a sleeping thread on the
CPU it last ran on when that CPU is idle, so with two or more CPUs the two threads drift apart and
every hand-off wakes an idle CPU; in a virtual machine the host must then schedule that vCPU
again. On the project's 2-vCPU machine (the Go client of ``benchmarks.server``, echo handler,
3,000 invokes a run) the threads were on different CPUs for every invoke, and a plain invoke
took about 350 us at p50 against about 160 us when the server was held to one CPU, the same as
an ``async def`` handler that needs no hand-off.

How. When the main thread is asleep waiting for a call, the handing thread restricts it to the
CPU it runs on itself, which it is about to leave to wait for the socket; the kernel then wakes
the main thread there. The first thing the main thread does on waking is take back the CPUs it
had just before, before any handler code runs, so the handler, the threads it starts and the
processes it forks see the affinity they would have had (a handler's own
``os.sched_setaffinity`` included). A main thread that is not asleep (busy with a call while
concurrent invokes queue behind it, or finishing the last one) is never held. That is three
system calls per invoke, about a microsecond each.

It does nothing with one CPU allowed when serving begins or where the platform lacks the calls,
and stops trying once the kernel refuses one (a seccomp filter, a cpuset that changed). If the
woken thread cannot take its CPUs back, it says so on stderr: the handler would run held to one
CPU.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable

import attrs

__all__ = ["WakeOnCallersCpu"]


def _libc_sched_getcpu() -> Callable[[], int] | None:
    """glibc's ``sched_getcpu`` (the CPU the calling thread runs on), or None without it."""
    try:
        return ctypes.PyDLL(None).sched_getcpu  # PyDLL: the call keeps the GIL, as it may
    except (OSError, AttributeError):
        return None


@attrs.define(eq=False)
class WakeOnCallersCpu:
    """Holds one thread, while it sleeps waiting for a call, to the CPU that hands it the call.

    The waiting thread calls :meth:`going_to_sleep` before it waits and :meth:`on_waking` when
    it has a call; the handing thread calls :meth:`before_handing`. A lock orders the three, so
    a hold always comes before the release that undoes it.
    """

    #: The waiting thread's kernel id (``threading.get_native_id()``).
    thread_id: int
    current_cpu: Callable[[], int]
    #: False once the kernel has refused a call: the kernel chooses from then on.
    enabled: bool = True
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    #: The waiting thread is between :meth:`going_to_sleep` and :meth:`on_waking`.
    _asleep: bool = attrs.field(init=False, default=False)
    #: Its CPUs when it was held (None: not held).
    _held_from: frozenset[int] | None = attrs.field(init=False, default=None)

    @classmethod
    def for_this_thread(cls) -> WakeOnCallersCpu | None:
        """One for the calling thread, or None where it would do nothing (see the module)."""
        current_cpu = _libc_sched_getcpu()
        if current_cpu is None or not hasattr(os, "sched_setaffinity"):
            return None
        if len(os.sched_getaffinity(0)) < 2:
            return None
        return cls(threading.get_native_id(), current_cpu)

    def going_to_sleep(self) -> None:
        """On the waiting thread, just before it waits: from now on it may be held."""
        with self._lock:
            self._asleep = True

    def before_handing(self) -> None:
        """On the handing thread: if the waiting thread is asleep, it wakes on this CPU."""
        with self._lock:
            if not (self.enabled and self._asleep) or self._held_from is not None:
                return
            try:
                cpus = frozenset(os.sched_getaffinity(self.thread_id))
                cpu = self.current_cpu()
                if len(cpus) < 2 or cpu not in cpus:
                    return  # one CPU already, or -1 / a CPU it may not use: leave it be
                os.sched_setaffinity(self.thread_id, (cpu,))
            except OSError:
                self.enabled = False
                return
            self._held_from = cpus

    def on_waking(self) -> None:
        """On the waiting thread, before it runs anything: its own CPUs back."""
        with self._lock:
            self._asleep = False
            cpus, self._held_from = self._held_from, None
            if cpus is None:
                return
            try:
                os.sched_setaffinity(0, cpus)
            except OSError as exc:
                self.enabled = False
                print(
                    f"lambda-legacy: could not give the main thread its CPUs back ({exc}); "
                    f"it may stay on CPU {sorted(os.sched_getaffinity(0))}",
                    file=sys.stderr,
                )
