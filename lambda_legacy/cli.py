"""lambda-legacy: serve a Python handler as a go1.x function, or invoke one as the service does.

Exit codes: 0 success; 1 the function returned an error, or the server stopped after ShouldExit;
2 usage errors.

Each verb lives in its own ``_cmd_<verb>`` module, which registers its parser and its ``run``.
Only the verb being run is imported (all of them for ``--help``): ``serve`` is a function's cold
start, and the other verbs' imports would add tens of milliseconds to it. The bytecode of attrs'
generated methods is taken from (or, the first time, saved to) this package's ``__pycache__``,
one file per verb (:mod:`lambda_legacy._attrs_bytecode`).

The command itself is :func:`command`; :func:`main` is the same without its quicker exit, for
callers that go on running (tests).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence

from lambda_legacy._attrs_bytecode import REHEARSALS, learn, package_cache
from lambda_legacy._deferred_imports import defer

__all__ = ["command", "main"]

#: Each verb and the module that implements it, in the order ``--help`` lists them.
_VERBS = {
    "serve": "lambda_legacy._cmd_serve",
    "invoke": "lambda_legacy._cmd_invoke",
    "replay": "lambda_legacy._cmd_replay",
    "bridge": "lambda_legacy._cmd_bridge",
    "bundle": "lambda_legacy._cmd_bundle",
}


#: The verbs whose ``-- EXECUTABLE [ARGS...]`` is the function to start.
_STARTS_A_FUNCTION = frozenset({"invoke", "replay", "bridge"})


def _parser(verbs: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambda-legacy", description=__doc__)
    commands = parser.add_subparsers(dest="verb", required=True)
    for verb in verbs:
        importlib.import_module(_VERBS[verb]).add_parser(commands)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, arguments: list[str]) -> argparse.Namespace:
    """``parser.parse_args(arguments)``, except that for the verbs that start a function what
    follows the first ``--`` is its command line (``args.command``), parsed by nobody.

    Cut off before argparse sees it, so that options may come anywhere before it: argparse alone
    gives it to the first positional it meets, and refused ``replay FILE --reply-timeout 1 --
    EXECUTABLE``. For the other verbs ``--`` keeps its usual sense, the end of the options.
    """
    cut = len(arguments)
    if arguments[:1] and arguments[0] in _STARTS_A_FUNCTION and "--" in arguments:
        cut = arguments.index("--")
    for option in arguments[:cut]:
        if option.startswith("--") and option.endswith("=--"):
            # Python 3.11's argparse reads `--event=--` as an empty list, not the text "--".
            parser.error(f"{option}: '--' is no value for an option")
    args = parser.parse_args(arguments[:cut])
    if cut < len(arguments):
        args.command = [*args.command, *arguments[cut + 1 :]]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lambda-legacy`` command."""
    defer()  # before any verb imports trio
    arguments = list(sys.argv[1:] if argv is None else argv)
    verbs = arguments[:1] if arguments[:1] and arguments[0] in _VERBS else list(_VERBS)
    rehearsals = REHEARSALS if verbs == ["serve"] else ()
    save_bytecode = learn(package_cache(verbs[0]), rehearsals) if len(verbs) == 1 else None
    args = parse_arguments(_parser(verbs), arguments)
    # A verb that runs user code (serve) saves before importing it: its classes are not ours.
    args.save_bytecode = save_bytecode
    try:
        status: int = args.run(args)
    finally:
        if save_bytecode is not None:
            save_bytecode()  # what the verb imported as it ran (once, if it saved already)
    return status


def command() -> int:
    """The ``lambda-legacy`` command (and ``python -m lambda_legacy``): :func:`main` on the
    command line; then, for the service-side verbs, an exit that leaves what this process
    imported to the operating system.

    Why. At exit the interpreter frees every module, class and function it imported, cycle by
    cycle, in collections over all of them: 20-40 ms here after trio, attrs and this package,
    about a tenth of a one-event ``invoke``. ``gc.freeze()`` puts everything that exists now out
    of the collector's reach, so the exit skips that work and the memory goes back with the
    process. Everything else an exit does still happens: atexit handlers, flushing buffered
    output, waiting for non-daemon threads. Only for the verbs that start a function
    (``invoke``, ``replay``, ``bridge``), which run no user code in this process; ``serve``
    exits as usual, so that a handler's objects are finalized as Python finalizes them.
    """
    status = main()
    if sys.argv[1:2] and sys.argv[1] in _STARTS_A_FUNCTION:
        gc.freeze()
    return status
