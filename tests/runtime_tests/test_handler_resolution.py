"""Handler resolution by awslambdaric's rules, and calling handlers on trio.

Every init error is checked against the exact ``errorType`` and ``errorMessage`` of
PROTOCOL.md section 7. Modules are written to ``tmp_path`` under unique names, and ``sys.path``
and ``sys.modules`` are restored after each test.
"""

from __future__ import annotations

import contextvars
import importlib
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trio

from runtime._context import LambdaContext
from runtime._errors import (
    BuiltInModuleConflict,
    HandlerNotFound,
    ImportModuleError,
    MalformedHandlerName,
    RuntimeFault,
    UserCodeSyntaxError,
    UserInitError,
)
from runtime._handler import call_handler, resolve_handler

WriteModule = Callable[[str], str]


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.fixture
def write_module(tmp_path: Path) -> WriteModule:
    """Write ``source`` as a uniquely named module in ``tmp_path``; return the module name."""

    def write(source: str) -> str:
        name = f"user_mod_{uuid.uuid4().hex}"
        (tmp_path / f"{name}.py").write_text(source)
        importlib.invalidate_caches()
        return name

    return write


def make_context() -> LambdaContext:
    return LambdaContext(
        aws_request_id="req-1", invoked_function_arn="arn", deadline_ns=0, clock=lambda: 0
    )


# --- resolve_handler ----------------------------------------------------------------------------


def test_resolves_a_function(write_module: WriteModule, tmp_path: Path) -> None:
    name = write_module("def handler(event, context):\n    return ('ok', event)\n")
    handler = resolve_handler(f"{name}.handler", None, str(tmp_path))
    assert handler({"a": 1}, None) == ("ok", {"a": 1})


def test_no_dot_is_a_malformed_handler_name(tmp_path: Path) -> None:
    with pytest.raises(MalformedHandlerName) as info:
        resolve_handler("nodots", None, str(tmp_path))
    assert info.value.error_type == "Runtime.MalformedHandlerName"
    assert info.value.message == (
        "Bad handler 'nodots': not enough values to unpack (expected 2, got 1)"
    )
    assert str(info.value) == info.value.message
    assert info.value.stack_trace == []


@pytest.mark.parametrize(
    ("spec", "module"), [("sys.handler", "sys"), ("time.sleep", "time"), ("sys.path.x", "sys.path")]
)
def test_built_in_module_names_are_refused(spec: str, module: str, tmp_path: Path) -> None:
    with pytest.raises(BuiltInModuleConflict) as info:
        resolve_handler(spec, None, str(tmp_path))
    assert info.value.error_type == "Runtime.BuiltInModuleConflict"
    assert info.value.message == f"Cannot use built-in module {module} as a handler module"


def test_missing_module_is_an_import_error(tmp_path: Path) -> None:
    with pytest.raises(ImportModuleError) as info:
        resolve_handler("no_such_module_xyz.handler", None, str(tmp_path))
    assert info.value.error_type == "Runtime.ImportModuleError"
    assert info.value.message == (
        "Unable to import module 'no_such_module_xyz': No module named 'no_such_module_xyz'"
    )
    assert info.value.stack_trace == []


def test_missing_dependency_is_an_import_error(write_module: WriteModule, tmp_path: Path) -> None:
    name = write_module("import missing_dependency_xyz\n")
    with pytest.raises(ImportModuleError) as info:
        resolve_handler(f"{name}.handler", None, str(tmp_path))
    assert info.value.message == (
        f"Unable to import module '{name}': No module named 'missing_dependency_xyz'"
    )


def test_import_error_raised_by_the_module(write_module: WriteModule, tmp_path: Path) -> None:
    name = write_module("raise ImportError('no GPU here')\n")
    with pytest.raises(ImportModuleError) as info:
        resolve_handler(f"{name}.handler", None, str(tmp_path))
    assert info.value.message == f"Unable to import module '{name}': no GPU here"


def test_syntax_error(write_module: WriteModule, tmp_path: Path) -> None:
    name = write_module("def handler(event, context):\n    return (\n")
    with pytest.raises(UserCodeSyntaxError) as info:
        resolve_handler(f"{name}.handler", None, str(tmp_path))
    path = tmp_path / f"{name}.py"
    assert info.value.error_type == "Runtime.UserCodeSyntaxError"
    assert info.value.message == (
        f"Syntax error in module '{name}': '(' was never closed ({name}.py, line 2)"
    )
    # awslambdaric's own format: capital "Line", no comma, e.text with its newline.
    assert info.value.stack_trace == [f'  File "{path}" Line 2\n        return (\n']


def test_missing_attribute_is_handler_not_found(write_module: WriteModule, tmp_path: Path) -> None:
    name = write_module("def other(event, context):\n    return 1\n")
    with pytest.raises(HandlerNotFound) as info:
        resolve_handler(f"{name}.handler", None, str(tmp_path))
    assert info.value.error_type == "Runtime.HandlerNotFound"
    assert info.value.message == f"Handler 'handler' missing on module '{name}'"


def test_other_exception_at_import_keeps_its_class_name(
    write_module: WriteModule, tmp_path: Path
) -> None:
    name = write_module("x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(UserInitError) as info:
        resolve_handler(f"{name}.handler", None, str(tmp_path))
    fault = info.value
    assert isinstance(fault, RuntimeFault)
    assert fault.error_type == "RuntimeError"
    assert fault.message == "boom"
    assert fault.go_type == "RuntimeError"
    assert isinstance(fault.__cause__, RuntimeError)
    path = tmp_path / f"{name}.py"
    assert fault.stack_trace[-1] == (
        f"  File \"{path}\", line 2, in <module>\n    raise RuntimeError('boom')\n"
    )
    # importlib's frames are kept, ours are not.
    assert any("importlib" in line for line in fault.stack_trace)
    assert not any(f"{os.sep}runtime{os.sep}" in line for line in fault.stack_trace)
    assert all("^" not in line for line in fault.stack_trace)


def test_key_error_at_import_uses_str_of_the_exception(
    write_module: WriteModule, tmp_path: Path
) -> None:
    name = write_module("{}['k']\n")
    with pytest.raises(UserInitError) as info:
        resolve_handler(f"{name}.handler", None, str(tmp_path))
    assert (info.value.error_type, info.value.message) == ("KeyError", "'k'")


def test_user_init_error_type_is_per_instance() -> None:
    first = UserInitError("RuntimeError", "a")
    second = UserInitError("KeyError", "b")
    assert (first.error_type, second.error_type) == ("RuntimeError", "KeyError")
    assert UserInitError.error_type == "Runtime.Unknown"


def test_module_level_getattr_failure_is_a_user_init_error(
    write_module: WriteModule, tmp_path: Path
) -> None:
    name = write_module("def __getattr__(name):\n    raise LookupError('lazy ' + name)\n")
    with pytest.raises(UserInitError) as info:
        resolve_handler(f"{name}.handler", None, str(tmp_path))
    assert (info.value.error_type, info.value.message) == ("LookupError", "lazy handler")


def _write_package(root: Path, package: str) -> None:
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    (root / package / "sub.py").write_text("def handler(event, context):\n    return 'sub'\n")
    importlib.invalidate_caches()


@pytest.mark.parametrize("separator", ["/", "."])
def test_package_module_with_slash_or_dot(separator: str, tmp_path: Path) -> None:
    package = f"user_pkg_{uuid.uuid4().hex}"
    _write_package(tmp_path, package)
    handler = resolve_handler(f"{package}{separator}sub.handler", None, str(tmp_path))
    assert handler(None, None) == "sub"


def test_slash_form_keeps_the_written_name_in_messages(tmp_path: Path) -> None:
    package = f"user_pkg_{uuid.uuid4().hex}"
    _write_package(tmp_path, package)
    with pytest.raises(ImportModuleError) as info:
        resolve_handler(f"{package}/nosuch.handler", None, str(tmp_path))
    assert info.value.message == (
        f"Unable to import module '{package}/nosuch': No module named '{package}.nosuch'"
    )
    with pytest.raises(HandlerNotFound) as missing:
        resolve_handler(f"{package}/sub.nope", None, str(tmp_path))
    assert missing.value.message == f"Handler 'nope' missing on module '{package}/sub'"


def test_task_root_comes_before_the_working_directory(tmp_path: Path) -> None:
    task_root, cwd = tmp_path / "task", tmp_path / "cwd"
    task_root.mkdir()
    cwd.mkdir()
    name = f"user_mod_{uuid.uuid4().hex}"
    (task_root / f"{name}.py").write_text("def handler(e, c):\n    return 'task root'\n")
    (cwd / f"{name}.py").write_text("def handler(e, c):\n    return 'cwd'\n")
    importlib.invalidate_caches()
    handler = resolve_handler(f"{name}.handler", str(task_root), str(cwd))
    assert handler(None, None) == "task root"
    assert sys.path[:2] == [str(task_root), str(cwd)]


def test_working_directory_is_searched_and_relative_task_root_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "task").mkdir()
    name = f"user_mod_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text("def handler(e, c):\n    return 'cwd'\n")
    importlib.invalidate_caches()
    sys.path.append(str(tmp_path))  # already present further down: moved, not duplicated
    handler = resolve_handler(f"{name}.handler", "task", str(tmp_path))
    assert handler(None, None) == "cwd"
    assert sys.path[:2] == [str(tmp_path / "task"), str(tmp_path)]
    assert sys.path.count(str(tmp_path)) == 1


# --- call_handler -------------------------------------------------------------------------------


async def test_sync_handler_runs_in_a_worker_thread_and_returns_its_value() -> None:
    seen: list[int] = []

    def handler(event: object, context: LambdaContext) -> object:
        seen.append(threading.get_ident())
        return {"echo": event, "id": context.aws_request_id}

    result = await call_handler(handler, [1, 2], make_context())
    assert result == {"echo": [1, 2], "id": "req-1"}
    assert seen != [threading.get_ident()]


async def test_async_handler_is_awaited_on_the_trio_thread() -> None:
    seen: list[int] = []

    async def handler(event: object, context: LambdaContext) -> object:
        await trio.sleep(0)
        seen.append(threading.get_ident())
        return ("async", event)

    assert await call_handler(handler, 7, make_context()) == ("async", 7)
    assert seen == [threading.get_ident()]


async def test_object_with_async_call_is_awaited() -> None:
    class Handler:
        async def __call__(self, event: object, context: LambdaContext) -> object:
            await trio.sleep(0)
            return threading.get_ident()

    assert await call_handler(Handler(), None, make_context()) == threading.get_ident()


async def test_coroutine_returned_by_a_sync_callable_is_awaited() -> None:
    async def inner(event: object) -> object:
        await trio.sleep(0)
        return ("inner", event)

    def hides_async(event: object, context: LambdaContext) -> object:
        return inner(event)

    assert await call_handler(hides_async, 3, make_context()) == ("inner", 3)


@pytest.mark.parametrize("is_async", [False, True])
async def test_handler_exception_passes_through_unchanged(is_async: bool) -> None:
    error = ValueError("bad")

    def sync_handler(event: object, context: LambdaContext) -> object:
        raise error

    async def async_handler(event: object, context: LambdaContext) -> object:
        raise error

    with pytest.raises(ValueError, match="bad") as info:
        await call_handler(async_handler if is_async else sync_handler, None, make_context())
    assert info.value is error


async def test_loop_keeps_running_while_a_sync_handler_blocks() -> None:
    started, release = threading.Event(), threading.Event()
    results: list[object] = []

    def handler(event: object, context: LambdaContext) -> object:
        started.set()
        # If the handler ran on the loop thread, nothing could set ``release`` meanwhile.
        return release.wait(10)

    async def invoke() -> None:
        results.append(await call_handler(handler, None, make_context()))

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(invoke)
            await trio.to_thread.run_sync(started.wait)
            await trio.sleep(0)  # another task gets to run: this is where Ping is answered
            release.set()
    assert results == [True]


async def test_contextvars_reach_the_handler_thread() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    request_id.set("req-42")

    def handler(event: object, context: LambdaContext) -> object:
        return request_id.get()

    assert await call_handler(handler, None, make_context()) == "req-42"


async def test_cancellation_waits_for_the_handler_thread(autojump_clock: trio.abc.Clock) -> None:
    started, release = threading.Event(), threading.Event()
    scope_exited = trio.Event()
    finished: list[str] = []

    def handler(event: object, context: LambdaContext) -> object:
        started.set()
        release.wait(10)
        finished.append("done")
        return None

    async def cancel_then_release() -> None:
        await trio.to_thread.run_sync(started.wait)
        cancel_scope.cancel()
        # An abandoned call would leave the scope now, before the handler could finish. One
        # that waits cannot, so the (virtual) timeout is what lets the handler go on.
        with trio.move_on_after(1):
            await scope_exited.wait()
        release.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(cancel_then_release)
        with trio.CancelScope() as cancel_scope:
            await call_handler(handler, None, make_context())
        finished_at_exit = list(finished)
        scope_exited.set()
    assert finished_at_exit == ["done"]
