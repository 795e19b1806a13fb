"""``lambda-legacy invoke`` at Lambda's payload limits, with empty events, and when told to stop.

Lambda refuses an event over 6 MiB before any function sees it, reports a response over
6 MiB + 100 bytes as ``Function.ResponseSizeTooLarge`` (the function stays up), and hands a
function ``{}`` for an invoke without a payload. A stop signal ends the function's process group
and the command with 128 + N, also while ``--events -`` waits for its next line; a reader of
stdout that goes away ends the command with status 1, without a traceback.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from cli_runner import CLI, HANG_LIMIT, ROOT, run_cli
from go_peer import gopeer
from process_checks import gone

PEERS = Path(__file__).resolve().parent / "peers"
PYTHON_OPTIONS = ["--init-timeout", "30", "--env", f"LAMBDA_TASK_ROOT={PEERS}"]
#: A signalled command must be gone well within this.
STOP_LIMIT_S = 20.0

MAX_REQUEST = 6 * 1024 * 1024
MAX_RESPONSE = MAX_REQUEST + 100


def _error(line: str) -> dict[str, object]:
    error = json.loads(line)
    assert isinstance(error, dict)
    return error


def test_an_empty_event_reaches_the_function_as_an_empty_object() -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    result = run_cli(["invoke", "--event", "-", "--", *go], stdin="")
    assert (result.returncode, result.stdout) == (0, "{}\n"), result.stderr


def _event_of(size: int) -> str:
    event = '{"s": "' + "x" * (size - 9) + '"}'
    assert len(event) == size
    return event


def test_an_event_over_6_mib_is_refused_and_nothing_is_started() -> None:
    # `false` would fail as Runtime.ExitError if it were started at all.
    result = run_cli(["invoke", "--event", "-", "--", "false"], stdin=_event_of(MAX_REQUEST + 1))
    assert result.returncode == 1
    assert result.stdout == ""
    assert _error(result.stderr.strip().splitlines()[-1]) == {
        "errorMessage": f"Request must be smaller than {MAX_REQUEST} bytes for the InvokeFunction "
        "operation",
        "errorType": "RequestEntityTooLargeException",
    }


def test_an_event_of_exactly_6_mib_is_sent() -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    event = _event_of(MAX_REQUEST)
    result = run_cli(["invoke", "--event", "-", "--", *go], stdin=event)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == event.replace(" ", "", 1) + "\n"  # Go compacts the JSON it echoes


def test_responses_over_the_limit_are_function_response_size_too_large() -> None:
    # 9 MB is past gob's default frame; 40 MB was past the service's old limit for replies.
    sizes = [MAX_RESPONSE, MAX_RESPONSE + 1, 9_000_000, 40_000_000, 10]
    events = "".join(json.dumps({"bytes": size}) + "\n" for size in sizes)
    result = run_cli(
        ["invoke", *PYTHON_OPTIONS, "--events", "-", "--", *CLI, "serve", "pyfunction.sized"],
        stdin=events,
    )
    assert result.returncode == 1, result.stderr
    first, second, third, fourth, fifth = result.stdout.splitlines()
    assert len(first) == MAX_RESPONSE
    for line, size in ((second, MAX_RESPONSE + 1), (third, 9_000_000), (fourth, 40_000_000)):
        assert _error(line) == {
            "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed "
            "payload size (6291556 bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
    assert fifth == '"' + "x" * 8 + '"'
    # One warm process served them all: only the first REPORT line has an Init Duration.
    assert len(re.findall(r"Init Duration", result.stderr)) == 1


def _stopped(process: subprocess.Popen[str], number: int) -> tuple[int, str]:
    """Send ``number``; the exit status and stderr. A command still running after
    :data:`STOP_LIMIT_S` is killed and fails the test (it would otherwise hang it)."""
    process.send_signal(number)
    try:
        status = process.wait(STOP_LIMIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"still running {STOP_LIMIT_S} s after signal {number}")
    _, err = process.communicate()
    return status, err


def _started_with_a_sleeping_function(
    *options: str, stdin: int | None = None
) -> tuple[subprocess.Popen[str], list[int]]:
    """``invoke`` with Go's script function sleeping in a 60 s invoke that spawned a child;
    the function's pid and its child's, from its ``pids`` line."""
    event = '{"action": "sleep", "ms": 60000, "spawn": true}'
    command = [*CLI, "invoke", "--timeout", "90", *options, "--event", event]
    process = subprocess.Popen(
        [*command, "--", str(gopeer()), "function", "--handler", "script"],
        cwd=ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("pids "), line
    return process, [int(pid) for pid in line.split()[1:]]


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_ends_the_function_and_exits_128_plus_n(number: signal.Signals) -> None:
    process, pids = _started_with_a_sleeping_function()
    with process:
        status, err = _stopped(process, number)
    assert status == 128 + number
    assert "Traceback" not in err, err
    deadline = time.monotonic() + STOP_LIMIT_S
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in pids)


def test_sigterm_ends_events_waiting_for_their_next_line() -> None:
    go = [str(gopeer()), "function", "--handler", "script"]
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [*CLI, "invoke", "--events", "-", "--", *go],
        cwd=ROOT,
        stdin=read_end,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(read_end)
    try:
        with process:
            os.write(write_end, b'{"action": "echo"}\n')
            assert process.stdout is not None
            assert process.stdout.readline() == '{"action":"echo"}\n'
            # stdin stays open: the next line never comes
            status, err = _stopped(process, signal.SIGTERM)
    finally:
        os.close(write_end)
    assert status == 128 + signal.SIGTERM
    assert "Traceback" not in err, err


def test_a_reader_that_goes_away_ends_the_command_with_status_1() -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    events = b'{"line": "' + b"x" * 1000 + b'"}\n'
    read_end, write_end = os.pipe()
    with subprocess.Popen(
        [*CLI, "invoke", "--events", "-", "--", *go],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=write_end,
        stderr=subprocess.PIPE,
    ) as process:
        os.close(write_end)
        os.close(read_end)  # nobody reads stdout any more: the first write fails with EPIPE
        assert process.stdin is not None
        _, err = process.communicate(events * 200, timeout=HANG_LIMIT)
    assert process.returncode == 1
    assert b"Traceback" not in err, err.decode()[-2000:]


def _invoke_without_stdin(*args: str) -> subprocess.CompletedProcess[str]:
    """``lambda-legacy invoke ARGS`` with its standard input closed, not merely empty."""

    def close_stdin() -> None:
        os.close(0)

    return subprocess.run(
        [*CLI, "invoke", *args],
        cwd=ROOT,
        preexec_fn=close_stdin,
        capture_output=True,
        text=True,
        timeout=HANG_LIMIT,
        check=False,
    )


def test_events_from_a_file_need_no_stdin(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"a": 1}\n{"b": 2}', encoding="utf-8")  # the last line has no newline
    go = [str(gopeer()), "function", "--handler", "echo"]
    result = _invoke_without_stdin("--events", str(events), "--", *go)
    assert (result.returncode, result.stdout) == (0, '{"a":1}\n{"b":2}\n'), result.stderr


@pytest.mark.parametrize("option", ["--event", "--events"])
def test_reading_a_closed_stdin_is_a_usage_error(option: str) -> None:
    result = _invoke_without_stdin(option, "-", "--", "true")
    assert result.returncode == 2
    assert result.stderr == "lambda-legacy invoke: [Errno 9] Bad file descriptor\n"


#: What the pipe must hold before the test below calls stdout full: the kernel's default pipe
#: buffer is 64 KiB, and each echoed event is 1 KB.
FULL_PIPE_BYTES = 60_000


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_command_while_nobody_reads_its_stdout(
    number: signal.Signals, tmp_path: Path
) -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    events = tmp_path / "events.jsonl"
    events.write_bytes((b'{"line": "' + b"x" * 1000 + b'"}\n') * 200)  # far more than a pipe holds
    read_end, write_end = os.pipe()
    try:
        with (
            tmp_path.joinpath("stderr").open("wb") as stderr,
            subprocess.Popen(
                [*CLI, "invoke", "--events", str(events), "--", *go],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=stderr,
            ) as process,
        ):
            os.close(write_end)
            deadline = time.monotonic() + HANG_LIMIT
            while _pipe_holds(read_end) < FULL_PIPE_BYTES and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _pipe_holds(read_end) >= FULL_PIPE_BYTES  # the command's writes now block
            process.send_signal(number)
            try:
                status = process.wait(STOP_LIMIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"still running {STOP_LIMIT_S} s after signal {number}")
    finally:
        os.close(read_end)
    err = tmp_path.joinpath("stderr").read_bytes()
    assert status == 128 + number
    assert b"Traceback" not in err, err.decode()[-2000:]


def _pipe_holds(read_end: int) -> int:
    """How many bytes wait in the pipe (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(read_end, termios.FIONREAD, b"\0\0\0\0"))[0]  # type: ignore[no-any-return]


def test_events_that_are_not_json_are_refused_unsent() -> None:
    # Lambda's Invoke API refuses them: the function never sees them, so no START/END/REPORT.
    go = [str(gopeer()), "function", "--handler", "echo"]
    events = b'{"n": 1}\nnot json\n{"n": NaN}\n"\xff"\n{"n": 2}\n'
    result = subprocess.run(
        [*CLI, "invoke", "--events", "-", "--", *go],
        cwd=ROOT,
        input=events,
        capture_output=True,
        timeout=HANG_LIMIT,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert [lines[0], lines[4]] == ['{"n":1}', '{"n":2}']
    for refused in lines[1:4]:
        error = json.loads(refused)
        assert error["errorType"] == "InvalidRequestContentException"
        assert error["errorMessage"].startswith(
            "Could not parse request body into json: Could not parse payload into json: "
        )
    starts = [line for line in result.stderr.decode().splitlines() if line.startswith("START")]
    assert len(starts) == 2


def test_an_event_with_an_integer_python_cannot_convert_is_still_json_and_sent() -> None:
    # 5,000 digits: past the limit of CPython's int(), which is no limit of JSON's.
    go = [str(gopeer()), "function", "--handler", "echo"]
    event = '{"n":' + "9" * 5000 + "}"
    result = run_cli(["invoke", "--event", "-", "--", *go], stdin=event)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == event + "\n"


def test_an_event_nested_deeper_than_python_parses_is_sent() -> None:
    # 5,000 levels: past the recursion limit of Python's json, within Go's 10,000.
    go = [str(gopeer()), "function", "--handler", "echo"]
    event = "[" * 5000 + "]" * 5000
    result = run_cli(["invoke", "--event", "-", "--", *go], stdin=event)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == event + "\n"


def test_an_event_of_only_blank_space_is_sent_as_an_empty_object() -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    result = run_cli(["invoke", "--event", "-", "--", *go], stdin=" \n\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "{}\n"


def test_an_event_that_is_neither_a_file_nor_json_says_so_before_the_refusal(
    tmp_path: Path,
) -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    missing = str(tmp_path / "evnet.json")  # a file name with a typo
    result = run_cli(["invoke", "--event", missing, "--", *go])
    assert result.returncode == 1
    assert f"no file {missing!r}: --event takes it as JSON text" in result.stderr
    refusal = json.loads(result.stderr.splitlines()[-1])  # a function error's place: stderr
    assert refusal["errorType"] == "InvalidRequestContentException"


def test_an_event_given_as_json_text_gets_no_file_hint() -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    result = run_cli(["invoke", "--event", '{"a": 1}', "--", *go])
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"a":1}\n'
    assert "no file" not in result.stderr
