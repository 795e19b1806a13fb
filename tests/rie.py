"""Starting a Runtime Interface Emulator around a bootstrap command, and invoking through it.

Two emulators share one command line (``--runtime-interface-emulator-address``,
``--runtime-api-address``, ``--log-level``, then the bootstrap command):

- ``rie``: AWS's ``aws-lambda-rie``, from ``tools/bin`` (``tools/check`` installs it with ``go
  install``) or ``PATH``. Tests using it skip with a visible reason when it is absent.
- ``standin``: ``runtime_api_tests/standin_rie.py``, which copies RIE's behaviour (see its
  docstring; checked against the real binary) and runs wherever Python does.

Each emulator runs in its own process group on two free 127.0.0.1 ports and is stopped with its
whole group (the bootstrap included) when the ``with`` block ends. Both RIE and the stand-in start
the bootstrap at the first invoke, not at start-up.

It lives in ``tests/`` beside ``go_peer.py`` (not in ``runtime_api_tests/``) because only ``tests/``
is on the import path of the suite (``--import-mode=importlib``), and a ``conftest.py`` there to
extend it would clash with other folders' ``conftest.py`` under mypy.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

from runtime._client import free_port

TESTS = Path(__file__).resolve().parent
HERE = TESTS / "runtime_api_tests"
TOOLS = TESTS.parent / "tools"
STANDIN = HERE / "standin_rie.py"
#: Where ``tools/check`` installs awslambdaric, apart from the project's environment.
RIC_VENV = TOOLS / "bin" / "venv-awslambdaric"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
EMULATOR_KINDS = ("standin", "rie")

#: How long an emulator may take to accept connections. It starts no runtime before the first
#: invoke, so this is its own start-up only (RIE: a few ms; the stand-in: importing trio).
READY_TIMEOUT_S = 15.0
#: How long one invoke may take, cold start included, before the test fails instead of hanging.
INVOKE_TIMEOUT_S = 30.0
#: How long a stopped emulator's group gets to exit after SIGTERM before SIGKILL.
STOP_GRACE_S = 5.0
#: Where RIE lives in Lambda's provided images, and so in an empty root of the tests.
RIE_IN_IMAGE = "/usr/local/bin/aws-lambda-rie"
#: Lambda runs functions as a user that owns nothing; nobody is the closest everywhere.
NOBODY = 65534


def entering_root(root: Path, cwd: Path) -> Callable[[], None]:
    """For ``preexec_fn``: chroot to ``root``, go to ``cwd`` (inside it), become nobody."""

    def enter() -> None:
        os.chroot(root)
        os.chdir(cwd)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    return enter


def rie_binary() -> Path | None:
    """``aws-lambda-rie`` from ``tools/bin``, else from ``PATH``; None when neither has it."""
    local = TOOLS / "bin" / "aws-lambda-rie"
    if local.exists():
        return local
    found = shutil.which("aws-lambda-rie")
    return Path(found) if found else None


def emulator_command(kind: str) -> list[str]:
    """The emulator's command without addresses; skips the test when ``rie`` is not installed."""
    if kind == "standin":
        return [sys.executable, str(STANDIN)]
    binary = rie_binary()
    if binary is None:
        reason = (
            "aws-lambda-rie not installed (tools/check runs `go install` for it; the Go module "
            "proxy may refuse github.com/aws/aws-lambda-runtime-interface-emulator): "
            "compared under the stand-in emulator only"
        )
        pytest.skip(reason)
    return [str(binary)]


def ric_python() -> Path:
    """The Python of the awslambdaric venv; skips the test when it is not installed."""
    python = RIC_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"awslambdaric venv missing at {RIC_VENV} (tools/check creates it)")
    return python


def runtime_command(runtime: str, handler: str) -> list[str]:
    """The bootstrap command for ``handler`` under ``ours`` or ``awslambdaric``."""
    if runtime == "ours":
        return [sys.executable, "-m", "lambda_legacy", "serve", handler]
    return [str(ric_python()), "-m", "awslambdaric", handler]


@attrs.frozen(kw_only=True)
class InvokeResult:
    """What the emulator's invoke endpoint answered."""

    status: int
    content_type: str | None
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@attrs.frozen(kw_only=True)
class RunningEmulator:
    """A started emulator: its invoke port, its output file and (stand-in) its request record."""

    kind: str
    port: int
    output: Path
    record: Path

    def invoke(self, payload: bytes, headers: Mapping[str, str] | None = None) -> InvokeResult:
        """POST one event to the invoke endpoint and return the answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=INVOKE_TIMEOUT_S)
        try:
            conn.request("POST", INVOKE_PATH, payload, dict(headers or {}))
            response = conn.getresponse()
            return InvokeResult(
                status=response.status,
                content_type=response.getheader("Content-Type"),
                body=response.read(),
            )
        finally:
            conn.close()

    def records(self) -> list[dict[str, object]]:
        """The stand-in's record of runtime requests and exits (empty for the real RIE)."""
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def output_text(self) -> str:
        """Everything the emulator and the runtime wrote to stdout and stderr so far."""
        # Bytes, not read_text: universal newlines would turn the "\r" inside error lines into "\n".
        return self.output.read_bytes().decode("utf-8", errors="replace")


def _wait_ready(process: subprocess.Popen[bytes], port: int, output: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited early:\n{output.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"emulator not listening after {READY_TIMEOUT_S} s")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # The bootstrap may outlive the emulator briefly; its group gets the same end.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def running_emulator(
    kind: str,
    bootstrap: Sequence[str],
    *,
    cwd: Path,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> Iterator[RunningEmulator]:
    """Start emulator ``kind`` with ``bootstrap`` as the function, in ``cwd``; stop it after.

    ``env`` is added to this process's environment (minus the variables that would pick a mode
    for the bootstrap); the emulator passes it on to the bootstrap, as RIE does.

    With ``root`` (``rie`` only): RIE is copied to :data:`RIE_IN_IMAGE` inside it and runs there,
    chrooted, as nobody, with ``env`` alone as its environment; ``cwd`` and ``bootstrap`` are
    paths inside the root.
    """
    port = api_port = free_port()
    while api_port == port:  # a port freed a moment ago may be handed out again at once
        api_port = free_port()
    output = workdir / f"emulator-{port}.log"
    record = workdir / f"requests-{port}.jsonl"
    emulator = emulator_command(kind)
    if root is not None:
        assert kind == "rie", "only the static RIE binary can run in an empty root"
        inside = root / RIE_IN_IMAGE.lstrip("/")
        inside.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(emulator[0], inside)
        inside.chmod(0o755)
        emulator = [RIE_IN_IMAGE]
    command = [
        *emulator,
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        "--runtime-api-address",
        f"127.0.0.1:{api_port}",
        "--log-level",
        "error",
    ]
    if kind == "standin":
        command += ["--record", str(record)]
    full_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("_LAMBDA_SERVER_PORT", "AWS_LAMBDA_RUNTIME_API", "_X_AMZN_TRACE_ID")
    }
    full_env.update(env or {})
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*command, *bootstrap],
            cwd=cwd if root is None else None,
            env=full_env if root is None else dict(env or {}),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=None if root is None else entering_root(root, cwd),  # noqa: PLW1509
        )
    try:
        _wait_ready(process, port, output)
        yield RunningEmulator(kind=kind, port=port, output=output, record=record)
    finally:
        _stop_group(process)
