"""The README's main job: lambda-legacy invoke starts lambda-legacy serve and invokes a handler."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from go_peer import gopeer

ROOT = Path(__file__).resolve().parent.parent.parent
CLI = [sys.executable, "-m", "lambda_legacy"]


def _invoke(event: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "invoke", "--event", event, "--", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_invoke_our_server_with_the_sample_handler() -> None:
    result = _invoke('{"name":"go1.x"}', *CLI, "serve", "examples/hello.handler")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["message"] == "Hello, go1.x!"
    assert len(reply["request_id"]) == 36


def test_a_missing_handler_module_is_reported_as_import_error() -> None:
    result = _invoke("{}", *CLI, "serve", "examples/nope.handler")
    assert result.returncode == 1
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == (
        "Unable to import module 'examples/nope': No module named 'examples.nope'"
    )


def test_invoke_a_real_go_function_error() -> None:
    result = _invoke('{"a":1}', str(gopeer()), "function", "--handler", "error")
    assert result.returncode == 1
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error == {"errorMessage": "boom", "errorType": "errorString"}
