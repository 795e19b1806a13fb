"""Replay every golden transcript against the Go function that made it and against our server.

The Go function must give back its own bytes (a check of the replay tool and of the goldens'
stability); our server, serving the Python mirrors of the Go handlers, must give the same bytes
except where a transcript marks a part language dependent, and those parts must match decoded.
A proxy that changes one byte of the server's answer must make the replay fail at that byte.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from cli_runner import run_cli
from go_peer import go_function_listening, gopeer
from golden_json import TRANSCRIPTS
from process_checks import gone

from lambda_legacy import cli
from lambda_legacy._cmd_replay import ReplayReport, replay_transcript
from lambda_legacy._replay import (
    CallOutcome,
    Transcript,
    compare_reply,
    load_transcript,
    replay_connection,
)
from runtime._client import dial_function, free_port

MIRRORS = Path(__file__).resolve().parent
ROOT = MIRRORS.parent.parent
CLI = [sys.executable, "-m", "lambda_legacy"]
NAMES = sorted(p.stem for p in TRANSCRIPTS)
TRANSCRIPTS_DIR = ROOT / "golden" / "transcripts"


def _transcript(name: str) -> Transcript:
    return load_transcript(ROOT / "golden" / "transcripts" / f"{name}.json")


def _our_server(handler: str) -> list[str]:
    """``lambda-legacy serve`` with Go >= 1.21's type ids, as the goldens were made with Go 1.26."""
    return [*CLI, "serve", "--gob-first-id", "64", f"go_mirror.{handler}"]


def _check(report: ReplayReport, transcript: Transcript) -> None:
    assert report.ok, report
    calls = sum(len(c.calls) for c in transcript.connections)
    assert len(report.outcomes) == calls
    for outcome in report.outcomes:
        if outcome.verdict == "same decoded":
            assert transcript.language_dependent, outcome
        else:
            assert outcome.verdict == "same bytes", outcome


@pytest.mark.parametrize("name", NAMES)
async def test_the_go_function_gives_back_its_own_bytes(name: str) -> None:
    transcript = _transcript(name)
    command = [str(gopeer()), "function", "--handler", transcript.handler]
    report = await replay_transcript(transcript, command=command)
    # Only the parts marked language dependent may differ: panic frames carry Go line numbers of
    # tools/gopeer/function.go, which move when that file changes.
    _check(report, transcript)


@pytest.mark.parametrize("name", NAMES)
async def test_our_server_gives_the_go_bytes(name: str) -> None:
    transcript = _transcript(name)
    report = await replay_transcript(
        transcript,
        command=_our_server(transcript.handler),
        extra_env={"LAMBDA_TASK_ROOT": str(MIRRORS)},
    )
    _check(report, transcript)


async def _one_byte_off_proxy(
    listener: trio.SocketListener, upstream_port: int, flip_at: int
) -> None:
    """Forward one connection to ``upstream_port``, flipping the server's byte at ``flip_at``."""
    client = await listener.accept()
    with trio.fail_after(10):  # the function may still be starting
        server = await dial_function(upstream_port)
    seen = 0

    async def upstream() -> None:
        while data := await client.receive_some(65536):
            await server.send_all(data)

    async def downstream() -> None:
        nonlocal seen
        while data := await server.receive_some(65536):
            chunk = bytearray(data)
            if seen <= flip_at < seen + len(chunk):
                chunk[flip_at - seen] ^= 0x01
            seen += len(chunk)
            await client.send_all(bytes(chunk))

    async with client, server, trio.open_nursery() as nursery:
        nursery.start_soon(upstream)
        nursery.start_soon(downstream)


async def test_a_one_byte_difference_is_reported_at_its_offset() -> None:
    transcript = _transcript("invoke_ok")
    invoke = transcript.connections[0].calls[1]
    flip_at = invoke.reply_offset + len(invoke.reply) - 5  # inside the echoed payload
    function_port = free_port()
    env = {**transcript.function_env, "_LAMBDA_SERVER_PORT": str(function_port)}
    process = await trio.lowlevel.open_process(
        [str(gopeer()), "function", "--handler", "echo"], env=env
    )
    try:
        listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        proxy_port = listener.socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_one_byte_off_proxy, listener, function_port, flip_at)
            report = await replay_transcript(transcript, port=proxy_port, reply_timeout=2)
            nursery.cancel_scope.cancel()
    finally:
        process.kill()
        await process.wait()
    assert not report.ok
    assert [o.verdict for o in report.outcomes] == ["same bytes", "different"]
    different = report.outcomes[1]
    assert different.offset == flip_at
    # Server messages: Ping's reply is 0 Response def, 1 header, 2 PingResponse def, 3 body;
    # Invoke's is 4 header, 5-8 the InvokeResponse defs, 9 the body holding the payload.
    assert different.message == 9
    want = [r for r in different.expected_decoded if r["kind"] == "value"]
    got = [r for r in different.actual_decoded if r["kind"] == "value"]
    assert [r["rpc"] for r in want] == [r["rpc"] for r in got] == ["header", "body"]
    assert want[0] == got[0]  # the same header
    assert want[1]["value"] != got[1]["value"]  # the body holds the changed byte


def test_the_cli_names_the_offset_and_exits_1() -> None:
    # The transcript was made with the "error" handler; "echo" answers the Invoke differently.
    echo = [str(gopeer()), "function", "--handler", "echo"]
    bad = subprocess.run(
        [*CLI, "replay", str(ROOT / "golden/transcripts/handler_error.json"), "--", *echo],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert bad.returncode == 1, bad.stderr
    assert "call 1 (Function.Invoke): replies differ at message" in bad.stderr
    assert "expected decoded:" in bad.stderr
    assert "actual decoded:" in bad.stderr


def test_the_cli_refuses_a_file_that_is_not_a_transcript(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"scenario": 1}')
    result = subprocess.run(
        [*CLI, "replay", str(junk), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "not a go1.x transcript" in result.stderr


# --- what "the same" takes in: the close, the bytes after the last reply, type definitions -----


async def _answer_as_recorded(
    stream: trio.abc.Stream,
    transcript: Transcript,
    *,
    change: Callable[[bytes], bytes] = lambda reply: reply,
    then: bytes = b"",
) -> None:
    """Answer each call of the transcript's first connection with its recorded reply, passed
    through ``change``; after the last, send ``then`` and keep the connection open."""
    for call in transcript.connections[0].calls:
        wanted = len(call.request)
        while wanted:
            wanted -= len(await stream.receive_some(wanted))
        await stream.send_all(change(call.reply))
    await trio.sleep(0.01)
    if then:
        await stream.send_all(then)
    await trio.sleep_forever()


async def _replay_against(
    name: str, change: Callable[[bytes], bytes] = lambda r: r, then: bytes = b""
) -> list[CallOutcome]:
    transcript = _transcript(name)
    ours, theirs = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            functools.partial(_answer_as_recorded, theirs, transcript, change=change, then=then)
        )
        outcomes = await replay_connection(
            ours, 0, transcript.connections[0], transcript.language_dependent, reply_timeout=0.5
        )
        nursery.cancel_scope.cancel()
    return outcomes


async def test_a_connection_go_closed_that_stays_open_differs() -> None:
    outcomes = await _replay_against("header_decode_error")
    assert [o.verdict for o in outcomes] == ["same bytes", "different"]
    assert "did not close the connection" in outcomes[-1].detail


async def test_bytes_after_the_last_reply_differ() -> None:
    ping = _transcript("ping").connections[0].calls[0].reply
    outcomes = await _replay_against("ping", then=ping)
    assert [o.verdict for o in outcomes] == ["different"]
    assert outcomes[0].detail == "bytes after the last reply"
    assert outcomes[0].actual == ping + ping


async def test_compared_decoded_the_type_definitions_must_be_the_same_too() -> None:
    # handler_error's stack frames are language dependent; a renamed type is not.
    def rename(reply: bytes) -> bytes:
        return reply.replace(b"Error_StackFrame", b"Error_StackFramX")

    outcomes = await _replay_against("handler_error", change=rename)
    assert [o.verdict for o in outcomes] == ["same bytes", "different"]


async def test_a_difference_report_shows_the_language_dependent_fields_as_they_came() -> None:
    def other_message(reply: bytes) -> bytes:
        return reply.replace(b"boom", b"bang")

    outcomes = await _replay_against("handler_error", change=other_message)
    assert outcomes[-1].verdict == "different"
    bodies = [r for r in outcomes[-1].expected_decoded if r.get("rpc") == "body"]
    assert "not compared" not in json.dumps(bodies)
    assert "StackTrace" in json.dumps(bodies)


async def test_a_server_that_never_reads_the_request_fails_at_the_reply_timeout() -> None:
    transcript = _transcript("invoke_ok")
    ours, _never_read = trio.testing.lockstep_stream_pair()  # a send waits for the reader
    with trio.fail_after(5):
        outcomes = await replay_connection(
            ours, 0, transcript.connections[0], transcript.language_dependent, reply_timeout=0.2
        )
    assert [o.verdict for o in outcomes] == ["different"]
    assert "did not take the request within 0.2 s" in outcomes[0].detail


# --- the command line: options anywhere before "--", start-up problems said plainly ------------


def test_options_may_follow_the_transcript_before_the_command() -> None:
    go = [str(gopeer()), "function", "--handler", "echo"]
    result = run_cli(
        ["replay", str(TRANSCRIPTS_DIR / "ping.json"), "--reply-timeout", "3", "--", *go]
    )
    assert result.returncode == 0, result.stderr
    assert "call 0 (Function.Ping): same bytes" in result.stdout


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--", "/nonexistent/function"], "cannot start /nonexistent/function: [Errno 2]"),
        (["--reply-timeout", "-1", "--", "true"], "must be a positive number of seconds"),
        (["--reply-timeout", "nan", "--", "true"], "must be a positive number of seconds"),
        (["--port", "70000"], "must be a TCP port from 1 to 65535"),
    ],
    ids=["no_such_executable", "negative_timeout", "nan_timeout", "port_out_of_range"],
)
def test_start_up_problems_exit_2_with_a_message(options: list[str], says: str) -> None:
    result = run_cli(["replay", str(TRANSCRIPTS_DIR / "ping.json"), *options])
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_a_function_that_exits_before_listening_is_reported_with_its_status() -> None:
    result = run_cli(["replay", str(TRANSCRIPTS_DIR / "ping.json"), "--", "sh", "-c", "exit 7"])
    assert result.returncode == 1
    assert "the function exited with status 7 before it accepted a connection" in result.stderr


def test_a_transcript_whose_environment_is_not_strings_is_refused(tmp_path: Path) -> None:
    raw = json.loads((TRANSCRIPTS_DIR / "ping.json").read_text())
    raw["function_env"] = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": 128}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    result = run_cli(["replay", str(bad), "--port", "1"])
    assert result.returncode == 2
    assert "function_env must map names to strings" in result.stderr


def test_what_the_function_started_goes_even_when_the_function_exited_by_itself(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    # The child's output goes elsewhere, so nothing but the group kill can end it.
    crash = (
        f"sleep 60 </dev/null >/dev/null 2>&1 & echo $! > {pid_file}; "
        f"exec {gopeer()} function --handler crash"
    )
    result = run_cli(["replay", str(TRANSCRIPTS_DIR / "crash.json"), "--", "sh", "-c", crash])
    assert result.returncode == 0, result.stderr
    left = int(pid_file.read_text())
    try:
        assert gone(left)
    finally:
        if not gone(left):
            os.kill(left, signal.SIGKILL)


@pytest.mark.parametrize(
    ("arguments", "parsed"),
    [
        (["replay", "t.json", "--reply-timeout", "1", "--", "fn", "--x"], ["fn", "--x"]),
        (["invoke", "--", "fn", "--", "y"], ["fn", "--", "y"]),
        (["bridge", "--init-timeout", "2", "--", "fn"], ["fn"]),
        (["serve", "--", "app.handler"], "app.handler"),  # "--": the end of the options
    ],
    ids=["replay", "invoke", "bridge", "serve"],
)
def test_the_command_line_after_dash_dash_belongs_to_the_function(
    arguments: list[str], parsed: object
) -> None:
    verb = arguments[0]
    args = cli.parse_arguments(cli._parser([verb]), arguments)
    assert (args.handler if verb == "serve" else args.command) == parsed


def test_dash_dash_as_an_option_s_value_is_refused_plainly() -> None:
    result = run_cli(["invoke", "--event=--", "--port", "1"])
    assert result.returncode == 2
    assert "--event=--: '--' is no value for an option" in result.stderr
    assert "Traceback" not in result.stderr


def test_bridge_needs_a_command() -> None:
    bridge = run_cli(["bridge"])
    assert bridge.returncode == 2
    assert "give -- EXECUTABLE" in bridge.stderr


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda raw: raw.update(connections=[]), "no connections"),
        (lambda raw: raw["connections"][0].update(calls=[]), "a connection with no calls"),
        (
            lambda raw: raw["connections"][0]["calls"][0].update(server_bytes=[0, 10**6]),
            "server_bytes [0, 1000000] is not a range within the",
        ),
    ],
    ids=["no_connections", "no_calls", "reply_out_of_range"],
)
def test_a_transcript_that_cannot_be_replayed_is_refused(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], says: str
) -> None:
    raw = json.loads((TRANSCRIPTS_DIR / "ping.json").read_text())
    change(raw)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"not a go1\.x transcript") as refused:
        load_transcript(bad)
    assert says in str(refused.value)


def test_port_mode_says_that_a_recorded_exit_status_is_not_checked() -> None:
    with go_function_listening("crash") as port:
        result = run_cli(["replay", str(TRANSCRIPTS_DIR / "crash.json"), "--port", str(port)])
    assert result.returncode == 0, result.stderr
    assert "exited with status 3; with --port that is not checked" in result.stderr


def test_a_launcher_that_starts_the_function_in_the_background_and_exits_0_is_fine(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    launcher = f"{gopeer()} function --handler echo </dev/null & echo $! > {pid_file}; exit 0"
    result = run_cli(["replay", str(TRANSCRIPTS_DIR / "ping.json"), "--", "sh", "-c", launcher])
    assert result.returncode == 0, result.stderr
    function = int(pid_file.read_text())
    try:
        assert gone(function)  # its process group went at the end
    finally:
        if not gone(function):
            os.kill(function, signal.SIGKILL)


def test_a_reply_cut_short_differs_where_it_ends() -> None:
    """A reply that is the recorded one cut short differs at the first byte it lacks."""
    connection = _transcript("ping").connections[0]
    call = connection.calls[0]
    cut = len(call.reply) // 2
    outcome = compare_reply(
        (0, 0),
        call,
        expected_stream=connection.server_to_client,
        actual_stream=call.reply[:cut],
        actual_start=0,
        language_dependent=(),
    )
    assert outcome.verdict == "different"
    assert outcome.offset == call.reply_offset + cut
