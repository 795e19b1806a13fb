"""Our go1.x client next to Go's net/rpc client, against one aws-lambda-go server, in one run.

    python3 -m benchmarks.client [--quick] [--rotations N]

Starts ``gopeer function --handler echo`` (aws-lambda-go v1.54.0 in RPC mode) once, then times
sequential invokes from

- Go: ``gopeer client --latency --samples`` (net/rpc's ``Client.Call``);
- ours, trio: ``runtime._client.FunctionClient.invoke``, the client behind ``lambda-legacy invoke``;
- ours, blocking: ``lambda_legacy._sync_client.BlockingFunctionClient.invoke`` (``connect_sync``).

The clients take turns in short batches, one batch each per *rotation*, in the orders of a
Williams design (``benchmarks._interleave``), so that the machine's drift, which lasts seconds
here, lands on all three alike instead of on whichever held the server at the time. Each batch
is a new connection with unmeasured warm-up calls first (the first call carries the gob type
definitions). Each call is timed from just before the call to its return, the request built
beforehand; the payload is the JSON object ``{"data":"aaa..."}`` of exactly 100 bytes or 1 MiB,
and every reply is checked to be the request's payload. Printed: p50 and p99 in microseconds over
all of a client's measured calls, the ratio ours/Go, whether each is within the goal, and the
spread of the p50s of five consecutive time slices of the run. Goal (issue 4): p50 and p99
within 1.5x of Go's client.

Then ``lambda-legacy invoke`` end to end for one event (``python3 -m lambda_legacy invoke --events
FILE -- gopeer function --handler echo``, one line in FILE, so that Lambda's REPORT line gives the
split): wall time of the whole command, the time from exec of the function to its first answered
Ping (``Init Duration``), the invoke (``Duration``), and the rest (our own interpreter start, the
process teardown), after one unmeasured command, with the compiled modules written as an installed
CLI writes them on its first run (the sandbox's ``PYTHONDONTWRITEBYTECODE`` is dropped for it, as
``benchmarks.server`` drops it for the server). Next to it, Go's client doing the same start-up
(``gopeer client --cold-start --retry 5ms``: exec of the function to the first answered Ping, with
the service's 5 ms retry).

Never asserts a timing. The machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

import trio

from lambda_legacy._sync_client import BlockingFunctionClient, dial_blocking
from runtime._client import connect_function
from runtime._messages import InvokeRequest, InvokeRequest_Timestamp

from ._interleave import Series, rotation_orders, slice_bounds
from ._peers import GOPEER, ROOT, build_go, free_port, latency, payload_of, python_environment
from ._report import format_table, spread

__all__ = ["main"]

#: The small and the large event of issue 4.
SIZES = (100, 1 << 20)
#: Goal: our p50 and p99 within this factor of Go's.
GOAL_RATIO = 1.5
#: Sequential invokes per batch, and unmeasured ones before them, by payload size.
COUNTS = {100: (500, 50), 1 << 20: (25, 2)}
QUICK_COUNTS = {100: (150, 15), 1 << 20: (5, 2)}
#: Batches each client makes at each size: 9,000 and 450 calls. A multiple of the six orders of
#: three contenders, so that each order comes up as often as the others.
ROTATIONS = 18
QUICK_ROTATIONS = 6
#: The time slices whose p50s give the spread.
SLICES = 5
#: How long any one client may take to connect (the function is already running).
CONNECT_TIMEOUT = 10.0


def requests(payload: bytes, total: int) -> list[InvokeRequest]:
    """Requests like the Go client's: payload, request id, a deadline 60 s ahead."""
    deadline_ns = time.time_ns() + 60 * 1_000_000_000
    deadline = InvokeRequest_Timestamp(
        seconds=deadline_ns // 1_000_000_000, nanos=deadline_ns % 1_000_000_000
    )
    return [
        InvokeRequest(payload=payload, request_id=f"bench-{i}", deadline=deadline)
        for i in range(total)
    ]


def run_go(port: int, size: int, count: int, warmup: int) -> list[float]:
    """One ``gopeer client`` run on a new connection: each measured call's time in us."""
    report = latency(port, size, count, warmup, samples=True)
    assert report["errors"] == 0, report
    samples: list[float] = report["samples_us"]
    assert len(samples) == count, report
    return samples


def run_trio(port: int, size: int, count: int, warmup: int) -> list[float]:
    payload = payload_of(size)
    todo = requests(payload, warmup + count)

    async def timed() -> list[int]:
        samples: list[int] = []
        async with connect_function(port, timeout=CONNECT_TIMEOUT) as client:
            for i, request in enumerate(todo):
                start = time.perf_counter_ns()
                response = await client.invoke(request)
                elapsed = time.perf_counter_ns() - start
                assert response.error is None
                assert response.payload == payload
                if i >= warmup:
                    samples.append(elapsed)
        return samples

    return [ns / 1000 for ns in trio.run(timed)]


def run_blocking(port: int, size: int, count: int, warmup: int) -> list[float]:
    payload = payload_of(size)
    todo = requests(payload, warmup + count)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    client = BlockingFunctionClient(dial_blocking("127.0.0.1", port, deadline))
    samples: list[int] = []
    try:
        client.ping_until_answered(deadline)
        for i, request in enumerate(todo):
            start = time.perf_counter_ns()
            response = client.invoke(request, timeout=CONNECT_TIMEOUT)
            elapsed = time.perf_counter_ns() - start
            assert response.error is None
            assert response.payload == payload
            if i >= warmup:
                samples.append(elapsed)
    finally:
        client.close()
    return [ns / 1000 for ns in samples]


Runner = Callable[[int, int, int, int], list[float]]
CLIENTS: tuple[tuple[str, Runner], ...] = (
    ("Go net/rpc", run_go),
    ("ours, trio", run_trio),
    ("ours, blocking", run_blocking),
)


def latency_table(results: dict[tuple[str, int], Series], rotations: int) -> str:
    slices = slice_bounds(rotations, SLICES)
    rows: list[list[object]] = []
    for size in SIZES:
        go = results[("Go net/rpc", size)]
        go_p50, go_p99 = go.p50_us(), go.p99_us()
        for name, _ in CLIENTS:
            series = results[(name, size)]
            p50, p99 = series.p50_us(), series.p99_us()
            ratio = "" if name == "Go net/rpc" else f"{p50 / go_p50:.2f}x / {p99 / go_p99:.2f}x"
            met = "" if name == "Go net/rpc" else f"{_met(p50, go_p50)} / {_met(p99, go_p99)}"
            rows.append(
                [
                    _size(size),
                    name,
                    f"{p50:,.1f}",
                    f"{p99:,.1f}",
                    ratio,
                    met,
                    spread(series.slice_p50s(slices)),
                ]
            )
    header = ["event", "client", "p50 µs", "p99 µs", "p50 / p99 vs Go", "≤ 1.5x?", "spread"]
    return format_table(header, rows)


def _met(ours: float, go: float) -> str:
    return "yes" if ours / go <= GOAL_RATIO else "no"


def _size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size >> 20} MiB"


_REPORT = re.compile(r"Duration: ([\d.]+) ms\t.*Init Duration: ([\d.]+) ms")


def run_end_to_end(runs: int) -> list[tuple[float, float, float]]:
    """(wall, init, invoke) in ms for ``runs`` one-event ``lambda-legacy invoke`` commands, after
    one unmeasured command that writes the compiled modules a user's first run writes."""
    results = []
    env = python_environment()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as events:
        events.write('{"hello":"go1.x"}\n')
        events.flush()
        command = [sys.executable, "-m", "lambda_legacy", "invoke", "--events", events.name]
        command += ["--", str(GOPEER), "function", "--handler", "echo"]
        subprocess.run(command, capture_output=True, check=True, cwd=ROOT, env=env)
        for _ in range(runs):
            start = time.perf_counter_ns()
            out = subprocess.run(
                command, capture_output=True, text=True, check=True, cwd=ROOT, env=env
            )
            wall = (time.perf_counter_ns() - start) / 1e6
            assert out.stdout == '{"hello":"go1.x"}\n', out
            match = _REPORT.search(out.stderr)
            assert match is not None, out.stderr
            results.append((wall, float(match[2]), float(match[1])))
    return results


def run_go_cold_start(runs: int) -> list[float]:
    """ms from exec of the Go function to its first answered Ping, Go's client retrying at 5 ms."""
    results = []
    for _ in range(runs):
        port = free_port()
        client = subprocess.Popen(
            [str(GOPEER), "client", "--port", str(port), "--cold-start", "--retry", "5ms"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None
        json.loads(client.stdout.readline())  # the client is dialling
        env = {**os.environ, "_LAMBDA_SERVER_PORT": str(port)}
        exec_ns = time.time_ns()
        function = subprocess.Popen([str(GOPEER), "function", "--handler", "echo"], env=env)
        try:
            answered = json.loads(client.stdout.readline())["first_ping_unix_ns"]
            assert client.wait() == 0
        finally:
            function.kill()
            function.wait()
        results.append((answered - exec_ns) / 1e6)
    return results


def end_to_end_table(e2e: list[tuple[float, float, float]], go_cold: list[float]) -> str:
    def cell(values: Sequence[float]) -> str:
        return f"{statistics.median(values):.1f} ({min(values):.1f} to {max(values):.1f})"

    walls = [w for w, _, _ in e2e]
    inits = [i for _, i, _ in e2e]
    invokes = [d for _, _, d in e2e]
    rest = [w - i - d for w, i, d in e2e]
    rows = [
        ["lambda-legacy invoke, whole command (wall)", cell(walls)],
        ["  before the first Ping: exec of the function → Ping answered", cell(inits)],
        ["  the invoke (REPORT Duration)", cell(invokes)],
        ["  the rest: our interpreter start, imports, teardown", cell(rest)],
        ["Go client, exec of the function → Ping answered (5 ms retry)", cell(go_cold)],
    ]
    return format_table(["one event, gopeer echo", "ms: median (min to max)"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.client", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="6 short rotations: a smoke run")
    parser.add_argument(
        "--rotations", type=int, default=ROTATIONS, help="batches per client and event size"
    )
    parser.add_argument("--runs", type=int, default=10, help="end-to-end commands to time")
    args = parser.parse_args(argv)
    rotations, counts, runs = (
        (QUICK_ROTATIONS, QUICK_COUNTS, 3) if args.quick else (args.rotations, COUNTS, args.runs)
    )

    build_go()
    load_before = os.getloadavg()
    port = free_port()
    server = subprocess.Popen(
        [str(GOPEER), "function", "--handler", "echo"],
        env={**os.environ, "_LAMBDA_SERVER_PORT": str(port)},
    )
    results = {(name, size): Series() for name, _ in CLIENTS for size in SIZES}
    orders = rotation_orders(len(CLIENTS))
    try:
        for rotation in range(rotations):
            for size in SIZES:
                count, warmup = counts[size]
                for index in orders[rotation % len(orders)]:
                    name, runner = CLIENTS[index]
                    results[(name, size)].add(rotation, runner(port, size, count, warmup))
    finally:
        server.kill()
        server.wait()
    e2e = run_end_to_end(runs)
    go_cold = run_go_cold_start(runs)
    load_after = os.getloadavg()

    version = subprocess.run(["go", "version"], capture_output=True, text=True, check=True)
    go_version = version.stdout.strip()
    print(
        f"{go_version}; {platform.python_implementation()} {platform.python_version()}, "
        f"trio {trio.__version__}; {os.cpu_count()} CPUs, load {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; {rotations} rotations, one batch per client each, "
        "in Williams orders; invokes per batch "
        + ", ".join(f"{_size(s)}: {c[0]} (+{c[1]} warm-up)" for s, c in counts.items())
        + "\n"
    )
    print(latency_table(results, rotations))
    print()
    print(f"{runs} runs each:\n")
    print(end_to_end_table(e2e, go_cold))


if __name__ == "__main__":
    main()
