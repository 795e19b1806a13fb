"""Python twins of ``gopeer function --handler script|context`` (tools/gopeer/function.go).

Served by ``lambda-legacy serve pyfunction.script`` so the same scenarios run against our own
server. Exception class names are Go's error type names, so both sides show the same errorType.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from runtime._context import LambdaContext

_invocations = 0


class errorString(Exception):  # noqa: N801, N818 - Go's type name for errors.New values
    """What ``errors.New("boom")`` is called on the wire."""


class string(BaseException):  # noqa: N801 - Go's name for the type of panic("oops")'s value
    """A panic: not an ``Exception``, so the reply sets ShouldExit, as aws-lambda-go's does."""


def script(event: dict[str, Any], context: LambdaContext) -> object:
    """Does what ``event["action"]`` says, as the Go script handler does."""
    global _invocations  # noqa: PLW0603 - counts invokes per process, which is the point
    _invocations += 1
    action = event.get("action")
    if action == "echo":
        return event
    if action == "error":
        raise errorString("boom")
    if action == "panic":
        raise string("oops")
    if action == "sleep":
        child = 0
        if event.get("spawn"):
            child = subprocess.Popen(["sleep", "60"]).pid
        print(f"pids {os.getpid()} {child}", flush=True)
        time.sleep(event.get("ms", 0) / 1000)
        return event
    if action == "crash":
        sys.stdout.flush()
        os._exit(event.get("code", 0))
    if action == "count":
        return {"invocations": _invocations, "pid": os.getpid()}
    if action == "stdout":
        size = event["bytes"]
        block = (b"x" * 99 + b"\n") * 10_000  # 1 MB of the Go twin's 100-byte lines
        out = sys.stdout.buffer
        for start in range(0, size, len(block)):
            out.write(block[: size - start])
        out.flush()
        return {"written": size}
    raise errorString(f"unknown action {json.dumps(action)}")


def context(event: object, context: LambdaContext) -> dict[str, object]:
    """The fields of the Go context handler's ``contextReport``, from awslambdaric's context."""
    client_context: dict[str, object] = {"Client": {}, "env": None, "custom": None}
    if context.client_context is not None:
        client = context.client_context.client
        client_context = {
            "Client": {}
            if client is None
            else {
                "installation_id": client.installation_id,
                "app_title": client.app_title,
                "app_version_code": client.app_version_code,
                "app_package_name": client.app_package_name,
            },
            "env": context.client_context.env,
            "custom": context.client_context.custom,
        }
    now_ms = time.time_ns() // 1_000_000
    return {
        "request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "cognito_identity_id": context.identity.cognito_identity_id or "",
        "cognito_identity_pool_id": context.identity.cognito_identity_pool_id or "",
        "client_context": client_context,
        "deadline_ms": now_ms + context.get_remaining_time_in_millis(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID", ""),
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": int(context.memory_limit_in_mb or 0),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
    }


def sized(event: dict[str, Any], context: LambdaContext) -> bytes:
    """A JSON string of exactly ``event["bytes"]`` bytes (no Go twin: only the size matters)."""
    return b'"' + b"x" * (int(event["bytes"]) - 2) + b'"'
