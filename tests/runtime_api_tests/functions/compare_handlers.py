"""Handlers run under both our Runtime API mode and awslambdaric, behind the same emulator.

Each is a plain ``module.function`` target; the tests copy this file into a scratch task root so
that both runtimes import it from the same path and their stack traces name the same file.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol


class Context(Protocol):
    """What the handlers read from the context (both runtimes' LambdaContext)."""

    aws_request_id: str
    invoked_function_arn: str
    function_name: str | None
    function_version: str | None
    memory_limit_in_mb: str | None
    log_group_name: str | None
    log_stream_name: str | None
    identity: object
    client_context: object
    tenant_id: str | None

    def get_remaining_time_in_millis(self) -> int: ...

    def w3c(self) -> dict[str, str]: ...


class CustomError(Exception):
    """A user-defined exception class, reported under its own name."""


def echo(event: object, context: Context) -> object:
    return event


def returns_none(event: object, context: Context) -> None:
    return None


def returns_set(event: object, context: Context) -> object:
    return {1, 2, 3}


def returns_bytes(event: object, context: Context) -> bytes:
    return b"\x00raw bytes\xff"


def _check(value: object) -> None:
    raise ValueError(f"bad value: {value!r}")


def raises_value_error(event: object, context: Context) -> object:
    _check(event)
    return event


def raises_custom(event: object, context: Context) -> object:
    raise CustomError("custom failure \u00e9")


def raises_huge(event: object, context: Context) -> object:
    raise ValueError("x" * 1_100_000)


def raises_key_error(event: object, context: Context) -> object:
    table: dict[str, object] = {}
    return table["missing"]


async def async_echo(event: object, context: Context) -> object:
    return event


def _slots(value: object) -> object:
    """A context object (identity, client context, client) as a dict of its slots."""
    slots: tuple[str, ...] = getattr(type(value), "__slots__", ())
    if not slots:  # None, or a plain JSON value
        return value
    return {name: _slots(getattr(value, name)) for name in sorted(slots)}


def context_report(event: object, context: Context) -> dict[str, object]:
    """Every attribute of the context, as JSON, and what the process sees of the invoke."""
    remaining = context.get_remaining_time_in_millis()
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity": _slots(context.identity),
        "identity_type": type(context.identity).__name__,
        "client_context": _slots(context.client_context),
        "tenant_id": context.tenant_id,
        "w3c": context.w3c(),
        "remaining_positive": remaining > 0,
        "remaining_at_most_timeout": remaining <= 300_000,
        "repr_prefix": repr(context).split("[", 1)[0],
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        "event": event,
    }


def logs(event: object, context: Context) -> str:
    """Writes through logging, print and context.log, for the log-line comparison."""
    logging.getLogger().warning("warned %s", "here")
    logging.getLogger("child").error("child error")
    logging.getLogger().info("not shown at the default level")
    print("printed line")
    context.log("context.log line\n")  # type: ignore[attr-defined]
    return "logged"
