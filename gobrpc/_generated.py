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
holds its fields' kinds, not their names) share one piece of code, and its name. ``linecache``
keeps the newest :data:`MAX_TEXTS_IN_LINECACHE` texts only: a reader's text depends on the type
ids a peer chose, so a peer that defines new types on every connection makes new texts without
end (a differential fuzz grew a server by ~6 KB a connection before this bound).
"""

from __future__ import annotations

import linecache
import threading
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import CodeType

__all__ = [
    "MAX_TEXTS_IN_LINECACHE",
    "add_generated_code",
    "compile_generated",
    "recording_generated_code",
]

#: How many generated texts ``linecache`` keeps for tracebacks (the newest): as many as the
#: process shares readers (``MAX_SHARED_READERS``), and a Lambda peer needs about ten.
MAX_TEXTS_IN_LINECACHE = 256

#: Code handed over, by source text.
_GIVEN: dict[str, CodeType] = {}
#: The tables of the recordings in progress.
_RECORDINGS: list[dict[str, CodeType]] = []
#: The names of the texts put in ``linecache``, the oldest first; the lock orders updates from
#: several threads (a worker encodes replies too).
_IN_LINECACHE: dict[str, None] = {}
_LINECACHE_LOCK = threading.Lock()


def compile_generated(source: str, what: str) -> CodeType:
    """The code of ``source``, generated to read or write ``what``: the code handed over for this
    text, else compiled now (and kept by any recording in progress)."""
    code = _GIVEN.get(source)
    if code is None:
        code = compile(source, f"<gobrpc {what} #{zlib.crc32(source.encode()):08x}>", "exec")
        for table in _RECORDINGS:
            table[source] = code
    _show_in_tracebacks(code.co_filename, source)
    return code


def _show_in_tracebacks(name: str, source: str) -> None:
    """Give ``linecache`` the text of ``name``, dropping the oldest one past the bound."""
    with _LINECACHE_LOCK:
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        _IN_LINECACHE.pop(name, None)
        _IN_LINECACHE[name] = None
        while len(_IN_LINECACHE) > MAX_TEXTS_IN_LINECACHE:
            oldest = next(iter(_IN_LINECACHE))
            del _IN_LINECACHE[oldest]
            linecache.cache.pop(oldest, None)


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
