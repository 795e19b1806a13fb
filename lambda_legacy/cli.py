"""lambda-legacy: serve a Python handler as a go1.x function, or invoke one as the service does.

Exit codes: 0 success; 1 the function returned an error, or the server stopped after ShouldExit;
2 usage errors.

Each verb lives in its own ``_cmd_<verb>`` module, which registers its parser and its ``run``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lambda_legacy import _cmd_bridge, _cmd_bundle, _cmd_invoke, _cmd_replay, _cmd_serve

__all__ = ["main"]

_VERBS = (_cmd_serve, _cmd_invoke, _cmd_replay, _cmd_bridge, _cmd_bundle)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambda-legacy", description=__doc__)
    commands = parser.add_subparsers(dest="verb", required=True)
    for verb in _VERBS:
        verb.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lambda-legacy`` command."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status
