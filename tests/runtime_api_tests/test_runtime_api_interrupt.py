"""Ctrl-C ends Runtime API mode quietly while it waits for an event, as it ends RPC mode."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

#: Bounds the wait for the runtime to connect and to end.
WAIT_SECONDS = 30.0


def test_ctrl_c_while_waiting_for_an_event_exits_130_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    with socket.create_server(("127.0.0.1", 0)) as api:  # accepts, never answers
        api.settimeout(WAIT_SECONDS)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.getsockname()[1]}",
            "LAMBDA_TASK_ROOT": str(tmp_path),
        }
        with subprocess.Popen(
            [sys.executable, "-m", "lambda_legacy", "serve", "app.handler"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as runtime:
            connection, _ = api.accept()
            with connection:
                connection.settimeout(WAIT_SECONDS)
                assert connection.recv(4096).startswith(b"GET /2018-06-01/runtime/invocation/next")
                runtime.send_signal(signal.SIGINT)
                _, stderr = runtime.communicate(timeout=WAIT_SECONDS)
    assert runtime.returncode == 128 + signal.SIGINT
    assert stderr == b""
