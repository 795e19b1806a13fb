"""The gob code of a function's first calls reaches the real entry points: a bundle's ``main``,
``lambda-legacy serve`` and ``lambda_legacy.start()`` answer a real Ping and Invoke compiling no
gob reader or writer (``serve`` and ``start()`` from their second start on: the first learns it)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bundle_helpers import HANDLER

from lambda_legacy._attrs_bytecode import package_cache
from lambda_legacy._sync_client import BlockingFunctionClient, dial_blocking
from runtime._messages import InvokeRequest, InvokeRequest_Timestamp

ROOT = Path(__file__).resolve().parent.parent.parent

#: Put before a program: counts the gob code compiled in the process, written at its exit.
_COUNTING = """
import atexit, builtins, json, os, sys
compiled = []
real_compile = builtins.compile
def counting_compile(source, filename, *args, **kwargs):
    if str(filename).startswith("<gobrpc"):
        compiled.append(str(filename))
    return real_compile(source, filename, *args, **kwargs)
builtins.compile = counting_compile
atexit.register(lambda: open(os.environ["GOB_COMPILED"], "w").write(json.dumps(compiled)))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _first_calls(command: list[str], tmp_path: Path, cwd: Path) -> list[str]:
    """Start ``command`` as a go1.x function, Ping it and Invoke it once, stop it with SIGTERM;
    the gob code it compiled."""
    port = _free_port()
    out = tmp_path / f"compiled-{port}.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(_LAMBDA_SERVER_PORT=str(port), GOB_COMPILED=str(out))
    function = subprocess.Popen(command, cwd=cwd, env=env)
    try:
        deadline = time.monotonic() + 30
        client = BlockingFunctionClient(dial_blocking("127.0.0.1", port, deadline))
        client.ping_until_answered(deadline)
        at = InvokeRequest_Timestamp(seconds=int(time.time()) + 60)
        client.invoke(InvokeRequest(payload=b'{"a":1}', request_id="r", deadline=at), timeout=30)
        client.close()
        function.send_signal(signal.SIGTERM)
        assert function.wait(timeout=30) == 0
    finally:
        function.kill()
        function.wait()
    compiled: list[str] = json.loads(out.read_text())
    return compiled


def test_a_bundle_compiles_no_gob_code_for_its_first_calls(extracted: Path, tmp_path: Path) -> None:
    runtime = extracted / "lambda-legacy"
    program = "from lambda_legacy._bundle_main import main\nsys.exit(main([sys.argv[1]]))\n"
    command = [str(runtime / "lib" / "ld-linux-x86-64.so.2"), "--library-path"]
    command += [str(runtime / "lib"), str(runtime / "bin" / "python3.11"), "-I", "-X", "utf8"]
    assert _first_calls([*command, "-c", _COUNTING + program, HANDLER], tmp_path, extracted) == []


def test_serve_compiles_no_gob_code_for_its_first_calls_once_it_has_learned_it(
    tmp_path: Path,
) -> None:
    program = (
        "import runpy\n"
        "sys.argv[1:] = ['serve', 'examples/hello.handler']\n"
        "runpy.run_module('lambda_legacy', run_name='__main__', alter_sys=True)\n"
    )
    command = [sys.executable, "-c", _COUNTING + program]
    package_cache("serve").unlink(missing_ok=True)  # a cache, learned again from nothing
    _first_calls(command, tmp_path, ROOT)  # learns it
    assert _first_calls(command, tmp_path, ROOT) == []


def test_start_compiles_no_gob_code_for_its_first_calls_once_it_has_learned_it(
    tmp_path: Path,
) -> None:
    program = "import lambda_legacy\nlambda_legacy.start(lambda event, context: event)\n"
    command = [sys.executable, "-c", _COUNTING + program]
    package_cache().unlink(missing_ok=True)
    _first_calls(command, tmp_path, ROOT)
    assert _first_calls(command, tmp_path, ROOT) == []
