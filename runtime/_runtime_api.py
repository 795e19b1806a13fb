"""Runtime API mode: a Python handler served through the Lambda Runtime API.

aws-lambda-go picks this mode when ``_LAMBDA_SERVER_PORT`` is empty and
``AWS_LAMBDA_RUNTIME_API`` is set; :func:`prepare_runtime_api` and :func:`run_prepared` are what
the serve entry point runs then, on the main thread. The order of start-up and of each invoke is
awslambdaric's (PROTOCOL.md section 7), and so is where it runs: everything on the main thread,
one invoke at a time, with blocking HTTP calls
(:class:`runtime._runtime_api_blocking.BlockingRuntimeApiClient`). No event loop runs around the
handler or its module, and none is started for a plain handler: ``import trio`` alone would cost
more than the rest of a cold start, and a hand-off to another thread a few hundred microseconds
per invoke.

1. ``sys.stdout``/``sys.stderr`` flush after every write, then the Lambda root log handler is
   installed, then the handler module is imported (:func:`runtime._handler.resolve_handler`)
   (:func:`prepare_runtime_api`): module code that calls ``asyncio.run`` or ``trio.run``, or sets
   a signal handler, works as under awslambdaric.
2. An init error is logged (a ``LAMBDA_WARNING`` line and the error line), posted to
   ``/runtime/init/error`` with ``Lambda-Runtime-Function-Error-Type``, and the process exits 1.
3. Per invoke: ``GET /next``; the request id (and tenant id) become what log lines show;
   ``_X_AMZN_TRACE_ID`` is set to ``Lambda-Runtime-Trace-Id``, or removed when there is none;
   the context is built from the headers, the event parsed, the handler called (plain ones right
   there, as awslambdaric calls them; ``async def`` ones awaited on a trio run of their own,
   :class:`runtime._trio_side_run.TrioSideRun`), and the result posted to
   ``/response``, or the error logged and posted to ``/error``, with the ``/next`` answer's
   ``Lambda-Runtime-Invocation-Id`` on either.

Where this differs from awslambdaric, on purpose:

- ``async def`` handlers are awaited, as in RPC mode (awslambdaric reports their coroutine as a
  ``Runtime.MarshalError``).
- A ``BaseException`` that is not an ``Exception`` (``SystemExit``, ``KeyboardInterrupt``) is
  posted as the invoke's error and the process then exits 1, as RPC mode answers ShouldExit and
  aws-lambda-go's Runtime API mode exits after a panic; awslambdaric dies without posting.
- A malformed ``Lambda-Runtime-Deadline-Ms`` counts as 0 instead of aborting the process.
- Context values from the environment come from :class:`~runtime._settings.Settings`, read once
  at start-up, not from ``os.environ`` on every invoke.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, TextIO

import attrs

from ._context import (
    W3C_FIELDS,
    ClientContext,
    CognitoIdentity,
    LambdaContext,
    client_from_json,
)
from ._errors import LambdaContextUnmarshalError, RuntimeFault
from ._faults import format_user_traceback, safe_str
from ._handler import Handler, exit_if_forked, is_async_handler, resolve_handler
from ._logging import LambdaLogHandler, install_lambda_logging, make_stdout_unbuffered
from ._runtime_api_blocking import BlockingRuntimeApiClient
from ._runtime_api_http import Invocation, RuntimeApiError
from ._runtime_api_json import (
    ResultEncoder,
    error_document,
    make_encoder,
    marshal_result,
    to_json,
    unmarshal_event,
    xray_cause,
)
from ._settings import Settings

if TYPE_CHECKING:
    from ._trio_side_run import TrioSideRun

__all__ = [
    "PreparedRuntime",
    "build_runtime_api_context",
    "prepare_runtime_api",
    "run_prepared",
]

#: The variable AWS's X-Ray SDKs read the current trace header from.
TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"

#: awslambdaric's X-Ray exception type for the runtime's own faults.
FAULT_XRAY_TYPE = "LambdaValidationError"

#: awslambdaric's log message for an uncaught error starts with this, so log filters written for
#: it keep matching; the rest of the sentence is ours.
INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The handler could not be loaded; the error follows.\r"
)

#: The User-Agent of our Runtime API calls.
USER_AGENT = "lambda-legacy (Runtime API mode)"

# awslambdaric's error log line: lines joined with "\r" (one CloudWatch event), leading spaces of
# stack lines turned into U+00A0 so the console keeps the indentation.
_ERROR_LINE_SEPARATOR = "\r"
_ERROR_INDENT = "\u00a0"
_ERROR_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

Clock = Callable[[], int]
RawFrame = tuple[str, int, str]


def _parse_header_json(raw: str, name: str) -> object:
    try:
        return json.loads(raw)
    except Exception as exc:
        raise LambdaContextUnmarshalError(f"Unable to parse {name} JSON: {exc}") from None


def _no_get(value: object) -> AttributeError:
    # What awslambdaric's dict.get on a JSON value that is not an object raises.
    return AttributeError(f"'{type(value).__name__}' object has no attribute 'get'")


def _client_context(raw: str | None) -> tuple[ClientContext | None, dict[str, str]]:
    if not raw:
        return None, {}
    parsed = _parse_header_json(raw, "Client Context")
    if parsed is None:
        return None, {}
    if not isinstance(parsed, dict):
        raise _no_get(parsed)
    w3c: dict[str, str] = {}
    raw_w3c = parsed.pop("w3c", None)
    if isinstance(raw_w3c, dict):
        w3c = {key: raw_w3c[key] for key in W3C_FIELDS if isinstance(raw_w3c.get(key), str)}
    raw_client = parsed.get("client")
    client = None
    if raw_client is not None:
        if not isinstance(raw_client, dict):
            raise _no_get(raw_client)
        client = client_from_json(raw_client)
    context = ClientContext(custom=parsed.get("custom"), env=parsed.get("env"), client=client)
    return context, w3c


def _identity(raw: str | None) -> CognitoIdentity:
    if not raw:
        return CognitoIdentity()
    parsed = _parse_header_json(raw, "Cognito Identity")
    if parsed is None:
        return CognitoIdentity()
    if not isinstance(parsed, dict):
        raise _no_get(parsed)
    return CognitoIdentity(
        cognito_identity_id=parsed.get("cognitoIdentityId"),
        cognito_identity_pool_id=parsed.get("cognitoIdentityPoolId"),
    )


def _deadline_ms(raw: str | None) -> int:
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def build_runtime_api_context(
    invocation: Invocation, settings: Settings, clock: Clock
) -> LambdaContext:
    """The handler's context for one ``/next`` response, as awslambdaric builds it.

    Raises:
        LambdaContextUnmarshalError: the Client-Context or Cognito-Identity header is not JSON
            (``Unable to parse Client Context JSON: Expecting value: ...``).
        AttributeError: one of them is JSON but not an object (awslambdaric fails the same way).
    """
    client_context, w3c = _client_context(invocation.client_context)
    return LambdaContext(
        aws_request_id=invocation.request_id,
        invoked_function_arn=invocation.invoked_function_arn or "",
        deadline_ns=_deadline_ms(invocation.deadline_ms) * 1_000_000,
        clock=clock,
        function_name=settings.function_name,
        function_version=settings.function_version,
        memory_limit_in_mb=settings.memory_size,
        log_group_name=settings.log_group_name,
        log_stream_name=settings.log_stream_name,
        identity=_identity(invocation.cognito_identity),
        client_context=client_context,
        tenant_id=invocation.tenant_id,
        w3c=w3c,
    )


def _indent(line: str) -> str:
    stripped = line.lstrip(" ")
    return _ERROR_INDENT * (len(line) - len(stripped)) + stripped


@attrs.define(eq=False)
class _ErrorLog:
    """Writes awslambdaric's uncaught-error log line to the Lambda log sink."""

    sink: LambdaLogHandler
    encoder: ResultEncoder
    json_format: bool

    def write(self, document: Mapping[str, object]) -> None:
        if self.json_format:
            stamp = time.strftime(_ERROR_TIMESTAMP_FORMAT, time.gmtime())
            line = to_json(self.encoder, {"timestamp": stamp, "level": "ERROR", **document})
            self.sink.write(line.decode("utf-8") + "\n")
            return
        error_type = str(document.get("errorType") or "")
        message = str(document.get("errorMessage") or "")
        head = "[ERROR]" + (f" {error_type}" if error_type else "")
        if message:
            head += (":" if error_type else "") + f" {message}"
        lines = [head, "Traceback (most recent call last):"]
        stack = document.get("stackTrace")
        for element in stack if isinstance(stack, list) else ():
            text = str(element)
            lines.extend([_indent(line) for line in text.splitlines()] if text else [""])
        self.sink.write(_ERROR_LINE_SEPARATOR.join(lines) + "\n")


@attrs.define(eq=False)
class _CurrentInvoke:
    """The ids log lines show: one shared value, as awslambdaric's module globals are, so that a
    thread the handler started long ago logs the current invoke's id too."""

    request_id: str | None = None
    tenant_id: str | None = None


class _FatalHandlerError(Exception):
    """Internal: the handler raised a BaseException that ends the process once posted."""


@attrs.define(eq=False)
class _RuntimeLoop:
    """The next / handle / post loop for one resolved handler, on the thread that runs it."""

    client: BlockingRuntimeApiClient
    handler: Handler
    prepared: PreparedRuntime
    #: Where ``async def`` handlers, and coroutines a plain one returns, are awaited; made at
    #: start-up for an ``async def`` handler, else when a coroutine first needs it.
    _trio: TrioSideRun | None = None
    #: This runtime's process; a child the handler forks is not it.
    _pid: int = attrs.field(init=False, factory=os.getpid)
    #: Whether the handler is ``async def`` (asked once: ``inspect`` takes microseconds).
    _is_async: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._is_async = is_async_handler(self.handler)
        if self._is_async:  # at start-up, not in the first invoke's time
            self._side_run().start()

    def run(self) -> None:
        """Serve invokes until the Runtime API fails or a handler ends the process."""
        while True:
            invocation = self.client.next_invocation()
            self.prepared.current.request_id = invocation.request_id
            self.prepared.current.tenant_id = invocation.tenant_id
            if invocation.trace_id is not None:
                self.prepared.environ[TRACE_ID_VARIABLE] = invocation.trace_id
            else:
                self.prepared.environ.pop(TRACE_ID_VARIABLE, None)
            self.invoke(invocation)

    def _call(self, event: object, context: LambdaContext) -> object:
        if self._is_async:
            return self._side_run().call(self.handler, event, context)
        try:
            result = self.handler(event, context)
        except BaseException as exc:
            exit_if_forked(self._pid, exc)
            raise
        exit_if_forked(self._pid)  # a child the handler forked ends here, not at our API
        if inspect.iscoroutine(result):  # a decorator hid an ``async def``: awaited on trio
            return self._side_run().await_(result)
        return result

    def _side_run(self) -> TrioSideRun:
        if self._trio is None:
            # Imported here: trio is loaded only for a handler that needs it.
            from ._trio_side_run import TrioSideRun  # noqa: PLC0415 - lazy on purpose

            self._trio = TrioSideRun()
        return self._trio

    def invoke(self, invocation: Invocation) -> None:
        """Run one event through the handler and post the outcome."""
        prepared = self.prepared
        request_id = invocation.request_id
        fatal = False
        try:
            context = build_runtime_api_context(invocation, prepared.settings, prepared.clock)
            event = unmarshal_event(invocation.body, invocation.content_type)
            result = self._call(event, context)
            body, content_type = marshal_result(prepared.encoder, result)
        except RuntimeFault as fault:
            document = error_document(fault.message, fault.error_type, request_id, [])
            cause = xray_cause(FAULT_XRAY_TYPE, fault.message, prepared.cwd, [])
        except BaseException as exc:
            message, error_type = safe_str(exc), type(exc).__name__
            trace = format_user_traceback(exc.__traceback__)
            document = error_document(message, error_type, request_id, trace)
            cause = xray_cause(error_type, message, prepared.cwd, _user_frames(exc, len(trace)))
            fatal = not isinstance(exc, Exception)
        else:
            self.client.post_response(
                request_id, body, content_type, invocation_id=invocation.invocation_id
            )
            return
        finally:
            sys.stdout.flush()
        prepared.error_log.write(document)
        self.client.post_error(
            request_id,
            to_json(prepared.encoder, document),
            xray_cause=to_json(prepared.encoder, cause),
            invocation_id=invocation.invocation_id,
        )
        if fatal:
            raise _FatalHandlerError(document["errorType"])


def _user_frames(exc: BaseException, count: int) -> list[RawFrame]:
    """The last ``count`` frames of ``exc``'s traceback: those ``format_user_traceback`` kept."""
    if not count:
        return []
    summary = traceback.extract_tb(exc.__traceback__)[-count:]
    return [(frame.filename, frame.lineno or 0, frame.name) for frame in summary]


def _report_init_error(
    client: BlockingRuntimeApiClient,
    fault: RuntimeFault,
    error_log: _ErrorLog,
    encoder: ResultEncoder,
) -> None:
    logging.warning(INIT_WARNING)
    document = error_document(fault.message, fault.error_type, "", fault.stack_trace)
    error_log.write(document)
    client.post_init_error(to_json(encoder, document), error_type=fault.error_type)


@attrs.frozen(kw_only=True)
class PreparedRuntime:
    """Everything :func:`run_prepared` needs, made by :func:`prepare_runtime_api`."""

    settings: Settings
    handler: Handler | None
    init_error: RuntimeFault | None
    encoder: ResultEncoder
    error_log: _ErrorLog
    current: _CurrentInvoke
    environ: MutableMapping[str, str]
    cwd: str
    clock: Clock


def prepare_runtime_api(
    handler_name: Handler | str,
    settings: Settings,
    *,
    environ: MutableMapping[str, str] | None = None,
    cwd: str | None = None,
    clock: Clock = time.time_ns,
    stdout: TextIO | None = None,
) -> PreparedRuntime:
    """Set up logging and import the handler, in awslambdaric's order, on the serving thread.

    Args:
        handler_name: ``module.function`` (or ``pkg/module.function``), as for RPC mode, or
            the handler itself (``lambda_legacy.start``).
        settings: built once from the environment by the entry point.
        environ: where ``_X_AMZN_TRACE_ID`` is set per invoke and ``AWS_EXECUTION_ENV`` read;
            ``os.environ`` by default.
        cwd: the working directory for handler lookup and the X-Ray cause; ``os.getcwd()``.
        clock: Unix time in nanoseconds, for ``get_remaining_time_in_millis``.
        stdout: where log lines go; ``sys.stdout`` (made unbuffered) by default.
    """
    environ = os.environ if environ is None else environ
    cwd = os.getcwd() if cwd is None else cwd
    if stdout is None:
        make_stdout_unbuffered()
        stdout = sys.stdout
    encoder = make_encoder(environ.get("AWS_EXECUTION_ENV"))
    current = _CurrentInvoke()
    sink = install_lambda_logging(
        settings,
        lambda: current.request_id,
        stdout,
        tenant_id_getter=lambda: current.tenant_id,
    )
    error_log = _ErrorLog(sink=sink, encoder=encoder, json_format=settings.log_format == "JSON")
    handler: Handler | None = None
    init_error: RuntimeFault | None = None
    if not isinstance(handler_name, str):
        handler = handler_name
    elif settings.runtime_api:  # without an API to report to, nothing is imported
        try:
            handler = resolve_handler(handler_name, settings.task_root, cwd)
        except RuntimeFault as fault:
            init_error = fault
    return PreparedRuntime(
        settings=settings,
        handler=handler,
        init_error=init_error,
        encoder=encoder,
        error_log=error_log,
        current=current,
        environ=environ,
        cwd=cwd,
        clock=clock,
    )


def run_prepared(prepared: PreparedRuntime) -> int:
    """Serve the prepared handler through the Runtime API at ``settings.runtime_api``, on this
    thread (the main thread, which imported the handler's module, when the entry point calls it).

    Signals keep their default actions, as under awslambdaric; Ctrl-C while no handler runs
    ends the loop quietly with 128 + SIGINT, as Ctrl-C ends RPC mode.

    Returns:
        The process exit status: 1 after an init error (once it is posted), after a failed
        Runtime API call, or after a handler raised a ``BaseException`` that is not an
        ``Exception``; 130 after Ctrl-C while no handler runs. It never returns otherwise.
    """
    settings = prepared.settings
    if not settings.runtime_api:
        print("lambda-legacy: AWS_LAMBDA_RUNTIME_API is not set", file=sys.stderr)
        return 1
    client = BlockingRuntimeApiClient(settings.runtime_api, user_agent=USER_AGENT)
    try:
        if prepared.handler is None:
            assert prepared.init_error is not None
            _report_init_error(client, prepared.init_error, prepared.error_log, prepared.encoder)
            return 1
        loop = _RuntimeLoop(client=client, handler=prepared.handler, prepared=prepared)
        try:
            loop.run()
        except _FatalHandlerError:
            return 1
        except KeyboardInterrupt:  # Ctrl-C outside the handler (inside, it is the invoke's error)
            return 128 + signal.SIGINT
    except RuntimeApiError as exc:
        print(f"lambda-legacy: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 1  # pragma: no cover -- loop.run only ends by raising
