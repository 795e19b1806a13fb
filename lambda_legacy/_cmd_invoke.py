"""``lambda-legacy invoke``: invoke a go1.x function once, as Lambda's go1.x service does."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
import uuid

import trio

from runtime._client import connect_function
from runtime._messages import InvokeRequest, InvokeRequest_Timestamp

__all__ = ["add_parser"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``invoke`` and its options."""
    invoke = commands.add_parser("invoke", help="invoke a go1.x function once, as the service")
    invoke.add_argument("--event", help="event JSON, a file name, or - for stdin (default {})")
    invoke.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    invoke.add_argument("--memory", type=int, default=128, help="memory size in MB (default 128)")
    invoke.add_argument("--name", default="function", help="function name (default function)")
    invoke.add_argument("--port", type=int, help="invoke a function already listening here")
    invoke.add_argument("command", nargs="*", help="-- EXECUTABLE [ARGS...] to start")
    invoke.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.command and args.port is None:
        print("lambda-legacy invoke: give --port P or -- EXECUTABLE [ARGS...]", file=sys.stderr)
        return 2
    return trio.run(_invoke, args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _event_bytes(event: str | None) -> bytes:
    if event is None:
        return b"{}"
    if event == "-":
        return sys.stdin.buffer.read()
    if os.path.isfile(event):
        with open(event, "rb") as f:
            return f.read()
    return event.encode()


async def _invoke(args: argparse.Namespace) -> int:
    payload = _event_bytes(args.event)
    deadline_ns = time.time_ns() + int(args.timeout * 1e9)
    request = InvokeRequest(
        payload=payload,
        request_id=str(uuid.uuid4()),
        deadline=InvokeRequest_Timestamp(
            seconds=deadline_ns // 1_000_000_000, nanos=deadline_ns % 1_000_000_000
        ),
        invoked_function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:{args.name}",
    )
    process = None
    port = args.port
    async with trio.open_nursery() as nursery:
        if args.command:
            port = _free_port()
            env = dict(os.environ)
            env.update(
                _LAMBDA_SERVER_PORT=str(port),
                AWS_LAMBDA_FUNCTION_NAME=args.name,
                AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(args.memory),
            )
            process = await nursery.start(
                lambda task_status: trio.run_process(
                    args.command,
                    env=env,
                    stdout=sys.stderr.fileno(),
                    check=False,
                    start_new_session=True,
                    task_status=task_status,
                )
            )
        try:
            async with connect_function(port, timeout=args.timeout) as client:
                response = await client.invoke(request)
        finally:
            if process is not None and process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
    if response.error is not None:
        error = response.error
        body: dict[str, object] = {"errorMessage": error.message}
        if error.type:
            body["errorType"] = error.type
        if error.stack_trace:
            body["stackTrace"] = [
                {"path": f.path, "line": f.line, "label": f.label} for f in error.stack_trace
            ]
        print(json.dumps(body), file=sys.stderr)
        return 1
    sys.stdout.buffer.write(response.payload + b"\n")
    return 0
