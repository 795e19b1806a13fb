"""``lambda-legacy replay TRANSCRIPT``: replay a recorded go1.x session and compare byte by byte.

With ``-- EXECUTABLE``, the function is started as the transcript's function was (its environment,
a free ``_LAMBDA_SERVER_PORT``, its own process group) and, if the recorded function exited by
itself, its exit status is compared too. Exit status 0: every reply matched; 1: a difference (the
message index, byte offset and both sides decoded are printed); 2: usage or start-up problems.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence

import attrs
import trio

from lambda_legacy._cli_args import positive_seconds, tcp_port
from lambda_legacy._replay import (
    REPLY_TIMEOUT_SECONDS,
    CallOutcome,
    Transcript,
    load_transcript,
    replay_connection,
)
from runtime._client import dial_function, free_port

__all__ = ["ReplayReport", "add_parser", "replay_transcript"]

#: How long a started function may take to listen, as the go1.x service's init timeout allows.
START_TIMEOUT_SECONDS = 10.0
#: How long a function that the transcript says exited by itself may take to do so.
EXIT_TIMEOUT_SECONDS = 5.0


@attrs.frozen
class ReplayReport:
    """Every call's outcome, and the exit statuses when the transcript recorded one."""

    outcomes: tuple[CallOutcome, ...]
    expected_exit: int | None = None
    actual_exit: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Whether everything matched."""
        return (
            not self.problem
            and all(o.ok for o in self.outcomes)
            and self.expected_exit == self.actual_exit
        )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``replay`` and its options."""
    replay = commands.add_parser(
        "replay", help="replay a recorded go1.x session against a function, byte by byte"
    )
    replay.add_argument("transcript", help="a transcript file, e.g. golden/transcripts/ping.json")
    replay.add_argument("--port", type=tcp_port, help="replay against a function listening here")
    replay.add_argument(
        "--reply-timeout",
        type=positive_seconds,
        default=REPLY_TIMEOUT_SECONDS,
        help=f"seconds to wait for each reply (default {REPLY_TIMEOUT_SECONDS:g})",
    )
    replay.add_argument("command", nargs="*", help="-- EXECUTABLE [ARGS...] to start")
    replay.set_defaults(run=run)


async def _dial(port: int, process: trio.Process | None) -> trio.SocketStream | str:
    """A connection to the function, or why there is none: nothing listened within
    :data:`START_TIMEOUT_SECONDS`, or the started command failed first (a non-zero status is
    said at once; one that exits 0 may have started the function in the background, so dialling
    goes on)."""
    exited: list[int] = []
    async with trio.open_nursery() as nursery:
        if process is not None:

            async def watch(process: trio.Process) -> None:
                status = await process.wait()
                exited.append(status)
                if status != 0:
                    nursery.cancel_scope.cancel()

            nursery.start_soon(watch, process)
        with trio.move_on_after(START_TIMEOUT_SECONDS):
            stream = await dial_function(port)
            nursery.cancel_scope.cancel()
            return stream
        nursery.cancel_scope.cancel()
    if exited and exited[0] != 0:
        return f"the function exited with status {exited[0]} before it accepted a connection"
    said = f" (the command exited with status {exited[0]})" if exited else ""
    return (
        f"nothing accepted a connection on 127.0.0.1:{port} within {START_TIMEOUT_SECONDS:g} s"
        + said
    )


async def _replay_all(
    transcript: Transcript, port: int, reply_timeout: float, process: trio.Process | None
) -> tuple[list[CallOutcome], str]:
    outcomes: list[CallOutcome] = []
    for number, script in enumerate(transcript.connections):
        stream = await _dial(port, process)
        if isinstance(stream, str):
            return outcomes, stream
        async with stream:
            done = await replay_connection(
                stream, number, script, transcript.language_dependent, reply_timeout
            )
        outcomes += done
        if not all(o.ok for o in done):
            break
    return outcomes, ""


async def replay_transcript(
    transcript: Transcript,
    *,
    port: int | None = None,
    command: Sequence[str] = (),
    reply_timeout: float = REPLY_TIMEOUT_SECONDS,
    extra_env: dict[str, str] | None = None,
) -> ReplayReport:
    """Replay ``transcript`` against a function on ``port``, or one started from ``command``.

    Raises:
        OSError: ``command`` could not be started (no such file, not executable).
    """
    if not command:
        assert port is not None
        outcomes, problem = await _replay_all(transcript, port, reply_timeout, None)
        return ReplayReport(tuple(outcomes), problem=problem)
    port = free_port()
    env = {**os.environ, **transcript.function_env, **(extra_env or {})}
    env["_LAMBDA_SERVER_PORT"] = str(port)
    process = await trio.lowlevel.open_process(
        list(command), env=env, stdout=sys.stderr.fileno(), start_new_session=True
    )
    try:
        outcomes, problem = await _replay_all(transcript, port, reply_timeout, process)
        actual_exit = None
        if transcript.function_exit_code is not None:
            with trio.move_on_after(EXIT_TIMEOUT_SECONDS):
                actual_exit = await process.wait()
    finally:
        # The whole group, even when the function itself has exited: what it started goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
            os.killpg(process.pid, signal.SIGKILL)
        with trio.CancelScope(shield=True):
            await process.wait()
    return ReplayReport(tuple(outcomes), transcript.function_exit_code, actual_exit, problem)


def _describe(outcome: CallOutcome) -> list[str]:
    lines = [
        f"connection {outcome.connection} call {outcome.call} ({outcome.service_method}): "
        f"replies differ at message {outcome.message}, byte offset {outcome.offset}"
        + (f" ({outcome.detail})" if outcome.detail else ""),
        f"  expected {len(outcome.expected)} bytes: {outcome.expected.hex()}",
        f"  actual   {len(outcome.actual)} bytes: {outcome.actual.hex()}",
    ]
    lines += [f"  expected decoded: {json.dumps(v)}" for v in outcome.expected_decoded]
    lines += [f"  actual decoded:   {json.dumps(v)}" for v in outcome.actual_decoded]
    return lines


def print_report(report: ReplayReport, transcript: Transcript) -> None:
    """Say how each call compared; differences go to stderr with both sides decoded."""
    for outcome in report.outcomes:
        where = f"connection {outcome.connection} call {outcome.call} ({outcome.service_method})"
        if outcome.verdict == "same bytes":
            print(f"{where}: same bytes")
        elif outcome.verdict == "same decoded":
            print(f"{where}: same when decoded, setting aside {outcome.detail}")
        else:
            for line in _describe(outcome):
                print(line, file=sys.stderr)
    if report.problem:
        print(f"replay: {report.problem}", file=sys.stderr)
    if report.expected_exit != report.actual_exit:
        print(
            f"replay: the function should have exited with status {report.expected_exit}, "
            f"got {report.actual_exit}",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    if not args.command and args.port is None:
        print("lambda-legacy replay: give --port P or -- EXECUTABLE [ARGS...]", file=sys.stderr)
        return 2
    try:
        transcript = load_transcript(args.transcript)
    except ValueError as exc:
        print(f"lambda-legacy replay: {exc}", file=sys.stderr)
        return 2
    try:
        report = trio.run(
            lambda: replay_transcript(
                transcript, port=args.port, command=args.command, reply_timeout=args.reply_timeout
            )
        )
    except OSError as exc:
        print(f"lambda-legacy replay: cannot start {args.command[0]}: {exc}", file=sys.stderr)
        return 2
    print_report(report, transcript)
    if not args.command and transcript.function_exit_code is not None:
        print(
            f"replay: the recorded function exited with status {transcript.function_exit_code}; "
            "with --port that is not checked (start it with -- EXECUTABLE to check it)",
            file=sys.stderr,
        )
    return 0 if report.ok else 1
