"""How a child that a handler forked ends once it leaves the handler (runtime._handler)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from runtime._handler import exit_if_forked

#: (what the child left the handler with, the status CPython's own exit would give)
ENDINGS: list[tuple[BaseException | None, int]] = [
    (None, 0),
    (SystemExit(), 0),
    (SystemExit(3), 3),
    (SystemExit(True), 1),
    (SystemExit(256), 0),
    (SystemExit(2**40), 0),
    (SystemExit(2**70), 255),
    (SystemExit("bye"), 1),
    (RuntimeError("boom"), 1),
]


def _cpython_status(error: BaseException | None) -> int:
    """The status a Python program ends with after ``error``, for comparison."""
    raising = "" if error is None else f"raise {error!r}"
    done = subprocess.run([sys.executable, "-c", raising], capture_output=True, check=False)
    return done.returncode


@pytest.mark.parametrize(("error", "status"), ENDINGS, ids=repr)
def test_the_child_exits_as_a_python_program_would(
    error: BaseException | None, status: int
) -> None:
    parent = os.getpid()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child never returns from this call
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # keep the child's traceback out of the test output
        exit_if_forked(parent, error)
        os._exit(99)  # not reached: exit_if_forked ends the child
    _, wait_status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(wait_status) == status
    assert _cpython_status(error) == status


def test_the_serving_process_itself_goes_on() -> None:
    exit_if_forked(os.getpid(), RuntimeError("not a child"))  # returns: this is the server
