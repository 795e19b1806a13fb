"""Serving a handler for real: the one entry shared by ``lambda-legacy serve`` and ``start()``.

The steps, in awslambdaric's order where it has one:

1. :class:`Settings` from the environment, once (nothing below reads ``os.environ`` itself);
2. the mode, chosen in :func:`choose_mode` only (aws-lambda-go's order of the two variables);
3. ``sys.stdout``/``sys.stderr`` flushed after every write, **before** user code is imported,
   because libraries (Powertools) capture ``sys.stdout`` at import time;
4. the Lambda root log handler on stdout, its request id read from
   :data:`~runtime._logging.INVOKE_REQUEST_ID` (per invoke, not per process);
5. the handler: resolved from its ``module.function`` name, or taken as given. An init error is
   printed to stderr and kept: every invoke is answered with it and ShouldExit, Ping still works;
6. the trio server (:mod:`runtime._rpc_mode`), until SIGTERM (status 0) or a ShouldExit reply
   (status 1), on a thread of its own: plain handlers run on the main thread
   (:mod:`runtime._main_thread`), the one that imported their module, as awslambdaric calls them.

Runtime API mode (:mod:`runtime._runtime_api`) does steps 3 to 5 its own way and serves on the
main thread without trio; each mode's modules are imported only once it is chosen, so neither
pays for the other's at start-up.

The caller exits the process with the returned status.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping

import attrs

from ._errors import LambdaLegacyError, RuntimeFault
from ._handler import Handler, resolve_handler
from ._logging import INVOKE_REQUEST_ID, install_lambda_logging, make_stdout_unbuffered
from ._settings import Settings

__all__ = ["LambdaEnvironmentError", "RpcMode", "RuntimeApiMode", "choose_mode", "serve"]


class LambdaEnvironmentError(LambdaLegacyError):
    """The process was not started as a Lambda function: no mode variable is set.

    Raised before anything is served, so the caller can say how to start the function.
    """


@attrs.frozen(kw_only=True)
class RpcMode:
    """go1.x RPC mode: answer ``Function.Ping``/``Function.Invoke`` on 127.0.0.1:``port``.

    ``port`` is the text as given, as aws-lambda-go passes ``_LAMBDA_SERVER_PORT`` to
    ``net.Listen`` unchecked; it is validated when the listener opens.
    """

    port: str


@attrs.frozen(kw_only=True)
class RuntimeApiMode:
    """Runtime API mode: events from ``http://<address>/2018-06-01/runtime/invocation/next``."""

    address: str


def choose_mode(settings: Settings, port: str | None = None) -> RpcMode | RuntimeApiMode:
    """THE mode switch: how this process talks to Lambda.

    aws-lambda-go's ``start()`` takes the first non-empty variable of ``_LAMBDA_SERVER_PORT``
    (RPC) and ``AWS_LAMBDA_RUNTIME_API`` (Runtime API). ``port`` (``serve --port``) stands in
    for ``_LAMBDA_SERVER_PORT`` and wins over it.

    Raises:
        LambdaEnvironmentError: neither ``port`` nor ``_LAMBDA_SERVER_PORT`` is given.
    """
    port_text = port if port is not None else settings.server_port
    if port_text is not None:
        return RpcMode(port=port_text)
    if settings.runtime_api:
        return RuntimeApiMode(address=settings.runtime_api)
    raise LambdaEnvironmentError(
        "expected AWS Lambda environment variable _LAMBDA_SERVER_PORT or AWS_LAMBDA_RUNTIME_API"
        " is not defined"
    )


def _report_init_error(fault: RuntimeFault) -> None:
    """The cause on stderr, as the user would read it in awslambdaric's init-error log line."""
    lines = [f"{fault.error_type}: {fault.message}\n", *fault.stack_trace]
    sys.stderr.write("".join(line if line.endswith("\n") else line + "\n" for line in lines))


def _load_handler(
    target: Handler | str, settings: Settings, cwd: str
) -> tuple[Handler | None, RuntimeFault | None]:
    if not isinstance(target, str):
        return target, None
    try:
        return resolve_handler(target, settings.task_root, cwd), None
    except RuntimeFault as fault:
        _report_init_error(fault)
        return None, fault


def serve(
    target: Handler | str,
    *,
    environ: MutableMapping[str, str],
    port: str | None = None,
    cwd: str | None = None,
    first_user_id: int | None = None,
    modules_imported: Callable[[], None] | None = None,
) -> int:
    """Serve ``target`` (a handler, or its ``module.function`` name) until told to stop.

    ``environ`` is read once for the settings and receives ``_X_AMZN_TRACE_ID`` on every invoke
    (pass ``os.environ``). ``port`` overrides ``_LAMBDA_SERVER_PORT``; ``cwd`` (default: the
    working directory) is searched for handler modules after ``LAMBDA_TASK_ROOT``.
    ``first_user_id`` is the gob type id of the first type the process sends: 65 as Go <= 1.20
    numbers them (the go1.x default, and what None means), 64 as Go >= 1.21 does.
    ``modules_imported`` is called once the chosen mode's modules are imported, before the
    handler's module is (the CLI saves the attrs bytecode of our classes then).

    With ``AWS_LAMBDA_RUNTIME_API`` set and no port, the handler is served through the Runtime
    API instead (:mod:`runtime._runtime_api`), as aws-lambda-go chooses.

    Returns:
        The exit status: 0 after SIGTERM, 1 after a reply with ShouldExit or when the listener
        cannot be opened (in Runtime API mode: 1 after an init error or a failed API call).

    Raises:
        LambdaEnvironmentError: no mode is set; nothing has been changed or imported yet.
    """
    settings = Settings.from_env(environ)
    mode = choose_mode(settings, port)
    cwd = os.getcwd() if cwd is None else cwd
    if isinstance(mode, RuntimeApiMode):
        # Imported here: the HTTP client is no part of a go1.x function's cold start.
        from ._runtime_api import prepare_runtime_api, run_prepared  # noqa: PLC0415 - lazy

        if modules_imported is not None:
            modules_imported()
        # awslambdaric's order (unbuffer, log handler, import), then the loop, all on this thread.
        return run_prepared(prepare_runtime_api(target, settings, environ=environ, cwd=cwd))
    # Imported here: trio and the gob codec are no part of a Runtime API function's cold start.
    from ._rpc_mode import serve_rpc  # noqa: PLC0415 - lazy on purpose

    if modules_imported is not None:
        modules_imported()
    make_stdout_unbuffered()
    install_lambda_logging(settings, INVOKE_REQUEST_ID.get, sys.stdout)
    handler, init_error = _load_handler(target, settings, cwd)
    return serve_rpc(
        mode.port,
        handler,
        init_error=init_error,
        settings=settings,
        environ=environ,
        first_user_id=first_user_id,
    )
