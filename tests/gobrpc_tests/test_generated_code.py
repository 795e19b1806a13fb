"""Code for the readers and writers gobrpc generates: recorded once, then handed to a process so
that it compiles none of them, with the source still behind every traceback."""

from __future__ import annotations

import builtins
import linecache
import subprocess
import sys
import traceback
from typing import Any

import attrs
import pytest

from gobrpc import (
    FIRST_USER_ID_LEGACY,
    BasicType,
    Decoder,
    Encoder,
    Kind,
    TypeRegistry,
    _generated,
    add_generated_code,
    gob_field,
    recording_generated_code,
    struct_type,
)


def _fresh_class() -> type:
    """A struct class of its own: its reader and writer are generated anew (gobrpc keeps both
    per type for the process)."""

    @attrs.frozen
    class Sample:
        __gob_package__ = "tests"
        name: str = gob_field("Name", BasicType(Kind.STRING), default="")
        count: int = gob_field("Count", BasicType(Kind.INT64), default=0)

    return Sample


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the pieces gobrpc compiles from now on; what was handed over is forgotten
    after the test."""
    names: list[str] = []
    real_compile = builtins.compile

    def counting(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        if str(filename).startswith("<gobrpc"):
            names.append(str(filename))
        return real_compile(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counting)
    monkeypatch.setattr(_generated, "_GIVEN", {})
    return names


def _round_trip(value: Any) -> object:
    """``value`` encoded with a fresh registry and decoded with a fresh decoder."""
    t = struct_type(type(value))
    data = Encoder(TypeRegistry(FIRST_USER_ID_LEGACY)).encode(t, value)
    decoder = Decoder()
    decoder.receive_data(data)
    return decoder.next_value(t)


def test_recorded_code_is_used_instead_of_compiling(compiles: list[str]) -> None:
    with recording_generated_code() as table:
        _round_trip(_fresh_class()("a", 1))
    assert len(compiles) == len(table) == 2  # its writer and its reader
    compiles.clear()
    add_generated_code(table)
    sample = _fresh_class()  # another type, the same texts
    value = _round_trip(sample("b", 2))
    assert compiles == []
    assert getattr(value, "value", None) == sample("b", 2)


def test_code_for_another_text_is_still_compiled(compiles: list[str]) -> None:
    add_generated_code({"def read(cur, depth):\n    return None\n": compile("", "<x>", "exec")})
    _round_trip(_fresh_class()("c", 3))
    assert any("reader for tests.Sample" in name for name in compiles)


def test_handed_code_shows_its_source_in_tracebacks(compiles: list[str]) -> None:
    with recording_generated_code() as table:
        _round_trip(_fresh_class()("d", 4))
    source, code = next((s, c) for s, c in table.items() if "reader" in c.co_filename)
    linecache.cache.pop(code.co_filename, None)
    add_generated_code(table)
    _round_trip(_fresh_class()("e", 5))
    assert linecache.getline(code.co_filename, 1) == source.splitlines(True)[0]
    namespace: dict[str, object] = {}
    exec(code, namespace)
    read: Any = namespace["read"]
    with pytest.raises(AttributeError) as failure:
        read(None, 0)  # no reader on None: the first line fails
    last = traceback.extract_tb(failure.value.__traceback__)[-1]
    assert last.filename == code.co_filename
    assert last.lineno is not None
    assert last.line == source.splitlines()[last.lineno - 1].strip()


def test_one_text_has_one_name_in_every_process() -> None:
    """Names come from the text (a checksum), not from addresses, so recorded code names its
    source truthfully anywhere and a recording is the same bytes on every build."""
    script = (
        "import sys; sys.path[:0] = [sys.argv[1]]\n"
        "from test_generated_code import _fresh_class, _round_trip\n"
        "from gobrpc import recording_generated_code\n"
        "with recording_generated_code() as table:\n"
        "    _round_trip(_fresh_class()('f', 6))\n"
        "print(sorted(code.co_filename for code in table.values()))\n"
    )
    here = str(__import__("pathlib").Path(__file__).parent)
    names = {
        subprocess.run(
            [sys.executable, "-c", script, here],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        for _ in range(2)
    }
    assert len(names) == 1
    assert "0x" not in names.pop()


@attrs.frozen
class _Extra:
    __gob_package__ = "tests"
    n: int = gob_field("N", BasicType(Kind.INT64), default=0)


@attrs.frozen
class _Sent:
    __gob_name__ = "Shown"
    __gob_package__ = "tests"
    name: str = gob_field("Name", BasicType(Kind.STRING), default="")
    extra: _Extra = gob_field("Extra", _Extra, factory=_Extra)


@attrs.frozen
class _Received:
    """Has no ``Extra``: its reader skips that field by the id the peer gave its type, so a peer
    numbering its types differently on each connection makes a new text each time."""

    __gob_name__ = "Shown"
    __gob_package__ = "tests"
    name: str = gob_field("Name", BasicType(Kind.STRING), default="")


def _ours_in_linecache() -> list[str]:
    return [name for name in linecache.cache if name.startswith("<gobrpc")]


def test_linecache_keeps_a_bounded_number_of_texts() -> None:
    """A peer that defines new types on every connection must not grow the process for good:
    the newest texts stay behind tracebacks, the oldest go."""
    received = struct_type(_Received)
    first_ids = range(100, 100 + _generated.MAX_TEXTS_IN_LINECACHE + 40)
    for first_id in first_ids:
        decoder = Decoder()
        decoder.receive_data(Encoder(TypeRegistry(first_id)).encode(struct_type(_Sent), _Sent("x")))
        item = decoder.next_value(received)
        assert item.value == _Received("x")  # type: ignore[union-attr]
    ours = _ours_in_linecache()
    assert len(ours) <= _generated.MAX_TEXTS_IN_LINECACHE
    newest = ours[-1]
    assert linecache.getline(newest, 1).startswith("def read(")
