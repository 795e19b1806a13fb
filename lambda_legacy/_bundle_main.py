"""The entry point inside a bundle: ``lambda-legacy serve HANDLER``, and only that.

The launcher runs ``python -m lambda_legacy._bundle_main HANDLER [ARGS...]``. This imports the
``serve`` verb alone (not the CLI with every verb), so a cold start loads no more than serving
needs. Serving itself is the ``serve`` verb's: go1.x RPC on ``_LAMBDA_SERVER_PORT``, or the
Runtime API where Lambda starts ``bootstrap`` with ``AWS_LAMBDA_RUNTIME_API``.

Before that import, the attrs methods of the serving modules are given their bytecode compiled at
build time (:mod:`lambda_legacy._attrs_bytecode`), a fifth of the start otherwise.

The bundle's root is the task root: ``LAMBDA_TASK_ROOT`` is set to it when the environment does
not say (Lambda sets ``/var/task``; a local run sets nothing), so the handler's module is found
from any working directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lambda_legacy import _attrs_bytecode
from lambda_legacy._deferred_imports import defer

__all__ = ["ATTRS_BYTECODE", "REHEARSALS", "SERVING_MODULES", "main"]

#: The interpreter is ``<root>/lambda-legacy/bin/python3.X``; a bundle root holds this folder.
_RUNTIME_DIR = "lambda-legacy"

#: Where a bundle keeps the bytecode of its attrs methods, from its root.
ATTRS_BYTECODE = f"{_RUNTIME_DIR}/{_attrs_bytecode.FILE_NAME}"

#: What a bundle imports to serve, both ways: the bytecode recorded at build time is theirs.
SERVING_MODULES = (
    "lambda_legacy._cmd_serve",
    "runtime._rpc_mode",
    "runtime._runtime_api",
    "runtime._trio_side_run",
)

#: Called once the serving modules are imported, when the attrs bytecode is recorded: the calls a
#: function's first conversation makes, so that the gob code they generate is recorded too.
REHEARSALS = _attrs_bytecode.REHEARSALS


def bundle_root(executable: str) -> Path | None:
    """The bundle's root if ``executable`` is a bundled interpreter, else None."""
    parents = Path(executable).resolve().parents
    if len(parents) < 3 or parents[1].name != _RUNTIME_DIR:
        return None
    return parents[2]


def main(argv: Sequence[str]) -> int:
    """Serve ``argv[0]`` (the handler), passing the other arguments to ``serve``."""
    defer()  # before anything imports trio
    root = bundle_root(sys.executable)
    if root is not None:
        _attrs_bytecode.install(root / ATTRS_BYTECODE)
    from lambda_legacy import _cmd_serve  # noqa: PLC0415 - after install, which must come first

    parser = argparse.ArgumentParser(prog="lambda-legacy bundle")
    _cmd_serve.add_parser(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(["serve", *argv])
    if root is not None:  # the gob code of the first calls, once the mode's modules are in
        args.save_bytecode = _attrs_bytecode.hand_over_generated_code
    if root is not None and not os.environ.get("LAMBDA_TASK_ROOT"):
        os.environ["LAMBDA_TASK_ROOT"] = str(root)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
