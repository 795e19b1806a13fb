"""A real server process for the end-to-end tests: started, driven, read, and always cleaned up.

Each test starts ``python -m lambda_legacy serve served_handlers.X`` (or a script that calls
``lambda_legacy.start``) on a free 127.0.0.1 port, with a clean environment: no Lambda variables
of the test runner's, ``LAMBDA_TASK_ROOT`` pointing at this folder, and no ``PYTHONUNBUFFERED``, so
that output reaching the test while the process runs proves the server unbuffered it itself.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec

import trio

from runtime._client import free_port
from runtime._messages import InvokeRequest, InvokeRequest_Timestamp

HERE = Path(__file__).resolve().parent

#: Hang guard, in seconds, for anything that waits on the process (start-up included). The
#: machine is shared and slow; this bounds a broken test, it is not a performance expectation.
PROCESS_TIMEOUT = 60.0

#: Hang guard, in seconds, for a whole test (several process starts and calls).
TEST_TIMEOUT = 4 * PROCESS_TIMEOUT

#: How often output and files are polled for.
POLL_SECONDS = 0.01

# Variables of the test runner's own environment that would change what the server does.
_STRIPPED_PREFIXES = ("AWS_", "_LAMBDA_", "LAMBDA_", "_X_AMZN_")
_STRIPPED = frozenset({"PYTHONUNBUFFERED", "_HANDLER"})


P = ParamSpec("P")


def guarded(test: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """Fail an async test that runs past :data:`TEST_TIMEOUT` instead of hanging the suite.

    A server that stops answering would otherwise leave a call waiting forever.
    """

    @functools.wraps(test)
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with trio.fail_after(TEST_TIMEOUT):
            await test(*args, **kwargs)

    return run


def child_environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test runner's environment without Lambda's variables, plus ``overrides``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_STRIPPED_PREFIXES) and key not in _STRIPPED
    }
    env["LAMBDA_TASK_ROOT"] = str(HERE)
    env.update(overrides or {})
    return env


class ServedProcess:
    """A running server process and everything it has printed so far."""

    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: Path, port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(
            argv, env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._lock = threading.Lock()
        self._stdout = bytearray()
        self._stderr = bytearray()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.process.stdout.fileno(), self._stdout)),
            threading.Thread(target=self._pump, args=(self.process.stderr.fileno(), self._stderr)),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, fd: int, into: bytearray) -> None:
        while chunk := os.read(fd, 65536):
            with self._lock:
                into.extend(chunk)

    def stdout(self) -> str:
        """Everything the process wrote to stdout so far."""
        with self._lock:
            return self._stdout.decode("utf-8", "replace")

    def stderr(self) -> str:
        """Everything the process wrote to stderr so far."""
        with self._lock:
            return self._stderr.decode("utf-8", "replace")

    async def wait_for_stdout(self, needle: str) -> str:
        """Wait until ``needle`` shows up on stdout while the process runs; return stdout."""
        with trio.fail_after(PROCESS_TIMEOUT):
            while needle not in (text := self.stdout()):
                assert self.process.poll() is None, f"exited first; stderr:\n{self.stderr()}"
                await trio.sleep(POLL_SECONDS)
        return text

    async def wait(self) -> int:
        """Wait for the process to exit on its own; its exit status."""
        with trio.fail_after(PROCESS_TIMEOUT):
            while (status := self.process.poll()) is None:
                await trio.sleep(POLL_SECONDS)
        for pump in self._pumps:
            pump.join()
        return status

    def send_signal(self, signum: signal.Signals) -> None:
        """Deliver ``signum`` to the process."""
        self.process.send_signal(signum)

    def close(self) -> None:
        """Kill the process if it still runs, and collect it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=PROCESS_TIMEOUT)
        for pump in self._pumps:
            pump.join(timeout=PROCESS_TIMEOUT)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@contextmanager
def served(
    handler: str,
    env: Mapping[str, str] | None = None,
    *,
    cwd: Path = HERE,
    port: int | None = None,
    serve_options: tuple[str, ...] = (),
) -> Iterator[ServedProcess]:
    """``python -m lambda_legacy serve [OPTIONS] HANDLER`` with ``_LAMBDA_SERVER_PORT`` set."""
    port = free_port() if port is None else port
    environment = child_environment({"_LAMBDA_SERVER_PORT": str(port), **(env or {})})
    argv = [sys.executable, "-m", "lambda_legacy", "serve", *serve_options, handler]
    process = ServedProcess(argv, environment, cwd, port)
    try:
        yield process
    finally:
        process.close()


@contextmanager
def started_script(
    script: Path, env: Mapping[str, str] | None = None, *, with_port: bool = True
) -> Iterator[ServedProcess]:
    """``python SCRIPT`` (a script calling ``lambda_legacy.start``), ``_LAMBDA_SERVER_PORT`` set
    unless ``with_port`` is False."""
    port = free_port()
    overrides = {"_LAMBDA_SERVER_PORT": str(port)} if with_port else {}
    environment = child_environment({**overrides, **(env or {})})
    process = ServedProcess([sys.executable, str(script)], environment, script.parent, port)
    try:
        yield process
    finally:
        process.close()


def gate_event(folder: Path, tag: str) -> bytes:
    """The payload of a gated handler call (see served_handlers)."""
    return json.dumps({"gate": str(folder), "tag": tag}).encode()


async def wait_for_file(path: Path) -> None:
    """Wait until ``path`` exists."""
    with trio.fail_after(PROCESS_TIMEOUT):
        while not path.exists():
            await trio.sleep(POLL_SECONDS)


def invoke_request(
    payload: bytes,
    request_id: str,
    *,
    deadline_ns: int | None = None,
    trace_id: str = "",
    client_context: bytes = b"",
    cognito_identity_id: str = "",
    cognito_identity_pool_id: str = "",
    function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:served",
) -> InvokeRequest:
    """An InvokeRequest as the go1.x service sends it; the deadline defaults to a minute ahead."""
    deadline = time.time_ns() + 60 * 10**9 if deadline_ns is None else deadline_ns
    return InvokeRequest(
        payload=payload,
        request_id=request_id,
        x_amzn_trace_id=trace_id,
        deadline=InvokeRequest_Timestamp(seconds=deadline // 10**9, nanos=deadline % 10**9),
        invoked_function_arn=function_arn,
        cognito_identity_id=cognito_identity_id,
        cognito_identity_pool_id=cognito_identity_pool_id,
        client_context=client_context,
    )
