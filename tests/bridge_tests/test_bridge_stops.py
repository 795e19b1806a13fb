"""How the bridge stops, and what its function inherits, against a scripted Runtime API.

A Runtime API that fails is reported in one line (exit 1), Ctrl-C ends the function's process
group and exits 130, a bad ``--init-timeout`` is a usage error (exit 2, nothing posted), and the
function never sees ``AWS_LAMBDA_RUNTIME_API``: a modern aws-lambda-go would otherwise leave
go1.x's protocol and compete with the bridge for events.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from go_peer import gopeer
from process_checks import gone
from scripted_runtime_api import ScriptedApi, scripted_address

BRIDGE = [sys.executable, "-m", "lambda_legacy", "bridge"]
#: The bridge must be gone well within this once told to stop.
STOP_LIMIT_S = 20.0


def _environment(address: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "_LAMBDA_SERVER_PORT"}
    env["AWS_LAMBDA_RUNTIME_API"] = address
    return env


def _wrapped_go_function(tmp_path: Path) -> Path:
    """A go1.x function that first writes its environment and its pid to files."""
    wrapper = tmp_path / "main"
    go = gopeer()
    wrapper.write_text(
        f'#!/bin/sh\nenv > "{tmp_path}/env.txt"\necho $$ > "{tmp_path}/pid.txt"\n'
        f'exec "{go}" function --handler echo\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return wrapper


async def _bridge(address: str, *args: str, cwd: Path) -> trio.Process:
    return await trio.lowlevel.open_process(
        [*BRIDGE, *args],
        env=_environment(address),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _stderr(process: trio.Process) -> str:
    assert process.stderr is not None
    chunks = []
    while chunk := await process.stderr.receive_some():
        chunks.append(chunk)
    return b"".join(chunks).decode()


async def test_a_failing_runtime_api_is_reported_in_one_line(tmp_path: Path) -> None:
    api = ScriptedApi(next_status=500)
    async with scripted_address(api) as address:
        process = await _bridge(address, "--", str(_wrapped_go_function(tmp_path)), cwd=tmp_path)
        with trio.fail_after(STOP_LIMIT_S):
            err = await _stderr(process)
            status = await process.wait()
    assert status == 1
    assert "Traceback" not in err, err
    assert err.splitlines()[-1] == (
        f"lambda-legacy bridge: failed to GET http://{address}/2018-06-01/runtime/invocation/"
        "next: got unexpected status code: 500"
    )


#: Values a sandbox sets that the function must see as they are, not go1.x's defaults.
SANDBOX_VALUES = {
    "AWS_LAMBDA_LOG_GROUP_NAME": "/custom/group",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/05/[$LATEST]0123456789abcdef",
    "TZ": "Europe/Paris",
    "MY_SETTING": "kept",
}


async def test_the_function_sees_the_sandbox_but_not_the_runtime_api(tmp_path: Path) -> None:
    api = ScriptedApi(
        events=[
            (
                {"Lambda-Runtime-Aws-Request-Id": "r1", "Lambda-Runtime-Invocation-Id": "inv-3"},
                b'{"a":1}',
            )
        ]
    )
    async with scripted_address(api) as address:
        process = await trio.lowlevel.open_process(
            [*BRIDGE, "--", str(_wrapped_go_function(tmp_path))],
            env={**_environment(address), **SANDBOX_VALUES},
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with trio.fail_after(STOP_LIMIT_S):
            await api.drained.wait()  # the event was answered and the next one asked for
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    posts = [seen for seen in api.seen if seen.method == "POST"]
    assert [(seen.target, seen.body) for seen in posts] == [
        ("/2018-06-01/runtime/invocation/r1/response", b'{"a":1}')
    ]
    # Sent back as Lambda's own runtimes do (it routes results where invokes run concurrently).
    assert posts[0].headers.get(b"lambda-runtime-invocation-id") == b"inv-3"
    lines = (tmp_path / "env.txt").read_text(encoding="utf-8").splitlines()
    seen = dict(line.split("=", 1) for line in lines if "=" in line)
    assert "_LAMBDA_SERVER_PORT" in seen
    assert "AWS_LAMBDA_RUNTIME_API" not in seen
    assert {name: seen.get(name) for name in SANDBOX_VALUES} == SANDBOX_VALUES


async def test_ctrl_c_ends_the_function_and_exits_130(tmp_path: Path) -> None:
    api = ScriptedApi(events=[])  # no event ever comes
    async with scripted_address(api) as address:
        process = await _bridge(address, "--", str(_wrapped_go_function(tmp_path)), cwd=tmp_path)
        with trio.fail_after(STOP_LIMIT_S):
            await api.drained.wait()  # the function answered Ping; the bridge waits on /next
            pid = int((tmp_path / "pid.txt").read_text(encoding="utf-8"))
            process.send_signal(signal.SIGINT)
            err = await _stderr(process)
            status = await process.wait()
            while not gone(pid):
                await trio.sleep(0.05)
    assert status == 128 + signal.SIGINT
    assert "Traceback" not in err, err


@pytest.mark.parametrize("value", ["nan", "-1", "0", "soon"])
def test_a_bad_init_timeout_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [*BRIDGE, "--init-timeout", value, "--", "true"],
        env=_environment("127.0.0.1:9"),  # nothing listens: nothing may be posted
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "argument --init-timeout: must be a positive number of seconds" in result.stderr
