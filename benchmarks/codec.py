"""gobrpc's codec next to Go's encoding/gob, on aws-lambda-go's RPC messages.

    python3 -m benchmarks.codec [--quick] [--rounds N] [--min-time SECONDS] [--clock cpu|wall]

Builds and runs ``tools/benchgob`` (Go) and times gobrpc on the same messages in the same run,
alternating Go and Python round by round so that both see the same machine load. ns/op is process
CPU time by default (Go's includes its garbage collector's threads); ``--clock wall`` gives wall
time, which other work on a shared machine disturbs far more. Prints Markdown tables with the
median over rounds and the spread (the largest distance of a round from it); never asserts a
timing. It does assert that Python encodes exactly the bytes Go encodes for
every message timed (a sanity check: a fast codec that writes other bytes would be worth nothing).

What is timed is what net/rpc does for every call after a connection's first: encode on a warm
per-stream encoder (type definitions already sent), decode on a warm decoder into the declared
class (``Decoder.next_value``, as ``ServerConnection`` does: a compiled reader per type pair).
"Cold" is the first message of a new connection: a new encoder sends definitions and value, a new
decoder reads them.

Goals (issue 2): small messages within 10x Go's time for encode plus decode; the 6 MB payload at
1 GB/s or more for encode plus decode. The last line reports the peak memory that one warm encode
and one warm decode of the 6 MB request allocate, in payloads: 1.00 means one new copy of it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

import attrs

from gobrpc import (
    FIRST_USER_ID_GO_1_21,
    FIRST_USER_ID_LEGACY,
    Decoder,
    Encoder,
    GoType,
    TypeRegistry,
    struct_type,
)
from gobrpc._decoder import BoundValue
from runtime._messages import (
    InvokeRequest,
    InvokeRequest_Timestamp,
    InvokeResponse,
    InvokeResponse_Error,
    InvokeResponse_Error_StackFrame,
)

from ._report import format_table, spread

__all__ = ["main"]

TOOLS = Path(__file__).resolve().parent.parent / "tools"
BENCHGOB = TOOLS / "bin" / "benchgob"

#: Lambda's synchronous invoke payload cap (request and response), the large case.
PAYLOAD_6MB = 6 * 1024 * 1024
#: Goal for small messages: Python's encode+decode within this factor of Go's.
SMALL_GOAL_RATIO = 10.0
#: Goal for the 6 MB payload: encode+decode throughput in MB/s (10**6 bytes).
LARGE_GOAL_MB_S = 1000.0


class GoCase(TypedDict, total=False):
    """One case of benchgob's JSON report (see tools/benchgob/main.go)."""

    name: str
    payload_bytes: int
    cold_stream_hex: str
    cold_stream_sha256: str
    message_hex: str
    message_sha256: str
    message_len: int
    encode_ns: list[float]
    decode_ns: list[float]
    cold_ns: list[float]


class GoReport(TypedDict):
    """benchgob's JSON report."""

    go_version: str
    goarch: str
    min_time_ns: int
    cases: list[GoCase]


@attrs.frozen(kw_only=True)
class Case:
    """One message to time; the table order is also the order Go first encoded them in."""

    name: str
    go_type: GoType
    value: object
    payload_bytes: int
    #: The 6 MB cases: judged in MB/s, and no cold measurement (definitions are noise there).
    large: bool


@attrs.define(kw_only=True)
class Timings:
    """Nanoseconds per operation, one entry per round."""

    encode: list[float] = attrs.Factory(list)
    decode: list[float] = attrs.Factory(list)
    cold: list[float] = attrs.Factory(list)

    def round_trips(self) -> list[float]:
        """Encode plus decode, per round."""
        return [e + d for e, d in zip(self.encode, self.decode, strict=True)]


def large_payload(size: int) -> bytes:
    """The large payload: byte i is i % 251, as tools/benchgob builds it."""
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def cases(payload_size: int) -> list[Case]:
    """The messages timed, equal to tools/benchgob's (the byte check proves it)."""
    small_request = InvokeRequest(
        payload=b'{"name":"go1.x"}',
        request_id="8476a536-e9f4-11e8-9739-2dfe598c3fcd",
        x_amzn_trace_id="Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
        deadline=InvokeRequest_Timestamp(seconds=1700000000, nanos=123456789),
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:hello",
    )
    error = InvokeResponse_Error(
        message="name 'x' is not defined",
        type="NameError",
        stack_trace=[
            InvokeResponse_Error_StackFrame(path="/var/task/handler.py", line=12, label="handler"),
            InvokeResponse_Error_StackFrame(path="/var/task/lib/util.py", line=40, label="compute"),
        ],
    )
    big = large_payload(payload_size)
    request = struct_type(InvokeRequest)
    response = struct_type(InvokeResponse)
    small_body = b'{"message":"Hello, go1.x!"}'
    return [
        Case(
            name="InvokeRequest small",
            go_type=request,
            value=small_request,
            payload_bytes=len(small_request.payload),
            large=False,
        ),
        Case(
            name="InvokeResponse small",
            go_type=response,
            value=InvokeResponse(payload=small_body),
            payload_bytes=len(small_body),
            large=False,
        ),
        Case(
            name="InvokeResponse error",
            go_type=response,
            value=InvokeResponse(error=error),
            payload_bytes=0,
            large=False,
        ),
        Case(
            name="InvokeRequest 6 MB",
            go_type=request,
            value=attrs.evolve(small_request, payload=big),
            payload_bytes=len(big),
            large=True,
        ),
        Case(
            name="InvokeResponse 6 MB",
            go_type=response,
            value=InvokeResponse(payload=big),
            payload_bytes=len(big),
            large=True,
        ),
    ]


# --- Go ---------------------------------------------------------------------------------------


def build_go() -> None:
    """``go build -o bin/ ./benchgob`` in tools/ (quick when the build cache is warm)."""
    if shutil.which("go") is None:
        sys.exit("go toolchain not on PATH: the Go reference cannot be measured")
    subprocess.run(["go", "build", "-o", "bin/", "./benchgob"], cwd=TOOLS, check=True)


def run_go(rounds: int, min_time_s: float, clock: str, payload_size: int) -> GoReport:
    """One run of benchgob: the bytes Go wrote and ``rounds`` timed rounds of every case."""
    out = subprocess.run(
        [
            str(BENCHGOB),
            f"-rounds={rounds}",
            f"-min-time={min_time_s}s",
            f"-clock={clock}",
            f"-payload-size={payload_size}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report: GoReport = json.loads(out)
    return report


def first_user_id(go_version: str) -> int:
    """Go numbers user type ids from 64 since Go 1.21 and from 65 before (golden/README.md)."""
    major, minor = (int(part) for part in go_version.removeprefix("go").split(".")[:2])
    return FIRST_USER_ID_GO_1_21 if (major, minor) >= (1, 21) else FIRST_USER_ID_LEGACY


# --- Python -----------------------------------------------------------------------------------


#: What ns/op measure, as benchgob's -clock: process CPU time (user + system, all threads) or wall
#: time. CPU time is the default because other work on a shared machine disturbs it far less.
CLOCKS: dict[str, Callable[[], int]] = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}


def per_op(now: Callable[[], int], min_time_ns: int, op: Callable[[int], None]) -> float:
    """Run ``op(n)`` with n growing until one run lasts ``min_time_ns`` on clock ``now``
    (benchgob's method, which is testing.B's); nanoseconds per operation of that run."""
    n = 1
    while True:
        start = now()
        op(n)
        elapsed = now() - start
        if elapsed >= min_time_ns:
            return elapsed / n
        grow = 100 * n if elapsed <= 0 else int(1.2 * n * min_time_ns / elapsed)
        n = max(n + 1, min(grow, 100 * n))


def decode_one(decoder: Decoder, go_type: GoType) -> object:
    """Decode the next value into ``go_type`` as ServerConnection does; definitions are read on.

    Keep this in step with ``ServerConnection.next_event``.
    """
    item = decoder.next_value(go_type)
    if not isinstance(item, BoundValue):
        raise TypeError(f"expected a complete value, got {item!r}")
    if item.error is not None:
        raise item.error
    return item.value


@attrs.frozen
class Streams:
    """What Python encodes for a case: the first (cold) stream and a warm value message."""

    cold: bytes
    warm: bytes


def capture(registry: TypeRegistry, case: Case) -> Streams:
    """A fresh encoder's first and second encodings of the case (benchgob's capture)."""
    encoder = Encoder(registry)
    return Streams(
        encoder.encode(case.go_type, case.value), encoder.encode(case.go_type, case.value)
    )


def check_same_bytes(case: Case, ours: Streams, go: GoCase) -> None:
    """Python must encode exactly Go's bytes: the check, not a timing."""
    for what, data, hex_key, sha_key in (
        ("first stream", ours.cold, "cold_stream_hex", "cold_stream_sha256"),
        ("warm message", ours.warm, "message_hex", "message_sha256"),
    ):
        # Explicit raises rather than assert statements: python -O must not skip the check.
        want_hex = go.get(hex_key)
        if want_hex is not None and data.hex() != want_hex:
            raise AssertionError(f"{case.name}: {what} differs from Go's:\n{data.hex()}")
        if hashlib.sha256(data).hexdigest() != go.get(sha_key):
            raise AssertionError(f"{case.name}: {what} differs from Go's")


def time_case(
    registry: TypeRegistry,
    case: Case,
    streams: Streams,
    *,
    now: Callable[[], int],
    min_time_ns: int,
    into: Timings,
) -> None:
    """One round of a case: warm encode, warm decode, and cold if the case has it."""
    encoder = Encoder(registry)
    encoder.encode(case.go_type, case.value)
    encode = encoder.encode
    go_type, value = case.go_type, case.value

    def encode_op(n: int) -> None:
        for _ in range(n):
            encode(go_type, value)

    decoder = Decoder()
    decoder.receive_data(streams.cold)
    decode_one(decoder, go_type)
    message = streams.warm

    def decode_op(n: int) -> None:
        for _ in range(n):
            decoder.receive_data(message)
            decode_one(decoder, go_type)

    def cold_op(n: int) -> None:
        for _ in range(n):
            fresh = Decoder()
            fresh.receive_data(Encoder(registry).encode(go_type, value))
            decode_one(fresh, go_type)

    into.encode.append(per_op(now, min_time_ns, encode_op))
    into.decode.append(per_op(now, min_time_ns, decode_op))
    if not case.large:
        into.cold.append(per_op(now, min_time_ns, cold_op))


def payload_copies(registry: TypeRegistry, case: Case, streams: Streams) -> tuple[float, float]:
    """Peak bytes allocated by one warm encode and one warm decode, in payloads."""
    encoder = Encoder(registry)
    encoder.encode(case.go_type, case.value)
    decoder = Decoder()
    decoder.receive_data(streams.cold)
    decode_one(decoder, case.go_type)

    def encode() -> None:
        encoder.encode(case.go_type, case.value)

    def decode() -> None:
        decoder.receive_data(streams.warm)
        decode_one(decoder, case.go_type)

    peaks = []
    tracemalloc.start()
    try:
        for op in (encode, decode):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            op()
            peaks.append((tracemalloc.get_traced_memory()[1] - before) / case.payload_bytes)
    finally:
        tracemalloc.stop()
    return peaks[0], peaks[1]


# --- report -----------------------------------------------------------------------------------


def _ns(values: Sequence[float]) -> str:
    return f"{statistics.median(values):,.0f}"


def _mb_s(payload: int, ns: float) -> float:
    return payload / ns * 1e3


def table(todo: Sequence[Case], go: Sequence[Timings], py: Sequence[Timings]) -> str:
    """The goal table: encode plus decode per case, medians over rounds."""
    rows = []
    for case, g, p in zip(todo, go, py, strict=True):
        go_ns = statistics.median(g.round_trips())
        py_ns = statistics.median(p.round_trips())
        ratio = py_ns / go_ns
        if case.large:
            goal = f">= {LARGE_GOAL_MB_S:,.0f} MB/s"
            met = _mb_s(case.payload_bytes, py_ns) >= LARGE_GOAL_MB_S
            rate = (
                f"{_mb_s(case.payload_bytes, go_ns):,.0f} / {_mb_s(case.payload_bytes, py_ns):,.0f}"
            )
        else:
            goal = f"<= {SMALL_GOAL_RATIO:g}x Go"
            met = ratio <= SMALL_GOAL_RATIO
            rate = ""
        rows.append(
            [
                case.name,
                f"{go_ns:,.0f}",
                f"{py_ns:,.0f}",
                f"{ratio:.1f}x",
                goal,
                "yes" if met else "NO",
                rate,
                f"{spread(g.round_trips())} / {spread(p.round_trips())}",
            ]
        )
    header = [
        "case (encode+decode)",
        "Go ns/op",
        "Python ns/op",
        "ratio",
        "goal",
        "met?",
        "MB/s Go / Py",
        "spread Go / Py",
    ]
    return format_table(header, rows)


def detail_table(todo: Sequence[Case], go: Sequence[Timings], py: Sequence[Timings]) -> str:
    """Encode, decode and cold separately (medians; ratio Python/Go)."""
    rows = []
    for case, g, p in zip(todo, go, py, strict=True):
        row: list[object] = [case.name]
        for mine, theirs in ((p.encode, g.encode), (p.decode, g.decode), (p.cold, g.cold)):
            if not mine:
                row += ["", ""]
                continue
            row += [
                f"{_ns(theirs)} / {_ns(mine)}",
                f"{statistics.median(mine) / statistics.median(theirs):.1f}x",
            ]
        rows.append(row)
    header = ["case", "encode Go / Py ns", "ratio", "decode Go / Py ns", "ratio", "cold Go / Py ns"]
    return format_table([*header, "ratio"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(
        prog="python3 -m benchmarks.codec",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="2 short rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, Go and Python alternating")
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per timed run")
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="cpu", help="CPU time (default) or wall time"
    )
    parser.add_argument("--payload-size", type=int, default=PAYLOAD_6MB, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds, min_time = (2, 0.02) if args.quick else (args.rounds, args.min_time)
    if rounds < 1 or min_time <= 0:
        parser.error("--rounds must be at least 1 and --min-time positive")

    build_go()
    todo = cases(args.payload_size)
    go_rounds: list[GoReport] = []
    py = [Timings() for _ in todo]
    registry: TypeRegistry | None = None
    streams: list[Streams] = []
    for _ in range(rounds):
        report = run_go(1, min_time, args.clock, args.payload_size)
        go_rounds.append(report)
        if registry is None:
            # One registry, cases first encoded in benchgob's order: the same type ids.
            registry = TypeRegistry(first_user_id(report["go_version"]))
            streams = [capture(registry, case) for case in todo]
            for case, ours, theirs in zip(todo, streams, report["cases"], strict=True):
                if theirs["name"] != case.name:
                    raise AssertionError(f"benchgob case {theirs['name']!r} is not {case.name!r}")
                check_same_bytes(case, ours, theirs)
        for case, ours, timings in zip(todo, streams, py, strict=True):
            time_case(
                registry,
                case,
                ours,
                now=CLOCKS[args.clock],
                min_time_ns=int(min_time * 1e9),
                into=timings,
            )
    assert registry is not None
    go = [
        Timings(
            encode=[r["cases"][i]["encode_ns"][0] for r in go_rounds],
            decode=[r["cases"][i]["decode_ns"][0] for r in go_rounds],
            cold=[r["cases"][i]["cold_ns"][0] for r in go_rounds if "cold_ns" in r["cases"][i]],
        )
        for i in range(len(todo))
    ]
    large = next(i for i, case in enumerate(todo) if case.large)
    encode_copies, decode_copies = payload_copies(registry, todo[large], streams[large])

    load = os.getloadavg()
    go_version = f"{go_rounds[0]['go_version']} {go_rounds[0]['goarch']}"
    print(
        f"{go_version} vs {platform.python_implementation()} {platform.python_version()}; "
        f"{os.cpu_count()} CPUs, load {load[0]:.2f}; ns/op in {args.clock} time; {rounds} rounds"
        f" of >= {min_time * 1e3:g} ms per measurement, Go and Python alternating; bytes checked"
        " equal to Go's for every case\n"
    )
    print(table(todo, go, py))
    print()
    print(detail_table(todo, go, py))
    print()
    print(
        f"{todo[large].name}: peak allocation of one warm encode {encode_copies:.2f} payloads, "
        f"of one warm decode (receive_data + next_value) {decode_copies:.2f} payloads"
    )


if __name__ == "__main__":
    main()
