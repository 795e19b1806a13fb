"""Python mirrors of the Go handlers in ``tools/gopeer/function.go`` (``--handler NAME``).

The golden transcripts were recorded against those Go handlers; replaying them against
``lambda-legacy serve go_mirror.NAME`` must give the same bytes, except the parts a transcript marks
as language dependent. Each mirror returns what its Go twin returns, in the shape Go gives it: the
exception class names are Go's error type names, because that is what the service sees.
"""

from __future__ import annotations

import json
import os
from typing import NoReturn

from runtime._context import LambdaContext


class errorString(Exception):  # noqa: N801, N818 - Go's type name for errors.New values
    """What ``errors.New("boom")`` is called on the wire."""


class string(BaseException):  # noqa: N801 - Go's name for the type of panic("oops")'s value
    """A panic: not an ``Exception``, so the reply sets ShouldExit, as aws-lambda-go's does."""


def echo(event: object, context: LambdaContext) -> object:
    """Returns the event unchanged (Go's JSON encoder compacts it, and so does ours)."""
    return event


def error(event: object, context: LambdaContext) -> NoReturn:
    """``return nil, errors.New("boom")``."""
    raise errorString("boom")


def panic(event: object, context: LambdaContext) -> NoReturn:
    """``panic("oops")``."""
    raise string("oops")


def crash(event: object, context: LambdaContext) -> NoReturn:
    """``os.Exit(3)`` in the middle of the invoke."""
    os._exit(3)


def _go_client_context(context: LambdaContext) -> dict[str, object]:
    """lambdacontext.ClientContext as Go marshals it: sorted map keys, map values as strings."""
    client = context.client_context

    def go_map(values: object) -> dict[str, object] | None:
        if not isinstance(values, dict):
            return None
        return {
            key: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            for key, value in sorted(values.items())
        }

    return {
        "Client": {
            "installation_id": client.client.installation_id if client and client.client else "",
            "app_title": client.client.app_title if client and client.client else "",
            "app_version_code": client.client.app_version_code if client and client.client else "",
            "app_package_name": client.client.app_package_name if client and client.client else "",
        },
        "env": go_map(client.env) if client else None,
        "custom": go_map(client.custom) if client else None,
    }


def context(event: object, context: LambdaContext) -> dict[str, object]:
    """The Go handler's contextReport, field for field, from the Python context."""
    deadline_ms = context._deadline_ns // 1_000_000  # Go's ctx.Deadline()
    expired = context.get_remaining_time_in_millis() == 0
    trace_id = os.environ.get("_X_AMZN_TRACE_ID", "")
    return {
        "request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "cognito_identity_id": context.identity.cognito_identity_id or "",
        "cognito_identity_pool_id": context.identity.cognito_identity_pool_id or "",
        "client_context": _go_client_context(context),
        "deadline_ms": deadline_ms,
        "trace_id": trace_id,
        "trace_id_ctx": trace_id,
        "context_err": "context deadline exceeded" if expired else "",
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": int(context.memory_limit_in_mb or 0),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
    }
