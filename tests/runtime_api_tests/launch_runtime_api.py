"""Test-only bootstrap: ``python launch_runtime_api.py HANDLER`` serves HANDLER in Runtime API mode.

It does what the serve entry point will do when ``AWS_LAMBDA_RUNTIME_API`` is set and
``_LAMBDA_SERVER_PORT`` is not, so the emulator can start it as a function's bootstrap.
"""

from __future__ import annotations

import os
import sys

import trio

from runtime._runtime_api import serve_runtime_api
from runtime._settings import Settings

if __name__ == "__main__":
    settings = Settings.from_env(os.environ)
    sys.exit(trio.run(serve_runtime_api, sys.argv[1], settings))
