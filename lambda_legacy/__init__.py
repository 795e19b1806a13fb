"""lambda-legacy: serve Python handlers over AWS Lambda's legacy go1.x runtime protocol.

A script that is itself the function's executable calls :func:`start`, as a Go program calls
aws-lambda-go's ``lambda.Start``; ``lambda-legacy serve module.function`` does the same for a
handler given by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from runtime._context import LambdaContext as LambdaContext
    from runtime._entry import LambdaEnvironmentError as LambdaEnvironmentError

__all__ = ["LambdaContext", "LambdaEnvironmentError", "start"]


def __getattr__(name: str) -> object:
    """Import the runtime only when it is used: ``lambda-legacy invoke`` never needs it."""
    if name == "LambdaContext":
        from runtime._context import LambdaContext  # noqa: PLC0415 - lazy on purpose

        return LambdaContext
    if name == "LambdaEnvironmentError":
        from runtime._entry import LambdaEnvironmentError  # noqa: PLC0415 - lazy on purpose

        return LambdaEnvironmentError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def start(handler: Callable[..., object]) -> NoReturn:
    """Serve ``handler`` as this process's go1.x function, and exit when the server stops.

    ``handler(event, context)`` may be a plain function (run on the main thread, the caller's,
    as awslambdaric runs it) or ``async def`` (awaited on trio). The server listens on
    127.0.0.1:``$_LAMBDA_SERVER_PORT`` and behaves as ``lambda-legacy serve`` does: Lambda's log
    format on stdout, stdout unbuffered, SIGTERM finishes the invoke in flight. Like
    ``lambda.Start``, it never returns: the process exits with status 0 after SIGTERM, 1 after
    an invoke whose reply said ShouldExit (the handler raised ``SystemExit``,
    ``KeyboardInterrupt`` or ``MemoryError``) or if the port cannot be opened.

    Where ``AWS_LAMBDA_RUNTIME_API`` is set and ``_LAMBDA_SERVER_PORT`` is not (provided.al2,
    provided.al2023), it serves ``handler`` through the Runtime API instead, as aws-lambda-go does.

    Raises:
        LambdaEnvironmentError: neither variable is set (the script was not started by Lambda,
            nor by ``lambda-legacy invoke``); nothing was started.
    """
    from lambda_legacy._attrs_bytecode import REHEARSALS, learn, package_cache  # noqa: PLC0415

    save_bytecode = learn(package_cache(), REHEARSALS)
    from runtime._entry import serve  # noqa: PLC0415 - lazy on purpose

    try:
        status = serve(handler, environ=os.environ, modules_imported=save_bytecode)
    finally:
        save_bytecode()  # learning ends even when nothing was served (once: serve saved already)
    raise SystemExit(status)
