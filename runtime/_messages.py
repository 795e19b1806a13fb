"""aws-lambda-go's RPC messages (``lambda/messages/messages.go``) as gob-bound attrs classes.

Field order is declaration order, which is the gob field number; the Go widths matter for range
checks (``Line`` is an int32). The package name ``messages`` shows up on the wire in the type name
``[]*messages.InvokeResponse_Error_StackFrame``, so it is declared here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import attrs

from gobrpc import BasicType, Kind, PointerType, SliceType, gob_field, struct_type

__all__ = [
    "INVOKE",
    "METHODS",
    "PING",
    "InvokeRequest",
    "InvokeRequest_Timestamp",
    "InvokeResponse",
    "InvokeResponse_Error",
    "InvokeResponse_Error_StackFrame",
    "PingRequest",
    "PingResponse",
    "ReplyNow",
]

_STRING = BasicType(Kind.STRING)
_BYTES = BasicType(Kind.BYTES)
_INT64 = BasicType(Kind.INT64)
_INT32 = BasicType(Kind.INT32)
_BOOL = BasicType(Kind.BOOL)
_PACKAGE = "messages"

PING = "Function.Ping"
INVOKE = "Function.Invoke"


@attrs.frozen(kw_only=True)
class PingRequest:
    """``messages.PingRequest``: no fields."""

    __gob_package__: ClassVar[str] = _PACKAGE


@attrs.frozen(kw_only=True)
class PingResponse:
    """``messages.PingResponse``: no fields."""

    __gob_package__: ClassVar[str] = _PACKAGE


@attrs.frozen(kw_only=True)
class InvokeRequest_Timestamp:  # noqa: N801 - Go's name, which is also the wire name
    """The invoke deadline as Unix seconds and nanoseconds."""

    __gob_package__: ClassVar[str] = _PACKAGE
    seconds: int = gob_field("Seconds", _INT64, default=0)
    nanos: int = gob_field("Nanos", _INT64, default=0)


@attrs.frozen(kw_only=True)
class InvokeRequest:
    """One event for the function, as the go1.x service sends it."""

    __gob_package__: ClassVar[str] = _PACKAGE
    payload: bytes = gob_field("Payload", _BYTES, default=b"")
    request_id: str = gob_field("RequestId", _STRING, default="")
    x_amzn_trace_id: str = gob_field("XAmznTraceId", _STRING, default="")
    deadline: InvokeRequest_Timestamp = gob_field(
        "Deadline", InvokeRequest_Timestamp, factory=InvokeRequest_Timestamp
    )
    invoked_function_arn: str = gob_field("InvokedFunctionArn", _STRING, default="")
    cognito_identity_id: str = gob_field("CognitoIdentityId", _STRING, default="")
    cognito_identity_pool_id: str = gob_field("CognitoIdentityPoolId", _STRING, default="")
    client_context: bytes = gob_field("ClientContext", _BYTES, default=b"")


@attrs.frozen(kw_only=True)
class InvokeResponse_Error_StackFrame:  # noqa: N801 - Go's name
    """One stack frame of an error: path, line, label (function)."""

    __gob_package__: ClassVar[str] = _PACKAGE
    path: str = gob_field("Path", _STRING, default="")
    line: int = gob_field("Line", _INT32, default=0)
    label: str = gob_field("Label", _STRING, default="")


@attrs.frozen(kw_only=True)
class InvokeResponse_Error:  # noqa: N801 - Go's name
    """A function error. ``should_exit`` tells the service the process is no longer fit."""

    __gob_package__: ClassVar[str] = _PACKAGE
    message: str = gob_field("Message", _STRING, default="")
    type: str = gob_field("Type", _STRING, default="")
    stack_trace: list[InvokeResponse_Error_StackFrame] | None = gob_field(
        "StackTrace",
        lambda: SliceType(PointerType(struct_type(InvokeResponse_Error_StackFrame))),
        default=None,
    )
    should_exit: bool = gob_field("ShouldExit", _BOOL, default=False)


@attrs.frozen(kw_only=True)
class InvokeResponse:
    """The function's answer: a payload, or an error."""

    __gob_package__: ClassVar[str] = _PACKAGE
    payload: bytes = gob_field("Payload", _BYTES, default=b"")
    error: InvokeResponse_Error | None = gob_field(
        "Error", lambda: PointerType(struct_type(InvokeResponse_Error)), default=None
    )


#: The go1.x function's methods and their argument types.
METHODS = {PING: struct_type(PingRequest), INVOKE: struct_type(InvokeRequest)}


#: Offers an invoke's response to the server as soon as it is ready, from whichever thread has it
#: (a sync handler's worker). The server sends it from there if it can; if not, it sends the
#: response ``invoke`` returns, as usual.
ReplyNow = Callable[[InvokeResponse], None]
