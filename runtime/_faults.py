"""Turning a handler's exception into an error value, and that value into error bodies.

The RPC answer to a failed invoke is aws-lambda-go's ``InvokeResponse_Error``: Message, Type, a
stack of (Path, Line, Label) frames **innermost first**, at most 32 of them (``runtime.Callers``
into a 32-entry buffer in ``lambdaPanicResponse``), and ShouldExit. :class:`ErrorInfo` is that
value before it meets gob. The Runtime API answer is awslambdaric's JSON body instead, whose
``stackTrace`` holds ``traceback.format_list`` strings, outermost first.

Frames of this package, trio and outcome that sit *above* the user's code (the dispatcher,
:func:`runtime._handler.call_handler`, and for a sync handler the hand-off to its worker thread:
:mod:`runtime._handler_threads`, trio's ``wait_task_rescheduled`` and outcome's ``unwrap``) are
dropped from the front of a trace, as awslambdaric drops its own ``bootstrap.py`` frames; a trace
with no user frame is kept whole.
"""

from __future__ import annotations

import json
import os
import traceback
import types
from types import TracebackType

import attrs

from ._errors import RuntimeFault

__all__ = [
    "MAX_STACK_FRAMES",
    "Frame",
    "ErrorInfo",
    "error_from_exception",
    "format_user_traceback",
    "hide_frames_of",
    "runtime_api_error_body",
    "runtime_api_fault_body",
    "safe_str",
]

#: Go's limit: ``lambdaPanicResponse`` reads ``runtime.Callers`` into a 32-entry buffer.
MAX_STACK_FRAMES = 32


#: Where the machinery between the runtime and the user's handler lives: this package, and the
#: packages of an event loop once a module of ours has imported them (:func:`hide_frames_of`).
#: From module paths, not from the environment or ``sys.modules`` (a user's own ``outcome.py``
#: must not hide the user's frames).
_infrastructure: tuple[str, ...] = (os.path.dirname(__file__) + os.sep,)


def hide_frames_of(*packages: types.ModuleType) -> None:
    """Count the frames of ``packages`` (trio, outcome) as machinery; called by the modules of
    ours that import them, so Runtime API mode, which may never import them, need not."""
    global _infrastructure  # noqa: PLW0603 - one process-wide table, extended at import
    for package in packages:
        if package.__file__ is not None:
            folder = os.path.dirname(package.__file__) + os.sep
            if folder not in _infrastructure:
                _infrastructure = (*_infrastructure, folder)


_RawFrame = tuple[str, int, str]


@attrs.frozen(kw_only=True)
class Frame:
    """One ``InvokeResponse_Error_StackFrame``: file path, line number, function name."""

    path: str
    line: int
    label: str


@attrs.frozen(kw_only=True)
class ErrorInfo:
    """The value of aws-lambda-go's ``InvokeResponse_Error`` for one failed invoke.

    ``stack_trace`` is innermost first, as Go sends it.
    """

    message: str
    type: str
    stack_trace: tuple[Frame, ...] = ()
    should_exit: bool = False


def _raw_frames(tb: TracebackType | None) -> list[_RawFrame]:
    """Frames of ``tb`` outermost first, without the infrastructure frames that lead into them."""
    frames: list[_RawFrame] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    infrastructure = _infrastructure
    for index, (path, _line, _label) in enumerate(frames):
        if not path.startswith(infrastructure):
            return frames[index:]
    return frames


def safe_str(exc: BaseException) -> str:
    """``str(exc)``, or what the traceback module prints when that raises: anything at all, even
    ``SystemExit``, which would otherwise end the process with the invoke unanswered (Go's
    ``recover`` answers a panic in ``Error()`` too)."""
    try:
        return str(exc)
    except BaseException:  # an error reply is owed whatever the message does
        return "<exception str() failed>"


def error_from_exception(exc: BaseException, tb: TracebackType | None) -> ErrorInfo:
    """Convert an exception that escaped a handler into ``InvokeResponse_Error``'s value.

    Message is ``str(exc)`` and Type the class name, as awslambdaric reports them. ShouldExit is
    set for ``BaseException``\\ s that are not ``Exception`` (``SystemExit``,
    ``KeyboardInterrupt``) and for ``MemoryError``: the process is no longer fit to serve, which
    is what aws-lambda-go signals after a panic. A :class:`RuntimeFault` is an ordinary returned
    error in Go terms: its ``go_message``/``go_type``, no frames, no ShouldExit.

    Callers must not pass ``trio.Cancelled``: cancellation is never an invoke error.

    Returns:
        The error value, frames innermost first and at most :data:`MAX_STACK_FRAMES`.
    """
    if isinstance(exc, RuntimeFault):
        return ErrorInfo(message=exc.go_message, type=exc.go_type)
    raw = _raw_frames(tb)[-MAX_STACK_FRAMES:]
    frames = tuple(Frame(path=path, line=line, label=label) for path, line, label in reversed(raw))
    return ErrorInfo(
        message=safe_str(exc),
        type=type(exc).__name__,
        stack_trace=frames,
        should_exit=not isinstance(exc, Exception) or isinstance(exc, MemoryError),
    )


def _format_frames(raw: list[_RawFrame]) -> list[str]:
    # Plain tuples, as awslambdaric passes them: format_list then looks the source line up in
    # linecache and prints no column carets.
    return traceback.format_list([(path, line, label, None) for path, line, label in raw])


def format_user_traceback(tb: TracebackType | None) -> list[str]:
    """awslambdaric's ``stackTrace`` strings for ``tb``, outermost first, infrastructure dropped.

    Each element looks like ``'  File "/var/task/fn.py", line 27, in handler\\n    raise X\\n'``.
    """
    return _format_frames(_raw_frames(tb))


def _error_body(message: str, error_type: str, request_id: str, trace: list[str]) -> bytes:
    # Key order and simplejson's default separators (", " and ": ") as awslambdaric sends them.
    body = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }
    return json.dumps(body).encode("utf-8")


def runtime_api_error_body(info: ErrorInfo, request_id: str) -> bytes:
    """awslambdaric's JSON error body for a failed invoke, for ``POST .../invocation/<id>/error``.

    Keys are ``errorMessage, errorType, requestId, stackTrace``; the frames are rendered as
    ``traceback.format_list`` strings, outermost first (the reverse of :class:`ErrorInfo`'s order).
    """
    raw = [(frame.path, frame.line, frame.label) for frame in reversed(info.stack_trace)]
    return _error_body(info.message, info.type, request_id, _format_frames(raw))


def runtime_api_fault_body(fault: RuntimeFault, request_id: str = "") -> bytes:
    """awslambdaric's JSON error body for a fault; ``request_id`` is ``""`` for init errors."""
    return _error_body(fault.message, fault.error_type, request_id, list(fault.stack_trace))
