"""Init errors end to end: the server still starts and answers Ping, and every Invoke gets the
cause, typed as awslambdaric types it, with ShouldExit; the cause is also printed on stderr.

After that reply the process exits non-zero, as after any ShouldExit reply.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The suite imports test modules with importlib, which does not put their folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from served_process import PROCESS_TIMEOUT, guarded, invoke_request, served

from runtime._client import connect_function

# (test id, modules to write into the working directory, handler name, errorType, errorMessage)
CASES = [
    (
        "module-not-found",
        {},
        "absent_module.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'absent_module': No module named 'absent_module'",
    ),
    (
        "dependency-not-found",
        {"needs_dependency.py": "import absent_dependency\n\ndef handler(e, c):\n    return e\n"},
        "needs_dependency.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'needs_dependency': No module named 'absent_dependency'",
    ),
    (
        "syntax-error",
        {"broken_syntax.py": "def handler(event, context:\n    return event\n"},
        "broken_syntax.handler",
        "Runtime.UserCodeSyntaxError",
        "Syntax error in module 'broken_syntax': ",
    ),
    (
        "handler-missing",
        {"no_handler.py": "def other(event, context):\n    return event\n"},
        "no_handler.handler",
        "Runtime.HandlerNotFound",
        "Handler 'handler' missing on module 'no_handler'",
    ),
    (
        "import-raises",
        {"raises_at_import.py": "raise RuntimeError('configuration missing')\n"},
        "raises_at_import.handler",
        "RuntimeError",
        "configuration missing",
    ),
    (
        "malformed-name",
        {},
        "nodots",
        "Runtime.MalformedHandlerName",
        "Bad handler 'nodots': not enough values to unpack (expected 2, got 1)",
    ),
    (
        "built-in-module",
        {},
        "sys.handler",
        "Runtime.BuiltInModuleConflict",
        "Cannot use built-in module sys as a handler module",
    ),
]


@pytest.mark.parametrize(
    ("modules", "handler", "error_type", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
@guarded
async def test_init_error_is_answered_on_invoke_with_should_exit(
    tmp_path: Path, modules: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    for name, source in modules.items():
        (tmp_path / name).write_text(source)
    with served(handler, cwd=tmp_path) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            await client.ping()  # answered although there is no handler
            response = await client.invoke(invoke_request(b"{}", "req-1"))
        status = await server.wait()
        stderr = server.stderr()
    error = response.error
    assert error is not None
    assert error.type == error_type
    if message.endswith(": "):  # the rest is Python's own SyntaxError text
        assert error.message.startswith(message)
    else:
        assert error.message == message
    assert error.should_exit
    assert response.payload == b""
    assert f"{error_type}: {error.message}" in stderr
    assert status != 0
