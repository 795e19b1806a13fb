"""Which HTTP client for the Runtime API: h11 on a blocking socket (Runtime API mode), h11 on
trio (the bridge), or httpx on trio.

``python3 -m benchmarks.runtime_api_client [--cycles N]`` starts a minimal Runtime API server in a
child process (it answers ``GET invocation/next`` at once with a fixed event and ``POST
.../response`` with 202, over keep-alive HTTP/1.1), then times one runtime cycle, ``/next`` plus
``/response``, with each client against it: a ~100-byte event and a 1 MiB one, in alternating
rounds. It prints per-cycle p50/p99 and cycles per second, and the spread over rounds.

The server is the same for every client, so its cost is in every row; only the differences
between the rows are the clients'. httpx is timed when it is installed (it is no dependency).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import h11
import trio

from benchmarks._report import format_table, percentile, spread
from runtime._client import free_port
from runtime._runtime_api_blocking import BlockingRuntimeApiClient
from runtime._runtime_api_client import RuntimeApiClient

SMALL_EVENT = (
    b'{"name": "go1.x", "id": 12345, "tags": ["a", "b", "c"], "nested": {"k": "v"}, "n": 1}'
)
LARGE_EVENT = b'"' + b"x" * (1024 * 1024 - 2) + b'"'
ROUNDS = 3


# --- the server (child process) --------------------------------------------------------------


async def _serve_connection(stream: trio.SocketStream, event: bytes) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=8 * 1024 * 1024)
    next_headers = [
        ("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
        ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 3_600_000)),
        ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f"),
        ("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(event))),
    ]
    accepted = [("Content-Type", "application/json"), ("Content-Length", "16")]
    while True:
        request: h11.Request | None = None
        while True:
            item = conn.next_event()
            if item is h11.NEED_DATA:
                data = await stream.receive_some(256 * 1024)
                conn.receive_data(data)
            elif isinstance(item, h11.Request):
                request = item
            elif isinstance(item, h11.EndOfMessage):
                break
            elif isinstance(item, h11.ConnectionClosed):
                return
        assert request is not None
        if request.method == b"GET":
            out = conn.send(h11.Response(status_code=200, headers=next_headers))
            out += conn.send(h11.Data(data=event)) + conn.send(h11.EndOfMessage())
        else:
            out = conn.send(h11.Response(status_code=202, headers=accepted))
            out += conn.send(h11.Data(data=b'{"status":"OK"}\n')) + conn.send(h11.EndOfMessage())
        await stream.send_all(out)
        conn.start_next_cycle()


async def _serve(port: int, size: str) -> None:
    listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
    event = LARGE_EVENT if size == "large" else SMALL_EVENT

    async def handle(stream: trio.SocketStream) -> None:
        await _serve_connection(stream, event)

    await trio.serve_listeners(handle, listeners)


# --- the clients -----------------------------------------------------------------------------


def _time_blocking(address: str, cycles: int) -> list[float]:
    client = BlockingRuntimeApiClient(address)
    client.next_invocation()  # connect outside the timed loop, as the others do
    samples = []
    try:
        for _ in range(cycles):
            start = time.perf_counter()
            invocation = client.next_invocation()
            client.post_response(invocation.request_id, invocation.body, "application/json")
            samples.append(time.perf_counter() - start)
    finally:
        client.close()
    return samples


async def _time_trio(address: str, cycles: int) -> list[float]:
    client = RuntimeApiClient(address)
    await client.next_invocation()  # connect outside the timed loop, as httpx's warm-up does
    samples = []
    try:
        for _ in range(cycles):
            start = time.perf_counter()
            invocation = await client.next_invocation()
            await client.post_response(invocation.request_id, invocation.body, "application/json")
            samples.append(time.perf_counter() - start)
    finally:
        await client.aclose()
    return samples


async def _time_httpx(address: str, cycles: int) -> list[float]:
    # Imported by name: httpx is not a project dependency, only this comparison needs it.
    httpx = importlib.import_module("httpx")
    samples = []
    base = f"http://{address}/2018-06-01/runtime"
    async with httpx.AsyncClient() as client:
        await client.get(f"{base}/invocation/next")
        for _ in range(cycles):
            start = time.perf_counter()
            response = await client.get(f"{base}/invocation/next")
            request_id = response.headers["lambda-runtime-aws-request-id"]
            posted = await client.post(
                f"{base}/invocation/{request_id}/response",
                content=response.content,
                headers={"Content-Type": "application/json"},
            )
            assert posted.status_code == 202
            samples.append(time.perf_counter() - start)
    return samples


Timer = Callable[[str, int], list[float]]


def _on_trio(timer: Callable[[str, int], Awaitable[list[float]]]) -> Timer:
    return lambda address, cycles: trio.run(timer, address, cycles)


CLIENTS: dict[str, Timer] = {
    "h11, blocking (Runtime API mode)": _time_blocking,
    "h11 on trio (bridge)": _on_trio(_time_trio),
}
if importlib.util.find_spec("httpx") is not None:
    CLIENTS["httpx on trio"] = _on_trio(_time_httpx)


def _start_server(size: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.runtime_api_client", "--serve", str(port), size]
    server = subprocess.Popen(command)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return server, f"127.0.0.1:{port}"


def _row(size: str, name: str, rounds: list[list[float]]) -> list[object]:
    p50s = [percentile(r, 0.5) * 1e6 for r in rounds]
    p99s = [percentile(r, 0.99) * 1e6 for r in rounds]
    rates = [len(r) / math.fsum(r) for r in rounds]
    return [
        size,
        name,
        f"{statistics.median(p50s):.0f}",
        f"{statistics.median(p99s):.0f}",
        f"{statistics.median(rates):.0f}",
        spread(p50s),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000, help="small-event cycles per round")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        trio.run(_serve, int(args.serve[0]), args.serve[1])
        return
    rows = []
    for size, cycles in (("small", args.cycles), ("large", max(20, args.cycles // 40))):
        server, address = _start_server(size)
        try:
            results: dict[str, list[list[float]]] = {name: [] for name in CLIENTS}
            for _ in range(ROUNDS):  # alternate clients, so drift hits both
                for name, timer in CLIENTS.items():
                    results[name].append(timer(address, cycles))
        finally:
            server.terminate()
            server.wait()
        rows += [_row(size, name, rounds) for name, rounds in results.items()]
    header = ["event", "client", "p50 µs", "p99 µs", "cycles/s", "p50 spread"]
    print(format_table(header, rows))
    print(f"{ROUNDS} alternating rounds per client; medians over rounds; spread = worst round")


if __name__ == "__main__":
    main()
