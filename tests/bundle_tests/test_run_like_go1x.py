"""The bundle run as go1.x runs it: in an empty root, and again unchrooted; and its
``bootstrap`` in the same empty root under AWS's Runtime Interface Emulator.

The empty root has what go1.x's image promises and nothing of this machine: a static shell
(busybox-static as ``/bin/sh``), ``/proc``, ``/tmp`` at 1777, and a decoy ``/lib64/libc.so.6``
that is not a library, where Lambda's ``LD_LIBRARY_PATH`` looks first. ``/var/task/main`` starts
bare, as uid 65534, in its own process group. A Go net/rpc client and ``lambda-legacy invoke``
drive it; then the group is killed as go1.x kills it, and nothing may be left: no process, no
file in ``/tmp``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundle_helpers import (
    GO1X_ENV,
    BuiltBundle,
    gopeer_call,
    group_is_empty,
    kill_group,
    start_like_go1x,
)
from go_peer import gopeer
from rie import NOBODY, rie_binary, running_emulator

from lambda_legacy._bundle._elf import read_elf
from lambda_legacy._bundle._zipfile import extract_with_modes
from runtime._client import free_port

TASK_ROOT = Path("/var/task")


def _static_busybox() -> Path:
    found = shutil.which("busybox")
    if found is None:
        pytest.skip("busybox not installed (apt-get install busybox-static): empty root not run")
    if read_elf(Path(found).read_bytes()).is_dynamic:
        pytest.skip(f"{found} is not busybox-static: an empty root needs a static shell")
    return Path(found)


@pytest.fixture
def empty_root(built_bundle: BuiltBundle, tmp_path: Path) -> Iterator[Path]:
    """ROOT with the bundle at ROOT/var/task and nothing else of this machine; /proc mounted."""
    if os.geteuid() != 0:
        pytest.skip("chroot needs root: empty root not run (the unchrooted test still runs)")
    busybox = _static_busybox()
    root = tmp_path / "root"
    extract_with_modes(built_bundle.zip_path, root / "var" / "task")
    (root / "bin").mkdir()
    shutil.copyfile(busybox, root / "bin" / "sh")  # busybox picks its applet from argv[0]
    (root / "bin" / "sh").chmod(0o755)
    (root / "lib64").mkdir()
    (root / "lib64" / "libc.so.6").write_text("not a library\n", encoding="ascii")
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    (root / "proc").mkdir()
    for directory in (tmp_path, root, root / "var"):
        directory.chmod(0o755)
    mounted = subprocess.run(
        ["mount", "-t", "proc", "proc", str(root / "proc")], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"mount -t proc refused ({mounted.stderr.decode().strip()}): empty root not run"
        )
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)


def _drive(port: int, gopeer_path: Path) -> dict[str, object]:
    """Ping, echo (Go client and lambda-legacy invoke), maps, an error, then ShouldExit."""
    seen: dict[str, object] = {}
    ping = gopeer_call(gopeer_path, port, "Function.Ping")
    assert ping["error"] == ""
    echo = gopeer_call(gopeer_path, port, "Function.Invoke", '{"action": "echo", "n": 1}')
    assert echo["error"] == "", echo
    assert echo["error_type"] == "", echo
    seen["echo"] = json.loads(str(echo["payload"]))
    invoked = subprocess.run(
        [sys.executable, "-m", "lambda_legacy", "invoke", "--port", str(port),
         "--event", '{"action": "echo", "n": 2}'],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr
    seen["invoke"] = json.loads(invoked.stdout)
    maps = gopeer_call(gopeer_path, port, "Function.Invoke", '{"action": "maps"}')
    seen["maps"] = json.loads(str(maps["payload"]))["maps"]
    seen["fail"] = gopeer_call(gopeer_path, port, "Function.Invoke", '{"action": "fail", "why": 7}')
    seen["exit"] = gopeer_call(gopeer_path, port, "Function.Invoke", '{"action": "exit"}')
    return seen


def _assert_answers(seen: dict[str, object], task_root: Path, uid: int) -> None:
    echo = seen["echo"]
    assert echo == {
        "echo": {"action": "echo", "n": 1},
        "tinyreq": "installed from requirements",
        "uid": uid,
        "request_id": "req-0",
    }
    invoke = seen["invoke"]
    assert isinstance(invoke, dict)
    assert invoke["echo"] == {"action": "echo", "n": 2}
    maps = seen["maps"]
    assert isinstance(maps, list)
    assert maps
    loaded = [p for p in maps if ".so" in p or "python" in p]
    assert any(p.endswith("/libc.so.6") for p in loaded), loaded
    outside = [p for p in loaded if not p.startswith(f"{task_root}/")]
    assert outside == [], f"loaded from the host: {outside}"
    fail = seen["fail"]
    assert isinstance(fail, dict)
    assert fail["error_type"] == "ValueError"
    assert fail["error_message"] == "bad input: 7"
    assert fail["should_exit"] is False
    frames = fail["stack_trace"]
    assert isinstance(frames, list)
    labels = [f["label"] for f in frames]
    assert labels[:3] == ["_inner", "_outer", "handler"], frames  # innermost first, as Go has it
    assert all(f["path"] == f"{task_root}/fn.py" for f in frames[:3]), frames
    exit_reply = seen["exit"]
    assert isinstance(exit_reply, dict)
    assert exit_reply["should_exit"] is True, exit_reply


def _show_log(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


def test_empty_root_as_go1x(empty_root: Path, tmp_path: Path) -> None:
    gopeer_path = gopeer()
    port = free_port()
    log = tmp_path / "function.log"
    process = start_like_go1x(
        str(TASK_ROOT / "main"), port, log, root=empty_root, cwd=TASK_ROOT, env={}
    )
    try:
        seen = _drive(port, gopeer_path)
    finally:
        kill_group(process)
    assert group_is_empty(process.pid), "a process of the function outlived SIGKILL to its group"
    _assert_answers(seen, TASK_ROOT, NOBODY)
    assert list((empty_root / "tmp").iterdir()) == []
    assert "Traceback" not in _show_log(log).split("SystemExit")[0], _show_log(log)


def test_unchrooted_with_go1x_environment(extracted: Path, tmp_path: Path) -> None:
    """The same, in a plain folder: proves modes, launcher and loader without root."""
    gopeer_path = gopeer()
    port = free_port()
    log = tmp_path / "function.log"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    assert stat.S_IMODE((extracted / "main").stat().st_mode) == 0o755
    process = start_like_go1x(
        str(extracted / "main"), port, log, root=None, cwd=extracted, env={"TMPDIR": str(tmp)}
    )
    try:
        seen = _drive(port, gopeer_path)
    finally:
        kill_group(process)
    assert group_is_empty(process.pid)
    _assert_answers(seen, extracted, os.getuid())
    assert list(tmp.iterdir()) == []


def test_bootstrap_in_the_empty_root_under_rie(empty_root: Path, tmp_path: Path) -> None:
    """provided.al2's way in the same root: RIE (static, as AWS ships it) at its image path
    starts ``/var/task/bootstrap`` as nobody, with Lambda's library path (host's first)."""
    binary = rie_binary()
    if binary is None:
        pytest.skip("aws-lambda-rie not installed (tools/check installs it): not run in the root")
    if read_elf(binary.read_bytes()).is_dynamic:
        pytest.skip(f"{binary} is dynamically linked: tools/check builds it with CGO_ENABLED=0")
    # RIE's os/exec opens /dev/null for the runtime's stdin; every Lambda root has it.
    (empty_root / "dev").mkdir()
    try:
        os.mknod(empty_root / "dev" / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError as exc:
        pytest.skip(f"mknod /dev/null refused ({exc}): RIE cannot run in the empty root")
    (empty_root / "dev" / "null").chmod(0o666)
    env = {**GO1X_ENV, "_HANDLER": "bootstrap", "LAMBDA_TASK_ROOT": str(TASK_ROOT)}
    bootstrap = [str(TASK_ROOT / "bootstrap")]
    with running_emulator(
        "rie", bootstrap, cwd=TASK_ROOT, workdir=tmp_path, env=env, root=empty_root
    ) as emulator:
        echo = emulator.invoke(b'{"action": "echo", "n": 1}')
        fail = emulator.invoke(b'{"action": "fail", "why": "x"}')
        maps = emulator.invoke(b'{"action": "maps"}')
        output = emulator.output_text()
    assert (echo.status, fail.status, maps.status) == (200, 200, 200), output
    reply = echo.json()
    assert isinstance(reply, dict)
    assert reply["echo"] == {"action": "echo", "n": 1}
    assert reply["uid"] == NOBODY
    error = fail.json()
    assert isinstance(error, dict)
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad input: x")
    assert any("_inner" in line for line in error["stackTrace"])
    loaded = maps.json()
    assert isinstance(loaded, dict)
    libraries = [p for p in loaded["maps"] if ".so" in p]
    assert any(p.endswith("/libc.so.6") for p in libraries), libraries
    outside = [p for p in libraries if not p.startswith(f"{TASK_ROOT}/")]
    assert outside == [], f"loaded from the host: {outside}"
    assert list((empty_root / "tmp").iterdir()) == []
