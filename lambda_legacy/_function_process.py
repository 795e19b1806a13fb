"""The function's process: started so that it dies with the service, and awaited on trio.

Theory of operation. The go1.x service starts the function in a process group of its own
(``Setpgid``), so a SIGKILL to the service's group (a test harness, an emulator stopping its
bootstrap, Lambda ending the bridge) does not reach it, and it would be left running and holding
its port. On Linux the child therefore asks the kernel for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``). The kernel's "parent" there is the *thread* that forked the child
(prctl(2)), so the fork must come from a thread that lives as long as the service.
``trio.lowlevel.open_process`` forks from a worker thread of trio's thread cache, which trio ends
after 10 s idle: the function was then killed 10 s after it started. Here ``subprocess.Popen``
runs on the trio thread itself (the fork and exec hold up the loop for a moment, once per cold
start), and the exit is awaited through a pidfd, as trio's own ``Process`` does.

The death signal reaches only the function's own process, not the processes it starts (a
wrapper script's program, a handler's child). So a watchdog goes beside it: ``/bin/sh``, in a
session of its own, reading a pipe whose only writer is the service. When the pipe closes (the
service ended the group itself, or died, even by SIGKILL), the watchdog kills the function's
whole process group, as the go1.x service's ``Kill(-pid)`` does.

Without pidfds (Linux before 5.3, which some Lambda hosts run) a worker thread waits for the exit.
Without ``prctl`` (not Linux), ``trio.lowlevel.open_process`` starts the function without the
death signal or the watchdog, and it may outlive a killed service.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import trio

__all__ = ["FunctionProcess", "kill_group", "start_function_process"]

#: The watchdog's script: wait for stdin to close, then SIGKILL the process group given (gone
#: already, after the service killed it: ``kill`` then fails, quietly).
_GROUP_WATCHDOG = 'read _; kill -KILL "-$1" 2>/dev/null'

#: prctl(2) option: the signal the kernel sends this process when its parent thread exits.
_PR_SET_PDEATHSIG = 1
#: libc's prctl, looked up once here: the child between fork and exec must not load libraries.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


class FunctionProcess(Protocol):
    """What the service needs of a started function's process (``trio.Process`` has it too)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


@attrs.define(eq=False)
class _ForkedProcess:
    """A child forked on the trio thread, its exit awaited through a pidfd (or, on a kernel
    without pidfds, by a worker thread blocked in ``waitpid``, as trio does there)."""

    _popen: subprocess.Popen[bytes]
    _pidfd: int | None  # None without pidfds, and once the exit has been seen
    #: Kills the group once its stdin closes (None: it could not be started).
    _watchdog: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: the signal), or None while it runs; reaps an ended child."""
        return self._popen.poll()

    async def wait(self) -> int:
        """Wait for the process to exit; its status. A checkpoint, even if it has already exited."""
        if self._popen.poll() is not None:
            await trio.lowlevel.checkpoint()
        elif self._pidfd is not None:
            await trio.lowlevel.wait_readable(self._pidfd)  # readable once the process has ended
        else:
            await trio.to_thread.run_sync(self._popen.wait, abandon_on_cancel=True)
        status = self._popen.wait()  # it has ended: this only reaps it
        if self._pidfd is not None:
            trio.lowlevel.notify_closing(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        return status

    def release_watchdog(self) -> None:
        """Close the watchdog's pipe: it kills the group (again, once the service has) and ends."""
        if self._watchdog is not None and self._watchdog.stdin is not None:
            self._watchdog.stdin.close()
            self._watchdog = None  # reaped by subprocess at its next start, if not before


def kill_group(process: FunctionProcess) -> None:
    """SIGKILL to ``process``'s whole group, as the go1.x service's ``Kill(-pid)``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(process.pid, signal.SIGKILL)
    if isinstance(process, _ForkedProcess):
        process.release_watchdog()


def _start_watchdog(group: int) -> subprocess.Popen[bytes] | None:
    """``/bin/sh`` killing ``group`` once its stdin closes; None where it cannot be started."""
    try:
        return subprocess.Popen(
            ["/bin/sh", "-c", _GROUP_WATCHDOG, "sh", str(group)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C for the service is not for it
        )
    except OSError:
        return None


def _dying_with(parent: int) -> Callable[[], None]:
    """What the child runs before exec: be killed when the thread that forked it ends."""

    def in_child() -> None:
        assert _PRCTL is not None
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return in_child


async def start_function_process(
    command: Sequence[str], *, env: Mapping[str, str], cwd: str, output: int
) -> FunctionProcess:
    """Start ``command`` in a process group of its own, stdin from /dev/null, stdout and stderr
    to ``output``; killed with the service where the platform allows.

    Raises:
        OSError: it could not be started (as ``subprocess.Popen`` raises it).
    """
    options: dict[str, Any] = {
        "env": env,
        "cwd": cwd,
        "stdin": subprocess.DEVNULL,
        "stdout": output,
        "stderr": output,
        "process_group": 0,  # Setpgid, as the go1.x service starts it
    }
    if _PRCTL is None:
        return await trio.lowlevel.open_process(list(command), **options)
    await trio.lowlevel.checkpoint()
    # Only the child can ask for its death signal; it makes one call, looked up before fork.
    popen = subprocess.Popen(list(command), preexec_fn=_dying_with(os.getpid()), **options)  # noqa: PLW1509
    try:
        pidfd: int | None = os.pidfd_open(popen.pid)
    except OSError:  # Linux before 5.3 (ENOSYS)
        pidfd = None
    return _ForkedProcess(popen, pidfd, _start_watchdog(popen.pid))
