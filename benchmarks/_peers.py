"""Shared pieces of the benchmarks that start and drive the Go peers and our servers.

``tools/bin/gopeer client`` is the go1.x service's stand-in in every RPC benchmark: its
``--cold-start`` mode times exec of a server to its first answered Ping, its ``--latency`` mode
times sequential invokes (see the comment at the top of ``tools/gopeer/client.go``). These
helpers start a server under it, read its JSON reports, and stop the server again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import attrs

from runtime._client import free_port

__all__ = [
    "COLD_START_RETRY",
    "GOPEER",
    "ROOT",
    "TOOLS",
    "WAIT",
    "Server",
    "build_go",
    "free_port",
    "go_version",
    "latency",
    "load_average",
    "payload_of",
    "server_environment",
    "start_cold",
    "stop",
]

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
GOPEER = TOOLS / "bin" / "gopeer"

#: How long a server may take to answer its first Ping, or the client to finish, in seconds.
WAIT = 60.0
#: The cold-start client's dial/ping retry interval: fine enough not to hide a fast server.
COLD_START_RETRY = "1ms"


@attrs.frozen
class Server:
    """How to start one go1.x server; ``env`` is added to the benchmark's environment."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]


def build_go(*packages: str) -> None:
    """``go build`` the named ``tools/`` packages (default ``./gopeer``) into ``tools/bin/``."""
    targets = list(packages) or ["./gopeer"]
    subprocess.run(["go", "build", "-o", "bin/", *targets], cwd=TOOLS, check=True)


def payload_of(size: int) -> bytes:
    """``{"data":"aaa..."}`` of exactly ``size`` bytes, as ``gopeer client --latency`` sends."""
    frame = len(b'{"data":""}')
    return b'{"data":"' + b"a" * (size - frame) + b'"}'


def go_version() -> str:
    result = subprocess.run(["go", "version"], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def python_environment() -> dict[str, str]:
    """The benchmark's environment minus the sandbox's no-pyc switch: a deployed function ships,
    or writes, compiled modules, and so does an installed CLI; the first start writes them."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def server_environment(server: Server, port: int) -> dict[str, str]:
    """:func:`python_environment` with the server's own variables and its port."""
    return {**python_environment(), **server.env, "_LAMBDA_SERVER_PORT": str(port)}


def start_cold(
    server: Server, cwd: Path | None = None
) -> tuple[subprocess.Popen[bytes], int, float]:
    """Exec ``server`` while the Go client dials: the process, its port, the cold start in us
    (from just before exec to the first answered Ping, both Unix ns, one clock)."""
    port = free_port()
    client = subprocess.Popen(
        [
            *(str(GOPEER), "client", "--port", str(port), "--cold-start"),
            *("--retry", COLD_START_RETRY, "--wait", f"{WAIT:.0f}s"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout is not None
    json.loads(client.stdout.readline())  # {"dialing_unix_ns": ...}: the client is running
    exec_ns = time.time_ns()
    process = subprocess.Popen(
        server.argv,
        env=server_environment(server, port),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    answered = client.stdout.readline()
    if client.wait(timeout=WAIT) != 0 or not answered:
        process.kill()
        raise RuntimeError(f"{server.name}: no Ping answered on port {port}")
    first_ping_ns: int = json.loads(answered)["first_ping_unix_ns"]
    return process, port, (first_ping_ns - exec_ns) / 1000


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (our server and aws-lambda-go's both end on it), then collect the process."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def latency(
    port: int, size: int, count: int, warmup: int, *, samples: bool = False
) -> dict[str, Any]:
    """``gopeer client --latency`` at one payload size: its JSON report (times in us; with
    ``samples``, each measured invoke's time too, as ``samples_us``)."""
    result = subprocess.run(
        [
            *(str(GOPEER), "client", "--port", str(port), "--latency"),
            *("--payload-bytes", str(size), "--count", str(count), "--warmup", str(warmup)),
            *("--wait", f"{WAIT:.0f}s"),
            *(("--samples",) if samples else ()),
        ],
        capture_output=True,
        text=True,
        timeout=WAIT * 10,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"gopeer client --latency failed: {result.stdout}{result.stderr}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report
