"""lambda-legacy: serve a Python handler as a go1.x function, or invoke one as the service does.

Exit codes: 0 success; 1 the function returned an error, or the server stopped after ShouldExit;
2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Sequence

import trio

from runtime._client import connect_function
from runtime._dispatch import HandlerFunction
from runtime._errors import RuntimeFault
from runtime._handler import resolve_handler
from runtime._messages import InvokeRequest, InvokeRequest_Timestamp
from runtime._server import serve_function
from runtime._settings import Settings

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env(os.environ)
    port_text = args.port if args.port is not None else settings.server_port
    if port_text is None:
        print("lambda-legacy serve: set _LAMBDA_SERVER_PORT or pass --port", file=sys.stderr)
        return 2
    try:
        port = int(port_text)
    except ValueError:
        print(f"listen tcp: address localhost:{port_text}: invalid port", file=sys.stderr)
        return 1
    handler = None
    init_error: RuntimeFault | None = None
    try:
        handler = resolve_handler(args.handler, settings.task_root, os.getcwd())
    except RuntimeFault as fault:
        init_error = fault
        print(f"{fault.error_type}: {fault.message}", file=sys.stderr)
    function = HandlerFunction(handler, settings, init_error)
    return trio.run(serve_function, function, port)


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambda-legacy", description=__doc__)
    commands = parser.add_subparsers(dest="verb", required=True)
    serve = commands.add_parser("serve", help="serve HANDLER (module.function) over go1.x RPC")
    serve.add_argument("handler", help="Lambda handler name, e.g. app.handler or pkg/mod.fn")
    serve.add_argument("--port", help="port to listen on (default: $_LAMBDA_SERVER_PORT)")
    invoke = commands.add_parser("invoke", help="invoke a go1.x function once, as the service")
    invoke.add_argument("--event", help="event JSON, a file name, or - for stdin (default {})")
    invoke.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    invoke.add_argument("--memory", type=int, default=128, help="memory size in MB (default 128)")
    invoke.add_argument("--name", default="function", help="function name (default function)")
    invoke.add_argument("--port", type=int, help="invoke a function already listening here")
    invoke.add_argument("command", nargs="*", help="-- EXECUTABLE [ARGS...] to start")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lambda-legacy`` command."""
    args = _parser().parse_args(argv)
    if args.verb == "serve":
        return _serve(args)
    if not args.command and args.port is None:
        print("lambda-legacy invoke: give --port P or -- EXECUTABLE [ARGS...]", file=sys.stderr)
        return 2
    return trio.run(_invoke, args)
