"""Logging and stdout set up as awslambdaric sets them up, without its module globals.

What users see must not change (PROTOCOL.md section 7, Logging): one root handler writing text
lines ``[LEVEL]\\t<UTC time>.<ms>Z\\t<request id>\\t<message>\\n`` or, with
``AWS_LAMBDA_LOG_FORMAT=JSON``, one JSON object per line in awslambdaric's key order;
``AWS_LAMBDA_LOG_LEVEL`` sets the root level.
What differs is where things come from: the request id is read through a getter instead of a
module global. The server passes :data:`INVOKE_REQUEST_ID`'s ``get``: the dispatcher sets that
context variable in the trio task of each invoke, and a sync handler's worker thread runs in a copy
of that task's context, so records show the id of their own invoke even when invokes overlap. The
options come from :class:`~runtime._settings.Settings`; UTC is set on our formatters rather than
on ``logging.Formatter`` for the whole process (Lambda runs with ``TZ=:UTC`` anyway).

The telemetry-FD framing (``_LAMBDA_TELEMETRY_LOG_FD``) is not done here: records go to the stream
the caller passes, as awslambdaric's ``StandardLogSink`` writes them to stdout.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from types import TracebackType
from typing import TextIO, cast

from ._settings import Settings

__all__ = [
    "INVOKE_REQUEST_ID",
    "LambdaLogHandler",
    "JsonFormatter",
    "text_formatter",
    "install_lambda_logging",
    "make_stdout_unbuffered",
]

TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# LogRecord attributes that are not ``extra=`` fields; awslambdaric's _RESERVED_FIELDS.
_RESERVED_FIELDS = frozenset(
    {
        "name",
        "msg",
        "args",
        "levelname",
        "levelno",
        "pathname",
        "filename",
        "module",
        "exc_info",
        "exc_text",
        "stack_info",
        "lineno",
        "funcName",
        "created",
        "msecs",
        "relativeCreated",
        "thread",
        "threadName",
        "processName",
        "process",
        "aws_request_id",
        "tenant_id",
        "_frame_type",
    }
)

IdGetter = Callable[[], "str | None"]

#: The request id of the invoke being served in the current context (a trio task, or the worker
#: thread of a sync handler, which gets a copy of its task's context); None outside an invoke.
#: Per context rather than per process, because the server runs concurrent invokes concurrently.
INVOKE_REQUEST_ID: ContextVar[str | None] = ContextVar("lambda_legacy_request_id", default=None)


def _no_id() -> str | None:
    return None


class _RequestIdFilter(logging.Filter):
    """Stamps each record with the current invoke's request id (``""`` before the first)."""

    def __init__(self, request_id_getter: IdGetter, tenant_id_getter: IdGetter) -> None:
        super().__init__()
        self._request_id = request_id_getter
        self._tenant_id = tenant_id_getter

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__["aws_request_id"] = self._request_id() or ""
        record.__dict__["tenant_id"] = self._tenant_id()
        return True


def _exception_parts(
    record: logging.LogRecord,
) -> tuple[BaseException, TracebackType | None] | None:
    info = record.exc_info
    if info is None or info[1] is None:  # exc_info=True outside an except block
        return None
    return info[1], info[2]


class JsonFormatter(logging.Formatter):
    """awslambdaric's JSON line: fixed keys first, then ``extra=`` fields; None values dropped."""

    def __init__(self) -> None:
        super().__init__(datefmt=JSON_DATE_FORMAT)
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one JSON object and a newline."""
        # awslambdaric rounds custom levels down to a standard name (25 -> INFO); the record
        # itself is left alone here so other handlers still see the original level.
        level = logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10)
        exception = _exception_parts(record)
        # A dict logged alone stays an object; with arguments it is a format string, as in
        # awslambdaric (``isinstance(record.msg, dict) and not record.args``).
        raw_dict = isinstance(record.msg, dict) and not record.args
        message = record.msg if raw_dict else record.getMessage()
        result: dict[str, object] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": level,
            "message": message,
            "logger": record.name,
            "stackTrace": traceback.format_tb(exception[1]) if exception else None,
            "errorType": type(exception[0]).__name__ if exception else None,
            "errorMessage": str(exception[0]) if exception else None,
            "requestId": record.__dict__.get("aws_request_id"),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}"
            if exception
            else None,
        }
        tenant_id = record.__dict__.get("tenant_id")
        if tenant_id is not None:
            result["tenantId"] = tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_FIELDS and key not in result:
                result[key] = value
        present = {key: value for key, value in result.items() if value is not None}
        return json.dumps(present, ensure_ascii=False, default=str) + "\n"


def text_formatter() -> logging.Formatter:
    """awslambdaric's text format, with times in UTC."""
    formatter = logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT)
    formatter.converter = time.gmtime
    return formatter


class LambdaLogHandler(logging.Handler):
    """The root handler: each formatted record goes to the stream as is, then a flush.

    The formats end in ``\\n`` themselves, so nothing is added. :meth:`write` is also how
    ``LambdaContext.log`` reaches the same sink.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    def write(self, text: str) -> None:
        """Write ``text`` unchanged (no newline added) and flush, under the handler's lock."""
        self.acquire()
        try:
            self.stream.write(text)
            self.stream.flush()
        finally:
            self.release()

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` and write it; failures go to ``handleError`` as logging expects."""
        try:
            text = self.format(record)
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            self.handleError(record)


def install_lambda_logging(
    settings: Settings,
    request_id_getter: IdGetter,
    stream: TextIO,
    *,
    tenant_id_getter: IdGetter = _no_id,
) -> LambdaLogHandler:
    """Add the Lambda root handler and apply ``AWS_LAMBDA_LOG_LEVEL``, as awslambdaric does.

    Existing root handlers are left in place (awslambdaric adds, never replaces). The root level
    changes only when ``settings.log_level`` is a known level name; otherwise it stays as it is
    (WARNING in a fresh process).

    Returns:
        The handler, so that the caller (or a test) can remove it again.
    """
    handler = LambdaLogHandler(stream)
    handler.setFormatter(JsonFormatter() if settings.log_format == "JSON" else text_formatter())
    handler.addFilter(_RequestIdFilter(request_id_getter, tenant_id_getter))
    root = logging.getLogger()
    if settings.log_level in logging.getLevelNamesMapping():
        root.setLevel(settings.log_level)
    root.addHandler(handler)
    return handler


class _FlushingWriter:
    """A text stream whose writes are flushed at once (awslambdaric's ``Unbuffered``)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.stream.flush()
        return written

    def writelines(self, lines: Iterable[str]) -> None:
        self.stream.writelines(lines)
        self.stream.flush()

    def flush(self) -> None:  # called after every invoke: not through __getattr__
        self.stream.flush()

    # ``with sys.stdout:`` leaves the stream open, as with awslambdaric's ``Unbuffered``.
    def __enter__(self) -> _FlushingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def make_stdout_unbuffered() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` flush after every write.

    Must run before the handler module is imported: libraries such as Powertools capture
    ``sys.stdout`` at import time, and their lines have to interleave correctly with ours.
    Calling it twice does not wrap twice.
    """
    if sys.stdout is not None and not isinstance(sys.stdout, _FlushingWriter):
        sys.stdout = cast(TextIO, _FlushingWriter(sys.stdout))
    if sys.stderr is not None and not isinstance(sys.stderr, _FlushingWriter):
        sys.stderr = cast(TextIO, _FlushingWriter(sys.stderr))
