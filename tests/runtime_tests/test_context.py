"""``LambdaContext``: awslambdaric's attributes and repr, built from a go1.x invoke.

ClientContext failures carry the type and message Go's ``json.Unmarshal`` into aws-lambda-go
v1.54.0's ``lambdacontext.ClientContext`` produces (checked against Go when written).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from runtime._context import (
    Client,
    ClientContext,
    CognitoIdentity,
    LambdaContext,
    build_context,
)
from runtime._errors import LambdaContextUnmarshalError
from runtime._logging import LambdaLogHandler
from runtime._settings import Settings

SETTINGS = Settings(
    function_name="my-fn",
    function_version="$LATEST",
    memory_size="128",
    log_group_name="/aws/lambda/my-fn",
    log_stream_name="2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef",
)
ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn"


class FakeClock:
    """Unix time in nanoseconds, moved by hand."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.now_ns


def build(
    *,
    client_context_json: bytes = b"",
    cognito_identity_id: str = "",
    cognito_identity_pool_id: str = "",
    deadline_seconds: int = 1_700_000_010,
    deadline_nanos: int = 500_000_000,
    clock: FakeClock | None = None,
    settings: Settings = SETTINGS,
) -> LambdaContext:
    return build_context(
        request_id="req-1",
        invoked_function_arn=ARN,
        deadline_seconds=deadline_seconds,
        deadline_nanos=deadline_nanos,
        cognito_identity_id=cognito_identity_id,
        cognito_identity_pool_id=cognito_identity_pool_id,
        client_context_json=client_context_json,
        settings=settings,
        clock=clock or FakeClock(1_700_000_000 * 10**9),
    )


# --- attributes ---------------------------------------------------------------------------------


def test_attributes_come_from_request_and_settings() -> None:
    context = build()
    assert context.aws_request_id == "req-1"
    assert context.invoked_function_arn == ARN
    assert context.function_name == "my-fn"
    assert context.function_version == "$LATEST"
    assert context.memory_limit_in_mb == "128"  # a string, as in awslambdaric
    assert context.log_group_name == "/aws/lambda/my-fn"
    assert context.log_stream_name == "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef"
    assert context.client_context is None
    assert context.tenant_id is None
    assert context.w3c() == {}


def test_unset_settings_give_none() -> None:
    context = build(settings=Settings())
    assert (
        context.function_name,
        context.function_version,
        context.memory_limit_in_mb,
        context.log_group_name,
        context.log_stream_name,
    ) == (None, None, None, None, None)


def test_identity_is_always_an_object() -> None:
    empty = build()
    assert isinstance(empty.identity, CognitoIdentity)
    assert (empty.identity.cognito_identity_id, empty.identity.cognito_identity_pool_id) == (
        None,
        None,
    )
    full = build(cognito_identity_id="us-east-1:id", cognito_identity_pool_id="us-east-1:pool")
    assert full.identity.cognito_identity_id == "us-east-1:id"
    assert full.identity.cognito_identity_pool_id == "us-east-1:pool"


def test_attribute_set_is_closed() -> None:
    context = build()
    assert not hasattr(context, "__dict__")
    with pytest.raises(AttributeError):
        context.extra = 1  # type: ignore[attr-defined]
    # Powertools takes an object with both of these for a durable-functions wrapper.
    assert not hasattr(context, "state")
    assert not hasattr(context, "lambda_context")


def test_repr_is_awslambdaric_s() -> None:
    context = build(cognito_identity_id="id-1")
    assert repr(context) == (
        "LambdaContext([aws_request_id=req-1,log_group_name=/aws/lambda/my-fn,"
        "log_stream_name=2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef,"
        "function_name=my-fn,memory_limit_in_mb=128,function_version=$LATEST,"
        f"invoked_function_arn={ARN},client_context=None,"
        "identity=CognitoIdentity([cognito_identity_id=id-1,cognito_identity_pool_id=None]),"
        "tenant_id=None])"
    )


def test_repr_with_a_client_context() -> None:
    context = build(
        client_context_json=b'{"client":{"installation_id":"i-1","app_title":"App"},'
        b'"custom":{"k":"v"},"env":{"platform":"Android"}}',
        settings=Settings(),
    )
    assert repr(context.client_context) == (
        "ClientContext([custom={'k': 'v'},env={'platform': 'Android'},"
        "client=Client([installation_id=i-1,app_title=App,app_version_name=None,"
        "app_version_code=None,app_package_name=None])])"
    )
    assert "client_context=ClientContext([custom={'k': 'v'}" in repr(context)


def test_context_classes_can_be_built_by_keyword() -> None:
    client = Client(installation_id="i", app_package_name="p")
    context = LambdaContext(
        aws_request_id="r",
        invoked_function_arn="a",
        deadline_ns=0,
        clock=int,
        client_context=ClientContext(custom={}, env=None, client=client),
        tenant_id="tenant-1",
    )
    assert context.client_context is not None
    assert context.client_context.client is client
    assert context.tenant_id == "tenant-1"
    assert repr(context).endswith(",tenant_id=tenant-1])")


# --- remaining time -----------------------------------------------------------------------------


def test_remaining_time_reads_the_clock_on_every_call() -> None:
    clock = FakeClock(1_700_000_000 * 10**9)
    context = build(clock=clock)  # deadline 1_700_000_010.5
    assert context.get_remaining_time_in_millis() == 10_500
    clock.now_ns += 4_000_250_000  # 4.00025 s later
    assert context.get_remaining_time_in_millis() == 6_500
    assert clock.calls == 2


def test_remaining_time_uses_millisecond_timestamps_like_awslambdaric() -> None:
    # deadline_ms - now_ms, both truncated: 1700000010121 - 1700000000999 = 9122
    clock = FakeClock(1_700_000_000_999_900_000)
    context = build(deadline_nanos=121_702_432, clock=clock)
    assert context.get_remaining_time_in_millis() == 9_122


@pytest.mark.parametrize(
    ("deadline_seconds", "deadline_nanos"),
    [(1_700_000_000, 0), (1_600_000_000, 0), (0, 0), (-5, 0)],
)
def test_remaining_time_is_never_negative(deadline_seconds: int, deadline_nanos: int) -> None:
    context = build(
        deadline_seconds=deadline_seconds,
        deadline_nanos=deadline_nanos,
        clock=FakeClock(1_700_000_000 * 10**9 + 1),
    )
    assert context.get_remaining_time_in_millis() == 0


def test_out_of_range_nanos_are_normalised_like_time_unix() -> None:
    # time.Unix(10, 1_500_000_000) is 11.5 s.
    context = build(deadline_seconds=10, deadline_nanos=1_500_000_000, clock=FakeClock(0))
    assert context.get_remaining_time_in_millis() == 11_500


# --- client context -----------------------------------------------------------------------------


def test_client_context_fields() -> None:
    context = build(
        client_context_json=b'{"client":{"installation_id":"i-1","app_title":"App",'
        b'"app_version_name":"1.0","app_version_code":"10","app_package_name":"com.x"},'
        b'"custom":{"k":"v","n":1},"env":{"locale":"en"}}'
    )
    client_context = context.client_context
    assert isinstance(client_context, ClientContext)
    assert client_context.custom == {"k": "v", "n": 1}
    assert client_context.env == {"locale": "en"}
    client = client_context.client
    assert isinstance(client, Client)
    assert (
        client.installation_id,
        client.app_title,
        client.app_version_name,
        client.app_version_code,
        client.app_package_name,
    ) == ("i-1", "App", "1.0", "10", "com.x")


def test_client_context_without_client() -> None:
    context = build(client_context_json=b'{"custom":{"a":"b"}}')
    assert context.client_context is not None
    assert context.client_context.client is None
    assert context.client_context.env is None


@pytest.mark.parametrize("payload", [b"null", b" null "])
def test_null_client_context_is_none(payload: bytes) -> None:
    assert build(client_context_json=payload).client_context is None


def test_w3c_fields_are_taken_out_of_the_client_context() -> None:
    context = build(
        client_context_json=b'{"custom":{"a":"b"},"w3c":{"traceparent":"00-abc-def-01",'
        b'"tracestate":5,"baggage":"k=v","other":"x"}}'
    )
    assert context.w3c() == {"traceparent": "00-abc-def-01", "baggage": "k=v"}
    context.w3c()["traceparent"] = "changed"
    assert context.w3c()["traceparent"] == "00-abc-def-01"


GO_RAW_STRUCT = (
    'struct { Client lambdacontext.ClientApplication "json:\\"Client\\""; '
    'Env map[string]string "json:\\"env\\""; '
    'Custom map[string]json.RawMessage "json:\\"custom\\"" }'
)


@pytest.mark.parametrize(
    ("payload", "go_type", "go_message"),
    [
        (
            b"{ not json }",
            "SyntaxError",
            "invalid character 'n' looking for beginning of object key string",
        ),
        (b'{"a":1', "SyntaxError", "unexpected end of JSON input"),
        (b"   ", "SyntaxError", "unexpected end of JSON input"),
        (b"{} x", "SyntaxError", "invalid character 'x' after top-level value"),
        (
            b"[]",
            "UnmarshalTypeError",
            f"json: cannot unmarshal array into Go value of type {GO_RAW_STRUCT}",
        ),
        (
            b"5",
            "UnmarshalTypeError",
            f"json: cannot unmarshal number into Go value of type {GO_RAW_STRUCT}",
        ),
        (
            b'{"client":5}',
            "UnmarshalTypeError",
            "json: cannot unmarshal number into Go struct field .Client"
            " of type lambdacontext.ClientApplication",
        ),
        (
            b'{"Client":{"installation_id":5}}',
            "UnmarshalTypeError",
            "json: cannot unmarshal number into Go struct field"
            " ClientApplication.Client.installation_id of type string",
        ),
        # Each client field, and keys matched case-insensitively (Go names the field as
        # declared): the texts of aws-lambda-go's server, asked with gopeer client.
        (
            b'{"client":{"app_package_name":5}}',
            "UnmarshalTypeError",
            "json: cannot unmarshal number into Go struct field"
            " ClientApplication.Client.app_package_name of type string",
        ),
        (
            b'{"client":{"APP_TITLE":5}}',
            "UnmarshalTypeError",
            "json: cannot unmarshal number into Go struct field"
            " ClientApplication.Client.app_title of type string",
        ),
        (
            b'{"Client":{"App_Version_Code":true}}',
            "UnmarshalTypeError",
            "json: cannot unmarshal bool into Go struct field"
            " ClientApplication.Client.app_version_code of type string",
        ),
        (
            b'{"env":{"a":1}}',
            "UnmarshalTypeError",
            "json: cannot unmarshal number into Go struct field .env of type string",
        ),
        (
            b'{"env":[1]}',
            "UnmarshalTypeError",
            "json: cannot unmarshal array into Go struct field .env of type map[string]string",
        ),
        (
            b'{"custom":5}',
            "UnmarshalTypeError",
            "json: cannot unmarshal number into Go struct field .custom"
            " of type map[string]json.RawMessage",
        ),
        (
            b'{"env":{"a":true},"client":5}',
            "UnmarshalTypeError",
            "json: cannot unmarshal bool into Go struct field .env of type string",
        ),
    ],
)
def test_invalid_client_context_fails_like_go(
    payload: bytes, go_type: str, go_message: str
) -> None:
    with pytest.raises(LambdaContextUnmarshalError) as info:
        build(client_context_json=payload)
    fault = info.value
    assert (fault.go_type, fault.go_message) == (go_type, go_message)
    assert fault.error_type == "Runtime.LambdaContextUnmarshalError"
    assert fault.message == f"Unable to parse Client Context JSON: {go_message}"


@pytest.mark.parametrize(
    "payload",
    [
        b'{"custom":{"a":1,"b":null,"c":"s","d":1e400}}',  # any custom value, since v1.54.0
        b'{"env":{"a":null}}',
        b'{"client":null,"env":null,"custom":null}',
        b'{"other":[1,2,{}]}',
    ],
)
def test_client_context_go_accepts(payload: bytes) -> None:
    assert build(client_context_json=payload).client_context is not None


# --- log ----------------------------------------------------------------------------------------


@pytest.fixture
def root_handlers() -> Iterator[list[logging.Handler]]:
    root = logging.getLogger()
    saved = list(root.handlers)
    yield root.handlers
    root.handlers[:] = saved


def test_log_writes_to_the_lambda_handler_stream_as_is(
    root_handlers: list[logging.Handler], capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    root_handlers.append(LambdaLogHandler(stream))
    build().log("no newline added")
    build().log(42)
    assert stream.getvalue() == "no newline added42"
    assert capsys.readouterr().out == ""


def test_log_falls_back_to_stdout(
    root_handlers: list[logging.Handler], capsys: pytest.CaptureFixture[str]
) -> None:
    root_handlers[:] = [h for h in root_handlers if not isinstance(h, LambdaLogHandler)]
    build().log("to stdout")
    assert capsys.readouterr().out == "to stdout"
