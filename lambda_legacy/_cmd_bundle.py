"""``lambda-legacy bundle``: build a go1.x deployment zip that carries its own Python, or check one.

Exit codes: 0 built (or checked with no fault); 1 ``--check`` found faults; 2 usage errors and
inputs the bundle cannot be built from (the message says why and what to do).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser"]

#: Exit status for faults found by ``--check``.
FAULTS_FOUND = 1
#: Exit status for a usage error (cli.py's table).
USAGE_ERROR = 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``bundle`` and its options."""
    bundle = commands.add_parser(
        "bundle",
        help="build a go1.x / provided.al2 zip carrying Python and glibc, or --check any zip",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bundle.add_argument("handler", nargs="?", help="Lambda handler name, e.g. app.handler")
    bundle.add_argument("--src", type=Path, help="folder whose files go to the zip root")
    bundle.add_argument("--requirements", type=Path, help="requirements file for pip")
    bundle.add_argument(
        "--handler-name",
        default="main",
        help="the function's Handler setting: the executable's name at the zip root (main)",
    )
    bundle.add_argument(
        "-o", "--output", type=Path, default=Path("function.zip"), help="(function.zip)"
    )
    bundle.add_argument("--check", type=Path, metavar="ZIP", help="inspect ZIP instead")
    bundle.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: ``lambda-legacy serve`` should not pay for the bundle builder's imports.
    from lambda_legacy._bundle._errors import BundleError  # noqa: PLC0415

    if args.check is not None:
        if args.handler is not None:
            print("lambda-legacy bundle: give HANDLER or --check ZIP, not both", file=sys.stderr)
            return USAGE_ERROR
        return _check(args.check, args.handler_name)
    if args.handler is None:
        print(
            "lambda-legacy bundle: give HANDLER (module.function) or --check ZIP", file=sys.stderr
        )
        return USAGE_ERROR
    try:
        return _build(args)
    except BundleError as exc:
        print(f"lambda-legacy bundle: {exc}", file=sys.stderr)
        return USAGE_ERROR


def _check(path: Path, handler_name: str) -> int:
    from lambda_legacy._bundle._check import check_zip  # noqa: PLC0415 (see run)

    if not path.is_file():
        print(f"lambda-legacy bundle: --check {path}: no such file", file=sys.stderr)
        return USAGE_ERROR
    report = check_zip(path, handler_name)
    print("\n".join(report.lines()))
    return 0 if report.ok else FAULTS_FOUND


def _build(args: argparse.Namespace) -> int:
    try:
        from lambda_legacy._bundle._build import BundleRequest, build_bundle  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        print(
            f"lambda-legacy bundle: {exc.name} is missing: pip install 'lambda-legacy[bundle]'",
            file=sys.stderr,
        )
        return USAGE_ERROR

    request = BundleRequest(
        handler=args.handler,
        output=args.output,
        src=args.src,
        requirements=args.requirements,
        handler_name=args.handler_name,
    )
    summary = build_bundle(request, lambda step: print(step, file=sys.stderr, flush=True))
    print("\n".join(summary.lines()))
    return 0
