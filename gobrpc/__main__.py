"""``python -m gobrpc dump [--rpc] FILE``: print a captured gob stream as JSON lines.

One line per message (see :mod:`gobrpc._dump` for the record format). ``FILE`` may be ``-`` for
stdin; it is read and printed as it arrives. Exit status: 0 for a whole, valid stream; 1 if the
stream is bad or ends in the middle of something (the last line says what and at which offset);
2 for bad usage or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from ._dump import iter_dump

__all__ = ["main"]

#: Read size: large enough to take a 6 MB payload in a few reads, small enough to show a live
#: stream (``tcpdump ... | python -m gobrpc dump -``) as it comes.
_CHUNK = 64 * 1024


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    # read1 returns what is there as soon as there is some, so a live pipe is shown as it comes.
    read = getattr(stream, "read1", stream.read)
    while chunk := read(_CHUNK):
        yield chunk


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gobrpc",
        description="Tools for debugging captured gob / net/rpc traffic.",
        epilog="Exit status: 0 valid stream, 1 bad stream (last line: error and offset), 2 usage.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser(
        "dump",
        help="print one JSON line per gob message (type definitions and values)",
        description="Print one JSON line per gob message: type definitions (id, Go type name, "
        "wire type) and values (type id, Go type name, value with Go's names).",
    )
    dump.add_argument("file", metavar="FILE", help="captured stream, or - for stdin")
    dump.add_argument(
        "--rpc",
        action="store_true",
        help="read one direction of a net/rpc connection: label headers and bodies with seq "
        "and method",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    out = sys.stdout
    try:
        stream: BinaryIO = (
            sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
        )
    except OSError as exc:
        print(f"python -m gobrpc dump: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    status = 0
    with stream:
        try:
            for record in iter_dump(_chunks(stream), rpc=args.rpc):
                line = json.dumps(record, ensure_ascii=False, allow_nan=False)
                out.buffer.write(line.encode("utf-8") + b"\n")
                out.buffer.flush()
                if record["kind"] == "error":
                    status = 1
        except BrokenPipeError:
            # The reader went away (``| head``): stop quietly, as other filters do.
            sys.stdout = None  # no flush of a dead pipe at exit
            return status
    return status


if __name__ == "__main__":
    sys.exit(main())
