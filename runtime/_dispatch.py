"""One invoke, in aws-lambda-go's order: context, trace id, event, handler, result.

``Function.Invoke`` never fails at the RPC level: every problem becomes ``InvokeResponse.Error``.
Client-context errors stop the invoke before the handler, as Go does. An init error (the handler
could not be imported) is answered on every invoke with ShouldExit, so the caller sees the cause.

A plain ``def`` handler's worker thread also encodes the result and, given the server's
``reply`` (:data:`~runtime._messages.ReplyNow`), sends the reply itself, so the invoke's critical
path has one thread switch instead of two. Anything off the plain path (an exception, a result
that does not serialise, a coroutine to await) goes back to the trio thread and is handled there
exactly as for an ``async def`` handler.

Each invoke sets :data:`~runtime._logging.INVOKE_REQUEST_ID` for its own task (the server runs
each call in a task of its own), so log records carry the right id under concurrent invokes.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs
import trio

from . import _handler_threads as handler_threads
from ._context import build_context
from ._errors import RuntimeFault
from ._faults import ErrorInfo, error_from_exception
from ._handler import Handler, call_handler, exit_if_forked, is_async_handler
from ._logging import INVOKE_REQUEST_ID
from ._messages import (
    InvokeRequest,
    InvokeResponse,
    InvokeResponse_Error,
    InvokeResponse_Error_StackFrame,
    ReplyNow,
)
from ._payload import decode_event, encode_result
from ._settings import Settings

__all__ = ["HandlerFunction", "error_response"]

#: aws-lambda-go sets this variable on every invoke, to the empty string too.
TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"


#: Surrogates that are not an escaped byte (gobrpc reads a non-UTF-8 byte as U+DC80..U+DCFF):
#: gob cannot send them; Go turns such a rune into U+FFFD.
_UNSENDABLE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def _sendable(text: str) -> str:
    """``text``, with each surrogate gob cannot send as U+FFFD (an exception's message may hold
    one: JSON's ``"\\ud83d"`` decodes to a lone surrogate)."""
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _UNSENDABLE_SURROGATE.sub("\ufffd", text)
    return text


def error_response(info: ErrorInfo) -> InvokeResponse:
    """The InvokeResponse carrying ``info`` as its error."""
    return InvokeResponse(
        error=InvokeResponse_Error(
            message=_sendable(info.message),
            type=_sendable(info.type),
            stack_trace=[
                InvokeResponse_Error_StackFrame(
                    path=_sendable(f.path), line=f.line, label=_sendable(f.label)
                )
                for f in info.stack_trace
            ]
            or None,
            should_exit=info.should_exit,
        )
    )


@attrs.define(eq=False)
class HandlerFunction:
    """Calls a Python handler for each ``InvokeRequest`` (the server's :class:`Function`)."""

    handler: Handler | None
    settings: Settings
    init_error: RuntimeFault | None = None
    clock: Callable[[], int] = time.time_ns
    environ: MutableMapping[str, str] = attrs.field(factory=lambda: os.environ)
    #: Where a plain handler runs: worker threads, or the main thread first when the process
    #: entry runs trio beside it (:class:`runtime._handler_threads.MainThreadFirst`).
    plain_calls: Callable[..., Awaitable[Any]] = handler_threads.run_sync
    #: Called on a plain handler's thread just before it sends the reply itself.
    replying: Callable[[], None] | None = None
    #: ``is_async_handler(handler)``, asked once: it costs ~2 us, and the handler never changes.
    _handler_is_async: bool = attrs.field(init=False)

    @_handler_is_async.default
    def _ask_handler_is_async(self) -> bool:
        return self.handler is not None and is_async_handler(self.handler)

    async def invoke(self, request: InvokeRequest, reply: ReplyNow | None = None) -> InvokeResponse:
        """Run one event through the handler; errors come back inside the response.

        With ``reply``, a plain handler's successful response may already have been handed to
        it (from the worker thread) when this returns.
        """
        if self.init_error is not None or self.handler is None:
            fault = self.init_error
            message = fault.message if fault else "handler is nil"
            error_type = fault.error_type if fault else "errorString"
            # An init error ends the process after its reply, so that the service starts a fresh
            # one; aws-lambda-go answers a nil handler's every invoke and goes on serving.
            return error_response(
                ErrorInfo(message=message, type=error_type, should_exit=fault is not None)
            )
        token = INVOKE_REQUEST_ID.set(request.request_id)
        try:
            context = build_context(
                request_id=request.request_id,
                invoked_function_arn=request.invoked_function_arn,
                deadline_seconds=request.deadline.seconds,
                deadline_nanos=request.deadline.nanos,
                cognito_identity_id=request.cognito_identity_id,
                cognito_identity_pool_id=request.cognito_identity_pool_id,
                client_context_json=request.client_context,
                settings=self.settings,
                clock=self.clock,
            )
            try:  # noqa: SIM105 - on every invoke: a try costs nothing, contextlib.suppress ~1 us
                self.environ[TRACE_ID_VARIABLE] = request.x_amzn_trace_id
            except ValueError:
                pass  # a NUL byte: Go's os.Setenv fails with EINVAL, ignored, and so is this
            event = decode_event(request.payload)
            if reply is None or self._handler_is_async:
                result = await call_handler(self.handler, event, context)
            else:
                answer = _ThreadAnswer(reply, self.replying, os.getpid())
                result = await self.plain_calls(
                    _call_and_reply, self.handler, event, context, answer
                )
                if isinstance(result, _Encoded):
                    return result.response
                if isinstance(result, _NotEncoded):
                    raise result.error
                if inspect.iscoroutine(result):
                    result = await result
            return InvokeResponse(payload=encode_result(result))
        except trio.Cancelled:
            raise
        except BaseException as exc:
            return error_response(error_from_exception(exc, exc.__traceback__))
        finally:
            INVOKE_REQUEST_ID.reset(token)
            sys.stdout.flush()


@attrs.frozen
class _Encoded:
    """A worker's response, already offered to the server's ``reply``."""

    response: InvokeResponse


@attrs.frozen
class _NotEncoded:
    """Why a worker could not encode the handler's result (raised again on the trio side, so
    the result is serialised once: its ``default`` hooks and ``__iter__`` run once)."""

    error: Exception


@attrs.frozen
class _ThreadAnswer:
    """How a plain handler's thread answers its invoke itself."""

    #: Sends the reply.
    reply: ReplyNow
    #: Called just before the reply is sent (:attr:`HandlerFunction.replying`).
    replying: Callable[[], None] | None
    #: The server's process: a child the handler forks is not it, and must not answer.
    serving_pid: int


def _call_and_reply(
    handler: Handler, event: object, context: object, answer: _ThreadAnswer
) -> _Encoded | _NotEncoded | object:
    """In the handler's thread: its result, encoded and offered to ``answer.reply`` if it can be.

    Returns a coroutine as it is, for the trio side to await, and a result that does not
    serialise as the error that says why, for the trio side to raise. A child the handler
    forked returns here too, and exits instead of answering the parent's call.
    """
    result = handler(event, context)
    exit_if_forked(answer.serving_pid)
    if inspect.iscoroutine(result):
        return result
    try:
        payload = encode_result(result)
    except Exception as exc:
        return _NotEncoded(exc)
    response = InvokeResponse(payload=payload)
    sys.stdout.flush()  # this invoke's output goes out before its reply
    if answer.replying is not None:
        answer.replying()
    answer.reply(response)
    return _Encoded(response)
