"""The command's exit: the service-side verbs leave what they imported to the operating system."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_legacy import cli

ROOT = Path(__file__).resolve().parent.parent.parent

#: Runs ``python -m lambda_legacy ARGS`` with an atexit handler registered before it, which runs
#: after the command's own and reports what the exit found.
_WITH_EXIT_REPORT = """
import atexit, gc, runpy, sys
atexit.register(lambda: print("exit:", gc.get_freeze_count() > 0, file=sys.stderr, flush=True))
runpy.run_module("lambda_legacy", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(
    ("argv", "frozen"),
    [
        (["invoke", "--event", "{}", "--port", "1"], True),
        (["replay", "t.json", "--port", "1"], True),
        (["bridge", "--", "./main"], True),
        (["serve", "app.handler"], False),
        (["bundle", "app.handler"], False),
        ([], False),
    ],
)
def test_only_the_verbs_that_run_no_user_code_freeze_before_exit(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], frozen: bool
) -> None:
    freezes: list[None] = []
    monkeypatch.setattr(sys, "argv", ["lambda-legacy", *argv])
    monkeypatch.setattr(cli, "main", lambda: 7)
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(None))
    assert cli.command() == 7  # the verb's status, unchanged
    assert freezes == ([None] if frozen else [])


def test_invoke_exits_frozen_with_its_output_whole_and_atexit_handlers_run() -> None:
    function = [sys.executable, "-m", "lambda_legacy", "serve", "examples/hello.handler"]
    result = subprocess.run(
        [sys.executable, "-c", _WITH_EXIT_REPORT, "invoke", "--event", "{}", "--", *function],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["message"] == "Hello, world!"
    assert result.stderr.splitlines()[-1] == "exit: True", result.stderr


def test_serve_exits_as_python_does() -> None:
    """A handler's objects are finalized as usual: ``serve`` never freezes them."""
    result = subprocess.run(
        [sys.executable, "-c", _WITH_EXIT_REPORT, "serve", "examples/hello.handler"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "_LAMBDA_SERVER_PORT": "not a port"},
    )
    assert result.returncode != 0  # the port is refused at once: the exit is all there is
    assert result.stderr.splitlines()[-1] == "exit: False", result.stderr
