"""``invoke --events`` splits its input into events: every non-blank line, ``\\r\\n`` or ``\\n``,
the last one with or without its newline, however the lines fall across the reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from lambda_legacy._cmd_invoke import _READ_SIZE, _EventLines, _lines


def _events(path: Path) -> list[bytes]:
    async def collect() -> list[bytes]:
        source = _EventLines(os.open(path, os.O_RDONLY), owned=True)
        return [line async for line in _lines(source)]

    return trio.run(collect)


def _line(size: int, fill: bytes) -> bytes:
    return b'"' + fill * max(size - 2, 0) + b'"'


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_lines_across_read_boundaries(tmp_path: Path, ending: bytes) -> None:
    # Lines just under, at and over one read, one over two reads, and short ones between.
    sizes = [10, _READ_SIZE - 1, _READ_SIZE, _READ_SIZE + 1, 5, 2 * _READ_SIZE + _READ_SIZE // 2]
    lines = [_line(size, bytes([ord("a") + i])) for i, size in enumerate(sizes)]
    blank = b"  " + ending
    data = b"".join(line + ending + (blank if i % 2 else b"") for i, line in enumerate(lines))
    path = tmp_path / "events.jsonl"
    path.write_bytes(data + b'{"last":true}')  # the last line has no newline
    assert _events(path) == [*lines, b'{"last":true}']


def test_blank_input_is_no_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n \n\r\n\t\n")
    assert _events(path) == []
