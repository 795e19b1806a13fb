"""aws-lambda-go's own Runtime API mode under the emulator: the Go reference for later comparisons.

``tools/bin/gopeer function`` calls ``lambda.Start``, so with ``_LAMBDA_SERVER_PORT``
unset and ``AWS_LAMBDA_RUNTIME_API`` set (by the emulator) aws-lambda-go serves the Runtime API.
These tests pin what it answers, so that the stand-in emulator is also checked against a third
HTTP client (Go's net/http) besides awslambdaric's libcurl and our h11.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from go_peer import gopeer
from rie import EMULATOR_KINDS, emulator_command, running_emulator


@pytest.fixture
def go_function() -> list[str]:
    """The Go function; started without ``_LAMBDA_SERVER_PORT`` it serves the Runtime API."""
    return [str(gopeer()), "function"]


@pytest.fixture(params=EMULATOR_KINDS)
def emulator_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    emulator_command(kind)
    return kind


def test_go_function_serves_runtime_api(
    emulator_kind: str, go_function: list[str], tmp_path: Path
) -> None:
    bootstrap = [*go_function, "--handler", "echo"]
    with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        first = emulator.invoke(b'{"a": [1, 2],  "b": "x"}')
        second = emulator.invoke(b'"again"')
        records = emulator.records()
    assert (first.status, first.body) == (200, b'{"a":[1,2],"b":"x"}')  # Go compacts
    assert (second.status, second.body) == (200, b'"again"')
    if records:  # stand-in: the Go runtime used the Runtime API, one /next per invoke
        paths = [str(r.get("path")) for r in records if "path" in r]
        assert paths.count("/2018-06-01/runtime/invocation/next") >= 2
        assert sum(path.endswith("/response") for path in paths) == 2


def test_go_function_error_body(emulator_kind: str, go_function: list[str], tmp_path: Path) -> None:
    bootstrap = [*go_function, "--handler", "error"]
    with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        result = emulator.invoke(b"{}")
    # aws-lambda-go's Runtime API error body: no requestId, no stackTrace for a returned error.
    assert result.json() == {"errorMessage": "boom", "errorType": "errorString"}


def test_go_function_panic_then_exit(
    emulator_kind: str, go_function: list[str], tmp_path: Path
) -> None:
    bootstrap = [*go_function, "--handler", "panic"]
    with running_emulator(emulator_kind, bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        result = emulator.invoke(b"{}")
        again = emulator.invoke(b"{}")  # the process exited after the panic; a new one starts
    for answer in (result, again):
        document = answer.json()
        assert isinstance(document, dict)
        assert (document["errorType"], document["errorMessage"]) == ("string", "oops")
        frames = document["stackTrace"]
        assert isinstance(frames, list)
        assert frames
        assert set(frames[0]) == {"path", "line", "label"}  # Go's frames are objects
