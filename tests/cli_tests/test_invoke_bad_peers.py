"""``lambda-legacy invoke`` against executables that are bad go1.x functions (peers/bad_peer.py).

Each must end with a sentence saying what went wrong, the error JSON as the last stderr line, exit
status 1, and the process killed; none may wait past its timeouts.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli
from process_checks import gone

BAD_PEER = Path(__file__).resolve().parent / "peers" / "bad_peer.py"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["invoke", *args])


def invoke_bad_peer(mode: str, *options: str) -> tuple[str, dict[str, object], int]:
    """Run ``bad_peer.py MODE``; returns the explanation line, the error JSON and the peer's pid."""
    result = invoke(*options, "--", sys.executable, str(BAD_PEER), mode)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    error = json.loads(lines[-1])
    explanation = lines[-2]
    assert explanation.startswith("lambda-legacy invoke: ")
    pid = re.search(r"^pid (\d+)$", result.stderr, re.MULTILINE)
    assert pid is not None, result.stderr
    return explanation, error, int(pid[1])


@pytest.mark.parametrize(
    ("mode", "stage"),
    [
        ("nolisten", r"nothing accepted a connection on 127\.0\.0\.1:\d+"),
        ("silent", r"the function accepted a connection on 127\.0\.0\.1:\d+ but never answered"),
    ],
)
def test_a_function_that_never_gets_ready_times_out_in_init(mode: str, stage: str) -> None:
    explanation, error, pid = invoke_bad_peer(mode, "--init-timeout", "0.5")
    assert re.fullmatch(
        rf"lambda-legacy invoke: {stage}( Ping)? within the init timeout of 0\.50 s", explanation
    )
    assert error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        rf"RequestId: {UUID} Error: Task timed out after 0\.50 seconds", str(error["errorMessage"])
    )
    assert gone(pid)


def test_bytes_that_are_not_gob_fail_at_once_with_the_decoder_error() -> None:
    # The init timeout is far away: the failure must not wait for it.
    explanation, error, pid = invoke_bad_peer("garbage", "--init-timeout", "60")
    assert "broke the net/rpc conversation during Function.Ping" in explanation
    assert "errorType" not in error
    assert re.fullmatch(
        rf"RequestId: {UUID} Error: gob: encoded unsigned integer out of range.*",
        str(error["errorMessage"]),
    )
    assert gone(pid)


def test_a_connection_closed_mid_reply_is_reported_and_the_process_killed() -> None:
    explanation, error, pid = invoke_bad_peer("hangup", "--timeout", "60")
    assert explanation == (
        "lambda-legacy invoke: the function broke the net/rpc conversation during "
        "Function.Invoke (reading body unexpected EOF); its process was still running, killed it"
    )
    assert list(error) == ["errorMessage"]  # no errorType: Lambda has no name for this
    assert re.fullmatch(
        rf"RequestId: {UUID} Error: reading body unexpected EOF", str(error["errorMessage"])
    )
    assert gone(pid)


def test_an_executable_that_does_not_exist_is_an_invalid_entrypoint() -> None:
    result = invoke("--", "/nonexistent/main")
    assert result.returncode == 1
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert re.fullmatch(
        rf"RequestId: {UUID} Error: fork/exec /nonexistent/main: no such file or directory",
        str(error["errorMessage"]),
    )


def test_a_command_not_on_path_is_worded_as_go_words_it() -> None:
    result = invoke("--", "no-such-lambda-legacy-command")
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["errorMessage"].endswith(
        'Error: exec: "no-such-lambda-legacy-command": executable file not found in $PATH'
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--port", "1", "--", "true"], "give --port P or -- EXECUTABLE"),
        ([], "give --port P or -- EXECUTABLE"),
        (["--env", "NOEQUALS", "--", "true"], "--env wants NAME=VALUE"),
        (["--timeout", "0", "--", "true"], "argument --timeout: must be a positive number"),
        (["--timeout", "nan", "--", "true"], "argument --timeout: must be a positive number"),
        (["--init-timeout", "-1", "--", "true"], "argument --init-timeout: must be a positive"),
        (["--timeout", "1e300", "--", "true"], "argument --timeout: must be at most 900 seconds"),
        (["--timeout", "901", "--", "true"], "argument --timeout: must be at most 900 seconds"),
        (["--memory", "-5", "--", "true"], "argument --memory: must be from 128 to 10240 MB"),
        (["--memory", "10241", "--", "true"], "argument --memory: must be from 128 to 10240 MB"),
        (["--memory", "1.5", "--", "true"], "argument --memory: must be a whole number"),
        (["--port", "70000"], "argument --port: must be a TCP port from 1 to 65535"),
        (["--port", "-1"], "argument --port: must be a TCP port from 1 to 65535"),
        (["--env", "_LAMBDA_SERVER_PORT=1", "--", "true"], "--env _LAMBDA_SERVER_PORT: set by"),
        (["--events", "/no/such/events.jsonl", "--", "true"], "No such file or directory"),
        (["--events", "/", "--", "true"], "Is a directory"),
        (["--event", "{}", "--events", "-", "--", "true"], "not allowed with argument"),
    ],
)
def test_usage_errors_exit_2(args: list[str], complaint: str) -> None:
    result = invoke(*args)
    assert result.returncode == 2
    assert complaint in result.stderr


def test_a_port_nobody_listens_on_times_out_in_init() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        result = invoke("--port", str(port), "--init-timeout", "0.3")
    assert result.returncode == 1
    assert f"nothing accepted a connection on 127.0.0.1:{port}" in result.stderr
    assert json.loads(result.stderr.splitlines()[-1])["errorType"] == "Sandbox.Timedout"
