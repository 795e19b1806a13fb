"""Events, results and error documents as awslambdaric marshals them in Runtime API mode.

RPC mode speaks aws-lambda-go's JSON (``runtime/_payload.py``): the go1.x service expects Go's
bytes. In Runtime API mode the function is a Python function on a Python-shaped runtime, and what
callers see must be what awslambdaric 4.2.2 produces for the same handler (PROTOCOL.md section 7):

- the event is parsed only when ``Content-Type`` is exactly ``application/json``, otherwise the
  handler gets the raw bytes;
- a ``bytes`` result passes through as ``application/unknown``; anything else is JSON written by
  simplejson with its default separators (``", "``, ``": "``), ``NaN``/``Infinity`` allowed,
  ``Decimal`` written as its own digits (``1.10``), named tuples as objects, ASCII-escaped unless
  ``AWS_EXECUTION_ENV`` names a Python 3.12+ runtime;
- the same encoder writes the error bodies and the X-Ray cause document.

simplejson is used because it is awslambdaric's encoder: the same options give the same bytes,
including the cases where it differs from the standard library (``Decimal``, named tuples,
``bytes`` inside containers).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence

import simplejson
from simplejson.raw_json import RawJSON

from ._errors import MarshalError, UnmarshalError

__all__ = [
    "JSON_CONTENT_TYPE",
    "BYTES_CONTENT_TYPE",
    "ResultEncoder",
    "make_encoder",
    "marshal_result",
    "unmarshal_event",
    "error_document",
    "xray_cause",
    "to_json",
]

JSON_CONTENT_TYPE = "application/json"
#: awslambdaric's content type for a ``bytes`` result.
BYTES_CONTENT_TYPE = "application/unknown"

#: ``AWS_EXECUTION_ENV`` values for which awslambdaric writes non-ASCII characters unescaped.
UNESCAPED_EXECUTION_ENVS = frozenset(f"AWS_Lambda_python3.{minor}" for minor in (12, 13, 14, 15))


class ResultEncoder(simplejson.JSONEncoder):
    """simplejson with awslambdaric's options; ``Decimal`` keeps its digits, NaN stays NaN."""

    def __init__(self, *, ensure_ascii: bool) -> None:
        super().__init__(use_decimal=False, ensure_ascii=ensure_ascii, allow_nan=True)

    def default(self, o: object) -> object:
        """``Decimal`` as raw digits (``NaN`` as the float NaN); anything else is refused."""
        if isinstance(o, decimal.Decimal):
            return math.nan if o.is_nan() else RawJSON(str(o))
        return super().default(o)


def make_encoder(execution_env: str | None) -> ResultEncoder:
    """The encoder for this process, given ``AWS_EXECUTION_ENV`` (read once, at start-up)."""
    return ResultEncoder(ensure_ascii=execution_env not in UNESCAPED_EXECUTION_ENVS)


def unmarshal_event(body: bytes, content_type: str | None) -> object:
    """The handler's ``event``: parsed JSON for ``application/json``, else ``body`` itself.

    Raises:
        UnmarshalError: the body is not JSON (``Unable to unmarshal input: Expecting value:
            line 1 column 1 (char 0)``).
    """
    if content_type != JSON_CONTENT_TYPE:
        return body
    try:
        return simplejson.loads(body)
    except Exception as exc:  # awslambdaric turns any decoder failure into this fault
        raise UnmarshalError(f"Unable to unmarshal input: {exc}") from exc


def marshal_result(encoder: ResultEncoder, result: object) -> tuple[bytes, str]:
    """The response body and its content type for a handler's return value.

    Raises:
        MarshalError: the value cannot be written as JSON (``Unable to marshal response: Object
            of type set is not JSON serializable``).
    """
    if isinstance(result, bytes):
        return result, BYTES_CONTENT_TYPE
    try:
        text: str = encoder.encode(result)
        return text.encode("utf-8"), JSON_CONTENT_TYPE
    except Exception as exc:  # awslambdaric catches everything the encoder raises
        raise MarshalError(f"Unable to marshal response: {exc}") from exc


def error_document(
    message: str, error_type: str, request_id: str, stack_trace: Sequence[str]
) -> dict[str, object]:
    """awslambdaric's error result: these four keys, in this order."""
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": list(stack_trace),
    }


def xray_cause(
    error_type: str, message: str, working_directory: str, frames: Sequence[tuple[str, int, str]]
) -> dict[str, object]:
    """awslambdaric's X-Ray cause document for a failed invoke (frames outermost first)."""
    stack = [{"label": label, "path": path, "line": line} for path, line, label in frames]
    return {
        "working_directory": working_directory,
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": list(dict.fromkeys(path for path, _, _ in frames)),
    }


def to_json(encoder: ResultEncoder, document: object) -> bytes:
    """``document`` written by ``encoder``, as UTF-8 bytes."""
    text: str = encoder.encode(document)
    return text.encode("utf-8")
