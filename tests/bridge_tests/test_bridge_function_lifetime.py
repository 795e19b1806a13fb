"""The bridge keeps one function process for as long as nothing ends it.

A provided.al2 sandbox serves events for minutes or hours; the go1.x executable the bridge starts
must live as long, as it does under the go1.x service. Only a crash, a ShouldExit reply or a
timeout starts a fresh one (``test_bridge.py`` covers those).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from go_peer import gopeer
from rie import TOOLS, running_emulator

BRIDGE = [sys.executable, "-m", "lambda_legacy", "bridge"]

#: trio ends a worker thread that has been idle this long (``trio._core._thread_cache``). A child
#: forked from such a thread with a parent-death signal died with it (prctl(2): the parent is the
#: forking *thread*), which killed the function 10 s after it started. The wait outlasts it.
TRIO_THREAD_IDLE_TIMEOUT_S = 10.0
WAIT_S = TRIO_THREAD_IDLE_TIMEOUT_S + 2.0


def _legacy_function() -> Path:
    gopeer()  # skips with a visible reason where Go is absent
    path = TOOLS / "bin" / "legacyfunction"
    if not path.exists():
        pytest.skip(f"{path} is not built (tools/check builds it)")
    return path


def _functions_in(folder: Path, executable: Path) -> set[int]:
    """Live processes running ``executable`` with ``folder`` as their working directory."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "exe").resolve() != executable.resolve() or (
                entry / "cwd"
            ).resolve() != folder.resolve():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours to look at
            continue
        if state not in ("Z", "X"):
            found.add(int(entry.name))
    return found


def test_the_function_process_outlives_trio_s_idle_worker_threads(tmp_path: Path) -> None:
    executable = _legacy_function()
    bootstrap = [*BRIDGE, "--", str(executable), "--handler", "echo"]
    with running_emulator("standin", bootstrap, cwd=tmp_path, workdir=tmp_path) as emulator:
        assert emulator.invoke(b'"first"').body == b'"first"'
        before = _functions_in(tmp_path, executable)
        time.sleep(WAIT_S)
        after_wait = _functions_in(tmp_path, executable)
        assert emulator.invoke(b'"second"').body == b'"second"'
    assert len(before) == 1
    assert after_wait == before  # the same process, still running
