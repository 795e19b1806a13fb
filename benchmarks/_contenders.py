"""The contenders of ``benchmarks.compare``: what each one runs, and how it is started and driven.

Each contender is started cold by :func:`running`, which measures its cold start and yields it
warm from its first invoke, as a :class:`Running`: ``batch(size, count, lead_in)`` makes
``lead_in`` unmeasured then ``count`` measured sequential invokes and returns the measured ones'
times, having checked that every reply echoes the event. The ``with`` block's end stops it
(and, for the Runtime API, its emulator's whole process group), so any number can run at once.
What each measurement spans is in ``compare``'s docstring.

- RPC, (a) and (b): the server is exec'd while ``gopeer client --cold-start`` dials; each batch is
  one ``gopeer client --latency --samples`` run on a new connection (Go's net/rpc client).
- Runtime API, (c) to (f) and the floor: the emulator (``tests/rie.py``: AWS's RIE where
  ``tools/check`` installed it, else the stand-in) execs the bootstrap at the first invoke;
  batches are POSTed with ``http.client`` over one keep-alive connection held for the
  contender's whole life.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

import attrs

from ._peers import GOPEER, ROOT, Server, latency, payload_of, start_cold, stop
from ._report import rss_kib

# tests/rie.py starts the emulator for the Runtime API rows, as the tests do; tests/ is not a
# package, so it is imported from its folder (its pytest import is only used to skip tests).
sys.path.insert(0, str(ROOT / "tests"))
import rie

__all__ = [
    "API",
    "RPC",
    "Contender",
    "Running",
    "cold_start",
    "contenders",
    "missing_prerequisite",
    "running",
]

HANDLERS = Path(__file__).resolve().parent / "handlers"
HANDLER = "echo.handler"
SERVE = (sys.executable, "-m", "lambda_legacy", "serve", HANDLER)
#: The event of every cold start's first invoke.
FIRST_EVENT_BYTES = 100

#: How long one invoke through the emulator may take before the run fails instead of hanging.
INVOKE_TIMEOUT_S = 60.0

#: How long ``serve`` may take to ask for its first event in the mode probe, and how often the
#: probe looks whether it exited instead.
PROBE_TIMEOUT_S = 15.0
PROBE_POLL_S = 0.05
NEXT_PATH = b"/2018-06-01/runtime/invocation/next"

RPC, API = "rpc", "api"
GO_ECHO = ("--handler", "echo")
FLOOR_NAME = "floor: emulator + minimal runtime"


@attrs.frozen
class Contender:
    """One way to run the echo function: ``argv`` is the server (RPC) or the bootstrap (API)."""

    key: str
    name: str
    kind: str
    argv: tuple[str, ...]
    env: dict[str, str]
    #: Which emulator a Runtime API contender runs under (``tests/rie.py``'s kinds).
    emulator: str = "rie"


class Running(Protocol):
    """A started contender, warm after its first invoke, ready for batches."""

    @property
    def cold_start_us(self) -> float:
        """Its start: see the module docstring for what that spans per kind."""
        ...

    def batch(self, size: int, count: int, lead_in: int) -> list[float]:
        """``lead_in`` unmeasured then ``count`` measured sequential invokes of ``size`` bytes,
        each checked to echo the event: the measured ones' times in us."""
        ...

    def peak_parts_kib(self) -> tuple[int, ...]:
        """``VmHWM`` of each of its runtime processes, in KiB."""
        ...


# --- RPC: (a) and (b) under Go's net/rpc client ----------------------------------------------


def rpc_samples(port: int, size: int, count: int, lead_in: int) -> list[float]:
    """One ``gopeer client --latency --samples`` run on a new connection, ``lead_in`` its
    ``--warmup``: each measured invoke's time in us.

    The client exits 1 when a reply is not the event (or carries an error): that fails the run.
    """
    if lead_in < 1:  # a connection's first call carries the gob type definitions both ways
        raise ValueError("an RPC batch needs at least one unmeasured invoke")
    samples: list[float] = latency(port, size, count, lead_in, samples=True)["samples_us"]
    if len(samples) != count:
        raise RuntimeError(f"gopeer client --latency gave {len(samples)} samples, not {count}")
    return samples


@attrs.frozen(kw_only=True)
class RpcRunning:
    """A go1.x server, (a) or (b), and the port its net/rpc clients dial."""

    process: subprocess.Popen[bytes]
    port: int
    cold_start_us: float

    def batch(self, size: int, count: int, lead_in: int) -> list[float]:
        return rpc_samples(self.port, size, count, lead_in)

    def peak_parts_kib(self) -> tuple[int, ...]:
        return (rss_kib(self.process.pid, "VmHWM"),)


@contextmanager
def rpc_running(contender: Contender) -> Iterator[RpcRunning]:
    """Start the server cold (exec to first Ping answered, plus the first invoke's call time)."""
    server = Server(contender.name, contender.argv, contender.env)
    process, port, to_ping_us = start_cold(server, cwd=HANDLERS)
    try:
        first = latency(port, FIRST_EVENT_BYTES, 1, 0)
        yield RpcRunning(process=process, port=port, cold_start_us=to_ping_us + first["p50_us"])
    finally:
        stop(process)


# --- Runtime API: (c) to (f) under the emulator ----------------------------------------------


def _emulator_pid(port: int) -> int:
    """The emulator process listening for invokes on ``port`` (found by its command line)."""
    wanted = f"127.0.0.1:{port}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--runtime-interface-emulator-address" in argv and wanted in argv:
            return int(entry.name)
    raise LookupError(f"no emulator process for port {port}")


def _descendants(pid: int) -> list[int]:
    """All processes below ``pid``, parents before children (the runtime, and the bridge's Go
    child for (e))."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = sorted(p for p, parent in parents.items() if parent in frontier)
        found += children
        frontier = children
    return found


class _Invoker:
    """POSTs events to the emulator over one keep-alive connection and times each one."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=INVOKE_TIMEOUT_S)

    def invoke(self, event: bytes) -> tuple[float, bytes]:
        """(microseconds from ``request()`` to the whole answer read, the answer)."""
        headers = {"Content-Type": "application/json"}
        start = time.perf_counter_ns()
        self._connection.request("POST", rie.INVOKE_PATH, event, headers)
        response = self._connection.getresponse()
        body = response.read()
        elapsed_us = (time.perf_counter_ns() - start) / 1000
        if response.status != 200:
            raise RuntimeError(f"invoke answered {response.status}: {body[:300]!r}")
        return elapsed_us, body

    def close(self) -> None:
        self._connection.close()


def _check_echo(event: bytes, answer: bytes, contender: Contender) -> None:
    """The answer is the event (compared decoded: Python's encoder may space it differently)."""
    if json.loads(answer) != json.loads(event):
        raise RuntimeError(f"{contender.name} did not echo the event: {answer[:300]!r}")


@contextmanager
def _emulated(contender: Contender, workdir: Path) -> Iterator[rie.RunningEmulator]:
    # An empty PYTHONDONTWRITEBYTECODE is unset for Python: the bootstrap may write its .pyc
    # files, as a deployed function ships or writes them (the unmeasured first start does).
    env = {"PYTHONDONTWRITEBYTECODE": "", "LAMBDA_TASK_ROOT": str(HANDLERS), **contender.env}
    with rie.running_emulator(
        contender.emulator, contender.argv, cwd=HANDLERS, workdir=workdir, env=env
    ) as emulator:
        yield emulator


@attrs.frozen(kw_only=True)
class ApiRunning:
    """An emulator and the runtime it exec'd at the first invoke, with the invoking connection."""

    contender: Contender
    invoker: _Invoker
    runtime_pids: tuple[int, ...]
    cold_start_us: float

    def batch(self, size: int, count: int, lead_in: int) -> list[float]:
        event = payload_of(size)
        samples = []
        for i in range(lead_in + count):
            elapsed_us, answer = self.invoker.invoke(event)
            _check_echo(event, answer, self.contender)
            if i >= lead_in:
                samples.append(elapsed_us)
        return samples

    def peak_parts_kib(self) -> tuple[int, ...]:
        return tuple(rss_kib(pid, "VmHWM") for pid in self.runtime_pids)


@contextmanager
def api_running(contender: Contender, workdir: Path) -> Iterator[ApiRunning]:
    """Start the emulator, then time the first invoke POSTed to it (which execs the bootstrap)."""
    event = payload_of(FIRST_EVENT_BYTES)
    with _emulated(contender, workdir) as emulator:
        invoker = _Invoker(emulator.port)
        try:
            cold_us, answer = invoker.invoke(event)
            _check_echo(event, answer, contender)
            yield ApiRunning(
                contender=contender,
                invoker=invoker,
                runtime_pids=tuple(_descendants(_emulator_pid(emulator.port))),
                cold_start_us=cold_us,
            )
        finally:
            invoker.close()


# --- the contenders --------------------------------------------------------------------------


def serve_has_runtime_api() -> bool:
    """Whether ``lambda_legacy serve`` has the Runtime API mode: started with only
    ``AWS_LAMBDA_RUNTIME_API`` set, does it ask that address for ``invocation/next``, or exit?"""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("_LAMBDA_SERVER_PORT", "AWS_LAMBDA_RUNTIME_API")
    }
    with socket.create_server(("127.0.0.1", 0)) as listener:
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{listener.getsockname()[1]}"
        listener.settimeout(PROBE_POLL_S)
        process = subprocess.Popen(
            SERVE,
            cwd=HANDLERS,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + PROBE_TIMEOUT_S
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                with connection:
                    connection.settimeout(PROBE_TIMEOUT_S)
                    return connection.recv(4096).startswith(b"GET " + NEXT_PATH)
            return False
        finally:
            process.kill()
            process.wait()


def missing_prerequisite() -> str | None:
    """Why the comparison cannot run here, or None: awslambdaric's venv, (c)'s mode."""
    if not (rie.RIC_VENV / "bin" / "python").exists():
        return f"awslambdaric venv missing at {rie.RIC_VENV}: run tools/check"
    if not serve_has_runtime_api():
        return "python3 -m lambda_legacy serve has no Runtime API mode: (c) cannot run"
    return None


def default_emulator() -> str:
    """AWS's RIE where it is installed, else the stand-in."""
    return "rie" if rie.rie_binary() is not None else "standin"


def contenders(emulator: str) -> list[Contender]:
    """Every contender; the Runtime API ones under ``emulator`` (``rie`` or ``standin``)."""
    python = sys.executable
    ric = (str(rie.RIC_VENV / "bin" / "python"), "-m", "awslambdaric", HANDLER)
    bridge = (python, "-m", "lambda_legacy", "bridge", "--", str(GOPEER), "function")
    handlers = {"LAMBDA_TASK_ROOT": str(HANDLERS)}
    go_echo = (str(GOPEER), "function", *GO_ECHO)
    floor = (python, str(HANDLERS / "minimal_runtime.py"))
    return [
        Contender("a", "(a) lambda-legacy serve, RPC", RPC, SERVE, handlers),
        Contender("b", "(b) aws-lambda-go, RPC", RPC, go_echo, {}),
        Contender("c", "(c) lambda-legacy serve, Runtime API", API, SERVE, {}, emulator),
        Contender("d", "(d) awslambdaric 4.2.2", API, ric, {}, emulator),
        Contender("e", "(e) Go under lambda-legacy bridge", API, (*bridge, *GO_ECHO), {}, emulator),
        Contender("f", "(f) aws-lambda-go, Runtime API", API, go_echo, {}, emulator),
        Contender("floor", FLOOR_NAME, API, floor, {}, emulator),
    ]


def running(contender: Contender, workdir: Path) -> AbstractContextManager[Running]:
    """Start ``contender`` cold; it stops when the ``with`` block ends."""
    if contender.kind == RPC:
        return rpc_running(contender)
    return api_running(contender, workdir)


def cold_start(contender: Contender, workdir: Path) -> float:
    """One cold start of ``contender`` alone, in us (stopped again at once)."""
    with running(contender, workdir) as started:
        return started.cold_start_us
