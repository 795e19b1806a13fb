"""The bundle's ``bootstrap`` (provided.al2 / provided.al2023) under the Runtime API emulator.

The same app as ``main``: the serve entry finds ``AWS_LAMBDA_RUNTIME_API`` set and no
``_LAMBDA_SERVER_PORT``, so it serves the Runtime API, with awslambdaric's error shape. Run with
Lambda's library path (host directories first), it must still load nothing from the host.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rie import EMULATOR_KINDS, emulator_command, running_emulator

#: provided.al2's LD_LIBRARY_PATH puts the host's directories first, as go1.x's does.
PROVIDED_LD_LIBRARY_PATH = (
    "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
)


@pytest.fixture(params=EMULATOR_KINDS)
def emulator_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    emulator_command(kind)
    return kind


def test_bootstrap_serves_the_runtime_api(
    emulator_kind: str, extracted: Path, tmp_path: Path
) -> None:
    env = {"LD_LIBRARY_PATH": PROVIDED_LD_LIBRARY_PATH, "LAMBDA_TASK_ROOT": str(extracted)}
    bootstrap = [str(extracted / "bootstrap")]
    with running_emulator(
        emulator_kind, bootstrap, cwd=extracted, workdir=tmp_path, env=env
    ) as emulator:
        echo = emulator.invoke(b'{"action": "echo", "n": 1}')
        fail = emulator.invoke(b'{"action": "fail", "why": "x"}')
        maps = emulator.invoke(b'{"action": "maps"}')
    assert echo.status == 200
    reply = echo.json()
    assert isinstance(reply, dict)
    assert reply["echo"] == {"action": "echo", "n": 1}
    assert reply["tinyreq"]  # the requirement installed into the bundle is importable
    error = fail.json()
    assert isinstance(error, dict)
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad input: x")
    assert isinstance(error["stackTrace"], list)
    assert any("_inner" in line for line in error["stackTrace"])  # awslambdaric's strings
    loaded = maps.json()
    assert isinstance(loaded, dict)
    libraries = [p for p in loaded["maps"] if ".so" in p]
    assert libraries
    outside = [p for p in libraries if not p.startswith(str(extracted))]
    assert outside == []
