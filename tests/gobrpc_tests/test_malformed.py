"""Malformed input: each bad stream raises the protocol error at once, in bounded memory.

Streams are built by hand from doc.go's grammar (not with our encoder), so a bug shared by the
encoder and the decoder cannot hide here. Where Go's decoder has an error text for the same bytes,
ours contains it; ``test_go_reports_the_same_text`` feeds the same bytes to Go's decoder
(``gopeer gobdecode``) and checks Go's text, wherever Go is installed. Cases Go has no text for:
lengths between our limit and Go's 8 GiB ``tooBig`` (Go allocates and waits for the bytes), deep
nesting (Go has no limit and recurses), and a map of 10^9 entries (Go allocates the map up front:
``gopeer gobdecode`` was killed by the OOM killer when this was checked, so no test runs it).
"""

from __future__ import annotations

import random
import subprocess
import tracemalloc
from collections.abc import Iterator
from typing import ClassVar

import attrs
import pytest
from codec_helpers import three_ways
from go_peer import gopeer
from golden_json import GOB_CASES, GOLDEN, TRANSCRIPTS, load, writes
from hypothesis import given
from hypothesis import strategies as st
from strategies import split_points

from gobrpc import (
    DEFAULT_LIMITS,
    MAX_ELEMENTS,
    MAX_MESSAGE_SIZE,
    MAX_NESTING,
    MAX_TYPES_PER_STREAM,
    MAX_VALUE_MESSAGES,
    BasicType,
    DecodedValue,
    Decoder,
    GobDecodeError,
    GobInterface,
    GobMarshaled,
    GobStruct,
    InterfaceType,
    Kind,
    Limits,
    MessageTooLargeError,
    NeedData,
    RemoteProtocolError,
    SliceType,
    TypeDefinition,
    UnexpectedEOFError,
    gob_field,
    struct_type,
)

INTERFACE = 8

# --- doc.go's encodings, by hand --------------------------------------------------------------


def u(n: int) -> bytes:
    """An unsigned integer: one byte below 128, else minus the byte count, then big-endian."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([256 - len(body)]) + body


def i(n: int) -> bytes:
    """A signed integer: the sign in bit 0 of the unsigned encoding."""
    return u(n << 1 if n >= 0 else (~n << 1) | 1)


def s(text: str) -> bytes:
    data = text.encode()
    return u(len(data)) + data


def msg(payload: bytes) -> bytes:
    return u(len(payload)) + payload


def common(name: str, type_id: int) -> bytes:
    """CommonType{Name, Id} as field 0 of a wire type's struct (both fields sent)."""
    return b"\x01" + b"\x01" + s(name) + b"\x01" + i(type_id) + b"\x00"


def struct_def(type_id: int, name: str, fields: list[tuple[str, int]]) -> bytes:
    """A definition message: wireType{StructT: structType{CommonType, Field []fieldType}}."""
    parts = b"".join(b"\x01" + s(f) + b"\x01" + i(fid) + b"\x00" for f, fid in fields)
    body = common(name, type_id) + b"\x01" + u(len(fields)) + parts + b"\x00"
    return msg(i(-type_id) + b"\x03" + body + b"\x00")


def slice_def(type_id: int, elem: int, name: str = "") -> bytes:
    """wireType{SliceT: sliceType{CommonType, Elem}}."""
    return msg(i(-type_id) + b"\x02" + common(name, type_id) + b"\x01" + i(elem) + b"\x00\x00")


def map_def(type_id: int, key: int, elem: int) -> bytes:
    """wireType{MapT: mapType{CommonType, Key, Elem}}."""
    body = common("", type_id) + b"\x01" + i(key) + b"\x01" + i(elem) + b"\x00"
    return msg(i(-type_id) + b"\x04" + body + b"\x00")


def value(type_id: int, body: bytes, *, singleton: bool = True) -> bytes:
    """A value message; non-structs are singletons, sent after a zero delta."""
    return msg(i(type_id) + (b"\x00" if singleton else b"") + body)


def no_kind_def(type_id: int) -> bytes:
    """wireType{}: a definition that sets none of its kinds (Go's encoder never sends one)."""
    return msg(i(-type_id) + b"\x00")


POINT_DEF = struct_def(64, "Point", [("X", 2), ("Y", 2)])
POINT_VALUE = value(64, b"\x01" + i(22) + b"\x01" + i(33) + b"\x00", singleton=False)


def test_hand_encoding_is_gos() -> None:
    go = b"".join(writes(load(GOLDEN / "gob" / "point.json")))
    assert go == POINT_DEF + POINT_VALUE


# --- running the decoder ------------------------------------------------------------------------


def drain(decoder: Decoder) -> list[TypeDefinition | DecodedValue]:
    items: list[TypeDefinition | DecodedValue] = []
    while not isinstance(item := decoder.next_item(), NeedData):
        items.append(item)
    return items


@attrs.frozen
class Outcome:
    error: RemoteProtocolError | None
    items: int
    peak: int


def decode_measured(data: bytes, limits: Limits = DEFAULT_LIMITS, *, eof: bool = False) -> Outcome:
    """Feed ``data`` once and decode until an error or NEED_DATA; peak memory meanwhile."""
    tracemalloc.start()
    try:
        decoder = Decoder(limits)
        decoder.receive_data(data)
        items: list[TypeDefinition | DecodedValue] = []
        try:
            while not isinstance(item := decoder.next_item(), NeedData):
                items.append(item)
            if eof:
                decoder.check_eof()
        except RemoteProtocolError as exc:
            return Outcome(exc, len(items), tracemalloc.get_traced_memory()[1])
        return Outcome(None, len(items), tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def memory_bound(data: bytes) -> int:
    """What decoding may use: the input, a copy as one message, and 1 MiB for the rest. Nothing
    is allocated for what a count or length merely claims."""
    return 2 * len(data) + (1 << 20)


# --- truncation: every golden stream cut at every point ------------------------------------------


def _golden_streams() -> Iterator[object]:
    for path in GOB_CASES:
        yield pytest.param(b"".join(writes(load(path))), id=path.stem)
    for path in TRANSCRIPTS:
        for n, connection in enumerate(load(path)["connections"]):
            for side in ("client_to_server", "server_to_client"):
                data = bytes.fromhex(connection[side])
                yield pytest.param(data, id=f"{path.stem}-{n}-{side}")


def _item_ends(data: bytes) -> tuple[list[int], set[int]]:
    """Where each complete item of ``data`` ends, and the points where the stream may end."""
    decoder = Decoder()
    decoder.receive_data(data)
    ends: list[int] = []
    clean = {0}
    try:
        while not isinstance(item := decoder.next_item(), NeedData):
            ends.append(decoder.frames.stream_offset)
            if isinstance(item, DecodedValue):
                clean.add(decoder.frames.stream_offset)
    except RemoteProtocolError:
        pass  # raw garbage in a transcript: cut only the part before it
    return ends, clean


def _cut_points(data: bytes, ends: list[int]) -> list[int]:
    last = ends[-1] if ends else 0
    if last < 4096:
        return list(range(last + 1))
    rng = random.Random(last)
    near = {p + d for p in [0, *ends] for d in (-1, 0, 1, 2)}
    points = near | {rng.randrange(last) for _ in range(40)}
    return sorted(p for p in points if 0 <= p <= last)


@pytest.mark.parametrize("data", list(_golden_streams()))
def test_every_prefix_needs_data_then_eof_is_unexpected(data: bytes) -> None:
    ends, clean = _item_ends(data)
    for cut in _cut_points(data, ends):
        decoder = Decoder()
        decoder.receive_data(data[:cut])
        assert len(drain(decoder)) == sum(end <= cut for end in ends), cut
        if cut in clean:
            decoder.check_eof()
        else:
            with pytest.raises(UnexpectedEOFError, match=r"^unexpected EOF"):
                decoder.check_eof()


# --- the corpus --------------------------------------------------------------------------------


@attrs.frozen
class Bad:
    """Bytes that must fail, the error class, and Go's own text for them (None if Go has none)."""

    data: bytes
    error: type[RemoteProtocolError]
    go_text: str | None
    #: gopeer gobdecode case whose Go types Go decodes into to show its text; None: do not run.
    go_case: str | None = None
    #: The error comes only when the caller says the input ended (check_eof).
    at_eof: bool = False
    limits: Limits = DEFAULT_LIMITS
    #: Our text, when it cannot contain Go's (what it says instead).
    ours: str | None = None
    #: Peak memory allowed, when not :func:`memory_bound`.
    memory: int | None = None


def _chain(depth: int) -> bytes:
    """Definitions ``T0 = []T1, T1 = []T2, ..., T(depth-1) = []int``, outer first."""
    return b"".join(slice_def(64 + k, 64 + k + 1 if k + 1 < depth else 2) for k in range(depth))


def _nested_interfaces(depth: int) -> bytes:
    """I{V interface{}} holding an I holding an I ... ``depth`` deep, in one message."""
    level = b"\x01" + s("I") + i(64) + u(0)  # field V, name, concrete id, (ignored) byte count
    return struct_def(64, "I", [("V", INTERFACE)]) + value(
        64, level * depth + b"\x00" * (depth + 1), singleton=False
    )


def _interface_slice(elements: int) -> bytes:
    """[]interface{} whose every element runs on into the next message (each element's value
    after its name), as a value carrying new concrete types does."""
    first = i(64) + b"\x00" + u(elements) + s("x")
    rest = [
        i(2) + u(2) + b"\x00" + i(5) + (s("x") if k + 1 < elements else b"")
        for k in range(elements)
    ]
    return slice_def(64, INTERFACE) + msg(first) + b"".join(msg(r) for r in rest)


CORPUS: dict[str, Bad] = {
    # framing
    "length 2^63": Bad(u(1 << 63), MessageTooLargeError, "invalid message length", "int_3"),
    "length over the limit": Bad(
        u(MAX_MESSAGE_SIZE + 1), MessageTooLargeError, None, ours="invalid message length"
    ),
    "length over a lowered limit": Bad(
        u(1001) + b"\x00" * 1001,
        MessageTooLargeError,
        None,
        limits=Limits(max_message_size=1000),
        ours="invalid message length: 1001 bytes at offset 0, over the 1000-byte limit",
    ),
    "length of 9 bytes": Bad(
        b"\xf7" + b"\x00" * 9, GobDecodeError, "gob: encoded unsigned integer out of range", "int_3"
    ),
    "zero-length message": Bad(b"\x00", GobDecodeError, "EOF", "int_3"),
    "partial message": Bad(
        POINT_DEF + POINT_VALUE[:-1], UnexpectedEOFError, "unexpected EOF", "point", at_eof=True
    ),
    "definitions then EOF": Bad(
        POINT_DEF, UnexpectedEOFError, "unexpected EOF", "point", at_eof=True
    ),
    # uints
    "type id of 9 bytes": Bad(
        msg(b"\xf7" + b"\x00" * 9),
        GobDecodeError,
        "gob: encoded unsigned integer out of range",
        "int_3",
    ),
    "type id of 128 bytes": Bad(
        msg(b"\x80" + b"\x00" * 4),
        GobDecodeError,
        "gob: encoded unsigned integer out of range",
        "int_3",
    ),
    "int value of 9 bytes": Bad(
        value(2, b"\xf7" + b"\xff" * 9),
        GobDecodeError,
        "gob: encoded unsigned integer out of range",
        "int_3",
    ),
    "uint cut by the message end": Bad(
        value(2, b"\xfe\x01"),
        GobDecodeError,
        "gob: invalid uint data length 2: exceeds input size 1",
        "int_3",
        ours="gob: message ends inside an integer",
    ),
    # definitions
    "definition of id 63": Bad(
        struct_def(63, "Point", [("X", 2), ("Y", 2)]),
        GobDecodeError,
        "gob: duplicate type received",
        "point",
    ),
    "definition of id 1": Bad(
        slice_def(1, 2), GobDecodeError, "gob: duplicate type received", "point"
    ),
    "definition of the interface id": Bad(
        slice_def(INTERFACE, 2), GobDecodeError, "gob: duplicate type received", "point"
    ),
    "duplicate definition": Bad(
        POINT_DEF + POINT_DEF + POINT_VALUE, GobDecodeError, "gob: duplicate type received", "point"
    ),
    "trailing bytes after a definition": Bad(
        msg(POINT_DEF[1:] + b"\x00") + POINT_VALUE, GobDecodeError, "extra data in buffer", "point"
    ),
    "empty field name": Bad(
        struct_def(64, "Point", [("", 2)]) + value(64, b"\x00", singleton=False),
        GobDecodeError,
        "gob: empty name for remote field of type Point",
        "point",
    ),
    "definition claiming a billion fields": Bad(
        msg(i(-64) + b"\x03" + common("P", 64) + b"\x01" + u(10**9) + b"\x00\x00"),
        GobDecodeError,
        None,
        ours="claims 1000000000 fields",
    ),
    "definitions nested 100,000 deep": Bad(
        _chain(100_000),
        MessageTooLargeError,
        None,
        ours=f"more than {MAX_TYPES_PER_STREAM} type definitions",
    ),
    # values
    "unknown type id": Bad(
        value(70, b"\x01\x02\x00", singleton=False),
        GobDecodeError,
        "gob: unknown type id or corrupted data",
        "point",
    ),
    "unknown element type id": Bad(
        slice_def(64, 99) + value(64, u(1) + b"\x02"),
        GobDecodeError,
        None,
        ours="gob: bad data: undefined type (id 99)",
    ),
    # Go compiles a value's whole decoder before reading it: an undefined id anywhere in the
    # value's type graph fails, even where the value's bytes never reach it.
    "struct field of an undefined type, the field not sent": Bad(
        struct_def(64, "P", [("A", 2), ("B", 99)]) + value(64, b"\x01\x02\x00", singleton=False),
        GobDecodeError,
        "gob: bad data: undefined type <nil>",
        "point",
        ours="gob: bad data: undefined type (id 99)",
    ),
    "empty slice of an undefined element type": Bad(
        slice_def(64, 99) + value(64, u(0)),
        GobDecodeError,
        None,
        ours="gob: bad data: undefined type (id 99)",
    ),
    "interface holding a type defined inside the value, with an undefined field type": Bad(
        struct_def(64, "I", [("V", INTERFACE)])
        + msg(i(64) + b"\x01" + s("T"))
        + struct_def(65, "T", [("A", 2), ("B", 99)])
        + msg(i(65) + u(4) + b"\x01\x02\x00" + b"\x00"),
        GobDecodeError,
        None,  # Go's typed path, which ours follows; its ignore path skips the value unchecked
        ours="gob: bad data: undefined type (id 99)",
    ),
    # Go stores a definition that sets no kind and refuses a value whose type graph reaches it
    # (decIgnoreOpFor; its typed path says instead that the local type does not match).
    "struct field of a type that sets no kind, the field not sent": Bad(
        struct_def(64, "P", [("X", 2), ("K", 65)])
        + no_kind_def(65)
        + value(64, b"\x01\x02\x00", singleton=False),
        GobDecodeError,
        "gob: bad data: ignore can't handle type <nil>",
        "point",
        ours="gob: bad data: ignore can't handle type (id 65)",
    ),
    "a value of a type that sets no kind": Bad(
        no_kind_def(64) + value(64, i(1)),
        GobDecodeError,
        None,
        ours="gob: bad data: ignore can't handle type (id 64)",
    ),
    "empty slice of a type that sets no kind, defined in an empty message body": Bad(
        slice_def(64, 65) + msg(i(-65)) + value(64, u(0)),
        GobDecodeError,
        None,
        ours="gob: bad data: ignore can't handle type (id 65)",
    ),
    "interface holding a type that sets no kind, defined inside the value": Bad(
        struct_def(64, "I", [("V", INTERFACE)])
        + msg(i(64) + b"\x01" + s("T"))
        + no_kind_def(65)
        + msg(i(65) + u(2) + b"\x00" + i(1) + b"\x00"),
        GobDecodeError,
        None,
        ours="gob: bad data: ignore can't handle type (id 65)",
    ),
    "empty field name in a struct a value uses": Bad(
        struct_def(64, "Q", [("", 2), ("Y", 2)]) + value(64, b"\x02\x04\x00", singleton=False),
        GobDecodeError,
        "gob: empty name for remote field of type Q",
        "point",
    ),
    "a field's type id over int32, in a field the value does not send": Bad(
        struct_def(64, "P", [("A", 2), ("B", 1 << 40)])
        + value(64, b"\x01\x02\x00", singleton=False),
        GobDecodeError,
        'value for "Id" out of range',
        "point",
    ),
    "field number out of bounds": Bad(
        POINT_DEF + value(64, b"\x05\x02\x00", singleton=False),
        GobDecodeError,
        "gob: bad data: field numbers out of bounds",
        "point",
    ),
    "negative field delta": Bad(
        POINT_DEF + value(64, b"\x01\x02" + u((1 << 64) - 1) + b"\x02\x00", singleton=False),
        GobDecodeError,
        "gob: decode: corrupted data: negative delta",
        "point",
    ),
    "singleton with a non-zero delta": Bad(
        msg(i(2) + b"\x01" + i(3)),
        GobDecodeError,
        "gob: decode: corrupted data: non-zero delta for singleton",
        "int_3",
    ),
    "string longer than its message": Bad(
        value(6, u(10**9) + b"abc"),
        GobDecodeError,
        "gob: bad string slice length: 0",
        "string_hi",
        ours="exceeds the 3 bytes left",
    ),
    "a billion ints in a 20-byte message": Bad(
        slice_def(64, 2) + msg((i(64) + b"\x00" + u(10**9)).ljust(20, b"\x02")),
        GobDecodeError,
        # Go says "decoding int array or slice" from its []int helper; the rest is the same.
        "array or slice: length exceeds input size (1000000000 elements)",
    ),
    "a billion map entries in a 20-byte message": Bad(
        map_def(64, 2, 6) + msg((i(64) + b"\x00" + u(10**9)).ljust(20, b"\x02")),
        GobDecodeError,
        None,
        ours="gob: decoding map: length exceeds input size (1000000000 elements)",
    ),
    "a billion interfaces in a 20-byte message": Bad(
        slice_def(64, INTERFACE) + msg((i(64) + b"\x00" + u(10**9)).ljust(20, b"\x00")),
        MessageTooLargeError,
        None,
        ours=f"over the {MAX_ELEMENTS}-element limit",
    ),
    "array of the wrong length": Bad(
        msg(i(-64) + b"\x01" + common("", 64) + b"\x01" + i(2) + b"\x01" + i(3) + b"\x00\x00")
        + value(64, u(2) + b"\x02\x02"),
        GobDecodeError,
        None,
        ours="array of length 2 received for array of length 3",
    ),
    "interface name over 1024 bytes": Bad(
        struct_def(64, "I", [("V", INTERFACE)])
        + value(64, b"\x01" + s("x" * 2000) + b"\x00", singleton=False),
        GobDecodeError,
        "gob: name too long (2000 bytes)",
    ),
    "a map as a map key": Bad(
        map_def(64, 65, 2) + map_def(65, 2, 2) + value(64, u(1) + u(1) + i(1) + i(1) + i(7)),
        GobDecodeError,
        None,
        ours="a map is not comparable",
    ),
    "value over too many messages": Bad(
        _interface_slice(MAX_VALUE_MESSAGES + 1),
        MessageTooLargeError,
        None,
        ours=f"runs on into more than {MAX_VALUE_MESSAGES} messages",
    ),
    "value over several messages, over the size limit": Bad(
        _interface_slice(20),
        MessageTooLargeError,
        None,
        limits=Limits(max_message_size=64),
        ours="value of more than 64 bytes over several messages",
    ),
    # nesting 100,000 deep: Go has no limit (it decodes all of these)
    "[]T nested 100,000 deep": Bad(
        slice_def(64, 64, "T") + value(64, u(1) * 100_000 + b"\x00"),
        MessageTooLargeError,
        None,
        ours=f"nests deeper than {MAX_NESTING}",
    ),
    "struct{Next *R} nested 100,000 deep": Bad(
        struct_def(64, "R", [("Next", 64)])
        + value(64, b"\x01" * 100_000 + b"\x00" * 100_001, singleton=False),
        MessageTooLargeError,
        None,
        ours=f"nests deeper than {MAX_NESTING}",
    ),
    "map[int]M nested 100,000 deep": Bad(
        map_def(64, 2, 64) + value(64, (u(1) + i(0)) * 100_000 + u(0)),
        MessageTooLargeError,
        None,
        ours=f"nests deeper than {MAX_NESTING}",
    ),
    "interfaces nested 100,000 deep": Bad(
        _nested_interfaces(100_000),
        MessageTooLargeError,
        None,
        ours=f"nests deeper than {MAX_NESTING}",
    ),
    "definitions inside a value past the limit, the value still arriving": Bad(
        struct_def(64, "I", [("V", INTERFACE)])
        + msg(i(64) + b"\x01" + s("T"))
        + b"".join(struct_def(65 + k, f"T{k}", [("A", 2)]) for k in range(20)),
        MessageTooLargeError,
        None,
        limits=Limits(max_types=8),
        ours="more than 8 type definitions in one stream",
    ),
    # slices and arrays: Go refuses to start an element with nothing left of the message
    "slice of interface-holding structs, count 3, no element bytes": Bad(
        slice_def(64, 65) + struct_def(65, "S", [("V", INTERFACE)]) + value(64, u(3)),
        GobDecodeError,
        "gob: decoding array or slice: length exceeds input size (3 elements)",
    ),
    "slice of such structs claiming 8,388,608 elements in 43 bytes": Bad(
        slice_def(64, 65) + struct_def(65, "S", [("V", INTERFACE)]) + value(64, u(1 << 23)),
        GobDecodeError,
        "gob: decoding array or slice: length exceeds input size (8388608 elements)",
    ),
    "slice of structs, count 2, one element's bytes": Bad(
        slice_def(64, 65) + struct_def(65, "S", [("A", 2)]) + value(64, u(2) + b"\x01\x02\x00"),
        GobDecodeError,
        "gob: decoding array or slice: length exceeds input size (2 elements)",
    ),
    "10,000 definitions deep, allowed, and a value through all of them": Bad(
        _chain(10_000) + value(64, u(1) * 10_000 + i(1)),
        MessageTooLargeError,
        None,
        limits=Limits(max_types=10_000),
        ours=f"nests deeper than {MAX_NESTING}",
        # The definitions are all stored, as they were allowed: about 1 KiB each at most.
        memory=10_000 * 1024,
    ),
}
CORPUS_PARAMS = [pytest.param(bad, id=name) for name, bad in CORPUS.items()]


@pytest.mark.parametrize("bad", CORPUS_PARAMS)
def test_raises_the_protocol_error_at_once_in_bounded_memory(bad: Bad) -> None:
    outcome = decode_measured(bad.data, bad.limits, eof=bad.at_eof)
    assert isinstance(outcome.error, bad.error), outcome.error
    if not bad.at_eof:
        # "At once": with every byte of it fed, the decoder raised instead of asking for more.
        assert decode_measured(bad.data, bad.limits).error is not None
    text = str(outcome.error)
    for wanted in (bad.go_text if bad.ours is None else None, bad.ours):
        if wanted is not None:
            assert wanted in text
    assert outcome.peak < (bad.memory or memory_bound(bad.data)), f"{outcome.peak} bytes at peak"


GO_CASES = [pytest.param(bad, id=name) for name, bad in CORPUS.items() if bad.go_case]


@pytest.mark.parametrize("bad", GO_CASES)
def test_go_reports_the_same_text(bad: Bad) -> None:
    assert bad.go_case is not None
    assert bad.go_text is not None
    result = subprocess.run(
        [str(gopeer()), "gobdecode", "--case", bad.go_case],
        input=bad.data,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"gobdecode: value 0: {bad.go_text}"


def test_where_our_text_differs_from_gos_it_says_so() -> None:
    # Guard the table: ``ours`` is only for cases where Go's text is absent or not in ours.
    for name, bad in CORPUS.items():
        if bad.ours is not None and bad.go_text is not None:
            outcome = decode_measured(bad.data, bad.limits, eof=bad.at_eof)
            assert bad.go_text not in str(outcome.error), name


@pytest.mark.parametrize("first", range(0x80, 0xF8))
def test_every_overlong_uint_is_refused_everywhere(first: int) -> None:
    # 0x80..0xf7 announce 9 to 128 bytes: more than a uint64 has.
    junk = bytes([first]) + b"\x00" * 12
    for data in (
        junk,
        msg(junk),
        value(2, junk),
        POINT_DEF + value(64, b"\x01" + junk, singleton=False),
    ):
        outcome = decode_measured(data)
        assert isinstance(outcome.error, GobDecodeError)
        assert "gob: encoded unsigned integer out of range" in str(outcome.error)


def test_a_length_prefix_still_arriving_is_not_an_error() -> None:
    decoder = Decoder()
    decoder.receive_data(b"\xfd\x00")  # a 3-byte length, one byte of it here
    assert isinstance(decoder.next_item(), NeedData)
    with pytest.raises(UnexpectedEOFError):
        decoder.check_eof()


def test_definitions_of_id_64_are_accepted() -> None:
    assert decode_measured(POINT_DEF + POINT_VALUE, eof=True).error is None


def test_the_stream_goes_on_after_a_zero_length_message() -> None:
    # Go's Decode returns EOF for the empty message, and the next Decode reads on.
    decoder = Decoder()
    decoder.receive_data(b"\x00" + POINT_DEF + POINT_VALUE)
    with pytest.raises(GobDecodeError, match=r"^EOF"):
        decoder.next_item()
    items = drain(decoder)
    assert isinstance(items[-1], DecodedValue)
    assert items[-1].value == GobStruct.of("Point", {"X": 22, "Y": 33})


@pytest.mark.parametrize(
    ("length", "error"),
    [(b"\x80", GobDecodeError), (b"\xf8" + b"\xff" * 8, MessageTooLargeError)],
    ids=["over_8_bytes", "8_GiB_or_more"],
)
def test_the_stream_goes_on_after_a_length_go_refuses(
    length: bytes, error: type[GobDecodeError]
) -> None:
    # Go's Decode fails having read the length's bytes, and the next Decode reads on from there
    # (so net/rpc answers the next call); fed in any chunking, the length is refused once.
    for chunks in three_ways(length + POINT_DEF + POINT_VALUE):
        decoder = Decoder()
        failures, values = [], []
        for chunk in chunks:
            decoder.receive_data(chunk)
            while True:
                try:
                    item = decoder.next_item()
                except RemoteProtocolError as exc:
                    failures.append(exc)
                    continue
                if isinstance(item, NeedData):
                    break
                if isinstance(item, DecodedValue):
                    values.append(item.value)
        assert [type(f) for f in failures] == [type(failures[0])]
        assert isinstance(failures[0], error)
        assert not decoder.broken
        assert values == [GobStruct.of("Point", {"X": 22, "Y": 33})]


def test_a_message_of_exactly_the_limit_is_read() -> None:
    # One message each, with a one-byte length.
    assert POINT_DEF[0] < 0x80
    assert POINT_VALUE[0] < 0x80
    largest = max(POINT_DEF[0], POINT_VALUE[0])
    decoder = Decoder(Limits(max_message_size=largest))
    decoder.receive_data(POINT_DEF + POINT_VALUE)
    assert isinstance(drain(decoder)[-1], DecodedValue)
    smaller = Decoder(Limits(max_message_size=largest - 1))
    smaller.receive_data(POINT_DEF + POINT_VALUE)
    with pytest.raises(MessageTooLargeError):
        drain(smaller)


def test_a_message_inside_a_value_may_not_be_empty() -> None:
    # Go reads the next message for the interface's type and meets EOF there too.
    data = _interface_slice(2)
    first_end = len(slice_def(64, INTERFACE)) + len(msg(i(64) + b"\x00" + u(2) + s("x")))
    outcome = decode_measured(data[:first_end] + b"\x00" + data[first_end:])
    assert isinstance(outcome.error, GobDecodeError)
    assert str(outcome.error).startswith("EOF")


def test_values_over_several_messages_within_the_limits_decode() -> None:
    outcome = decode_measured(_interface_slice(MAX_VALUE_MESSAGES - 1), eof=True)
    assert outcome.error is None
    decoder = Decoder()
    decoder.receive_data(_interface_slice(3))
    (value_item,) = [x for x in drain(decoder) if isinstance(x, DecodedValue)]
    assert value_item.value == [GobInterface("x", 5)] * 3


def test_an_incomplete_value_is_not_decoded_again_until_its_next_message_is_complete() -> None:
    data = _interface_slice(3)
    decoder = Decoder()
    # Everything but the last byte: the value waits for its last message.
    decoder.receive_data(data[:-1])
    assert isinstance(decoder.next_item(), TypeDefinition)
    assert isinstance(decoder.next_item(), NeedData)
    calls = 0
    original = decoder._top_value

    def counting(*args: object) -> object:
        nonlocal calls
        calls += 1
        return original(*args)  # type: ignore[arg-type]

    decoder._top_value = counting  # type: ignore[method-assign,assignment]
    assert isinstance(decoder.next_item(), NeedData)
    assert calls == 0
    decoder.receive_data(data[-1:])
    assert isinstance(decoder.next_item(), DecodedValue)
    assert calls == 1


@attrs.frozen(kw_only=True)
class _Item:
    """S{V interface{}}, bound to a class, so that decoding it runs a compiled reader."""

    __gob_name__: ClassVar[str] = "S"
    v: object = gob_field("V", InterfaceType(), default=None)


@attrs.frozen(kw_only=True)
class _Holder:
    __gob_name__: ClassVar[str] = "Holder"
    items: list[_Item] | None = gob_field(
        "Items", lambda: SliceType(struct_type(_Item)), default=None
    )


def test_a_compiled_reader_refuses_a_count_that_outruns_the_message() -> None:
    # Holder{Items []S}: 3 items claimed, none sent. The reader compiled for Holder used to build
    # them, as many as the count said.
    data = (
        struct_def(64, "Holder", [("Items", 65)])
        + slice_def(65, 66)
        + struct_def(66, "S", [("V", INTERFACE)])
        + value(64, b"\x01" + u(3) + b"\x00", singleton=False)
    )
    decoder = Decoder()
    decoder.receive_data(data)
    with pytest.raises(GobDecodeError, match=r"length exceeds input size \(3 elements\)"):
        decoder.next_value(struct_type(_Holder))
    assert len(decoder._readers) == 1  # the compiled path, not the generic one


def test_any_bool_but_zero_is_true() -> None:
    # Go's decBool: value != 0. Go's encoder sends only 1, but its decoder takes any.
    decoder = Decoder()
    decoder.receive_data(value(1, u(2)) + value(1, u(0)) + value(1, u(300)))
    assert [item.value for item in drain(decoder) if isinstance(item, DecodedValue)] == [
        True,
        False,
        True,
    ]


def test_a_definition_is_filed_under_the_id_it_is_sent_with() -> None:
    # Go's Encode(&GE{5}), GE a GobEncoder: the definition sent for id 64 says CommonType.Id 65
    # (a pointer to a GobEncoder type, as a *time.Time field is sent), and Go files it under 64.
    definition = msg(i(-64) + b"\x05" + b"\x01" + b"\x02" + i(65) + b"\x00\x00\x00")
    decoder = Decoder()
    decoder.receive_data(definition + value(64, b"\x01\x05"))
    items = drain(decoder)
    assert isinstance(items[0], TypeDefinition)
    assert items[0].id == 64
    assert isinstance(items[1], DecodedValue)
    assert items[1].value == GobMarshaled("", b"\x05")


def _open_definitions() -> Iterator[tuple[bytes, bytes]]:
    """(definition without its closing zero deltas, a value of it), for each kind of wireType."""
    point_fields = b"\x01" + s("X") + b"\x01" + i(2) + b"\x00\x01" + s("Y") + b"\x01" + i(2)
    point = common("Point", 64) + b"\x01" + u(2) + point_fields
    for closing in (b"\x00\x00", b"\x00", b""):  # fieldType, structType, wireType: none, ...
        yield msg(i(-64) + b"\x03" + point + closing), POINT_VALUE
    yield msg(i(-64) + b"\x02" + common("", 64) + b"\x01" + i(2)), value(64, u(1) + i(7))
    yield (
        msg(i(-64) + b"\x04" + common("", 64) + b"\x01" + i(2) + b"\x01" + i(6)),
        value(64, u(1) + i(3) + s("x")),
    )
    yield (
        msg(i(-64) + b"\x01" + common("", 64) + b"\x01" + i(2) + b"\x01" + i(1)),
        value(64, u(1) + i(9)),
    )
    yield msg(i(-64) + b"\x05" + b"\x01\x01" + s("GE") + b"\x01" + i(64)), value(64, s("z"))
    yield msg(i(-64) + b"\x05" + b"\x01\x01" + s("GE")), value(64, s("z"))  # CommonType open


@pytest.mark.parametrize("stream", list(_open_definitions()))
def test_the_message_end_closes_a_definitions_open_structs(stream: tuple[bytes, bytes]) -> None:
    # Go decodes a wireType with its struct decoder, which reads deltas only while bytes are
    # left: every closing zero delta may be missing at the message's end.
    definition, body = stream
    data = definition + body
    for chunks in [[data], [data[k : k + 1] for k in range(len(data))]]:
        decoder = Decoder()
        items = []
        for chunk in chunks:
            decoder.receive_data(chunk)
            items += drain(decoder)
        decoder.check_eof()
        assert isinstance(items[0], TypeDefinition)
        assert isinstance(items[1], DecodedValue)
        assert items[1].value is not None


@given(data=st.data())
def test_open_definitions_decode_split_anywhere(data: st.DataObject) -> None:
    definition, body = data.draw(st.sampled_from(list(_open_definitions())))
    whole = Decoder()
    whole.receive_data(definition + body)
    want = drain(whole)
    decoder = Decoder()
    got = []
    for chunk in data.draw(split_points(definition + body)):
        decoder.receive_data(chunk)
        got += drain(decoder)
    assert got == want


def _values_three_ways(data: bytes) -> list[list[object]]:
    """The decoded values, fed whole, byte at a time, and at one random split each run."""
    cut = random.randrange(1, len(data))
    ways = [[data], [data[k : k + 1] for k in range(len(data))], [data[:cut], data[cut:]]]
    results: list[list[object]] = []
    for chunks in ways:
        decoder = Decoder()
        items = []
        for chunk in chunks:
            decoder.receive_data(chunk)
            items += drain(decoder)
        decoder.check_eof()
        results.append([x.value for x in items if isinstance(x, DecodedValue)])
    return results


def test_an_unused_definition_may_have_an_empty_field_name() -> None:
    # Go checks field names when it compiles a decoder for a value (compileDec), not on arrival.
    data = struct_def(65, "Q", [("", 2)]) + POINT_DEF + POINT_VALUE
    want = [GobStruct.of("Point", {"X": 22, "Y": 33})]
    assert _values_three_ways(data) == [want] * 3


def test_a_message_type_id_keeps_its_low_32_bits() -> None:
    # Go's typeId(dec.nextInt()) is an int32: -(2^32 + 65) defines 65, 2^32 + 65 is a value of 65,
    # and 2^32 + 64 names 64, which is not defined.
    good = msg(i(-((1 << 32) + 65)) + POINT_DEF[2:]) + msg(
        i((1 << 32) + 65) + b"\x01" + i(22) + b"\x01" + i(33) + b"\x00"
    )
    assert _values_three_ways(good) == [[GobStruct.of("Point", {"X": 22, "Y": 33})]] * 3
    outcome = decode_measured(good + msg(i((1 << 32) + 64) + b"\x00" + i(1)))
    assert outcome.items == 2
    assert "unknown type id or corrupted data: 64 " in str(outcome.error)


@given(data=st.data())
def test_graph_checks_split_anywhere(data: st.DataObject) -> None:
    stream = data.draw(st.sampled_from([bad.data for bad in CORPUS.values() if len(bad.data) < 99]))
    whole = decode_measured(stream)
    decoder = Decoder()
    error = None
    try:
        for chunk in data.draw(split_points(stream)):
            decoder.receive_data(chunk)
            drain(decoder)
    except RemoteProtocolError as exc:
        error = exc
    assert str(error) == str(whole.error)


def test_a_warm_stream_checks_a_type_graph_once() -> None:
    decoder = Decoder()
    decoder.receive_data(POINT_DEF + POINT_VALUE)
    drain(decoder)
    calls = 0
    original = decoder._check_graph

    def counting(*args: object) -> None:
        nonlocal calls
        calls += 1
        original(*args)  # type: ignore[arg-type]

    decoder._check_graph = counting  # type: ignore[method-assign,assignment]
    decoder.receive_data(POINT_VALUE * 3)
    assert len(drain(decoder)) == 3
    assert calls == 0


_X_FIELD = u(1) + b"\x01" + s("X") + b"\x01" + i(2)
NO_COMMON_TYPE = {  # wireType variant, its fields after CommonType, and a value of it
    "struct": (3, b"\x02" + _X_FIELD, b"\x01" + i(5) + b"\x00"),
    "empty struct": (3, b"\x00", b"\x00"),
    "slice": (2, b"\x02" + i(2), b"\x00" + u(1) + i(7)),
    "map": (4, b"\x02" + i(2) + b"\x01" + i(6), b"\x00" + u(1) + i(3) + s("x")),
    "marshaler": (5, b"\x00", b"\x00" + s("z")),
}


@pytest.mark.parametrize("case", NO_COMMON_TYPE.values(), ids=NO_COMMON_TYPE.keys())
def test_a_definition_may_leave_out_its_common_type(case: tuple[int, bytes, bytes]) -> None:
    # Go's struct decoder lets any field be left out: CommonType then is {Name: "", Id: 0}.
    variant, fields, body = case
    data = msg(i(-64) + bytes([variant]) + fields) + msg(i(64) + body)
    ways = _values_three_ways(data)
    assert len(ways[0]) == 1
    assert ways == [ways[0]] * 3


def test_an_unused_definition_may_set_no_kind() -> None:
    # Go's struct decoder reads a wireType with no field set (or no bytes at all) and stores it.
    want = [GobStruct.of("Point", {"X": 22, "Y": 33})]
    for definition in (no_kind_def(65), msg(i(-65))):
        assert _values_three_ways(definition + POINT_DEF + POINT_VALUE) == [want] * 3


def _kinds(*kinds: tuple[int, bytes]) -> bytes:
    """A definition of id 64 setting each (wireType field number, that kind's struct) given."""
    body = b""
    last = 0
    for field, kind in kinds:
        body += u(field - last) + kind
        last = field
    return msg(i(-64) + body + b"\x00")


def _common(name: str) -> bytes:
    return b"\x01\x01" + s(name) + b"\x01" + i(64) + b"\x00"


_ARRAY = _common("A") + b"\x01" + i(2) + b"\x01" + i(2) + b"\x00"  # [2]int
_SLICE = _common("S") + b"\x01" + i(2) + b"\x00"  # []int
_STRUCT = _common("P") + b"\x01" + u(2) + b"\x01" + s("X") + b"\x01" + i(2) + b"\x00"
_STRUCT += b"\x01" + s("Y") + b"\x01" + i(2) + b"\x00\x00"  # P{X, Y int}
_MAP = _common("M") + b"\x01" + i(2) + b"\x01" + i(2) + b"\x00"  # map[int]int
_MARSHALER = _common("G") + b"\x00"
_P12 = value(64, b"\x01\x02\x01\x04\x00", singleton=False)
_P = GobStruct.of("P", {"X": 1, "Y": 2})
#: A wireType setting several kinds, a value of it, and what it decodes as. The kind kept is the
#: one Go decodes a top-level value with: the struct (compileDec, getIgnoreEnginePtr), then
#: decIgnoreOpFor's order (array, map, slice, the marshalers); Go's typed and ignore paths both
#: decode each of these (checked with a differential run against Go 1.26.8).
SEVERAL_KINDS = {
    "slice and struct": (_kinds((2, _SLICE), (3, _STRUCT)), _P12, _P),
    "struct and GobEncoder": (_kinds((3, _STRUCT), (5, _MARSHALER)), _P12, _P),
    "array and slice": (_kinds((1, _ARRAY), (2, _SLICE)), value(64, u(2) + i(1) + i(2)), [1, 2]),
    "slice and map": (_kinds((2, _SLICE), (4, _MAP)), value(64, u(1) + i(1) + i(2)), {1: 2}),
    "GobEncoder and BinaryMarshaler": (
        _kinds((5, _MARSHALER), (6, _MARSHALER)),
        value(64, s("z")),
        GobMarshaled("G", b"z"),
    ),
}


@pytest.mark.parametrize("case", SEVERAL_KINDS.values(), ids=SEVERAL_KINDS.keys())
def test_a_definition_may_set_several_kinds(case: tuple[bytes, bytes, object]) -> None:
    definition, body, want = case
    assert _values_three_ways(definition + body) == [[want]] * 3


@attrs.frozen(kw_only=True)
class _Point:
    __gob_name__: ClassVar[str] = "Point"
    x: int = gob_field("X", BasicType(Kind.INT), default=0)
    y: int = gob_field("Y", BasicType(Kind.INT), default=0)


@pytest.mark.parametrize("kinds", ["slice and struct", "struct and GobEncoder"])
def test_a_struct_of_several_kinds_decodes_into_a_struct_as_in_go(kinds: str) -> None:
    definition, body, _ = SEVERAL_KINDS[kinds]
    decoder = Decoder()
    decoder.receive_data(definition + body)
    bound = decoder.next_value(struct_type(_Point))
    assert not isinstance(bound, NeedData)
    assert bound.value == _Point(x=1, y=2)
    result = subprocess.run(
        [str(gopeer()), "gobdecode", "--case", "point"],
        input=definition + body,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout.strip()) == (0, b'[{"X":1,"Y":2}]')


def test_the_go_text_of_our_error_is_gos_where_we_give_it() -> None:
    """``GobDecodeError.go_text`` (what a net/rpc server replies) is Go's text exactly, wherever
    ours adds detail to Go's words; a case whose text is not Go's at all keeps its own."""
    for name, bad in CORPUS.items():
        if bad.go_case is None or bad.go_text is None:  # Go's whole text is known for these
            continue
        error = decode_measured(bad.data, bad.limits, eof=bad.at_eof).error
        if not isinstance(error, GobDecodeError) or bad.go_text not in str(error):
            continue
        assert error.go_text == bad.go_text, name
