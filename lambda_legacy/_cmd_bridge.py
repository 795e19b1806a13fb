"""``lambda-legacy bridge -- EXECUTABLE``: run a legacy go1.x executable on today's runtimes.

Used as the ``bootstrap`` of a provided.al2 / provided.al2023 function: it reads events from the
Runtime API at ``AWS_LAMBDA_RUNTIME_API`` and serves them with the executable over go1.x's
net/rpc (see :mod:`lambda_legacy._bridge`). Exit status 1 after an init failure or a Runtime API
failure, 0 after SIGTERM, 130 after SIGINT, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys

import trio

from lambda_legacy._bridge import INIT_TIMEOUT_SECONDS, run_bridge, runtime_api_address
from lambda_legacy._cli_args import positive_seconds

__all__ = ["add_parser"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``bridge`` and its options."""
    bridge = commands.add_parser(
        "bridge",
        help="serve the Runtime API with a legacy go1.x executable (a provided.al2 bootstrap)",
    )
    bridge.add_argument(
        "--init-timeout",
        type=positive_seconds,
        default=INIT_TIMEOUT_SECONDS,
        help=f"seconds for the executable to answer Ping (default {INIT_TIMEOUT_SECONDS:g})",
    )
    bridge.add_argument("command", nargs="*", help="-- EXECUTABLE [ARGS...] of the go1.x function")
    bridge.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.command:
        print("lambda-legacy bridge: give -- EXECUTABLE [ARGS...]", file=sys.stderr)
        return 2
    address = runtime_api_address(os.environ)
    if address is None:
        print(
            "lambda-legacy bridge: AWS_LAMBDA_RUNTIME_API is not set (run it as a bootstrap)",
            file=sys.stderr,
        )
        return 2
    stopped = trio.run(
        lambda: run_bridge(
            args.command,
            api_address=address,
            environ=os.environ,
            cwd=os.getcwd(),
            init_timeout=args.init_timeout,
        )
    )
    if stopped.status:
        print(f"lambda-legacy bridge: {stopped.reason}", file=sys.stderr)
    return stopped.status
