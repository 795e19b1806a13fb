"""``lambda-legacy bridge`` as a provided.al2 bootstrap, under the Runtime API emulator.

The legacy executable is ``tools/bin/legacyfunction``, built with aws-lambda-go v1.17.0, which
knows nothing of the Runtime API; ``tools/bin/gopeer function`` (v1.54.0) covers the scenarios
that need more handlers, and, started without ``_LAMBDA_SERVER_PORT``, is also the Go code in
aws-lambda-go's own
Runtime API mode, the reference the bridge must agree with.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from go_peer import gopeer
from rie import EMULATOR_KINDS, TOOLS, emulator_command, running_emulator

BRIDGE = [sys.executable, "-m", "lambda_legacy", "bridge"]
PEERS = Path(__file__).resolve().parent.parent / "cli_tests" / "peers"


def _go_tool(name: str) -> str:
    gopeer()  # skips with a visible reason where Go is absent
    path = TOOLS / "bin" / name
    if not path.exists():
        pytest.skip(f"{path} is not built (tools/check builds it)")
    return str(path)


@pytest.fixture(params=EMULATOR_KINDS)
def emulator_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    emulator_command(kind)  # skips where that emulator is not installed
    return kind


def test_a_pre_runtime_api_function_answers_through_the_bridge(
    emulator_kind: str, tmp_path: Path
) -> None:
    bootstrap = [*BRIDGE, "--", _go_tool("legacyfunction"), "--handler", "echo"]
    with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        first = emulator.invoke(b'{"a": [1, 2],  "b": "x"}')
        second = emulator.invoke(b'"again"')
    assert (first.status, first.body) == (200, b'{"a":[1,2],"b":"x"}')  # compacted by Go
    assert (second.status, second.body) == (200, b'"again"')


def test_the_legacy_function_alone_cannot_serve_the_runtime_api(tmp_path: Path) -> None:
    """Without the bridge, aws-lambda-go v1.17.0 never asks the Runtime API for an event."""
    env = {k: v for k, v in os.environ.items() if k != "_LAMBDA_SERVER_PORT"}
    env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9"
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(
            [_go_tool("legacyfunction")], env=env, timeout=1, check=False, capture_output=True
        )


@pytest.mark.parametrize("handler", ["echo", "error", "panic"])
def test_the_bridge_answers_as_aws_lambda_go_s_own_runtime_api_mode(
    handler: str, emulator_kind: str, tmp_path: Path
) -> None:
    bridged = [*BRIDGE, "--", _go_tool("legacyfunction"), "--handler", handler]
    native = [str(gopeer()), "function", "--handler", handler]
    answers = []
    for bootstrap in (bridged, native):
        with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emu:
            answers.append(emu.invoke(b'{"k": "v"}'))
    bridge, go = answers
    # After a panic aws-lambda-go posts the error and exits, and the emulator answers 502 for a
    # runtime that exits mid-invoke; the bridge restarts only the function and answers 200.
    assert (bridge.status, go.status) == (200, 502 if handler == "panic" else 200)
    if handler != "panic":
        assert bridge.body == go.body
        return
    # Frames name each build's own files and lines (v1.17.0 against v1.54.0); the rest agrees.
    ours, theirs = bridge.json(), go.json()
    assert isinstance(ours, dict)
    assert isinstance(theirs, dict)
    assert (ours["errorMessage"], ours["errorType"]) == (theirs["errorMessage"], "string")
    assert {"path", "line", "label"} == set(ours["stackTrace"][0]) == set(theirs["stackTrace"][0])
    assert any(frame["label"] == "gopanic" for frame in ours["stackTrace"])


def test_a_crash_is_an_exit_error_and_the_next_event_gets_a_fresh_process(
    emulator_kind: str, tmp_path: Path
) -> None:
    bootstrap = [*BRIDGE, "--", str(gopeer()), "function", "--handler", "script"]
    with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        before = emulator.invoke(b'{"action": "count"}').json()
        crash = emulator.invoke(b'{"action": "crash", "code": 3}').json()
        after = emulator.invoke(b'{"action": "count"}').json()
        panic = emulator.invoke(b'{"action": "panic"}').json()
        last = emulator.invoke(b'{"action": "count"}').json()
    assert isinstance(crash, dict)
    assert crash["errorType"] == "Runtime.ExitError"
    assert crash["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert isinstance(last, dict)
    assert before["invocations"] == 1
    assert after["pid"] != before["pid"]
    assert after["invocations"] == 1
    assert isinstance(panic, dict)
    assert panic["errorType"] == "string"
    assert last["pid"] != after["pid"]  # ShouldExit ended the panicking process


def test_the_invoke_request_carries_the_runtime_api_headers(
    emulator_kind: str, tmp_path: Path
) -> None:
    client_context = {"client": {"installation_id": "i-1"}, "custom": {"k": "v"}, "env": {}}
    identity = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    headers = {
        "X-Amz-Client-Context": base64.b64encode(json.dumps(client_context).encode()).decode(),
        "X-Amz-Cognito-Identity": json.dumps(identity),
        "X-Amzn-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
    }
    bootstrap = [*BRIDGE, "--", str(gopeer()), "function", "--handler", "context"]
    with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        report = emulator.invoke(b"{}", headers).json()
        records = emulator.records()
    assert isinstance(report, dict)
    if emulator_kind == "standin":  # only the stand-in keeps a record
        nexts = [r for r in records if str(r.get("path", "")).endswith("/invocation/next")]
        assert nexts, records
    assert report["cognito_identity_id"] == "id-1"
    assert report["cognito_identity_pool_id"] == "pool-1"
    assert report["client_context"]["Client"]["installation_id"] == "i-1"
    assert report["client_context"]["custom"] == {"k": "v"}
    if emulator_kind == "standin":  # RIE drops the trace header
        assert report["trace_id"] == headers["X-Amzn-Trace-Id"]
    assert report["invoked_function_arn"].startswith("arn:aws:lambda:")
    assert len(report["request_id"]) == 36
    assert report["deadline_ms"] > 0
    assert report["context_err"] == ""


def test_an_executable_that_never_listens_is_an_init_error(
    emulator_kind: str, tmp_path: Path
) -> None:
    bootstrap = [
        *BRIDGE,
        "--init-timeout",
        "1",
        "--",
        sys.executable,
        str(PEERS / "bad_peer.py"),
        "nolisten",
    ]
    with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        answer = emulator.invoke(b"{}")
        records = emulator.records()
    body = answer.json()
    assert isinstance(body, dict)
    assert body["errorType"] == "Sandbox.Timedout", body
    assert body["errorMessage"] == "Error: Task timed out after 1.00 seconds"
    if emulator_kind == "standin":  # its record shows the bridge posted to init/error
        assert any(str(r.get("path", "")).endswith("/runtime/init/error") for r in records)


def test_bridge_refuses_to_run_outside_a_runtime_api_sandbox() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    result = subprocess.run(
        [*BRIDGE, "--", "true"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "AWS_LAMBDA_RUNTIME_API is not set" in result.stderr
