"""Our go1.x server next to aws-lambda-go's, driven by the same Go client, in one run.

    python3 -m benchmarks.server [--quick] [--rounds N]

Servers, both serving an echo handler on 127.0.0.1:

- ours: ``python -m lambda_legacy serve bench_echo.handler`` (``def handler(event, context):
  return event``, a plain function, so each invoke goes through a worker thread: the common
  case, and the figures the goals are judged on);
- ours, ``async def``: the same echo written ``async def``, awaited on the trio thread: the rows
  marked "async def" (the invokes only), the server's own cost without the thread hand-off;
- Go: ``gopeer function --handler echo`` (aws-lambda-go v1.54.0, RPC mode, ``json.RawMessage``
  in and out).

Each round starts each server fresh, alternating, and measures with ``tools/bin/gopeer client``:

- cold start: ``--cold-start --retry 1ms`` is already dialling when the server is exec'd; the time
  from just before exec to the first answered Ping (both Unix ns, one clock);
- idle RSS: ``VmRSS`` right after that first Ping;
- invokes: ``--latency``, sequential invokes on one connection after unmeasured warm-up ones, of a
  100-byte and a 1 MiB JSON object; each reply is checked to be the event. p50 and p99 per round;
- peak RSS: ``VmHWM`` after all the invokes.

Printed: the median over the rounds of each figure, the ratio ours/Go, the issue's goal, and the
spread of the rounds (``±`` the largest distance from the median). Extra cold starts of each
server are run after the rounds. For scale, the floor of any Python server on this machine: the
same interpreter exec'd to run ``pass`` (also with ``-S``: without ``site`` and the ``.pth`` files
it runs, which every Python process here pays for), and to ``import trio``, timed from exec to
exit. Never
asserts a timing; the machine is shared, so the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from ._peers import GOPEER, Server, build_go, go_version, latency, load_average, start_cold, stop
from ._report import format_table, rss_kib, spread

__all__ = ["main"]

SMALL, LARGE = 100, 1 << 20
#: Measured invokes and unmeasured warm-up invokes per round, by payload size.
COUNTS = {SMALL: (3000, 300), LARGE: (100, 10)}
QUICK_COUNTS = {SMALL: (300, 30), LARGE: (10, 2)}
#: Cold starts per server in addition to the one each round makes.
EXTRA_COLD_STARTS = 4

#: Interpreter runs per floor measurement.
FLOOR_RUNS = 5

#: The issue's goals: (ours/Go ratio) for the invokes, absolute limits for the rest.
SMALL_P50_RATIO = 1.5
LARGE_P50_RATIO = 2.0
COLD_START_LIMIT_MS = 120.0
IDLE_RSS_LIMIT_MB = 40.0

ECHO_HANDLER = """def handler(event, context):
    return event
"""
ASYNC_ECHO_HANDLER = """async def handler(event, context):
    return event
"""


@attrs.frozen(kw_only=True)
class Round:
    """One fresh server process measured once: times in microseconds, memory in KiB."""

    cold_start_us: float
    idle_rss_kib: int
    peak_rss_kib: int
    small_p50_us: float
    small_p99_us: float
    large_p50_us: float
    large_p99_us: float


def measure(server: Server, counts: dict[int, tuple[int, int]]) -> Round:
    """Start ``server`` cold, then idle RSS, invokes of both sizes, peak RSS."""
    process, port, cold_us = start_cold(server)
    try:
        idle = rss_kib(process.pid, "VmRSS")
        small = latency(port, SMALL, *counts[SMALL])
        large = latency(port, LARGE, *counts[LARGE])
        peak = rss_kib(process.pid, "VmHWM")
    finally:
        stop(process)
    return Round(
        cold_start_us=cold_us,
        idle_rss_kib=idle,
        peak_rss_kib=peak,
        small_p50_us=small["p50_us"],
        small_p99_us=small["p99_us"],
        large_p50_us=large["p50_us"],
        large_p99_us=large["p99_us"],
    )


def cold_start_only(server: Server) -> float:
    process, _port, cold_us = start_cold(server)
    stop(process)
    return cold_us


def floor_ms(code: str, *options: str) -> list[float]:
    """Exec to exit of ``python [options] -c code``, in ms, :data:`FLOOR_RUNS` times."""
    times = []
    for _ in range(FLOOR_RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, *options, "-c", code], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def table(
    ours: Sequence[Round],
    *,
    ours_async: Sequence[Round],
    go: Sequence[Round],
    ours_cold: Sequence[float],
    go_cold: Sequence[float],
    floors: dict[str, list[float]],
) -> str:
    """The Markdown table: medians over the rounds, ratio, goal, spreads."""
    header = ["measurement", "lambda-legacy", "aws-lambda-go", "ratio", "goal", "spread ours / Go"]
    rows: list[list[object]] = []

    def row(
        label: str,
        pick: Callable[[Round], float],
        unit: str,
        scale: float,
        goal: Callable[[float, float], str],
        *,
        rounds: Sequence[Round] = ours,
    ) -> None:
        mine, theirs = [pick(r) / scale for r in rounds], [pick(r) / scale for r in go]
        m, t = _median(mine), _median(theirs)
        rows.append(
            [
                label,
                f"{m:.1f} {unit}",
                f"{t:.1f} {unit}",
                f"{m / t:.2f}x",
                goal(m, t),
                f"{spread(mine)} / {spread(theirs)}",
            ]
        )

    def ratio_goal(limit: float) -> Callable[[float, float], str]:
        return lambda m, t: f"<= {limit}x Go: {_verdict(m <= limit * t)}"

    def no_goal(m: float, t: float) -> str:
        return ""

    row("invoke 100 B p50", lambda r: r.small_p50_us, "us", 1, ratio_goal(SMALL_P50_RATIO))
    row("invoke 100 B p99", lambda r: r.small_p99_us, "us", 1, no_goal)
    row("invoke 1 MiB p50", lambda r: r.large_p50_us, "ms", 1000, ratio_goal(LARGE_P50_RATIO))
    row("invoke 1 MiB p99", lambda r: r.large_p99_us, "ms", 1000, no_goal)
    small_goal = ratio_goal(SMALL_P50_RATIO)
    row("async def: 100 B p50", lambda r: r.small_p50_us, "us", 1, small_goal, rounds=ours_async)
    row("async def: 100 B p99", lambda r: r.small_p99_us, "us", 1, no_goal, rounds=ours_async)
    row("async def: 1 MiB p50", lambda r: r.large_p50_us, "ms", 1000, no_goal, rounds=ours_async)
    m_cold, g_cold = [c / 1000 for c in ours_cold], [c / 1000 for c in go_cold]
    rows.append(
        [
            f"cold start, exec to first Ping (n={len(m_cold)})",
            f"{_median(m_cold):.1f} ms",
            f"{_median(g_cold):.1f} ms",
            f"{_median(m_cold) / _median(g_cold):.2f}x",
            f"< {COLD_START_LIMIT_MS:.0f} ms: {_verdict(_median(m_cold) < COLD_START_LIMIT_MS)}",
            f"{spread(m_cold)} / {spread(g_cold)}",
        ]
    )
    for label, times in floors.items():
        rows.append([label, f"{_median(times):.1f} ms", "", "", "", f"{spread(times)} / "])
    row(
        "idle RSS (VmRSS after first Ping)",
        lambda r: r.idle_rss_kib,
        "MB",
        1024,
        lambda m, t: f"< {IDLE_RSS_LIMIT_MB:.0f} MB: {_verdict(m < IDLE_RSS_LIMIT_MB)}",
    )
    row("peak RSS (VmHWM after invokes)", lambda r: r.peak_rss_kib, "MB", 1024, no_goal)
    return format_table(header, rows)


def servers(task_root: Path) -> tuple[Server, Server, Server]:
    def ours(module: str) -> Server:
        return Server(
            "lambda-legacy",
            (sys.executable, "-m", "lambda_legacy", "serve", f"{module}.handler"),
            {"LAMBDA_TASK_ROOT": str(task_root)},
        )

    go = Server("aws-lambda-go", (str(GOPEER), "function", "--handler", "echo"), {})
    return ours("bench_echo"), ours("bench_echo_async"), go


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m benchmarks.server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers per side (3)")
    parser.add_argument("--quick", action="store_true", help="few invokes: a smoke run")
    args = parser.parse_args(argv)
    counts = QUICK_COUNTS if args.quick else COUNTS
    build_go()
    print(f"python3 -m benchmarks.server{' --quick' if args.quick else ''} --rounds {args.rounds}")
    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{go_version()}, "
        f"{os.cpu_count()} CPUs; load average before: {load_average()}"
    )
    print(
        f"invokes per round: {counts[SMALL][0]} x 100 B, {counts[LARGE][0]} x 1 MiB "
        f"(after {counts[SMALL][1]} / {counts[LARGE][1]} warm-up)"
    )
    with tempfile.TemporaryDirectory() as folder:
        task_root = Path(folder)
        (task_root / "bench_echo.py").write_text(ECHO_HANDLER)
        (task_root / "bench_echo_async.py").write_text(ASYNC_ECHO_HANDLER)
        ours, ours_async, go = servers(task_root)
        cold_start_only(ours)  # unmeasured: compiles and caches our modules once
        ours_rounds: list[Round] = []
        async_rounds: list[Round] = []
        go_rounds: list[Round] = []
        for _ in range(args.rounds):
            ours_rounds.append(measure(ours, counts))
            go_rounds.append(measure(go, counts))
            async_rounds.append(measure(ours_async, counts))
        ours_cold = [r.cold_start_us for r in ours_rounds]
        go_cold = [r.cold_start_us for r in go_rounds]
        for _ in range(0 if args.quick else EXTRA_COLD_STARTS):
            ours_cold.append(cold_start_only(ours))
            go_cold.append(cold_start_only(go))
    floors = {
        f"floor: python -c pass (n={FLOOR_RUNS})": floor_ms("pass"),
        # What ``site`` and the .pth files it runs cost every interpreter, ours included.
        f"floor: python -S -c pass, no site (n={FLOOR_RUNS})": floor_ms("pass", "-S"),
        f"floor: python -c 'import trio' (n={FLOOR_RUNS})": floor_ms("import trio"),
    }
    print(
        table(
            ours_rounds,
            ours_async=async_rounds,
            go=go_rounds,
            ours_cold=ours_cold,
            go_cold=go_cold,
            floors=floors,
        )
    )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
