"""Running the ``lambda-legacy`` command in tests, bounded against hangs and cleaning up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "lambda_legacy"]
#: Seconds before a command counts as hung. Generous: the machine is shared and noisy, and every
#: command under test has its own, much shorter, timeouts.
HANG_LIMIT = 120


def run_cli(
    args: list[str], *, stdin: str | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run ``lambda-legacy ARGS``; a hang fails the test after SIGTERM, which makes the command
    kill its function first (SIGKILL, as subprocess.run's timeout sends, would orphan it)."""
    with subprocess.Popen(
        [*CLI, *args],
        cwd=cwd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            out, err = process.communicate(stdin, timeout=HANG_LIMIT)
        except subprocess.TimeoutExpired:
            process.terminate()
            out, err = process.communicate()
            pytest.fail(f"lambda-legacy {' '.join(args)} hung; stderr:\n{err}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
