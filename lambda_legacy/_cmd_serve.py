"""``lambda-legacy serve HANDLER``: serve a Python handler as a go1.x function."""

from __future__ import annotations

import argparse
import os
import sys

from runtime._entry import LambdaEnvironmentError, serve

__all__ = ["add_parser"]

#: Exit status for a usage error (cli.py's table).
USAGE_ERROR = 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and its options."""
    serve_parser = commands.add_parser(
        "serve",
        help="serve HANDLER (module.function) over go1.x RPC, or the Runtime API when "
        "AWS_LAMBDA_RUNTIME_API is set and _LAMBDA_SERVER_PORT is not",
    )
    serve_parser.add_argument("handler", help="Lambda handler name, e.g. app.handler or pkg/mod.fn")
    serve_parser.add_argument("--port", help="port to listen on (default: $_LAMBDA_SERVER_PORT)")
    serve_parser.add_argument(
        "--gob-first-id",
        type=int,
        metavar="{64,65}",
        help="gob id of the first user type: 65 as Go <= 1.20 numbers them, which go1.x "
        "functions were built with (default); 64 as Go >= 1.21 does",
    )
    # ``save_bytecode``: the CLI's, called once serving's modules are imported (None: nothing).
    serve_parser.set_defaults(run=run, save_bytecode=None)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM (0) or a ShouldExit reply (1); 2 when no mode variable is set or
    ``--gob-first-id`` is neither id."""
    if args.gob_first_id is not None:
        # Checked here, not by argparse: the gob codec is no part of a Runtime API cold start.
        from gobrpc import FIRST_USER_ID_GO_1_21, FIRST_USER_ID_LEGACY  # noqa: PLC0415 - lazy

        if args.gob_first_id not in {FIRST_USER_ID_GO_1_21, FIRST_USER_ID_LEGACY}:
            print(
                f"lambda-legacy serve: --gob-first-id must be {FIRST_USER_ID_GO_1_21} or "
                f"{FIRST_USER_ID_LEGACY}, not {args.gob_first_id}",
                file=sys.stderr,
            )
            return USAGE_ERROR
    try:
        return serve(
            args.handler,
            environ=os.environ,
            port=args.port,
            first_user_id=args.gob_first_id,
            modules_imported=args.save_bytecode,
        )
    except LambdaEnvironmentError:
        print(
            "lambda-legacy serve: set _LAMBDA_SERVER_PORT (go1.x RPC), pass --port, or run "
            "where AWS_LAMBDA_RUNTIME_API is set (Runtime API)",
            file=sys.stderr,
        )
        return USAGE_ERROR
