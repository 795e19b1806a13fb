"""Compiling the readers and writers gobrpc generates, or taking code compiled for them before.

Why. A reader (per wire type and local type) and a writer (per struct) are generated and compiled
on first use, so a fresh go1.x function compiles the readers of the Ping and Invoke requests and
the writers of their responses while it answers its first calls: about 3-4.5 ms of a first
Invoke of 8-10 ms here. Code is a pure function of its source text and the interpreter, so code
compiled elsewhere for the same text can be handed to a process before it needs it
(:func:`add_generated_code`); a deployment bundle records it when it is built
(:func:`recording_generated_code`), as it records the methods attrs generates. Code for a text
nobody handed over is compiled as before.

Each piece of code is named after a checksum of its text (and what it was first generated for),
not after an object's address, so that one text has one name in every process: ``linecache``
gets the text under that name wherever the code runs, so tracebacks show its lines, and a
recording is the same bytes on every build. Types whose texts are the same (a writer's text
holds its fields' kinds, not their names) share one piece of code, and its name.
"""

from __future__ import annotations

import linecache
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import CodeType

__all__ = ["add_generated_code", "compile_generated", "recording_generated_code"]

#: Code handed over, by source text.
_GIVEN: dict[str, CodeType] = {}
#: The tables of the recordings in progress.
_RECORDINGS: list[dict[str, CodeType]] = []


def compile_generated(source: str, what: str) -> CodeType:
    """The code of ``source``, generated to read or write ``what``: the code handed over for this
    text, else compiled now (and kept by any recording in progress)."""
    code = _GIVEN.get(source)
    if code is None:
        code = compile(source, f"<gobrpc {what} #{zlib.crc32(source.encode()):08x}>", "exec")
        for table in _RECORDINGS:
            table[source] = code
    name = code.co_filename
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    return code


def add_generated_code(table: Mapping[str, CodeType]) -> None:
    """Use ``table``'s code (by source text) instead of compiling those texts in this process.

    Only code this interpreter compiled from the same text belongs here (the caller's file
    records the interpreter's version, as a ``.pyc`` does).
    """
    _GIVEN.update(table)


@contextmanager
def recording_generated_code() -> Iterator[dict[str, CodeType]]:
    """A table that gets the code of every text compiled while the block runs, by source."""
    table: dict[str, CodeType] = {}
    _RECORDINGS.append(table)
    try:
        yield table
    finally:
        _RECORDINGS.remove(table)
