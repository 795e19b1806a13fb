"""Waking the main thread on the CPU of the thread that hands it a call.

Why. A plain handler runs on the main thread, and trio's thread reads each call and hands it
over (:class:`runtime._handler_threads.MainThreadCalls`). Linux wakes a sleeping thread on the
CPU it last ran on when that CPU is idle, so with two or more CPUs the two threads drift apart and
every hand-off wakes an idle CPU; in a virtual machine the host must then schedule that vCPU
again. On the project's 2-vCPU machine (the Go client of ``benchmarks.server``, echo handler,
3,000 invokes a run) the threads were on different CPUs for every invoke, and a plain invoke
took about 350 us at p50 against about 160 us when the server was held to one CPU, the same as
an ``async def`` handler that needs no hand-off.

How. Just before it hands a call over, the handing thread restricts the waiting thread to the
CPU it runs on itself, which it is about to leave to wait for the socket; the kernel then wakes
the waiting thread there. The first thing the woken thread does is take back the CPUs it had
when serving began, before any handler code runs, so the handler, the threads it starts and
the processes it forks see the process's own affinity. That is two ``sched_setaffinity`` calls
per invoke, about a microsecond each.

It does nothing with one CPU allowed or where the platform lacks the calls, and stops trying
once the kernel refuses one (a seccomp filter, a cpuset that changed). If the woken thread
cannot take its CPUs back, it says so on stderr: the handler would run held to one CPU.
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
    """Holds one waiting thread to its caller's CPU from each hand-off until it wakes.

    :meth:`before_handing` runs on the handing thread, :meth:`on_waking` on the waiting one;
    the queue between them orders the two.
    """

    #: The waiting thread's kernel id (``threading.get_native_id()``).
    thread_id: int
    #: Its CPUs when serving began: what it takes back on waking.
    own_cpus: frozenset[int]
    current_cpu: Callable[[], int]
    #: False once the kernel has refused a call: the kernel chooses from then on.
    enabled: bool = True
    #: Set by a hand-off that held the thread to one CPU, cleared when it takes its CPUs back.
    _held: bool = False

    @classmethod
    def for_this_thread(cls) -> WakeOnCallersCpu | None:
        """One for the calling thread, or None where it would do nothing (see the module)."""
        current_cpu = _libc_sched_getcpu()
        if current_cpu is None or not hasattr(os, "sched_setaffinity"):
            return None
        own_cpus = frozenset(os.sched_getaffinity(0))
        if len(own_cpus) < 2:
            return None
        return cls(threading.get_native_id(), own_cpus, current_cpu)

    def before_handing(self) -> None:
        """On the handing thread: the waiting thread wakes on this thread's CPU."""
        if not self.enabled:
            return
        cpu = self.current_cpu()
        if cpu not in self.own_cpus:
            return  # -1 (no answer), or a CPU the waiting thread may not use anyway
        try:
            os.sched_setaffinity(self.thread_id, (cpu,))
        except OSError:
            self.enabled = False
            return
        self._held = True

    def on_waking(self) -> None:
        """On the waiting thread, before it runs anything: its own CPUs back."""
        if not self._held:
            return
        self._held = False
        try:
            os.sched_setaffinity(0, self.own_cpus)
        except OSError as exc:
            self.enabled = False
            print(
                f"lambda-legacy: could not give the main thread its CPUs back ({exc}); "
                f"it may stay on CPU {sorted(os.sched_getaffinity(0))}",
                file=sys.stderr,
            )
