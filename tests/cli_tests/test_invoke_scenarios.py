"""``lambda-legacy invoke`` as the go1.x service, against a real Go function and our own server.

Every scenario runs twice: against ``gopeer function --handler script|context`` (aws-lambda-go
v1.54.0 in RPC mode) and against ``lambda-legacy serve`` with the Python twins of those handlers
(``peers/pyfunction.py``). What the caller sees must be the same, stack frames apart.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest
from cli_runner import CLI, HANG_LIMIT, ROOT, run_cli
from go_peer import gopeer
from process_checks import gone

PEERS = Path(__file__).resolve().parent / "peers"
#: Far above what any invoke here needs; only a hang would reach it.
#: Cold starts of a Python server on a loaded 2-core machine took up to 8 s; none should fail here.
INIT_TIMEOUT = "30"

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REPORT = re.compile(
    rf"^REPORT RequestId: ({UUID})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?$"
)


@attrs.frozen
class Peer:
    """How to start one kind of function: a command per handler, plus invoke options."""

    kind: str
    go: Path | None

    def command(self, handler: str) -> list[str]:
        if self.go is not None:
            return [str(self.go), "function", "--handler", handler]
        return [*CLI, "serve", f"pyfunction.{handler}"]

    def options(self) -> list[str]:
        options = ["--init-timeout", INIT_TIMEOUT]
        return options if self.go is not None else [*options, "--env", f"LAMBDA_TASK_ROOT={PEERS}"]


@pytest.fixture(params=["go", "python"])
def peer(request: pytest.FixtureRequest) -> Peer:
    if request.param == "go":
        return Peer("go", gopeer())
    return Peer("python", None)


def invoke(
    peer: Peer, handler: str, *options: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(["invoke", *peer.options(), *options, "--", *peer.command(handler)], stdin=stdin)


def last_error(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert isinstance(error, dict)
    return error


def check_frames(frames: object) -> None:
    assert isinstance(frames, list)
    assert frames
    for frame in frames:
        assert set(frame) == {"path", "line", "label"}
        assert isinstance(frame["line"], int)


def test_echo_prints_the_payload_alone_on_stdout(peer: Peer) -> None:
    result = invoke(peer, "script", "--event", '{"action": "echo", "n": [1, 2]}')
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"action":"echo","n":[1,2]}\n'


def test_a_returned_error_goes_to_stderr_with_status_1(peer: Peer) -> None:
    result = invoke(peer, "script", "--event", '{"action": "error"}')
    assert result.returncode == 1
    assert result.stdout == ""
    error = last_error(result)
    assert error["errorMessage"] == "boom"
    assert error["errorType"] == "errorString"
    if peer.kind == "go":
        assert "stackTrace" not in error  # Go errors carry no frames; empty ones are left out


def test_a_panic_shows_its_frames_but_never_should_exit(peer: Peer) -> None:
    result = invoke(peer, "script", "--event", '{"action": "panic"}')
    assert result.returncode == 1
    error = last_error(result)
    assert list(error) == ["errorMessage", "errorType", "stackTrace"]
    assert (error["errorMessage"], error["errorType"]) == ("oops", "string")
    check_frames(error["stackTrace"])


def test_past_the_deadline_the_process_group_is_killed(peer: Peer) -> None:
    result = invoke(
        peer, "script", "--timeout", "0.5", "--event", '{"action":"sleep","ms":20000,"spawn":true}'
    )
    assert result.returncode == 1
    error = last_error(result)
    assert error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        rf"RequestId: {UUID} Error: Task timed out after 0\.50 seconds", str(error["errorMessage"])
    )
    pids = re.search(r"^pids (\d+) (\d+)$", result.stderr, re.MULTILINE)
    assert pids is not None, result.stderr
    leader, child = int(pids[1]), int(pids[2])
    assert child != 0
    assert gone(leader)
    assert gone(child)  # it was in the function's process group


def test_a_crash_is_a_runtime_exit_error_with_the_status(peer: Peer) -> None:
    result = invoke(peer, "script", "--event", '{"action": "crash", "code": 3}')
    assert result.returncode == 1
    error = last_error(result)
    assert error["errorType"] == "Runtime.ExitError"
    assert re.fullmatch(
        rf"RequestId: {UUID} Error: Runtime exited with error: exit status 3",
        str(error["errorMessage"]),
    )


def test_events_reuse_one_process_until_should_exit_or_a_crash(peer: Peer) -> None:
    actions = ["count", "count", "panic", "count", "crash", "count", "count"]
    lines = "".join(json.dumps({"action": a, "code": 5}) + "\n\n" for a in actions)
    result = invoke(peer, "script", "--events", "-", stdin=lines)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(actions)
    counts = [(o["pid"], o["invocations"]) for o in out if "pid" in o]
    first, second, third = counts[0][0], counts[2][0], counts[3][0]
    assert counts == [(first, 1), (first, 2), (second, 1), (third, 1), (third, 2)]
    assert len({first, second, third}) == 3  # fresh process after ShouldExit and after the crash
    assert out[2]["errorType"] == "string"
    assert out[4]["errorType"] == "Runtime.ExitError"
    reports = [REPORT.match(line) for line in result.stderr.splitlines() if "REPORT" in line]
    assert all(reports), result.stderr
    assert len(reports) == len(actions)
    cold = [m is not None and m[2] is not None for m in reports]
    assert cold == [True, False, False, True, False, True, False]
    starts = re.findall(rf"^START RequestId: ({UUID}) Version: \$LATEST$", result.stderr, re.M)
    assert starts == [m[1] for m in reports if m is not None]
    assert len(set(starts)) == len(actions)


def test_client_context_identity_and_function_settings_reach_the_handler(peer: Peer) -> None:
    client_context = {
        "client": {"installation_id": "i-1", "app_title": "T", "app_version_code": "7"},
        "env": {"platform": "x"},
        "custom": {"k": "v"},
    }
    before_ms = time.time_ns() // 1_000_000
    result = invoke(
        peer,
        "context",
        *("--name", "fn", "--memory", "256", "--timeout", "2"),
        *("--identity-id", "id-1", "--identity-pool-id", "pool-1"),
        *("--client-context", json.dumps(client_context)),
    )
    after_ms = time.time_ns() // 1_000_000
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert re.fullmatch(UUID, seen["request_id"])
    assert seen["invoked_function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert (seen["cognito_identity_id"], seen["cognito_identity_pool_id"]) == ("id-1", "pool-1")
    client = seen["client_context"]
    assert client["Client"]["installation_id"] == "i-1"
    assert client["Client"]["app_title"] == "T"
    assert (client["env"], client["custom"]) == ({"platform": "x"}, {"k": "v"})
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", seen["trace_id"]
    )
    assert before_ms + 2000 <= seen["deadline_ms"] + 1 <= after_ms + 2000 + 1
    assert (seen["function_name"], seen["function_version"]) == ("fn", "$LATEST")
    assert seen["memory_limit_in_mb"] == 256
    assert seen["log_group_name"] == "/aws/lambda/fn"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", seen["log_stream_name"])


def test_100_mb_on_the_function_stdout_goes_to_stderr(peer: Peer) -> None:
    size = 100_000_000
    event = json.dumps({"action": "stdout", "bytes": size})
    process = subprocess.Popen(
        [*CLI, "invoke", *peer.options(), "--event", event, "--", *peer.command("script")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    assert process.stdout is not None
    received = 0
    while chunk := process.stderr.read(1 << 20):
        received += len(chunk)
    assert process.wait(timeout=HANG_LIMIT) == 0
    assert process.stdout.read() == b'{"written":100000000}\n'
    assert received >= size


def test_port_mode_invokes_a_running_function_without_starting_one() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    function = subprocess.Popen(
        [str(gopeer()), "function", "--handler", "script"],
        env={**os.environ, "_LAMBDA_SERVER_PORT": str(port)},
    )
    try:
        lines = '{"action":"count"}\n{"action":"count"}\n'
        result = run_cli(["invoke", "--port", str(port), "--events", "-"], stdin=lines)
        assert result.returncode == 0, result.stderr
        counts = [json.loads(line) for line in result.stdout.splitlines()]
        assert counts == [
            {"pid": function.pid, "invocations": 1},
            {"pid": function.pid, "invocations": 2},
        ]
        reports = [line for line in result.stderr.splitlines() if line.startswith("REPORT")]
        assert len(reports) == 2
        # Not started by us: no init phase, and no process of ours to measure.
        assert not any("Init Duration" in r or "Max Memory Used" in r for r in reports)
        assert function.poll() is None  # still running: only functions we start are killed
    finally:
        function.kill()
        function.wait()


@contextmanager
def _invoking(event: str) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """``invoke`` of the Go script function, running ``event``; the pids the function reported
    (its own, and a child's if the event spawned one) once it has started on the event."""
    command = [str(gopeer()), "function", "--handler", "script"]
    with subprocess.Popen(
        [*CLI, "invoke", "--timeout", "120", "--event", event, "--", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        pids = re.fullmatch(r"pids (\d+) (\d+)\n", process.stderr.readline())
        assert pids is not None
        yield process, [int(pids[1]), int(pids[2])]


def test_sigterm_ends_the_function_before_the_command_exits() -> None:
    with _invoking('{"action": "sleep", "ms": 60000, "spawn": true}') as (process, pids):
        process.terminate()
        assert process.wait(timeout=HANG_LIMIT) == 128 + signal.SIGTERM
    assert all(gone(pid) for pid in pids)


def test_sigkill_of_the_command_still_ends_the_function_and_its_children() -> None:
    """SIGKILL cannot be caught; the kernel ends the function (its parent-death signal), and the
    watchdog beside it the rest of its process group (a child it started)."""
    with _invoking('{"action": "sleep", "ms": 60000, "spawn": true}') as (process, pids):
        process.kill()
        assert process.wait(timeout=HANG_LIMIT) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [gone(pid) for pid in pids] == [True, True]
