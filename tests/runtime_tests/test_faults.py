"""Exceptions to ``InvokeResponse_Error`` values, and awslambdaric's JSON error bodies."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from typing import NoReturn, cast

import pytest
import trio

import runtime
from runtime._context import LambdaContext
from runtime._errors import (
    BuiltInModuleConflict,
    HandlerNotFound,
    ImportModuleError,
    InvokeFailed,
    LambdaContextUnmarshalError,
    LambdaLegacyError,
    MalformedHandlerName,
    MarshalError,
    RuntimeFault,
    UnmarshalError,
    UserCodeSyntaxError,
    UserInitError,
)
from runtime._faults import (
    MAX_STACK_FRAMES,
    ErrorInfo,
    Frame,
    error_from_exception,
    format_user_traceback,
    runtime_api_error_body,
    runtime_api_fault_body,
)
from runtime._handler import Handler, call_handler
from runtime._payload import decode_event

HERE = os.path.abspath(__file__)
RUNTIME_DIR = os.path.dirname(os.path.abspath(runtime.__file__)) + os.sep


def caught(fn: Callable[[], object]) -> BaseException:
    """Call ``fn`` and return what it raised."""
    try:
        fn()
    except BaseException as exc:  # the point is to look at anything
        return exc
    raise AssertionError("nothing was raised")


# --- the exception tree -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "error_type"),
    [
        (MalformedHandlerName, "Runtime.MalformedHandlerName"),
        (ImportModuleError, "Runtime.ImportModuleError"),
        (HandlerNotFound, "Runtime.HandlerNotFound"),
        (UserCodeSyntaxError, "Runtime.UserCodeSyntaxError"),
        (BuiltInModuleConflict, "Runtime.BuiltInModuleConflict"),
        (MarshalError, "Runtime.MarshalError"),
        (UnmarshalError, "Runtime.UnmarshalError"),
        (LambdaContextUnmarshalError, "Runtime.LambdaContextUnmarshalError"),
    ],
)
def test_each_fault_names_its_runtime_type(cls: type[RuntimeFault], error_type: str) -> None:
    fault = cls("msg")
    assert cls.error_type == error_type
    assert isinstance(fault, RuntimeFault)
    assert isinstance(fault, LambdaLegacyError)
    assert (fault.message, str(fault), fault.stack_trace) == ("msg", "msg", [])
    assert (fault.go_message, fault.go_type) == ("msg", error_type)


def test_fault_go_face_can_differ_from_awslambdaric_face() -> None:
    fault = UnmarshalError(
        "Unable to unmarshal input: EOF", go_message="EOF", go_type="errorString"
    )
    assert (fault.message, fault.error_type) == ("Unable to unmarshal input: EOF", fault.error_type)
    assert (fault.go_message, fault.go_type) == ("EOF", "errorString")


def test_invoke_failed_keeps_the_error_value() -> None:
    frame = Frame(path="main.go", line=7, label="main")
    error = InvokeFailed(message="boom", type="errorString", stack_trace=[frame], should_exit=True)
    assert isinstance(error, LambdaLegacyError)
    assert (error.message, error.type, error.stack_trace, error.should_exit) == (
        "boom",
        "errorString",
        (frame,),
        True,
    )
    assert str(error) == "errorString: boom"


# --- error_from_exception -----------------------------------------------------------------------


def inner() -> NoReturn:
    raise ValueError("bad input")


def outer() -> NoReturn:
    inner()


def test_message_type_and_frames_innermost_first() -> None:
    exc = caught(outer)
    info = error_from_exception(exc, exc.__traceback__)
    assert (info.message, info.type, info.should_exit) == ("bad input", "ValueError", False)
    labels = [frame.label for frame in info.stack_trace]
    assert labels == ["inner", "outer", "caught"]
    assert {frame.path for frame in info.stack_trace} == {HERE}
    assert info.stack_trace[0].line == inspect.getsourcelines(inner)[1] + 1
    assert info.stack_trace[1].line == inspect.getsourcelines(outer)[1] + 1


def test_key_error_message_is_str_of_the_exception() -> None:
    exc = caught(lambda: {"a": 1}["k"])
    assert error_from_exception(exc, exc.__traceback__).message == "'k'"


@pytest.mark.parametrize("raised", [RuntimeError("no"), SystemExit(3), KeyboardInterrupt()])
def test_unprintable_exception_still_converts(raised: BaseException) -> None:
    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise raised

    info = error_from_exception(UnprintableError(), None)
    assert info == ErrorInfo(message="<exception str() failed>", type="UnprintableError")


@pytest.mark.parametrize(
    ("exc", "should_exit"),
    [
        (SystemExit(3), True),
        (KeyboardInterrupt(), True),
        (MemoryError(), True),
        (GeneratorExit(), True),
        (ValueError(), False),
        (RecursionError(), False),
    ],
)
def test_should_exit_for_base_exceptions_and_memory_error(
    exc: BaseException, should_exit: bool
) -> None:
    info = error_from_exception(exc, None)
    assert info.should_exit is should_exit
    assert info.type == type(exc).__name__


def test_system_exit_message_is_its_code() -> None:
    assert error_from_exception(SystemExit(3), None).message == "3"


def recurse(depth: int) -> NoReturn:
    if depth == 0:
        raise OverflowError("deep")
    recurse(depth - 1)


def test_at_most_32_frames_keeping_the_innermost() -> None:
    exc = caught(lambda: recurse(50))
    frames = error_from_exception(exc, exc.__traceback__).stack_trace
    assert MAX_STACK_FRAMES == 32
    assert len(frames) == 32
    assert all(frame.label == "recurse" for frame in frames)
    raise_line = inspect.getsourcelines(recurse)[1] + 2
    assert frames[0].line == raise_line
    assert all(frame.line == raise_line + 1 for frame in frames[1:])


def test_fault_is_an_ordinary_error_without_frames() -> None:
    fault = UnmarshalError(
        "Unable to unmarshal input: EOF", go_message="EOF", go_type="errorString"
    )
    try:
        raise fault
    except UnmarshalError as exc:
        info = error_from_exception(exc, exc.__traceback__)
    assert info == ErrorInfo(message="EOF", type="errorString", stack_trace=(), should_exit=False)


def make_context() -> LambdaContext:
    return LambdaContext(aws_request_id="r", invoked_function_arn="a", deadline_ns=0, clock=int)


def failing_handler(event: object, context: LambdaContext) -> object:
    raise LookupError("from the handler")


async def failing_async_handler(event: object, context: LambdaContext) -> object:
    await trio.sleep(0)
    raise LookupError("from the handler")


@pytest.mark.parametrize("handler", [failing_handler, failing_async_handler])
async def test_runtime_and_trio_frames_above_the_handler_are_dropped(handler: Handler) -> None:
    try:
        await call_handler(handler, None, make_context())
    except LookupError as exc:
        # Skip this test's own frame: the trace then starts where the dispatcher's would.
        tb = exc.__traceback__
        assert tb is not None
        info = error_from_exception(exc, tb.tb_next)
    # In a thread the trace also passes through trio and outcome; none of that is left.
    assert [(frame.path, frame.label) for frame in info.stack_trace] == [
        (HERE, getattr(handler, "__name__", None))
    ]


def test_trace_without_user_frames_is_kept_whole() -> None:
    try:
        decode_event(cast(bytes, 42))
    except AttributeError as exc:
        tb = exc.__traceback__
        assert tb is not None
        info = error_from_exception(exc, tb.tb_next)
    assert [frame.label for frame in info.stack_trace] == ["parse_json", "decode_event"]
    assert all(frame.path.startswith(RUNTIME_DIR) for frame in info.stack_trace)


# --- awslambdaric's JSON bodies -----------------------------------------------------------------


def test_format_user_traceback_is_format_list_without_carets() -> None:
    exc = caught(outer)
    lines = format_user_traceback(exc.__traceback__)
    outer_line = inspect.getsourcelines(outer)[1] + 1
    inner_line = inspect.getsourcelines(inner)[1] + 1
    assert lines[-2:] == [
        f'  File "{HERE}", line {outer_line}, in outer\n    inner()\n',
        f'  File "{HERE}", line {inner_line}, in inner\n    raise ValueError("bad input")\n',
    ]


def test_runtime_api_error_body_exact_bytes() -> None:
    inner_line = inspect.getsourcelines(inner)[1] + 1
    info = ErrorInfo(
        message="bad input",
        type="ValueError",
        stack_trace=(
            Frame(path=HERE, line=inner_line, label="inner"),
            Frame(path="/nowhere/fn.py", line=3, label="handler"),
        ),
    )
    body = runtime_api_error_body(info, "req-1")
    expected = (
        '{"errorMessage": "bad input", "errorType": "ValueError", "requestId": "req-1", '
        '"stackTrace": ["  File \\"/nowhere/fn.py\\", line 3, in handler\\n", '
        f'"  File \\"{HERE}\\", line {inner_line}, in inner\\n'
        '    raise ValueError(\\"bad input\\")\\n"]}'
    )
    assert body == expected.encode()


def test_runtime_api_error_body_escapes_non_ascii_like_awslambdaric() -> None:
    body = runtime_api_error_body(ErrorInfo(message="caf\u00e9", type="E"), "")
    assert (
        body
        == b'{"errorMessage": "caf\\u00e9", "errorType": "E", "requestId": "", "stackTrace": []}'
    )


def test_runtime_api_fault_body_for_an_init_error() -> None:
    fault = UserCodeSyntaxError(
        "Syntax error in module 'fn': invalid syntax (fn.py, line 1)",
        stack_trace=['  File "/var/task/fn.py" Line 1\n    x = 1 +\n'],
    )
    body = json.loads(runtime_api_fault_body(fault))
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body == {
        "errorMessage": "Syntax error in module 'fn': invalid syntax (fn.py, line 1)",
        "errorType": "Runtime.UserCodeSyntaxError",
        "requestId": "",
        "stackTrace": ['  File "/var/task/fn.py" Line 1\n    x = 1 +\n'],
    }


def test_runtime_api_fault_body_uses_the_user_class_name_for_user_init_errors() -> None:
    body = json.loads(runtime_api_fault_body(UserInitError("KeyError", "'k'"), "req-9"))
    assert (body["errorType"], body["errorMessage"], body["requestId"]) == (
        "KeyError",
        "'k'",
        "req-9",
    )
