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

(a) and (b) are driven by Go's net/rpc client (``gopeer client --latency``, sequential invokes,
each timed around ``rpc.Client.Call`` and checked to echo the event). (c) to (f) run under the
emulator (``tests/rie.py``, ``--emulator``): AWS's RIE (``tools/bin/aws-lambda-rie``, which
``tools/check`` installs) by default, else the stand-in
``tests/runtime_api_tests/standin_rie.py``, a Python (trio + h11) HTTP server. The emulator's own
per-invoke cost is in every Runtime API row, and so is the runtime's turn-around from posting
its answer to asking for the next event: RIE answers an invoke only then. The invokes come from
``http.client`` in this process over one keep-alive connection per emulator, each timed from
``request()`` to the end of the body, and every answer is checked to echo the event. A floor row
measures the emulator and that client with the least runtime there can be
(``benchmarks/handlers/minimal_runtime.py``: ``http.client`` next/response, no handler).

The warm invokes are interleaved, because the goals compare differences of 100 to 300 us on
p50s near 1,500 us and the 2 shared cores drift by more than that within a minute: measured one
contender after another, drift would land on one of them alone. A *round* is:

1. every contender started fresh, one after another (the order changes from round to round), and
   all left running; each start is that round's cold start of that contender;
2. per event size: unmeasured warm-up invokes for each contender, then *rotations*: in each, every
   contender makes one small batch of sequential invokes (25 of 100 B, 5 of 1 MiB, each batch
   after a lead-in of 2 or 1 unmeasured ones), in an order taken from a Williams design (see
   ``benchmarks/_interleave.py``: each contender follows each other one equally often); then
   the peak RSS of each;
3. every contender stopped.

The lead-in keeps the table what it has always been, invokes back to back: the first invoke of
a contender that sat idle while the others ran costs more (its processes' caches hold the
others' data by then). Measured here while writing this, at 100 B, Runtime API rows: +400 to
+1,100 us on the first, +100 to +400 on the second, then steady. An RPC batch is one
``gopeer client --latency --samples`` run: a new connection and Ping, then the lead-in (which
also takes the connection's first call, the one carrying the gob type definitions), then the
batch. A Runtime API batch reuses the keep-alive connection.

Measured, and printed per contender and size:

- p50 and p99 over the samples pooled from every batch of every round, and invokes per second as
  1e6 / their mean (sequential, one invoke in flight: the reciprocal of latency, no overlap);
- p50 spread: the run's rotations cut into ``SLICES`` consecutive time slices, the p50 of each
  slice, ``±`` the largest distance of a slice's p50 from their median: drift over the run
  (which the paired estimate below cancels) and the differences between rounds' fresh processes;
- cold start: RPC: exec of the server to its first answered Ping (the Go client already
  dialling every 1 ms), plus the first invoke (on a second Go client's connection, call time
  only). Runtime API: the emulator is already listening and has no runtime yet (both RIE and the
  stand-in exec the bootstrap at the first invoke), so: the first invoke POSTed to its answer,
  which spans the stand-in's fork/exec of the bootstrap, the runtime's start-up and the invoke.
  One per round (the contenders started before it idle meanwhile), and ``EXTRA_COLD_STARTS``
  more per contender after the rounds, one contender running at a time;
- peak RSS: ``VmHWM`` after the 100 B invokes, and again after the 1 MiB ones, of the runtime
  process: for (e) the sum over the bridge and its Go child (printed apart below the table);
  the median over the rounds.

Also printed: the goals of issue 5 (met or not) from the pooled p50s and, next to them, from the
paired estimate: per rotation, the batch p50 of one contender minus the other's, the median over
all rotations (and the range of that median over the time slices); the load average before and
after (2 shared cores: the figures are noisy). The chart (``benchmarks/compare.png``) needs
matplotlib (``pip install -e '.[bench]'``); without it the table is printed and the chart is
skipped, saying so. Never asserts a timing.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import attrs

from ._contenders import (
    API,
    RPC,
    Contender,
    Running,
    cold_start,
    contenders,
    default_emulator,
    missing_prerequisite,
    running,
)
from ._interleave import Series, paired_differences, rotation_orders, slice_bounds
from ._peers import ROOT, build_go, go_version, load_average
from ._report import format_table, spread

__all__ = ["main"]

DEFAULT_CHART = Path(__file__).resolve().parent / "compare.png"

SMALL, LARGE = 100, 1 << 20
SIZES = (SMALL, LARGE)


@attrs.frozen(kw_only=True)
class Phase:
    """One event size's part of a round: per contender, ``warmup`` unmeasured invokes, then
    ``rotations`` batches of ``batch`` measured invokes, each after ``lead_in`` unmeasured ones."""

    size: int
    batch: int
    lead_in: int
    rotations: int
    warmup: int

    @property
    def measured(self) -> int:
        return self.batch * self.rotations


#: 1,500 x 100 B and 60 x 1 MiB measured invokes per contender per round. Batches are small so
#: that a rotation (one batch of each of 7 contenders) takes a fraction of a second at 100 B and
#: about a second at 1 MiB: drift slower than that is shared. 1 MiB is few because the stand-in
#: emulator takes milliseconds per MiB; its p99 is near the max. The lead-in (see the module
#: docstring) is 2 at 100 B, where the second invoke after idling still costs more, and 1 at
#: 1 MiB, where that cost is lost in the invoke's own milliseconds (and RPC needs at least 1).
PLAN = (
    Phase(size=SMALL, batch=25, lead_in=2, rotations=60, warmup=150),
    Phase(size=LARGE, batch=5, lead_in=1, rotations=12, warmup=6),
)
QUICK_PLAN = (
    Phase(size=SMALL, batch=20, lead_in=2, rotations=3, warmup=6),
    Phase(size=LARGE, batch=1, lead_in=1, rotations=3, warmup=1),
)
#: Rounds by default: about 40 s each on this machine (2 shared cores), so a default run,
#: cold starts included, takes 3 to 3.5 minutes.
ROUNDS = 5
#: Cold starts per contender beyond the one each round makes.
EXTRA_COLD_STARTS = 2
#: Time slices of the run for the p50 spread: enough to show drift, while each slice still
#: holds hundreds of 100 B samples per contender.
SLICES = 5

#: Goal of issue 5: the bridge adds less than this per invoke over Go's own Runtime API mode.
BRIDGE_OVERHEAD_LIMIT_US = 150.0


# --- the run ---------------------------------------------------------------------------------


@attrs.define(eq=False)
class Results:
    """Everything measured: the batches per (contender key, size), cold starts per key, and the
    peak RSS parts per (key, size), one entry per round."""

    entrants: list[Contender]
    rounds: int
    plan: tuple[Phase, ...]
    series: dict[tuple[str, int], Series]
    colds: dict[str, list[float]]
    peaks: dict[tuple[str, int], list[tuple[int, ...]]]

    @classmethod
    def empty(cls, entrants: list[Contender], rounds: int, plan: tuple[Phase, ...]) -> Results:
        pairs = [(c.key, phase.size) for c in entrants for phase in plan]
        return cls(
            entrants=entrants,
            rounds=rounds,
            plan=plan,
            series={pair: Series() for pair in pairs},
            colds={c.key: [] for c in entrants},
            peaks={pair: [] for pair in pairs},
        )

    def slices(self, size: int) -> list[range]:
        """The run's rotations at ``size`` cut into consecutive time slices."""
        phase = next(p for p in self.plan if p.size == size)
        return slice_bounds(self.rounds * phase.rotations, SLICES)


def run_round(results: Results, index: int, workdir: Path) -> None:
    """Round ``index``: all contenders up, each size's interleaved batches, all stopped."""
    entrants = results.entrants
    orders = rotation_orders(len(entrants))
    with ExitStack() as stack:
        started: dict[str, Running] = {}
        for position in orders[index % len(orders)]:
            contender = entrants[position]
            started[contender.key] = stack.enter_context(running(contender, workdir))
            results.colds[contender.key].append(started[contender.key].cold_start_us)
        for phase in results.plan:
            for contender in entrants:
                started[contender.key].batch(phase.size, phase.warmup, phase.lead_in)
            for turn in range(phase.rotations):
                rotation = index * phase.rotations + turn
                for position in orders[rotation % len(orders)]:
                    key = entrants[position].key
                    samples = started[key].batch(phase.size, phase.batch, phase.lead_in)
                    results.series[key, phase.size].add(rotation, samples)
            for contender in entrants:
                parts = started[contender.key].peak_parts_kib()
                results.peaks[contender.key, phase.size].append(parts)


# --- the report ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Summary:
    """One contender at one size: pooled percentiles, the slice spread, the median peak RSS."""

    p50_us: float
    p99_us: float
    per_second: float
    p50_spread: str
    peak_mb: float
    peak_parts_mb: tuple[float, ...]


def summarise(results: Results, key: str, size: int) -> Summary:
    series = results.series[key, size]
    peaks = results.peaks[key, size]
    parts = zip(*peaks, strict=True)
    return Summary(
        p50_us=series.p50_us(),
        p99_us=series.p99_us(),
        per_second=series.per_second(),
        p50_spread=spread(series.slice_p50s(results.slices(size))),
        peak_mb=statistics.median(sum(p) for p in peaks) / 1024,
        peak_parts_mb=tuple(statistics.median(p) / 1024 for p in parts),
    )


@attrs.frozen(kw_only=True)
class Paired:
    """Per rotation, one contender's batch p50 minus another's: the median over all rotations,
    and the lowest and highest of that median taken over each time slice alone."""

    median_us: float
    slice_low_us: float
    slice_high_us: float

    def cell(self) -> str:
        return (
            f"{self.median_us:+,.0f} µs "
            f"(slices {self.slice_low_us:+,.0f} to {self.slice_high_us:+,.0f})"
        )


def paired(results: Results, minuend: str, subtrahend: str, size: int) -> Paired:
    differences = paired_differences(
        results.series[minuend, size], results.series[subtrahend, size]
    )
    per_slice = [
        statistics.median(d for r, d in differences.items() if r in part)
        for part in results.slices(size)
    ]
    return Paired(
        median_us=statistics.median(differences.values()),
        slice_low_us=min(per_slice),
        slice_high_us=max(per_slice),
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


def table(results: Results) -> str:
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
    for contender in results.entrants:
        for size in SIZES:
            summary = summarise(results, contender.key, size)
            rows.append(
                [
                    contender.name,
                    _size_label(size),
                    _us(summary.p50_us),
                    _us(summary.p99_us),
                    f"{summary.per_second:,.0f}",
                    summary.p50_spread,
                    _cold_cell(results.colds[contender.key]) if size == SMALL else "",
                    _peak_cell(summary),
                ]
            )
    return format_table(header, rows)


def _verdict(pooled: bool, pairwise: bool) -> str:
    if pooled and pairwise:
        return "met"
    if pooled:
        return "met pooled, NOT met paired"
    if pairwise:
        return "met paired, NOT met pooled"
    return "NOT met"


def goals(results: Results) -> list[str]:
    """The two goals of issue 5, per event size: from the pooled p50s, and paired per rotation."""
    faster = []
    overhead = []
    for size in SIZES:
        c, d, e, f = (results.series[k, size].p50_us() for k in "cdef")
        c_d = paired(results, "c", "d", size)
        e_f = paired(results, "e", "f", size)
        faster.append(
            f"{_size_label(size)}: pooled {_us(c)} vs {_us(d)} µs ({c - d:+,.0f}), "
            f"paired {c_d.cell()}: {_verdict(c < d, c_d.median_us < 0)}"
        )
        limit = BRIDGE_OVERHEAD_LIMIT_US
        overhead.append(
            f"{_size_label(size)}: pooled {e - f:+,.0f} µs, paired {e_f.cell()}: "
            f"{_verdict(e - f < limit, e_f.median_us < limit)}"
        )
    return [
        "goal: (c) faster than (d) at p50, (c) - (d): " + "; ".join(faster),
        f"goal: (e) adds under {BRIDGE_OVERHEAD_LIMIT_US:.0f} µs per invoke over (f) at p50, "
        "(e) - (f): " + "; ".join(overhead),
    ]


def beyond_floor(results: Results) -> str:
    """Each Runtime API row's p50 minus the floor's, pooled (paired): the runtime's own share,
    roughly."""
    cells = []
    for size in SIZES:
        floor = results.series["floor", size].p50_us()
        parts = [
            f"{c.key} {results.series[c.key, size].p50_us() - floor:+,.0f} "
            f"({paired(results, c.key, 'floor', size).median_us:+,.0f})"
            for c in results.entrants
            if c.kind == API and c.key != "floor"
        ]
        cells.append(f"{_size_label(size)}: " + ", ".join(parts))
    return "p50 beyond the floor row, µs, pooled (paired median): " + "; ".join(cells)


def _emulator_name(results: Results) -> str:
    kinds = {c.emulator for c in results.entrants if c.kind == API}
    if kinds == {"rie"}:
        return "AWS's RIE (aws-lambda-rie v0.0.0-20261030222936-bef5c4ba774d, Go)"
    return "the stand-in tests/runtime_api_tests/standin_rie.py (Python, trio + h11)"


def notes(results: Results) -> list[str]:
    """What the figures are, printed under the table."""
    bridge = summarise(results, "e", LARGE).peak_parts_mb
    return [
        "peak RSS is VmHWM of the runtime process, median over the rounds; for (e) the sum, "
        "(bridge + Go child): " + " + ".join(f"{p:.1f}" for p in bridge) + " MB after the "
        "1 MiB invokes",
        f"emulator: {_emulator_name(results)}: its per-invoke cost is in every Runtime API row, "
        "(c) to (f), with the runtime's turn-around from its answer to its next /next (RIE "
        "answers an invoke only then); the floor row measures it with a runtime that only does "
        "next/response with Python's http.client (not a hard floor: awslambdaric's HTTP client "
        "is C, and aws-lambda-go's is Go, either may be faster than that runtime's)",
        "clients: (a), (b): Go net/rpc (gopeer client --latency --samples, one run per batch: a "
        "new connection, Ping, the lead-in, the batch); (c) to (f): Python http.client, one "
        "keep-alive connection per emulator, in the benchmark process. Every reply is checked "
        "to echo the event. invokes/s = 1e6 / mean invoke time, one invoke in flight. cold "
        "start: RPC: exec to first Ping (Go client dialling at 1 ms) + first invoke; Runtime "
        "API: first invoke POSTed to its answer, the emulator exec'ing the runtime on it",
        "interleaved: a round starts every contender fresh, one after another (each start is "
        "its cold start, the ones started before it idle meanwhile; the order changes per "
        "round), keeps them all running, and has them take turns in rotations, one batch each "
        "per rotation, in orders where each follows each other one equally often (Williams "
        "design); each batch's unmeasured lead-in takes the cost of waking a contender that "
        "sat idle while the others ran, so the samples are back-to-back invokes as before. "
        "p50, p99, invokes/s: over the samples pooled from all rounds. p50 spread: the run's "
        f"rotations cut into {len(results.slices(SMALL))} consecutive time slices, ± the "
        "largest distance of a slice's p50 from their median (drift, and fresh processes per "
        "round). paired: per rotation, one contender's batch p50 minus the other's, median "
        "over all rotations, and the range of that median over the time slices: drift in the "
        "machine cancels in it, so it is the estimate to trust when it and the pooled "
        "difference disagree",
    ]


# --- the chart -------------------------------------------------------------------------------


def chart(path: Path, results: Results) -> str:
    """Write the PNG; what happened, as one line for the output."""
    try:
        # By name: matplotlib is the optional extra ``bench``, not a dependency of the package.
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install -e '.[bench]')"
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    ticker = importlib.import_module("matplotlib.ticker")
    entrants = results.entrants
    names = [c.name for c in entrants]
    figure, axes = pyplot.subplots(2, 2, figsize=(13, 8), constrained_layout=True)
    positions = list(range(len(names)))
    colours = ["#4c72b0" if c.kind == RPC else "#dd8452" for c in entrants]
    panels: list[tuple[str, list[float], list[float] | None, bool]] = []
    for size in SIZES:
        summaries = [summarise(results, c.key, size) for c in entrants]
        panels.append(
            (
                f"{_size_label(size)} event: p50 (bar) and p99 (tick), µs, log scale",
                [s.p50_us for s in summaries],
                [s.p99_us for s in summaries],
                True,
            )
        )
    cold = [statistics.median(results.colds[c.key]) / 1000 for c in entrants]
    panels.append(("cold start to first invoke answered, ms (median)", cold, None, False))
    peak = [summarise(results, c.key, LARGE).peak_mb for c in entrants]
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
        "lambda-legacy vs aws-lambda-go vs awslambdaric, echo handler, one machine, one run, "
        "interleaved (blue: go1.x RPC; orange: Runtime API under "
        f"{_emulator_name(results).split(' (')[0]})",
        fontsize=10,
    )
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return f"chart: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"


# --- main ------------------------------------------------------------------------------------


def _plan_line(results: Results) -> str:
    measured = " and ".join(f"{p.measured} x {_size_label(p.size)}" for p in results.plan)
    batches = " and ".join(
        f"{p.rotations} batches of {p.batch} (each after {p.lead_in} unmeasured)"
        for p in results.plan
    )
    warmups = " / ".join(str(p.warmup) for p in results.plan)
    colds = len(next(iter(results.colds.values())))
    return (
        f"per round and contender: {measured} measured invokes, as {batches}, after "
        f"{warmups} warm-up; {results.rounds} round(s), all contenders up at once, "
        f"interleaved; cold starts per contender: {colds}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m benchmarks.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="1 short round: a smoke run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"rounds, each starting every contender fresh ({ROUNDS}; --quick: 1)",
    )
    parser.add_argument("--chart", type=Path, default=DEFAULT_CHART, help="PNG to write")
    parser.add_argument(
        "--emulator",
        choices=("rie", "standin"),
        default=default_emulator(),
        help="the Runtime API rows' emulator (default: rie where installed, else standin)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    rounds, plan, extra_colds = (
        (1, QUICK_PLAN, 0) if args.quick else (args.rounds, PLAN, EXTRA_COLD_STARTS)
    )
    missing = missing_prerequisite()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    started = time.monotonic()
    build_go("./gopeer")
    load_before = load_average()
    if args.emulator == "rie" and default_emulator() != "rie":
        print(
            "aws-lambda-rie is not installed: run tools/check, or --emulator standin",
            file=sys.stderr,
        )
        return 1
    results = Results.empty(contenders(args.emulator), rounds, plan)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        for contender in () if args.quick else results.entrants:  # unmeasured: writes .pyc files
            cold_start(contender, workdir)
        for index in range(rounds):
            run_round(results, index, workdir)
        for _ in range(extra_colds):
            for contender in results.entrants:
                results.colds[contender.key].append(cold_start(contender, workdir))
    load_after = load_average()

    print(
        f"python3 -m benchmarks.compare{' --quick' if args.quick else ''} --rounds {rounds} "
        f"--emulator {args.emulator}"
    )
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {go_version()}, "
        f"{os.cpu_count()} CPUs; load average before: {load_before}, after: {load_after}"
    )
    print(_plan_line(results))
    print()
    print(table(results))
    print()
    for line in [*goals(results), beyond_floor(results), *notes(results)]:
        print(line)
    print(chart(args.chart, results))
    print(f"total time: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
