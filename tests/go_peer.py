"""Locating (and if needed building) the Go peers in tools/, or skipping with a visible reason."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from runtime._client import free_port

TOOLS = Path(__file__).resolve().parent.parent / "tools"
GOPEER = TOOLS / "bin" / "gopeer"


#: Whether this test process has built gopeer yet.
_BUILT: list[bool] = []


def gopeer() -> Path:
    """Path to the gopeer binary, built from the current sources once per test process (``go
    build`` redoes nothing when they have not changed: a binary left from older sources would
    lack new cases); skips the calling test when Go is not available."""
    if shutil.which("go") is None:
        pytest.skip("go toolchain not on PATH: live interop not run")
    if not _BUILT:
        subprocess.run(["go", "build", "-o", "bin/", "./gopeer"], cwd=TOOLS, check=True)
        _BUILT.append(True)
    return GOPEER


@contextmanager
def go_function_listening(handler: str) -> Iterator[int]:
    """``gopeer function --handler HANDLER`` on a free port, which it yields; killed after.
    The caller dials with retries: the function may still be starting."""
    port = free_port()
    env = {**os.environ, "_LAMBDA_SERVER_PORT": str(port)}
    with subprocess.Popen(
        [str(gopeer()), "function", "--handler", handler], env=env, stdout=subprocess.DEVNULL
    ) as function:
        try:
            yield port
        finally:
            function.kill()
