"""Locating (and if needed building) the Go peers in tools/, or skipping with a visible reason."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
GOPEER = TOOLS / "bin" / "gopeer"


def gopeer() -> Path:
    """Path to the gopeer binary; skips the calling test when Go is not available."""
    if shutil.which("go") is None:
        pytest.skip("go toolchain not on PATH: live interop not run")
    if not GOPEER.exists():
        subprocess.run(["go", "build", "-o", "bin/", "./gopeer"], cwd=TOOLS, check=True)
    return GOPEER
