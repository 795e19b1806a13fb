"""One event to invoke, and the function's answer, as values; the ids the go1.x service makes up.

:class:`Invocation` is what a caller fills in; :meth:`Invocation.to_request` turns it into the
``InvokeRequest`` aws-lambda-go receives, filling the gaps the way the service does: a random
request id, a deadline of "now + timeout" in Unix seconds and nanoseconds, the function's ARN, and
an X-Ray trace header.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import attrs

from runtime._messages import InvokeRequest, InvokeRequest_Timestamp

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_FUNCTION_NAME",
    "DEFAULT_REGION",
    "Invocation",
    "Response",
    "function_arn",
    "new_request_id",
    "new_trace_id",
    "random_hex",
]

#: What a function is called, where and by whom, when the caller does not say.
DEFAULT_FUNCTION_NAME = "function"
DEFAULT_REGION = "us-east-1"
#: Not a real account: twelve zeros, so nothing mistakes the ARN for a deployed function.
DEFAULT_ACCOUNT_ID = "000000000000"

_NANOS = 1_000_000_000


def new_request_id() -> str:
    """A request id as Lambda makes them: a random UUID in its 36-character form."""
    return str(uuid.uuid4())


def new_trace_id(now: float | None = None) -> str:
    """An ``X-Amzn-Trace-Id`` value as Lambda passes it: ``Root=1-<8 hex epoch seconds>-<24 hex>;
    Parent=<16 hex>;Sampled=0`` (not sampled: there is no X-Ray daemon to send to)."""
    seconds = int(time.time() if now is None else now)
    return f"Root=1-{seconds:08x}-{random_hex(12)};Parent={random_hex(8)};Sampled=0"


def random_hex(size: int) -> str:
    """``size`` random bytes from the OS in hex: ``secrets.token_hex(size)``, without importing
    ``secrets`` (with ``hashlib`` and OpenSSL's, about 4 ms of every ``invoke`` command here)."""
    return os.urandom(size).hex()


def function_arn(
    name: str, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID
) -> str:
    """The unqualified ARN of function ``name``."""
    return f"arn:aws:lambda:{region}:{account_id}:function:{name}"


@attrs.frozen(kw_only=True)
class Invocation:
    """One event to send with ``Function.Invoke``.

    Attributes:
        payload: the event, raw bytes (JSON for any real caller); see :meth:`of_event`.
        request_id: ``RequestId``; a fresh UUID by default.
        deadline_ns: ``Deadline`` as absolute Unix nanoseconds; None means "now + the timeout"
            at the moment the request is sent.
        invoked_function_arn: ``InvokedFunctionArn``; None means the function's own ARN.
        trace_id: ``XAmznTraceId``; None means a fresh, unsampled X-Ray header.
        client_context: ``ClientContext``, the raw JSON text of the mobile client context; empty
            for none.
        cognito_identity_id: ``CognitoIdentityId``.
        cognito_identity_pool_id: ``CognitoIdentityPoolId``.
    """

    payload: bytes = b"{}"
    request_id: str = attrs.field(factory=new_request_id)
    deadline_ns: int | None = None
    invoked_function_arn: str | None = None
    trace_id: str | None = None
    client_context: bytes = b""
    cognito_identity_id: str = ""
    cognito_identity_pool_id: str = ""

    @classmethod
    def of_event(cls, event: object, **fields: str | bytes | int | None) -> Invocation:
        """An invocation whose payload is ``event`` encoded as compact JSON."""
        payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(payload=payload, **fields)  # type: ignore[arg-type]

    def to_request(
        self, *, timeout: float, function_arn: str, now_ns: int | None = None
    ) -> InvokeRequest:
        """The ``InvokeRequest`` to send, the deadline ``timeout`` seconds after ``now_ns``."""
        now = time.time_ns() if now_ns is None else now_ns
        deadline = now + int(timeout * _NANOS) if self.deadline_ns is None else self.deadline_ns
        return InvokeRequest(
            payload=self.payload,
            request_id=self.request_id,
            x_amzn_trace_id=self.trace_id
            if self.trace_id is not None
            else new_trace_id(now / _NANOS),
            deadline=InvokeRequest_Timestamp(seconds=deadline // _NANOS, nanos=deadline % _NANOS),
            invoked_function_arn=(
                self.invoked_function_arn if self.invoked_function_arn is not None else function_arn
            ),
            cognito_identity_id=self.cognito_identity_id,
            cognito_identity_pool_id=self.cognito_identity_pool_id,
            client_context=self.client_context,
        )


@attrs.frozen(kw_only=True)
class Response:
    """A successful invoke: the function's payload (JSON from any aws-lambda-go handler)."""

    request_id: str
    payload: bytes

    def json(self) -> object:
        """The payload decoded as JSON."""
        return json.loads(self.payload)
