"""``lambda-legacy serve HANDLER``: serve a Python handler as a go1.x function."""

from __future__ import annotations

import argparse
import os
import sys

import trio

from runtime._dispatch import HandlerFunction
from runtime._errors import RuntimeFault
from runtime._handler import resolve_handler
from runtime._server import serve_function
from runtime._settings import Settings

__all__ = ["add_parser"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and its options."""
    serve = commands.add_parser("serve", help="serve HANDLER (module.function) over go1.x RPC")
    serve.add_argument("handler", help="Lambda handler name, e.g. app.handler or pkg/mod.fn")
    serve.add_argument("--port", help="port to listen on (default: $_LAMBDA_SERVER_PORT)")
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
