"""The function's process awaited on trio, through a pidfd or (kernels before 5.3) a waiting thread.

That it dies with the service: tests/cli_tests (SIGKILL to ``invoke``); that it outlives trio's
idle worker threads: tests/bridge_tests/test_bridge_function_lifetime.py."""

from __future__ import annotations

import errno
import functools
import os
import signal
import subprocess
import sys

import pytest
import trio

from lambda_legacy._function_process import start_function_process

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _no_pidfd(pid: int) -> int:
    raise OSError(errno.ENOSYS, "pidfd_open")


@pytest.mark.parametrize("pidfds", [True, False], ids=["pidfd", "waiting-thread"])
async def test_exit_status_and_signal_are_awaited(
    pidfds: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not pidfds:
        monkeypatch.setattr(os, "pidfd_open", _no_pidfd)
    start = functools.partial(
        start_function_process, env=dict(os.environ), cwd=os.getcwd(), output=subprocess.DEVNULL
    )
    exiting = await start([sys.executable, "-c", "exit(3)"])
    assert await exiting.wait() == 3
    assert exiting.returncode == 3
    assert await exiting.wait() == 3  # again: already reaped
    sleeping = await start(SLEEPER)
    assert sleeping.returncode is None
    with trio.move_on_after(0.2) as scope:
        await sleeping.wait()
    assert scope.cancelled_caught  # still running; the cancelled wait left it waitable
    os.killpg(sleeping.pid, signal.SIGKILL)  # its own process group
    assert await sleeping.wait() == -signal.SIGKILL
