"""The comparison of issue 5: six ways to run an echo function, in one run on one machine.

    python3 -m benchmarks.compare [--quick] [--rounds N] [--chart PATH]

Every contender serves the same echo (``benchmarks/handlers/echo.py`` for Python,
``json.RawMessage`` in and out for Go) and gets the same events, the JSON object
``{"data":"aaa..."}`` of exactly 100 bytes and of 1 MiB:

- (a) ``python3 -m lambda_legacy serve echo.handler`` with ``_LAMBDA_SERVER_PORT`` (go1.x RPC);
- (b) ``tools/bin/gopeer function --handler echo`` (aws-lambda-go v1.54.0, RPC mode);
- (c) our Runtime API mode: ``python3 -m lambda_legacy serve echo.handler`` with only
  ``AWS_LAMBDA_RUNTIME_API`` set (checked before the run: it must ask for ``invocation/next``);
- (d) awslambdaric 4.2.2: ``python -m awslambdaric echo.handler`` in
  ``tools/bin/venv-awslambdaric``;
- (e) ``python3 -m lambda_legacy bridge -- tools/bin/gopeer function --handler echo``;
- (f) ``tools/bin/gopeer function --handler echo`` without ``_LAMBDA_SERVER_PORT`` (aws-lambda-go
  v1.54.0, its own Runtime API mode).

(a) and (b) are driven by Go's net/rpc client (``gopeer client --latency``, one connection,
sequential invokes, each timed around ``rpc.Client.Call``). (c) to (f) run under the emulator
(``tests/rie.py``). AWS's RIE cannot be installed here (the Go module proxy refuses it), so it is
the stand-in ``tests/runtime_api_tests/standin_rie.py``: a Python (trio + h11) HTTP server, whose
own per-invoke cost is in every Runtime API row. The invokes come from ``http.client`` in this
process over one keep-alive connection, each timed from ``request()`` to the end of the body. A
floor row measures the stand-in and that client with the least runtime there can be
(``benchmarks/handlers/minimal_runtime.py``: ``http.client`` next/response, no handler).

Each round starts every contender fresh, in turn, and measures

- cold start: RPC: exec of the server to its first answered Ping (the Go client already
  dialling every 1 ms), plus the first invoke (on a second Go client's connection, call time
  only). Runtime API: the emulator is already listening and has no runtime yet (both RIE and the
  stand-in exec the bootstrap at the first invoke), so: the first invoke POSTed to its answer,
  which spans the stand-in's fork/exec of the bootstrap, the runtime's start-up and the invoke;
- per-invoke p50 and p99 (after unmeasured warm-up invokes), and invokes per second as 1e6 /
  the mean invoke time (sequential, one invoke in flight: the reciprocal of latency, no overlap);
- peak RSS: ``VmHWM`` after the 100 B invokes, and again after the 1 MiB ones, of the runtime
  process: for (e) the sum over the bridge and its Go child (printed apart below the table).

Extra rounds of cold start alone follow. Printed: medians over the rounds and the spread of the
per-round p50 (``±`` the largest distance from the median), the goals of issue 5 (met or not),
and the load average before and after (2 shared cores: the figures are noisy). The chart
(``benchmarks/compare.png``) needs matplotlib (``pip install -e '.[bench]'``); without it the
table is printed and the chart is skipped, saying so. Never asserts a timing.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs

from ._peers import (
    GOPEER,
    ROOT,
    Server,
    build_go,
    go_version,
    latency,
    load_average,
    payload_of,
    start_cold,
    stop,
)
from ._report import format_table, percentile, rss_kib, spread

# tests/rie.py starts the emulator for the Runtime API rows, as the tests do; tests/ is not a
# package, so it is imported from its folder (its pytest import is only used to skip tests).
sys.path.insert(0, str(ROOT / "tests"))
import rie

__all__ = ["main"]

HANDLERS = Path(__file__).resolve().parent / "handlers"
HANDLER = "echo.handler"
SERVE = (sys.executable, "-m", "lambda_legacy", "serve", HANDLER)
DEFAULT_CHART = Path(__file__).resolve().parent / "compare.png"

SMALL, LARGE = 100, 1 << 20
SIZES = (SMALL, LARGE)
#: Measured invokes and unmeasured warm-up invokes per round, by event size. The 1 MiB count
#: is small because the stand-in emulator takes milliseconds per MiB; its p99 is near the max.
COUNTS = {SMALL: (1500, 150), LARGE: (60, 6)}
QUICK_COUNTS = {SMALL: (60, 6), LARGE: (3, 1)}
ROUNDS = 5
#: Cold starts per contender beyond the one each round makes.
EXTRA_COLD_STARTS = 2
#: How long one invoke through the emulator may take before the run fails instead of hanging.
INVOKE_TIMEOUT_S = 60.0

#: How long ``serve`` may take to ask for its first event in the mode probe, and how often the
#: probe looks whether it exited instead.
PROBE_TIMEOUT_S = 15.0
PROBE_POLL_S = 0.05
NEXT_PATH = b"/2018-06-01/runtime/invocation/next"

#: Goal of issue 5: the bridge adds less than this per invoke over Go's own Runtime API mode.
BRIDGE_OVERHEAD_LIMIT_US = 150.0

RPC, API = "rpc", "api"
GO_ECHO = ("--handler", "echo")
FLOOR_NAME = "floor: stand-in + minimal runtime"


@attrs.frozen
class Contender:
    """One way to run the echo function: ``argv`` is the server (RPC) or the bootstrap (API)."""

    key: str
    name: str
    kind: str
    argv: tuple[str, ...]
    env: dict[str, str]


@attrs.frozen(kw_only=True)
class Sized:
    """One size's invokes in one round: times in microseconds, memory in KiB."""

    p50_us: float
    p99_us: float
    per_second: float
    peak_kib: int
    peak_parts_kib: tuple[int, ...]


@attrs.frozen(kw_only=True)
class Round:
    """One fresh start of one contender: its cold start and both sizes' invokes."""

    cold_start_us: float
    sizes: dict[int, Sized]


def _sized(samples_us: Sequence[float], parts_kib: Sequence[int]) -> Sized:
    return Sized(
        p50_us=percentile(samples_us, 0.5),
        p99_us=percentile(samples_us, 0.99),
        per_second=1e6 / statistics.fmean(samples_us),
        peak_kib=sum(parts_kib),
        peak_parts_kib=tuple(parts_kib),
    )


# --- RPC: (a) and (b) under Go's net/rpc client ----------------------------------------------


def _as_server(contender: Contender) -> Server:
    return Server(contender.name, contender.argv, contender.env)


def rpc_cold_start(contender: Contender) -> float:
    """Exec to first Ping answered, plus the first invoke's call time, in us."""
    process, port, to_ping_us = start_cold(_as_server(contender), cwd=HANDLERS)
    try:
        first = latency(port, SMALL, 1, 0)
    finally:
        stop(process)
    return to_ping_us + first["p50_us"]


def rpc_round(contender: Contender, counts: dict[int, tuple[int, int]]) -> Round:
    process, port, to_ping_us = start_cold(_as_server(contender), cwd=HANDLERS)
    try:
        first = latency(port, SMALL, 1, 0)
        sizes = {}
        for size in SIZES:
            report = latency(port, size, *counts[size])
            peak = rss_kib(process.pid, "VmHWM")
            sizes[size] = Sized(
                p50_us=report["p50_us"],
                p99_us=report["p99_us"],
                per_second=1e6 / report["mean_us"],
                peak_kib=peak,
                peak_parts_kib=(peak,),
            )
    finally:
        stop(process)
    return Round(cold_start_us=to_ping_us + first["p50_us"], sizes=sizes)


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
        "standin", contender.argv, cwd=HANDLERS, workdir=workdir, env=env
    ) as emulator:
        yield emulator


def api_cold_start(contender: Contender, workdir: Path) -> float:
    """The first invoke POSTed to a running emulator (which then execs the bootstrap), in us."""
    event = payload_of(SMALL)
    with _emulated(contender, workdir) as emulator:
        invoker = _Invoker(emulator.port)
        try:
            cold_us, answer = invoker.invoke(event)
        finally:
            invoker.close()
    _check_echo(event, answer, contender)
    return cold_us


def api_round(contender: Contender, counts: dict[int, tuple[int, int]], workdir: Path) -> Round:
    with _emulated(contender, workdir) as emulator:
        invoker = _Invoker(emulator.port)
        try:
            event = payload_of(SMALL)
            cold_us, answer = invoker.invoke(event)
            _check_echo(event, answer, contender)
            runtime = _descendants(_emulator_pid(emulator.port))
            sizes = {}
            for size in SIZES:
                event = payload_of(size)
                count, warmup = counts[size]
                samples: list[float] = []
                for i in range(warmup + count):
                    elapsed_us, answer = invoker.invoke(event)
                    _check_echo(event, answer, contender)
                    if i >= warmup:
                        samples.append(elapsed_us)
                sizes[size] = _sized(samples, [rss_kib(pid, "VmHWM") for pid in runtime])
        finally:
            invoker.close()
    return Round(cold_start_us=cold_us, sizes=sizes)


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


def contenders() -> list[Contender]:
    python = sys.executable
    ric = (str(rie.RIC_VENV / "bin" / "python"), "-m", "awslambdaric", HANDLER)
    bridge = (python, "-m", "lambda_legacy", "bridge", "--", str(GOPEER), "function")
    handlers = {"LAMBDA_TASK_ROOT": str(HANDLERS)}
    return [
        Contender("a", "(a) lambda-legacy serve, RPC", RPC, SERVE, handlers),
        Contender("b", "(b) aws-lambda-go, RPC", RPC, (str(GOPEER), "function", *GO_ECHO), {}),
        Contender("c", "(c) lambda-legacy serve, Runtime API", API, SERVE, {}),
        Contender("d", "(d) awslambdaric 4.2.2", API, ric, {}),
        Contender("e", "(e) Go under lambda-legacy bridge", API, (*bridge, *GO_ECHO), {}),
        Contender(
            "f", "(f) aws-lambda-go, Runtime API", API, (str(GOPEER), "function", *GO_ECHO), {}
        ),
        Contender("floor", FLOOR_NAME, API, (python, str(HANDLERS / "minimal_runtime.py")), {}),
    ]


def cold_start(contender: Contender, workdir: Path) -> float:
    if contender.kind == RPC:
        return rpc_cold_start(contender)
    return api_cold_start(contender, workdir)


def measure(contender: Contender, counts: dict[int, tuple[int, int]], workdir: Path) -> Round:
    if contender.kind == RPC:
        return rpc_round(contender, counts)
    return api_round(contender, counts, workdir)


# --- the report ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Summary:
    """Medians over the rounds of one contender at one size, and the spread of its p50s."""

    p50_us: float
    p99_us: float
    per_second: float
    p50_spread: str
    peak_mb: float
    peak_parts_mb: tuple[float, ...]


def summarise(rounds: Sequence[Round], size: int) -> Summary:
    sized = [r.sizes[size] for r in rounds]
    parts = zip(*(s.peak_parts_kib for s in sized), strict=True)
    return Summary(
        p50_us=statistics.median(s.p50_us for s in sized),
        p99_us=statistics.median(s.p99_us for s in sized),
        per_second=statistics.median(s.per_second for s in sized),
        p50_spread=spread([s.p50_us for s in sized]),
        peak_mb=statistics.median(s.peak_kib for s in sized) / 1024,
        peak_parts_mb=tuple(statistics.median(p) / 1024 for p in parts),
    )


def _size_label(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size >> 20} MiB"


def _us(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _cold_cell(cold_us: Sequence[float]) -> str:
    ms = [c / 1000 for c in cold_us]
    return f"{statistics.median(ms):.1f} ({min(ms):.1f} to {max(ms):.1f})"


def _peak_cell(summary: Summary) -> str:
    if len(summary.peak_parts_mb) < 2:
        return f"{summary.peak_mb:.1f}"
    parts = " + ".join(f"{p:.1f}" for p in summary.peak_parts_mb)
    return f"{summary.peak_mb:.1f} ({parts})"


def table(
    results: dict[str, list[Round]], colds: dict[str, list[float]], entrants: Sequence[Contender]
) -> str:
    header = [
        "runtime",
        "event",
        "p50 µs",
        "p99 µs",
        "invokes/s",
        "p50 spread",
        "cold start ms, median (min to max)",
        "peak RSS MB",
    ]
    rows: list[list[object]] = []
    for contender in entrants:
        for size in SIZES:
            summary = summarise(results[contender.key], size)
            rows.append(
                [
                    contender.name,
                    _size_label(size),
                    _us(summary.p50_us),
                    _us(summary.p99_us),
                    f"{summary.per_second:,.0f}",
                    summary.p50_spread,
                    _cold_cell(colds[contender.key]) if size == SMALL else "",
                    _peak_cell(summary),
                ]
            )
    return format_table(header, rows)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def goals(results: dict[str, list[Round]]) -> list[str]:
    """The two goals of issue 5, per event size, from the medians of the p50s."""
    lines = []
    faster = []
    overhead = []
    for size in SIZES:
        c, d, e, f = (summarise(results[k], size).p50_us for k in "cdef")
        faster.append(f"{_size_label(size)}: {_us(c)} vs {_us(d)} µs, {_verdict(c < d)}")
        added = e - f
        met = added < BRIDGE_OVERHEAD_LIMIT_US
        overhead.append(f"{_size_label(size)}: {added:+,.0f} µs, {_verdict(met)}")
    lines.append("goal: (c) faster than (d) at p50: " + "; ".join(faster))
    lines.append(
        f"goal: (e) adds under {BRIDGE_OVERHEAD_LIMIT_US:.0f} µs per invoke over (f) "
        "(p50 of (e) minus p50 of (f)): " + "; ".join(overhead)
    )
    return lines


def beyond_floor(results: dict[str, list[Round]], entrants: Sequence[Contender]) -> str:
    """Each Runtime API row's p50 minus the floor's: the runtime's own share, roughly."""
    cells = []
    for size in SIZES:
        floor = summarise(results["floor"], size).p50_us
        parts = [
            f"{c.key} {summarise(results[c.key], size).p50_us - floor:+,.0f}"
            for c in entrants
            if c.kind == API and c.key != "floor"
        ]
        cells.append(f"{_size_label(size)}: " + ", ".join(parts))
    return "p50 beyond the floor row, µs: " + "; ".join(cells)


# --- the chart -------------------------------------------------------------------------------


def chart(
    path: Path,
    results: dict[str, list[Round]],
    colds: dict[str, list[float]],
    entrants: Sequence[Contender],
) -> str:
    """Write the PNG; what happened, as one line for the output."""
    try:
        # By name: matplotlib is the optional extra ``bench``, not a dependency of the package.
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install -e '.[bench]')"
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    ticker = importlib.import_module("matplotlib.ticker")
    names = [c.name for c in entrants]
    figure, axes = pyplot.subplots(2, 2, figsize=(13, 8), constrained_layout=True)
    positions = list(range(len(names)))
    colours = ["#4c72b0" if c.kind == RPC else "#dd8452" for c in entrants]
    panels: list[tuple[str, list[float], list[float] | None, bool]] = []
    for size in SIZES:
        summaries = [summarise(results[c.key], size) for c in entrants]
        panels.append(
            (
                f"{_size_label(size)} event: p50 (bar) and p99 (tick), µs, log scale",
                [s.p50_us for s in summaries],
                [s.p99_us for s in summaries],
                True,
            )
        )
    cold = [statistics.median(colds[c.key]) / 1000 for c in entrants]
    panels.append(("cold start to first invoke answered, ms (median)", cold, None, False))
    peak = [summarise(results[c.key], LARGE).peak_mb for c in entrants]
    panels.append(("peak RSS after the 1 MiB invokes, MB ((e): bridge + Go)", peak, None, False))
    for axis, (title, values, ticks, log) in zip(axes.flat, panels, strict=True):
        axis.barh(positions, values, color=colours)
        if ticks is not None:
            axis.scatter(ticks, positions, marker="|", s=250, color="black", zorder=3)
        if log:  # plain numbers on the decades only: labelled minor ticks overlap
            axis.set_xscale("log")
            axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
            axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_yticks(positions, names, fontsize=8)
        axis.invert_yaxis()
        axis.set_title(title, fontsize=10)
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle(
        "lambda-legacy vs aws-lambda-go vs awslambdaric, echo handler, one machine, one run "
        "(blue: go1.x RPC; orange: Runtime API under the stand-in emulator)",
        fontsize=10,
    )
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return f"chart: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m benchmarks.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="1 short round: a smoke run")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds ({ROUNDS})")
    parser.add_argument("--chart", type=Path, default=DEFAULT_CHART, help="PNG to write")
    args = parser.parse_args(argv)
    rounds, counts, extra = (1, QUICK_COUNTS, 0) if args.quick else (args.rounds, COUNTS, None)
    extra_colds = EXTRA_COLD_STARTS if extra is None else extra
    if not (rie.RIC_VENV / "bin" / "python").exists():
        print(f"awslambdaric venv missing at {rie.RIC_VENV}: run tools/check", file=sys.stderr)
        return 1
    if not serve_has_runtime_api():
        print("python3 -m lambda_legacy serve has no Runtime API mode: (c) cannot run")
        return 1
    started = time.monotonic()
    build_go("./gopeer")
    load_before = load_average()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        entrants = contenders()
        for contender in () if args.quick else entrants:  # unmeasured: writes .pyc files
            cold_start(contender, workdir)
        results: dict[str, list[Round]] = {c.key: [] for c in entrants}
        colds: dict[str, list[float]] = {c.key: [] for c in entrants}
        for _ in range(rounds):  # contenders in turn, so drift in the machine's load hits all
            for contender in entrants:
                measured = measure(contender, counts, workdir)
                results[contender.key].append(measured)
                colds[contender.key].append(measured.cold_start_us)
        for _ in range(extra_colds):
            for contender in entrants:
                colds[contender.key].append(cold_start(contender, workdir))
    load_after = load_average()

    print(f"python3 -m benchmarks.compare{' --quick' if args.quick else ''} --rounds {rounds}")
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {go_version()}, "
        f"{os.cpu_count()} CPUs; load average before: {load_before}, after: {load_after}"
    )
    print(
        f"per round: {counts[SMALL][0]} x 100 B and {counts[LARGE][0]} x 1 MiB invokes "
        f"(after {counts[SMALL][1]} / {counts[LARGE][1]} warm-up); {rounds} round(s), "
        f"contenders in turn; cold starts per contender: {rounds + extra_colds}"
    )
    print()
    print(table(results, colds, entrants))
    print()
    for line in goals(results):
        print(line)
    print(beyond_floor(results, entrants))
    bridge = summarise(results["e"], LARGE).peak_parts_mb
    print(
        "peak RSS is VmHWM of the runtime process; for (e) the sum, (bridge + Go child): "
        + " + ".join(f"{p:.1f}" for p in bridge)
        + " MB after the 1 MiB invokes"
    )
    print(
        "emulator: the stand-in tests/runtime_api_tests/standin_rie.py (AWS's RIE cannot be "
        "installed here), a Python trio + h11 HTTP server: its per-invoke cost is in every "
        "Runtime API row, (c) to (f); the floor row measures it with a runtime that only does "
        "next/response with Python's http.client (not a hard floor: awslambdaric's HTTP client "
        "is C, and aws-lambda-go's is Go, either may be faster than that runtime's)"
    )
    print(
        "clients: (a), (b): Go net/rpc (gopeer client --latency); (c) to (f): Python http.client, "
        "one keep-alive connection, in the benchmark process. invokes/s = 1e6 / mean invoke time, "
        "one invoke in flight. cold start: RPC: exec to first Ping (Go client dialling at 1 ms) "
        "+ first invoke; Runtime API: first invoke POSTed to its answer, the emulator exec'ing "
        "the runtime on it. p50 spread: largest distance of a round's p50 from their median"
    )
    print(chart(args.chart, results, colds, entrants))
    print(f"total time: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
