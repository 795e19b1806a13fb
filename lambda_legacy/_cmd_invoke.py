"""``lambda-legacy invoke``: play Lambda's go1.x service for one function on this machine.

With ``-- EXECUTABLE [ARGS...]`` the function is started in a process group of its own, in our
working directory (also ``LAMBDA_TASK_ROOT``), with our environment plus what a go1.x function
sees: ``_LAMBDA_SERVER_PORT`` (a free port), ``_HANDLER``, ``AWS_LAMBDA_FUNCTION_NAME``,
``_VERSION``, ``_MEMORY_SIZE``, ``AWS_LAMBDA_LOG_GROUP_NAME``, ``_LOG_STREAM_NAME``,
``AWS_REGION``, ``AWS_DEFAULT_REGION``, ``AWS_EXECUTION_ENV``, ``TZ=:UTC``, ``LANG``, then the
``--env`` variables. With ``--port`` a running function is invoked and nothing is started.

One event (``--event``; an empty one is sent as ``{}``, as Lambda sends an invoke without a
payload): the payload goes to stdout; on failure the error JSON the caller would
see goes to stderr as the last line, after a sentence saying what went wrong if the platform (not
the function) gave up. Exit status 0, or 1 for any failed invoke, 2 for bad usage.

What the platform reports: past ``--timeout`` the process group is killed and the error is
Sandbox.Timedout ``Task timed out after N.NN seconds``; a process that exits is
Runtime.ExitError ``Runtime exited with error: exit status N``; an executable that cannot be
started is Runtime.InvalidEntrypoint; a function that does not answer Ping within
``--init-timeout`` is killed and reported as timed out. After a crash, a timeout or a reply with
ShouldExit (an aws-lambda-go panic) the next event gets a fresh process.

Several events (``--events``, JSON lines): each is invoked in turn on one warm process, as Lambda
reuses an instance. stdout gets each event's answer followed by a newline: the payload as the
function wrote it (one line unless it holds newlines itself), or the error JSON for a failed
invoke. stderr gets Lambda's ``START``/``END``/``REPORT`` lines around each invoke (``Init
Duration`` on cold starts; ``Max Memory Used`` is the peak RSS, ``VmHWM``, of the process group
leader, left out when unknown, as for a function we did not start). Exit status 1 if any invoke
failed.

The function's own stdout and stderr always go to our stderr, so stdout stays clean for pipes.
SIGTERM, SIGHUP or SIGINT ends the function's process group and exits with 128 + the signal
number, also while ``--events -`` waits for its next line. A reader of stdout that goes away ends
the command with status 1 (the function is ended the same way).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator
from typing import TextIO

import attrs
import trio

from . import _service_errors as errors
from ._cli_args import function_timeout, memory_size, positive_seconds, tcp_port
from ._invocation import Invocation
from ._service import (
    DEFAULT_INIT_TIMEOUT,
    DEFAULT_MEMORY_SIZE,
    DEFAULT_TIMEOUT,
    SERVER_PORT_VARIABLE,
    FunctionConfiguration,
    FunctionService,
    InvokeOutcome,
    open_service,
)
from ._service_errors import timed_out_log_line

__all__ = ["add_parser", "report_line"]

_PROG = "lambda-legacy invoke"
#: Signals that end the command cleanly: the function's process group is killed first. (SIGKILL
#: leaves the function running, as it would leave any supervisor's children.)
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

#: Standard input's descriptor, read directly (``sys.stdin`` may be None when it is closed).
_STDIN = 0

#: The event of an invoke without one: Lambda hands such a function ``{}``.
_NO_EVENT = b"{}"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``invoke`` and its options."""
    invoke = commands.add_parser(
        "invoke",
        help="invoke a go1.x function as Lambda's go1.x service does",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    events = invoke.add_mutually_exclusive_group()
    events.add_argument(
        "--event", help="event: JSON text, a file name, or - for stdin (default {})"
    )
    events.add_argument(
        "--events", metavar="FILE", help="JSON lines, one event per line (- for stdin)"
    )
    invoke.add_argument(
        "--timeout",
        type=function_timeout,
        default=DEFAULT_TIMEOUT,
        help="seconds per invoke (default 3)",
    )
    invoke.add_argument(
        "--init-timeout",
        type=positive_seconds,
        default=DEFAULT_INIT_TIMEOUT,
        help="seconds from start until Function.Ping is answered (default 10)",
    )
    invoke.add_argument(
        "--memory",
        type=memory_size,
        default=DEFAULT_MEMORY_SIZE,
        help="memory size in MB (default 128)",
    )
    invoke.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="set a variable in the function's environment (repeatable)",
    )
    invoke.add_argument("--name", default="function", help="function name (default function)")
    invoke.add_argument("--client-context", metavar="JSON", help="the mobile client context")
    invoke.add_argument("--identity-id", default="", help="Cognito identity id")
    invoke.add_argument("--identity-pool-id", default="", help="Cognito identity pool id")
    invoke.add_argument("--port", type=tcp_port, help="invoke a function already listening here")
    invoke.add_argument("command", nargs="*", help="-- EXECUTABLE [ARGS...] to start")
    invoke.set_defaults(run=run)


def _usage(message: str) -> int:
    print(f"{_PROG}: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the verb; returns the exit status."""
    if bool(args.command) == (args.port is not None):
        return _usage("give --port P or -- EXECUTABLE [ARGS...], not both")
    environment: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            return _usage(f"--env wants NAME=VALUE, got {item!r}")
        if name == SERVER_PORT_VARIABLE:
            return _usage(f"--env {name}: set by invoke itself, to the port it dials")
        environment[name] = value
    configuration = FunctionConfiguration(
        function_name=args.name,
        memory_size=args.memory,
        timeout=args.timeout,
        init_timeout=args.init_timeout,
        environment=environment,
    )
    # Read before trio runs: a read that blocks there could not be interrupted by a signal.
    try:
        source = _events_source(args.events) if args.events is not None else _read_event(args.event)
    except OSError as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while the event is read from a terminal or a pipe
        return 128 + signal.SIGINT
    return trio.run(_main, args, configuration, source)


def _read_event(event: str | None) -> bytes:
    if event is None:
        return _NO_EVENT
    if event == "-":
        with open(_STDIN, "rb", closefd=False) as stdin:
            payload = stdin.read()
    elif os.path.isfile(event):
        with open(event, "rb") as f:
            payload = f.read()
    else:
        payload = event.encode()
        if payload.strip() and _json_error(payload) is not None:
            # Most likely a file name with a typo: say so before Lambda's refusal of the text.
            print(f"{_PROG}: no file {event!r}: --event takes it as JSON text", file=sys.stderr)
    return payload if payload.strip() else _NO_EVENT


@attrs.frozen
class _EventLines:
    """Where ``--events`` lines come from: a descriptor, and whether :func:`_lines` closes it."""

    fd: int
    owned: bool


def _events_source(name: str) -> _EventLines:
    """Raises OSError for a file that cannot be read (a directory included) or a closed stdin."""
    if name == "-":
        os.fstat(_STDIN)  # closed: EBADF now, not a traceback later
        return _EventLines(_STDIN, owned=False)
    fd = os.open(name, os.O_RDONLY)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
    return _EventLines(fd, owned=True)


def _invocation(args: argparse.Namespace, payload: bytes) -> Invocation:
    return Invocation(
        payload=payload,
        client_context=(args.client_context or "").encode(),
        cognito_identity_id=args.identity_id,
        cognito_identity_pool_id=args.identity_pool_id,
    )


#: How much of ``--events`` input one read takes: each read is a trip to a worker thread, and a
#: 6 MiB event (Lambda's limit) then takes six of them, not a hundred.
_READ_SIZE = 1 << 20


async def _lines(source: _EventLines) -> AsyncIterator[bytes]:
    """The non-blank lines read from ``fd``.

    Each read runs in a thread that a signal's cancel abandons, on the bare descriptor: a thread
    left blocked inside ``sys.stdin.buffer`` would hold its lock and abort the interpreter's
    shutdown.
    """
    fd = source.fd
    pending = bytearray()
    try:
        while chunk := await trio.to_thread.run_sync(
            os.read, fd, _READ_SIZE, abandon_on_cancel=True
        ):
            start = len(pending)
            pending += chunk
            end = pending.find(b"\n", start)
            while end >= 0:
                with memoryview(pending) as whole, whole[:end] as head:
                    line = bytes(head).rstrip(b"\r")  # one copy of a line that may be 6 MiB
                del pending[: end + 1]
                if line.strip():
                    yield line
                end = pending.find(b"\n")
        if pending.strip():
            yield bytes(pending).rstrip(b"\r")
    finally:
        if source.owned:
            os.close(fd)


async def _main(
    args: argparse.Namespace, configuration: FunctionConfiguration, source: bytes | _EventLines
) -> int:
    """Invoke, unless a stop signal comes first: then end the function and exit 128 + N."""
    status: list[int] = []
    with trio.open_signal_receiver(*_STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:

            async def invoke() -> None:
                try:
                    status.append(await _invoke_all(args, configuration, source))
                except* BrokenPipeError:  # alone, or beside a Cancelled from a stop signal
                    # Whoever read stdout went away (``| head -1``): stop, without a traceback
                    # now or a second failed flush at exit.
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                    status.append(1)
                nursery.cancel_scope.cancel()

            async def stop() -> None:
                async for number in signals:
                    status.append(128 + number)
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(invoke)
            nursery.start_soon(stop)
    return status[0]


async def _invoke_all(
    args: argparse.Namespace, configuration: FunctionConfiguration, source: bytes | _EventLines
) -> int:
    async with open_service(configuration, command=args.command, port=args.port) as service:
        if isinstance(source, bytes):
            return await _invoke_one(service, _invocation(args, source))
        status = 0
        async for line in _lines(source):
            if not await _invoke_logged(service, _invocation(args, line)):
                status = 1
        return status


async def _write_stdout(data: bytes) -> None:
    await _write_out((sys.stdout, (data, b"\n")))


async def _log(*lines: str) -> None:
    await _write_out((sys.stderr, (_log_text(*lines),)))


def _log_text(*lines: str) -> bytes:
    """``lines`` as stderr gets them: written at once, as the function's own output shares stderr
    and must not land inside a line."""
    return "".join(f"{line}\n" for line in lines).encode("utf-8", "backslashreplace")


async def _write_out(*writes: tuple[TextIO, tuple[bytes, ...]]) -> None:
    """Write each stream's pieces, in turn, to its descriptor, all from one trip to a worker
    thread (a trip costs a thread wake-up each way, a few hundred microseconds here: an event's
    lines after its invoke and its payload take one). stdout is ours alone: a payload and its
    newline go without copying the payload to join them. A reader that stops reading (a full
    pipe) then blocks that thread, not trio's: a stop signal still ends the command, and the
    write is abandoned."""
    for stream, _ in writes:
        stream.flush()  # what print() left in its buffer goes first
    targets = tuple((stream.fileno(), pieces) for stream, pieces in writes)
    await trio.to_thread.run_sync(_write_all, targets, abandon_on_cancel=True)


def _write_all(targets: tuple[tuple[int, tuple[bytes, ...]], ...]) -> None:
    for fd, pieces in targets:
        for piece in pieces:
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view) :]


def _refusal(invocation: Invocation) -> InvokeOutcome | None:
    """Why Lambda's Invoke API would refuse the event before any function saw it (over 6 MiB,
    or not JSON), or None."""
    payload = invocation.payload
    if len(payload) > errors.MAX_REQUEST_PAYLOAD:
        error, detail = errors.request_too_large(), f"the event is {len(payload)} bytes"
    else:
        json_error = _json_error(payload)
        if json_error is None:
            return None
        error, detail = errors.invalid_request_content(json_error), "the event is not JSON"
    return InvokeOutcome(request_id=invocation.request_id, error=error, detail=detail)


def _json_error(payload: bytes) -> str | None:
    """Why ``payload`` is not JSON as Lambda reads it (UTF-8, no NaN), or None if it is."""
    try:
        # Integers are kept as text: their syntax is checked all the same, and an integer of
        # more than 4,300 digits is JSON (Python's int() refuses to convert one).
        json.loads(payload, parse_constant=_not_json_constant, parse_int=str)
    except ValueError as exc:  # UnicodeDecodeError too: not UTF-8
        return str(exc)
    except RecursionError:
        # Nested deeper than Python's parser goes (about 1,000 levels): not known to be refused,
        # so it is sent, and the function decides (Go's decoder takes 10,000 levels).
        return None
    return None


def _not_json_constant(name: str) -> object:
    """Python reads ``NaN`` and ``Infinity``; JSON, and Lambda, do not."""
    raise ValueError(f"{name} is not JSON")


async def _invoke_one(service: FunctionService, invocation: Invocation) -> int:
    outcome = _refusal(invocation) or await service.invoke(invocation)
    if outcome.error is None:
        await _write_stdout(outcome.payload or b"")
        return 0
    detail = [f"{_PROG}: {outcome.detail}"] if outcome.detail else []
    await _log(*detail, outcome.error.to_json())
    return 1


async def _invoke_logged(service: FunctionService, invocation: Invocation) -> bool:
    refused = _refusal(invocation)
    if refused is not None:  # no function saw it: no START, END or REPORT line
        assert refused.error is not None
        answer = refused.error.to_json().encode()
        await _write_out(
            (sys.stderr, (_log_text(f"{_PROG}: {refused.detail}"),)), (sys.stdout, (answer, b"\n"))
        )
        return False
    await _log(f"START RequestId: {invocation.request_id} Version: {service.configuration.version}")
    outcome = await service.invoke(invocation)
    lines = [f"{_PROG}: {outcome.detail}"] if outcome.detail else []
    lines += [f"END RequestId: {outcome.request_id}", report_line(outcome, service.configuration)]
    if outcome.timed_out:
        lines.append(timed_out_log_line(outcome.request_id, outcome.duration))
    error = outcome.error
    answer = (outcome.payload or b"") if error is None else error.to_json().encode()
    await _write_out((sys.stderr, (_log_text(*lines),)), (sys.stdout, (answer, b"\n")))
    return error is None


def report_line(outcome: InvokeOutcome, configuration: FunctionConfiguration) -> str:
    """Lambda's ``REPORT`` line for one invoke, tab-separated as Lambda writes it.

    Billed Duration is the duration rounded up to the millisecond (Lambda's billing since
    December 2020), never more than the timeout; Init Duration appears on cold starts only.
    """
    duration_ms = outcome.duration * 1000
    billed_ms = min(math.ceil(duration_ms), math.ceil(configuration.timeout * 1000))
    fields = [
        f"REPORT RequestId: {outcome.request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {configuration.memory_size} MB",
    ]
    if outcome.max_memory_kib is not None:
        fields.append(f"Max Memory Used: {math.ceil(outcome.max_memory_kib / 1024)} MB")
    if outcome.init_duration is not None:
        fields.append(f"Init Duration: {outcome.init_duration * 1000:.2f} ms")
    return "\t".join(fields) + "\t"
