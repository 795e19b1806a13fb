"""The service's texts and values, without processes: error bodies, REPORT lines, the request."""

from __future__ import annotations

import errno
import re
from typing import cast

import pytest

from lambda_legacy._cmd_invoke import report_line
from lambda_legacy._invocation import Invocation, function_arn, new_trace_id
from lambda_legacy._service import (
    FunctionConfiguration,
    InvokeOutcome,
    _Instance,
    function_environment,
)
from lambda_legacy._service_errors import (
    FunctionError,
    exit_description,
    exited,
    invalid_entrypoint,
    timed_out,
    timed_out_log_line,
)
from runtime._client import FunctionClient
from runtime._faults import Frame
from runtime._messages import InvokeResponse_Error, InvokeResponse_Error_StackFrame


@pytest.mark.parametrize(
    ("returncode", "text"),
    [
        (0, "exit status 0"),
        (3, "exit status 3"),
        (255, "exit status 255"),
        (-9, "signal: killed"),
        (-11, "signal: segmentation fault"),
        (-6, "signal: aborted"),
        (-15, "signal: terminated"),
        (-24, "signal: CPU time limit exceeded"),
    ],
)
def test_exit_descriptions_are_go_process_state_strings(returncode: int, text: str) -> None:
    assert exit_description(returncode) == text


def test_exit_errors_name_the_request() -> None:
    assert exited("r-1", 2) == FunctionError(
        message="RequestId: r-1 Error: Runtime exited with error: exit status 2",
        type="Runtime.ExitError",
    )
    assert exited("r-1", -9).message.endswith("Runtime exited with error: signal: killed")
    # In the init phase there is no request yet: Lambda's prefix is then just "Error: ".
    assert exited("", 1).message == "Error: Runtime exited with error: exit status 1"
    assert (
        exited("r-1", 0).message
        == "RequestId: r-1 Error: Runtime exited without providing a reason"
    )


def test_timeouts_name_the_configured_timeout() -> None:
    error = timed_out("r-2", 3)
    assert error.type == "Sandbox.Timedout"
    assert error.message == "RequestId: r-2 Error: Task timed out after 3.00 seconds"
    line = timed_out_log_line("r-2", 3.0712, now=1_605_000_000.5)
    assert line == "2020-11-10T09:20:00.500Z r-2 Task timed out after 3.07 seconds"


def test_exec_failures_are_worded_as_go_start_errors() -> None:
    denied = invalid_entrypoint("r", "./main", PermissionError(errno.EACCES, "Permission denied"))
    assert denied.type == "Runtime.InvalidEntrypoint"
    assert denied.message == "RequestId: r Error: fork/exec ./main: permission denied"
    missing = invalid_entrypoint("r", "main", FileNotFoundError(errno.ENOENT, "No such file"))
    assert missing.message == 'RequestId: r Error: exec: "main": executable file not found in $PATH'


def test_the_error_body_leaves_out_empty_type_and_frames_and_never_shows_should_exit() -> None:
    go_error = InvokeResponse_Error(
        message="oops",
        type="string",
        stack_trace=[
            InvokeResponse_Error_StackFrame(path="a.go", line=3, label="f"),
            InvokeResponse_Error_StackFrame(path="b.go", line=9, label="g"),
        ],
        should_exit=True,
    )
    error = FunctionError.from_response(go_error)
    assert error.should_exit
    assert error.stack_trace == (
        Frame(path="a.go", line=3, label="f"),
        Frame(path="b.go", line=9, label="g"),
    )
    assert error.to_json() == (
        '{"errorMessage":"oops","errorType":"string","stackTrace":'
        '[{"path":"a.go","line":3,"label":"f"},{"path":"b.go","line":9,"label":"g"}]}'
    )
    assert FunctionError(message="é").to_json() == '{"errorMessage":"é"}'


def test_report_lines_are_tab_separated_with_init_duration_on_cold_starts_only() -> None:
    configuration = FunctionConfiguration(memory_size=256, timeout=3)
    warm = InvokeOutcome(request_id="r", duration=0.0012345, max_memory_kib=20_000)
    assert report_line(warm, configuration) == (
        "REPORT RequestId: r\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 20 MB\t"
    )
    cold = InvokeOutcome(request_id="r", duration=0.001, init_duration=0.0456)
    assert report_line(cold, configuration).endswith(
        "Memory Size: 256 MB\tInit Duration: 45.60 ms\t"
    )
    late = InvokeOutcome(request_id="r", duration=3.07127, timed_out=True)
    assert "\tDuration: 3071.27 ms\tBilled Duration: 3000 ms\t" in report_line(late, configuration)


def test_the_invoke_request_carries_the_deadline_arn_and_trace() -> None:
    arn = function_arn("fn", region="eu-west-1", account_id="123456789012")
    assert arn == "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    invocation = Invocation(payload=b'{"a":1}', cognito_identity_id="id", client_context=b"{}")
    request = invocation.to_request(timeout=2.5, function_arn=arn, now_ns=1_700_000_000_123_456_789)
    assert (request.deadline.seconds, request.deadline.nanos) == (1_700_000_002, 623_456_789)
    assert request.invoked_function_arn == arn
    assert request.request_id == invocation.request_id
    assert re.fullmatch(r"[0-9a-f-]{36}", request.request_id)
    assert request.x_amzn_trace_id.startswith("Root=1-6553f100-")
    assert (request.cognito_identity_id, request.client_context) == ("id", b"{}")
    fixed = Invocation(deadline_ns=5_000_000_001, trace_id="T", invoked_function_arn="A")
    sent = fixed.to_request(timeout=9, function_arn=arn)
    assert (sent.deadline.seconds, sent.deadline.nanos, sent.x_amzn_trace_id) == (5, 1, "T")
    assert sent.invoked_function_arn == "A"
    assert Invocation.of_event({"k": [1, "é"]}).payload == '{"k":[1,"é"]}'.encode()
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", new_trace_id()
    )


def test_the_function_environment_is_go1x_then_the_functions_own() -> None:
    configuration = FunctionConfiguration(
        function_name="fn", memory_size=512, environment={"TZ": "Europe/Paris", "MINE": "1"}
    )
    env = function_environment(
        configuration,
        port=4242,
        handler="main",
        task_root="/var/task",
        inherited={"PATH": "/bin", "AWS_REGION": "overridden"},
        now=0,
    )
    assert env["PATH"] == "/bin"
    assert env["_LAMBDA_SERVER_PORT"] == "4242"
    assert (env["_HANDLER"], env["LAMBDA_TASK_ROOT"]) == ("main", "/var/task")
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("us-east-1", "us-east-1")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert re.fullmatch(r"1970/01/01/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert (env["TZ"], env["MINE"], env["LANG"]) == ("Europe/Paris", "1", "en_US.UTF-8")


class _EndedProcess:
    """A function process that has exited, before anything waited for it."""

    pid = 12345
    returncode = 0

    async def wait(self) -> int:
        return 0


def test_a_function_whose_process_has_ended_gets_no_more_events() -> None:
    # The task that waits for the exit may not have run yet; the exit status tells already.
    instance = _Instance(process=_EndedProcess(), port=1, started_at=0.0)
    instance.client = cast("FunctionClient", object())
    assert not instance.exited.is_set()
    assert not instance.usable
