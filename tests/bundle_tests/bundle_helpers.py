"""Helpers for the bundle tests: the test function, a hand-made wheel, building, unzipping."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import attrs
from rie import entering_root

from lambda_legacy.cli import main as cli_main

#: The function inside the test bundle. One handler, steered by the event, so one build covers
#: echo, an error with frames, ShouldExit, and a look at what the process loaded.
FUNCTION_SOURCE = """
import os

import tinyreq


def handler(event, context):
    action = event.get("action")
    if action == "fail":
        return _outer(event)
    if action == "exit":
        raise SystemExit(3)
    if action == "maps":
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line.split()[-1]}
        return {"maps": sorted(paths)}
    return {"echo": event, "tinyreq": tinyreq.VALUE, "uid": os.getuid(),
            "request_id": context.aws_request_id}


def _outer(event):
    return _inner(event)


def _inner(event):
    raise ValueError("bad input: " + str(event.get("why")))
"""

HANDLER = "fn.handler"


@attrs.frozen(kw_only=True)
class BuiltBundle:
    """The session's bundle and what the command printed while building it."""

    zip_path: Path
    stdout: str
    stderr: str
    inputs: tuple[Path, Path]  # (src, requirements), for a second build


def make_wheel(directory: Path) -> Path:
    """``tinyreq-1.0``: a pure-Python wheel written by hand (a wheel is a zip with a RECORD)."""
    files = {
        "tinyreq/__init__.py": b'VALUE = "installed from requirements"\n',
        "tinyreq-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinyreq\nVersion: 1.0\n",
        "tinyreq-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("tinyreq-1.0.dist-info/RECORD,,")
    files["tinyreq-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    path = directory / "tinyreq-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def build(src: Path, requirements: Path, output: Path) -> tuple[int, str, str]:
    """Run ``lambda-legacy bundle`` in this process; returns (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = cli_main(
            ["bundle", HANDLER, "--src", str(src), "--requirements", str(requirements),
             "-o", str(output)]
        )  # fmt: skip
    finally:
        sys.stdout, sys.stderr = saved
    return status, out.getvalue(), err.getvalue()


#: What go1.x starts the handler with (lambci/docker-lambda's base image), less the port.
GO1X_ENV = {
    "LD_LIBRARY_PATH": (
        "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
    ),
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "_HANDLER": "main",
}


def start_like_go1x(
    executable: str, port: int, log: Path, *, root: Path | None, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start ``executable`` bare, as go1.x does: its own process group, cwd the task root.

    With ``root``, inside that chroot as uid/gid 65534 (``cwd`` is then a path inside it).
    """
    with log.open("wb") as out:
        return subprocess.Popen(
            [executable],
            env={**GO1X_ENV, **env, "_LAMBDA_SERVER_PORT": str(port)},
            cwd=None if root is not None else cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=entering_root(root, cwd) if root is not None else None,  # noqa: PLW1509
        )


def gopeer_call(gopeer: Path, port: int, method: str, payload: str = "{}") -> dict[str, object]:
    """One call through the Go net/rpc client (it dials and pings until the function is up)."""
    result = subprocess.run(
        [str(gopeer), "client", "--port", str(port), "--method", method, "--payload", payload,
         "--wait", "30s"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return line


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """What go1.x does at the end: SIGKILL to the whole process group, then reap."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def group_is_empty(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False
