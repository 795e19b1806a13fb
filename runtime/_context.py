"""The ``context`` argument of a handler: awslambdaric's ``LambdaContext``, built from an invoke.

Users, and libraries such as Powertools, already know awslambdaric's object, so the attribute
names, types and ``repr`` are exactly its own (PROTOCOL.md section 7). What differs is the input:
the values come from the go1.x ``InvokeRequest`` (via :func:`build_context`) and the process
:class:`~runtime._settings.Settings`, never from the environment, and the clock is injected, so
``get_remaining_time_in_millis`` can be tested without sleeping.

The ClientContext bytes are handled as aws-lambda-go handles them: parsed only when non-empty,
and anything ``json.Unmarshal`` into ``lambdacontext.ClientContext`` (v1.54.0) would reject fails
the invoke before the handler runs. The object the handler sees is still awslambdaric's shape.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping

from ._errors import LambdaContextUnmarshalError
from ._logging import LambdaLogHandler
from ._payload import GoJSONError, parse_json
from ._settings import Settings

__all__ = [
    "Client",
    "ClientContext",
    "CognitoIdentity",
    "LambdaContext",
    "build_context",
    "client_from_json",
]

#: Keys of the client context's ``w3c`` object that ``LambdaContext.w3c()`` exposes.
W3C_FIELDS = ("traceparent", "tracestate", "baggage")

Clock = Callable[[], int]


class CognitoIdentity:
    """The caller's Amazon Cognito identity; both ids are None when the invoke has none."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(
        self, *, cognito_identity_id: str | None = None, cognito_identity_pool_id: str | None = None
    ) -> None:
        self.cognito_identity_id = cognito_identity_id
        self.cognito_identity_pool_id = cognito_identity_pool_id

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """The mobile client application from the client context (awslambdaric's slots)."""

    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(
        self,
        *,
        installation_id: object = None,
        app_title: object = None,
        app_version_name: object = None,
        app_version_code: object = None,
        app_package_name: object = None,
    ) -> None:
        self.installation_id = installation_id
        self.app_title = app_title
        self.app_version_name = app_version_name
        self.app_version_code = app_version_code
        self.app_package_name = app_package_name

    def __repr__(self) -> str:
        return (
            f"Client([installation_id={self.installation_id},"
            f"app_title={self.app_title},"
            f"app_version_name={self.app_version_name},"
            f"app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}])"
        )


class ClientContext:
    """The client context an AWS Mobile SDK caller sent: ``custom``, ``env`` and ``client``."""

    __slots__ = ("client", "custom", "env")

    def __init__(
        self, *, custom: object = None, env: object = None, client: Client | None = None
    ) -> None:
        self.custom = custom
        self.env = env
        self.client = client

    def __repr__(self) -> str:
        return f"ClientContext([custom={self.custom},env={self.env},client={self.client}])"


class LambdaContext:
    """The invoke's context, attribute for attribute awslambdaric's ``LambdaContext``.

    There is no ``__dict__``: the attribute set is fixed, and it must never grow ``state`` and
    ``lambda_context`` together, which Powertools takes for a durable-functions wrapper.
    """

    __slots__ = (
        "_clock",
        "_deadline_ns",
        "_w3c",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
        "tenant_id",
    )

    def __init__(
        self,
        *,
        aws_request_id: str,
        invoked_function_arn: str,
        deadline_ns: int,
        clock: Clock,
        function_name: str | None = None,
        function_version: str | None = None,
        memory_limit_in_mb: str | None = None,
        log_group_name: str | None = None,
        log_stream_name: str | None = None,
        identity: CognitoIdentity | None = None,
        client_context: ClientContext | None = None,
        tenant_id: str | None = None,
        w3c: Mapping[str, str] | None = None,
    ) -> None:
        """Set every attribute; the optional ones are None when Lambda does not provide them.

        Args:
            deadline_ns: the invoke deadline as Unix time in nanoseconds.
            clock: the current Unix time in nanoseconds (``time.time_ns`` in production).
            identity: defaults to one with both ids None; awslambdaric always has an identity.
            w3c: the allowed string fields of the client context's ``w3c`` object.
        """
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = function_name
        self.function_version = function_version
        self.memory_limit_in_mb = memory_limit_in_mb
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity = CognitoIdentity() if identity is None else identity
        self.client_context = client_context
        self.tenant_id = tenant_id
        self._deadline_ns = deadline_ns
        self._clock = clock
        self._w3c = dict(w3c or {})

    def get_remaining_time_in_millis(self) -> int:
        """Whole milliseconds until the deadline, never below 0.

        awslambdaric's arithmetic on millisecond timestamps (``deadline_ms - now_ms``), so a
        Runtime API deadline gives the same number it would.
        """
        remaining = self._deadline_ns // 1_000_000 - self._clock() // 1_000_000
        return max(remaining, 0)

    def w3c(self) -> dict[str, str]:
        """The W3C trace context (``traceparent``, ``tracestate``, ``baggage``) of the invoke."""
        return dict(self._w3c)

    def log(self, msg: object) -> None:
        """Write ``str(msg)`` to the Lambda log sink as is (no newline added); else to stdout."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler, LambdaLogHandler):
                handler.write(str(msg))
                return
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


# --- ClientContext as aws-lambda-go v1.54.0 decodes it -----------------------------------------

# v1.54.0's ClientContext.UnmarshalJSON decodes into this anonymous struct first; Go names it in
# the error for a top-level value of the wrong kind.
_GO_RAW_STRUCT = (
    'struct { Client lambdacontext.ClientApplication "json:\\"Client\\""; '
    'Env map[string]string "json:\\"env\\""; '
    'Custom map[string]json.RawMessage "json:\\"custom\\"" }'
)
_GO_CLIENT_FIELDS = ("installation_id", "app_title", "app_version_code", "app_package_name")


def _go_kind(value: object) -> str:
    """The JSON kind as Go's ``UnmarshalTypeError.Value`` names it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_error(value: object, field: str, go_type: str) -> GoJSONError:
    where = f"Go struct field {field}" if field else "Go value"
    message = f"json: cannot unmarshal {_go_kind(value)} into {where} of type {go_type}"
    return GoJSONError("UnmarshalTypeError", message)


def _check_client(client: object) -> None:
    if client is None:
        return
    if not isinstance(client, dict):
        raise _type_error(client, ".Client", "lambdacontext.ClientApplication")
    for key, value in client.items():
        name = key.casefold()  # Go matches field names case-insensitively
        if name in _GO_CLIENT_FIELDS and value is not None and not isinstance(value, str):
            raise _type_error(value, f"ClientApplication.Client.{name}", "string")


def _check_go_shape(parsed: object) -> None:
    """Raise what ``json.Unmarshal`` into ``lambdacontext.ClientContext`` would raise, if anything.

    Go reports the first mismatch in document order. It checks the document, ``Client`` and its
    four string fields, the string map ``env`` and the map ``custom`` (whose values may be
    anything since v1.54.0); other keys are ignored.
    """
    if parsed is None:
        return
    if not isinstance(parsed, dict):
        raise _type_error(parsed, "", _GO_RAW_STRUCT)
    for key, value in parsed.items():
        field = key.casefold()
        if field == "client":
            _check_client(value)
        elif field == "env" and value is not None:
            if not isinstance(value, dict):
                raise _type_error(value, ".env", "map[string]string")
            for element in value.values():
                if element is not None and not isinstance(element, str):
                    raise _type_error(element, ".env", "string")
        elif field == "custom" and value is not None and not isinstance(value, dict):
            raise _type_error(value, ".custom", "map[string]json.RawMessage")


def client_from_json(raw_client: dict[str, object]) -> Client:
    """awslambdaric's ``Client`` from the client context's ``client`` object: exact keys."""
    return Client(
        installation_id=raw_client.get("installation_id"),
        app_title=raw_client.get("app_title"),
        app_version_name=raw_client.get("app_version_name"),
        app_version_code=raw_client.get("app_version_code"),
        app_package_name=raw_client.get("app_package_name"),
    )


def _parse_client_context(data: bytes) -> tuple[ClientContext | None, dict[str, str]]:
    """The handler's ``client_context`` and ``w3c()`` fields from the request's raw JSON bytes."""
    try:
        parsed = parse_json(data, whole_document=True, numbers_as_float64=False)
        _check_go_shape(parsed)
    except GoJSONError as exc:
        raise LambdaContextUnmarshalError(
            f"Unable to parse Client Context JSON: {exc.go_message}",
            go_message=exc.go_message,
            go_type=exc.go_type,
        ) from None
    if not isinstance(parsed, dict):  # JSON null: Go keeps a zero value, awslambdaric None
        return None, {}
    w3c = parsed.pop("w3c", None)
    fields: dict[str, str] = {}
    if isinstance(w3c, dict):
        fields = {key: w3c[key] for key in W3C_FIELDS if isinstance(w3c.get(key), str)}
    # awslambdaric's shape: exact keys, values as parsed.
    raw_client = parsed.get("client")
    client = client_from_json(raw_client) if isinstance(raw_client, dict) else None
    context = ClientContext(custom=parsed.get("custom"), env=parsed.get("env"), client=client)
    return context, fields


def build_context(
    *,
    request_id: str,
    invoked_function_arn: str,
    deadline_seconds: int,
    deadline_nanos: int,
    cognito_identity_id: str,
    cognito_identity_pool_id: str,
    client_context_json: bytes,
    settings: Settings,
    clock: Clock,
) -> LambdaContext:
    """The context for one go1.x ``InvokeRequest``.

    The deadline is ``time.Unix(deadline_seconds, deadline_nanos)``: no validation, so a zero
    deadline is 1970 and the remaining time is 0, while the handler still runs (as in Go). Empty
    Cognito ids (gob omits them) become None, as awslambdaric shows an absent identity. The
    tenant id is never set in RPC mode.

    Raises:
        LambdaContextUnmarshalError: ``client_context_json`` is non-empty and Go would not
            accept it; ``go_type``/``go_message`` are Go's (e.g. ``SyntaxError``, ``invalid
            character 'n' looking for beginning of object key string``).
    """
    client_context: ClientContext | None = None
    w3c: dict[str, str] = {}
    if client_context_json:  # Go parses only when len(ClientContext) > 0
        client_context, w3c = _parse_client_context(client_context_json)
    return LambdaContext(
        aws_request_id=request_id,
        invoked_function_arn=invoked_function_arn,
        deadline_ns=deadline_seconds * 1_000_000_000 + deadline_nanos,
        clock=clock,
        function_name=settings.function_name,
        function_version=settings.function_version,
        memory_limit_in_mb=settings.memory_size,
        log_group_name=settings.log_group_name,
        log_stream_name=settings.log_stream_name,
        identity=CognitoIdentity(
            cognito_identity_id=cognito_identity_id or None,
            cognito_identity_pool_id=cognito_identity_pool_id or None,
        ),
        client_context=client_context,
        w3c=w3c,
    )
