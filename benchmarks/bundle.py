"""A lambda-legacy bundle next to a Go function zip, both started as go1.x starts them.

``python3 -m benchmarks.bundle [--warm N] [--cold N] [--builds N]``

Both zips hold an echo function. Ours is built by ``lambda-legacy bundle``; the Go one is a
minimal aws-lambda-go ``main`` (the version ``tools/go.mod`` pins, from the module cache, so no
download), built as a go1.x function must be (``CGO_ENABLED=0 GOOS=linux GOARCH=amd64``) and
zipped with the bundle's own writer. Each is unzipped with its modes and started bare with go1.x's
environment, in its own process group; the clock runs from the exec to the first ``Function.Ping``
answered, dialling and pinging every 5 ms as go1.x does (so 5 ms is the resolution). Cold runs
drop the page cache first (``echo 3 > /proc/sys/vm/drop_caches``, root only). Then one invoke,
and the function's RSS after it; then SIGKILL to the group, as go1.x ends a function.

The same zips as provided.al2 / provided.al2023 start them, in the same turns: our ``bootstrap``
and the Go ``main`` (aws-lambda-go serves the Runtime API when only ``AWS_LAMBDA_RUNTIME_API`` is
set), with provided.al2's library path; the clock runs from the exec to the first ``GET
/2018-06-01/runtime/invocation/next`` received by a listening socket that stands in for the
Runtime API (it never answers; the function is then killed). No goal names this figure.

Nothing here asserts: it prints what it measured, the goals from issue 7, and the spread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

import attrs
import trio

from benchmarks._report import format_table, percentile, rss_kib, spread
from lambda_legacy._bundle._limits import GO1X_LD_LIBRARY_PATH
from lambda_legacy._bundle._zipfile import extract_with_modes, write_zip
from runtime._client import connect_function, free_port
from runtime._messages import InvokeRequest, InvokeRequest_Timestamp

TOOLS: Final = Path(__file__).resolve().parent.parent / "tools"
GO1X_ENV: Final = {
    "LD_LIBRARY_PATH": GO1X_LD_LIBRARY_PATH,
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "_HANDLER": "main",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}
ECHO_HANDLER: Final = "def handler(event, context):\n    return event\n"
GO_MAIN: Final = """package main

import "github.com/aws/aws-lambda-go/lambda"

func echo(event map[string]interface{}) (map[string]interface{}, error) { return event, nil }

func main() { lambda.Start(echo) }
"""
#: Issue 7's goals for the bundle.
GOAL_ZIPPED_MIB: Final = 12.0
GOAL_PING_COLD_MS: Final = 250.0
GOAL_PING_WARM_MS: Final = 200.0
GOAL_RSS_MIB: Final = 40.0
GOAL_BUILD_S: Final = 30.0
#: A start that takes longer than this is reported as failed.
START_TIMEOUT_S: Final = 30.0
#: provided.al2's LD_LIBRARY_PATH (host directories first, as go1.x's).
PROVIDED_LD_LIBRARY_PATH: Final = (
    "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
)
#: What a runtime's first Runtime API request starts with.
NEXT_REQUEST: Final = b"GET /2018-06-01/runtime/invocation/next "


@attrs.frozen(kw_only=True)
class Start:
    """One exec of a function: time to the first Ping answered, the first invoke, RSS after."""

    ping_ms: float
    invoke_ms: float
    rss_kib: int


@attrs.frozen(kw_only=True)
class Function:
    name: str
    zip_path: Path
    build_s: list[float]


def _build_ours(work: Path, builds: int) -> Function:
    src = work / "src"
    src.mkdir()
    (src / "app.py").write_text(ECHO_HANDLER, encoding="utf-8")
    times = []
    for n in range(builds):
        output = work / f"bundle-{n}.zip"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "lambda_legacy", "bundle", "app.handler", "--src", str(src),
             "-o", str(output)],
            check=True, capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return Function(name="lambda-legacy bundle", zip_path=work / "bundle-0.zip", build_s=times)


def _build_go(work: Path) -> Function | None:
    if shutil.which("go") is None:
        return None
    module = work / "gofn"
    (module / "stage").mkdir(parents=True)
    go_mod = (TOOLS / "go.mod").read_text(encoding="utf-8")
    require = next(line for line in go_mod.splitlines() if "aws/aws-lambda-go " in line)
    (module / "go.mod").write_text(
        f"module gofn\n\ngo 1.21\n\nrequire {require.strip().removeprefix('require ')}\n",
        encoding="utf-8",
    )
    shutil.copyfile(TOOLS / "go.sum", module / "go.sum")
    (module / "main.go").write_text(GO_MAIN, encoding="utf-8")
    env = {**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64",
           "GOFLAGS": "-mod=mod", "GOPROXY": "off"}  # fmt: skip
    started = time.perf_counter()
    built = subprocess.run(
        ["go", "build", "-o", str(module / "stage" / "main"), "."],
        cwd=module, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if built.returncode != 0:
        print(f"Go function not built: {built.stderr.strip()}", file=sys.stderr)
        return None
    write_zip(module / "stage", work / "go.zip")
    return Function(name="Go (aws-lambda-go)", zip_path=work / "go.zip", build_s=[elapsed])


def _drop_caches() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as caches:
            caches.write("3\n")
    except OSError:
        return False
    return True


def _request() -> InvokeRequest:
    deadline = time.time_ns() + 60 * 10**9
    return InvokeRequest(
        payload=b'{"hello": "bench"}',
        request_id=str(uuid.uuid4()),
        deadline=InvokeRequest_Timestamp(seconds=deadline // 10**9, nanos=deadline % 10**9),
        invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:bench",
    )


def _start_once(task: Path) -> Start:
    port = free_port()

    async def measure(process: subprocess.Popen[bytes], started: float) -> Start:
        with trio.fail_after(START_TIMEOUT_S):
            async with connect_function(port) as client:
                pinged = time.perf_counter()
                response = await client.invoke(_request())
                invoked = time.perf_counter()
        if response.error is not None or response.payload != b'{"hello":"bench"}':
            raise RuntimeError(f"unexpected reply {response!r:.200}")
        return Start(
            ping_ms=1000 * (pinged - started),
            invoke_ms=1000 * (invoked - pinged),
            rss_kib=rss_kib(process.pid),
        )

    started = time.perf_counter()
    process = subprocess.Popen(
        [str(task / "main")],
        cwd=task,
        env={**GO1X_ENV, "_LAMBDA_SERVER_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return trio.run(measure, process, started)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _first_next_once(task: Path, launcher: str) -> float:
    """Milliseconds from the exec of ``task/launcher`` to its first ``GET .../next``."""
    with socket.create_server(("127.0.0.1", 0)) as api:
        api.settimeout(START_TIMEOUT_S)
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(task / launcher)],
            cwd=task,
            env={
                **GO1X_ENV,
                "LD_LIBRARY_PATH": PROVIDED_LD_LIBRARY_PATH,
                "_HANDLER": launcher,
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.getsockname()[1]}",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            connection, _ = api.accept()
            with connection:
                connection.settimeout(START_TIMEOUT_S)
                head = b""
                while b"\r\n\r\n" not in head:
                    data = connection.recv(4096)
                    if not data:
                        break
                    head += data
                arrived = time.perf_counter()
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if not head.startswith(NEXT_REQUEST):
        raise RuntimeError(f"unexpected first request {head[:200]!r}")
    return 1000 * (arrived - started)


def _runtime_api_starts(
    launchers: list[tuple[Path, str]], count: int, before: Callable[[], bool] | None
) -> list[list[float]] | None:
    """``count`` starts to the first ``/next`` of each launcher, taken in turns."""
    starts: list[list[float]] = [[] for _ in launchers]
    for _ in range(count):
        for index, (task, launcher) in enumerate(launchers):
            if before is not None and not before():
                return None
            starts[index].append(_first_next_once(task, launcher))
    return starts


def _interleaved(
    tasks: list[Path], count: int, before: Callable[[], bool] | None
) -> list[list[Start]] | None:
    """``count`` starts of each task, taken in turns, so machine noise falls on all alike."""
    starts: list[list[Start]] = [[] for _ in tasks]
    for _ in range(count):
        for index, task in enumerate(tasks):
            if before is not None and not before():
                return None
            starts[index].append(_start_once(task))
    return starts


def _fmt(value: float | None, unit: str, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.bundle", description=__doc__)
    parser.add_argument("--warm", type=int, default=10, help="warm starts per function (10)")
    parser.add_argument("--cold", type=int, default=5, help="cold starts per function (5)")
    parser.add_argument("--builds", type=int, default=2, help="bundle builds timed (2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as temp:
        work = Path(temp)
        functions = [_build_ours(work, args.builds)]
        go = _build_go(work)
        if go is not None:
            functions.append(go)
        tasks = []
        for index, function in enumerate(functions):
            tasks.append(work / f"task-{index}")
            extract_with_modes(function.zip_path, tasks[-1])
        tasks.append(_unbundled_reference(work))
        for task in tasks:
            _start_once(task)  # one start first, so "warm" means the page cache is warm
        warm = _interleaved(tasks, args.warm, None) or [[] for _ in tasks]
        cold = _interleaved(tasks, args.cold, _drop_caches)
        launchers = [(tasks[0], "bootstrap"), *((task, "main") for task in tasks[1:-1])]
        for task, launcher in launchers:
            _first_next_once(task, launcher)  # warm the page cache
        api_warm = _runtime_api_starts(launchers, args.warm, None) or [[] for _ in launchers]
        api_cold = _runtime_api_starts(launchers, args.cold, _drop_caches)
        results: dict[str, dict[str, object]] = {}
        for index, function in enumerate(functions):
            with zipfile.ZipFile(function.zip_path) as archive:
                unzipped = sum(i.file_size for i in archive.infolist())
            results[function.name] = {
                "zipped": function.zip_path.stat().st_size / 2**20,
                "unzipped": unzipped / 2**20,
                "warm": [s.ping_ms for s in warm[index]],
                "cold": [s.ping_ms for s in cold[index]] if cold else None,
                "invoke": [s.invoke_ms for s in warm[index]],
                "rss": [s.rss_kib / 1024 for s in warm[index]],
                "build": function.build_s,
                "api_warm": api_warm[index],
                "api_cold": api_cold[index] if api_cold else None,
            }
    _print(results, args)
    plain_warm = [s.ping_ms for s in warm[-1]]
    plain_cold = f"{percentile([s.ping_ms for s in cold[-1]], 0.5):.0f} ms" if cold else "n/a"
    print(
        f"reference: the same handler served by this machine's python3 without a bundle "
        f"({sys.executable}), in the same turns: exec to first Ping warm p50 "
        f"{percentile(plain_warm, 0.5):.0f} ms (spread {spread(plain_warm)}), "
        f"cold p50 {plain_cold}."
    )


def _unbundled_reference(work: Path) -> Path:
    """The bundle's entry run by the interpreter running this, to separate packaging costs."""
    task = work / "unbundled"
    task.mkdir()
    (task / "app.py").write_text(ECHO_HANDLER, encoding="utf-8")
    (task / "main").write_text(
        f"#!/bin/sh\nexec {sys.executable} -I -X utf8 -u -m lambda_legacy._bundle_main "
        "app.handler\n",
        encoding="utf-8",
    )
    (task / "main").chmod(0o755)
    return task


def _print(results: dict[str, dict[str, object]], args: argparse.Namespace) -> None:
    names = list(results)
    ours = results[names[0]]
    go = results[names[1]] if len(names) > 1 else None

    def median(result: dict[str, object] | None, key: str) -> float | None:
        if result is None or result[key] is None:
            return None
        value = result[key]
        if isinstance(value, float):
            return value
        assert isinstance(value, list)
        return percentile(value, 0.5)

    def samples(result: dict[str, object], key: str) -> list[float]:
        value = result[key]
        return value if isinstance(value, list) else []

    rows = []
    metrics = [
        ("zipped", "MiB", 1, GOAL_ZIPPED_MIB),
        ("unzipped", "MiB", 1, None),
        ("warm", "ms", 0, GOAL_PING_WARM_MS),
        ("cold", "ms", 0, GOAL_PING_COLD_MS),
        ("invoke", "ms", 1, None),
        ("rss", "MiB", 1, GOAL_RSS_MIB),
        ("build", "s", 1, GOAL_BUILD_S),
        ("api_warm", "ms", 0, None),
        ("api_cold", "ms", 0, None),
    ]
    labels = {
        "zipped": "zip size",
        "unzipped": "unzipped size",
        "warm": f"exec to first Ping, warm (p50 of {args.warm})",
        "cold": f"exec to first Ping, cold (p50 of {args.cold})",
        "invoke": "first invoke after Ping (p50)",
        "rss": "RSS after the first invoke (p50)",
        "build": "build (p50)",
        "api_warm": f"provided.al2: exec to first /next, warm (p50 of {args.warm})",
        "api_cold": f"provided.al2: exec to first /next, cold (p50 of {args.cold})",
    }
    for key, unit, digits, goal in metrics:
        mine, theirs = median(ours, key), median(go, key)
        ratio = f"{mine / theirs:.1f}x" if mine is not None and theirs else "n/a"
        met = "n/a" if goal is None or mine is None else ("yes" if mine <= goal else "NO")
        rows.append(
            [
                labels[key],
                _fmt(mine, unit, digits),
                _fmt(theirs, unit, digits),
                ratio,
                _fmt(goal, unit, digits) if goal is not None else "",
                met,
                spread(samples(ours, key)),
            ]
        )
    header = ["", names[0], names[1] if go else "Go (not built)", "ratio", "goal", "met", "spread"]
    print(format_table(header, rows))
    cold = "page cache dropped before each cold start" if ours["cold"] else "cold: not allowed"
    print(
        f"\nspread: worst distance from the median over the bundle's samples; {cold}; "
        f"{os.cpu_count()} cores shared with other work, expect ±20-30% noise."
    )


if __name__ == "__main__":
    main()
