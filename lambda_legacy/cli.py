"""lambda-legacy: serve a Python handler as a go1.x function, or invoke one as the service does.

Exit codes: 0 success; 1 the function returned an error, or the server stopped after ShouldExit;
2 usage errors.

Each verb lives in its own ``_cmd_<verb>`` module, which registers its parser and its ``run``.
Only the verb being run is imported (all of them for ``--help``): ``serve`` is a function's cold
start, and the other verbs' imports would add tens of milliseconds to it. The bytecode of attrs'
generated methods is taken from (or, the first time, saved to) this package's ``__pycache__``,
one file per verb (:mod:`lambda_legacy._attrs_bytecode`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lambda_legacy._attrs_bytecode import learn, package_cache
from lambda_legacy._deferred_imports import defer

__all__ = ["main"]

#: Each verb and the module that implements it, in the order ``--help`` lists them.
_VERBS = {
    "serve": "lambda_legacy._cmd_serve",
    "invoke": "lambda_legacy._cmd_invoke",
    "replay": "lambda_legacy._cmd_replay",
    "bridge": "lambda_legacy._cmd_bridge",
    "bundle": "lambda_legacy._cmd_bundle",
}


def _parser(verbs: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambda-legacy", description=__doc__)
    commands = parser.add_subparsers(dest="verb", required=True)
    for verb in verbs:
        importlib.import_module(_VERBS[verb]).add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lambda-legacy`` command."""
    defer()  # before any verb imports trio
    arguments = list(sys.argv[1:] if argv is None else argv)
    verbs = arguments[:1] if arguments[:1] and arguments[0] in _VERBS else list(_VERBS)
    save_bytecode = learn(package_cache(verbs[0])) if len(verbs) == 1 else None
    parser = _parser(verbs)
    # What follows the first "--" is the function's command line, parsed by nobody: cut off
    # here, so that options may come anywhere before it (argparse alone would give it to the
    # first positional it meets, and refuse `replay FILE --reply-timeout 1 -- EXECUTABLE`).
    cut = arguments.index("--") if "--" in arguments else len(arguments)
    args = parser.parse_args(arguments[:cut])
    if cut < len(arguments):
        if not hasattr(args, "command"):
            parser.error(f"{args.verb} takes no -- EXECUTABLE")
        args.command = [*args.command, *arguments[cut + 1 :]]
    # A verb that runs user code (serve) saves before importing it: its classes are not ours.
    args.save_bytecode = save_bytecode
    try:
        status: int = args.run(args)
    finally:
        if save_bytecode is not None:
            save_bytecode()  # what the verb imported as it ran (once, if it saved already)
    return status
