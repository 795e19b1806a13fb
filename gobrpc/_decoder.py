"""Decoder: one gob stream in, type definitions and values out.

Theory of operation (doc.go, "Types and Values" and "Encoding Details"). A stream is a sequence of
messages. A message is either ``int(-id) wireType`` (a definition) or ``int(id) value``. Definitions
arrive before the first value that needs them, outer type first, so they may refer forward; they are
stored as received, and the first value of a type has its whole type graph checked before any of
it is read, as Go compiles its decoder for the type first. A value whose type is not a struct is a
"singleton": a zero field delta, then the value. A value normally fills one message, but an
interface field can carry the concrete type's definitions in the middle of the value, and the value
then goes on in the next message: the decoder reads on into following messages exactly where Go's
``decodeTypeSequence`` does.

A caller that knows the local type a value is for (net/rpc knows the argument and reply types)
uses :meth:`Decoder.next_value`: it gives what ``next_item`` then ``structure`` give, but decodes a
struct bound to a class straight into it, with a reader compiled once per (local type, wire type)
pair on the stream (gobrpc's readers module), as Go compiles its decoder per type pair.

A zero-length message is what Go's ``Decode`` reports as ``EOF``, at the top level or where an
interface value runs on into it: it is consumed and raised as an error, and the stream goes on
after it, as Go's does.

Everything is transactional. :meth:`Decoder.next_item` either returns one complete item and
consumes its messages, or returns :data:`NEED_DATA` and changes nothing (definitions met inside a
value that is not complete yet are discarded with it). Any problem with the bytes raises
:class:`RemoteProtocolError`; any other exception is a bug.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import attrs

from ._errors import GobDecodeError, MessageTooLargeError, UnexpectedEOFError
from ._framing import MessageBuffer, PrefixSkippedError
from ._limits import DEFAULT_LIMITS, Limits
from ._readers import Read, compile_reader, outruns_input
from ._schema import structure
from ._types import (
    BOOL_ID,
    BYTES_ID,
    COMPLEX_ID,
    FIRST_USER_ID_MIN,
    FLOAT_ID,
    INT_ID,
    INTERFACE_ID,
    STRING_ID,
    UINT_ID,
    ZERO_VALUES,
    GoType,
    MarshalMethod,
    WireArray,
    WireEmpty,
    WireField,
    WireMap,
    WireMarshaler,
    WireSlice,
    WireStruct,
    WireType,
)
from ._values import GobInterface, GobMarshaled, GobStruct, GobValue
from ._wire import Reader

__all__ = [
    "BUILTIN_NAMES",
    "NEED_DATA",
    "BoundValue",
    "DecodedValue",
    "Decoder",
    "NeedData",
    "TypeDefinition",
    "type_name",
]

#: Longest registered interface name Go accepts ("name too long").
MAX_INTERFACE_NAME = 1024

#: The predefined type ids and the names gob gives them.
BUILTIN_NAMES: Final = {
    BOOL_ID: "bool",
    INT_ID: "int",
    UINT_ID: "uint",
    FLOAT_ID: "float",
    BYTES_ID: "[]byte",
    STRING_ID: "string",
    COMPLEX_ID: "complex",
    INTERFACE_ID: "interface",
}
#: Go's texts for faults ours describes in more detail (see ``GobDecodeError.go_text``). Go reads
#: a definition with its ordinary struct decoder, so a stray field in one is this fault too.
_OUT_OF_BOUNDS: Final = "gob: bad data: field numbers out of bounds"
_UNKNOWN_ID: Final = "gob: unknown type id or corrupted data"
# wireType's fields, by field number.
_WIRE_VARIANTS: Final = ("array", "slice", "struct", "map", *(m.value for m in MarshalMethod))
#: Which kind of a wireType that sets several is kept (see ``Decoder._read_definition``).
_KIND_PREFERENCE: Final = ("struct", "array", "map", "slice", *(m.value for m in MarshalMethod))


class NeedData:
    """Sentinel type: the buffered bytes do not yet hold a complete item."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@attrs.frozen
class TypeDefinition:
    """A type definition received at the top level of the stream."""

    id: int
    wire: WireType
    offset: int


@attrs.frozen
class DecodedValue:
    """A complete top-level value: its type id, wire type name, and generic value."""

    type_id: int
    type_name: str
    value: GobValue
    offset: int
    #: Definitions that travelled inside the value (interface fields), in order.
    inline_definitions: tuple[TypeDefinition, ...] = ()


class BoundValue(NamedTuple):
    """A complete top-level value decoded into the local type the caller named.

    A NamedTuple rather than an attrs class: one is made per message on net/rpc's hot path, where
    a frozen attrs ``__init__`` costs three times as much.
    """

    type_id: int
    #: The local type's value (an instance of its class, for a bound struct); None with an error.
    value: object
    offset: int
    #: Why the value does not fit the local type (Go's compile error, or a value out of its local
    #: width), as ``structure`` raises it; the value's messages were read whole and consumed.
    error: GobDecodeError | None = None


def type_name(types: dict[int, WireType], type_id: int) -> str:
    """The name the stream gave ``type_id``: a builtin's Go name or the definition's Name."""
    if type_id in BUILTIN_NAMES:
        return BUILTIN_NAMES[type_id]
    wire = types.get(type_id)
    return wire.name if wire is not None else f"<unknown type {type_id}>"


class _Shape(NamedTuple):
    """A struct definition's field names, type ids and zero values, in field order."""

    names: tuple[str, ...]
    ids: tuple[int, ...]
    zeros: tuple[GobValue, ...]


class _IncompleteError(Exception):
    """Internal: the value continues in a message that has not arrived yet."""


class _Cursor:
    """Reads one value across consecutive messages, with the decoder's definitions pending."""

    __slots__ = (
        "bind_error",
        "decoder",
        "inline",
        "message_offset",
        "messages_used",
        "new_types",
        "reader",
        "sound",
        "value_size",
    )

    def __init__(self, decoder: Decoder, reader: Reader, message_offset: int) -> None:
        self.decoder = decoder
        self.reader = reader
        self.message_offset = message_offset
        self.messages_used = 1
        self.value_size = reader.remaining()
        self.new_types: dict[int, WireType] = {}
        #: Ids found sound whose graph rests on definitions that came inside this value.
        self.sound: set[int] | None = None
        self.inline: list[TypeDefinition] = []
        #: The first value found out of its local width by a compiled reader (see readers).
        self.bind_error: GobDecodeError | None = None

    def lookup(self, type_id: int) -> WireType | None:
        return self.new_types.get(type_id) or self.decoder.types.get(type_id)

    def next_message(self) -> None:
        limits = self.decoder.limits
        if self.messages_used >= limits.max_value_messages:
            raise MessageTooLargeError(
                f"gob: value runs on into more than {limits.max_value_messages} messages "
                f"{self.where()}"
            )
        try:
            peeked = self.decoder.frames.peek(self.messages_used)
        except GobDecodeError:
            self.decoder.broken = True
            raise
        if peeked is None:
            raise _IncompleteError
        data, offset = peeked
        if not data:
            self.messages_used += 1
            raise GobDecodeError(
                f"EOF: a zero-length message inside a value at offset {offset}", go_text="EOF"
            )
        self.value_size += len(data)
        if self.value_size > limits.max_message_size:
            raise MessageTooLargeError(
                f"gob: value of more than {limits.max_message_size} bytes over several messages "
                f"at offset {offset}"
            )
        self.reader = Reader(data)
        self.message_offset = offset
        self.messages_used += 1

    def where(self) -> str:
        return f"at offset {self.message_offset + self.reader.pos}"


class Decoder:
    """The receiving half of one gob stream: a table of received types plus buffered bytes.

    Feed bytes with :meth:`receive_data` in any chunking; call :meth:`next_item` until it returns
    :data:`NEED_DATA`. Raises only :class:`RemoteProtocolError` subclasses; after one the stream is
    unusable, as Go's is.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.frames = MessageBuffer(limits.max_message_size)
        self.types: dict[int, WireType] = {}
        #: Per struct definition, what decoding each of its values needs (built on first use).
        self._shapes: dict[WireStruct, _Shape] = {}
        #: Compiled readers by (local type, wire id), and the (local type, wire id) pairs found
        #: compatible on the generic path (see ``structure``): a stream never redefines an id.
        self._readers: dict[tuple[GoType, int], Read] = {}
        self._checked: set[tuple[GoType, int]] = set()
        #: Ids whose whole type graph is defined and sound (see ``_check_graph``).
        self._sound: set[int] = set(BUILTIN_NAMES)
        self._definitions_pending = False
        # How many complete messages the value at the front needs at least: it was incomplete
        # with one fewer, and is not decoded again from its start until another one is there.
        self._messages_needed = 0
        #: True once the framing itself is bad: no later message can be found, so the stream is
        #: over. Errors inside a message leave it False: that message is consumed (as Go has read
        #: it) and the caller may go on, as net/rpc does after a body that fails to decode.
        self.broken = False

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes."""
        self.frames.feed(data)

    def check_eof(self) -> None:
        """Call when the peer has closed: raise if the stream ended in the middle of something.

        Raises :class:`UnexpectedEOFError` for a partial message, or for definitions with no value
        after them (Go's ``io.ErrUnexpectedEOF`` in both cases). A clean end returns.
        """
        if self.frames.buffered:
            raise UnexpectedEOFError(
                f"unexpected EOF: {self.frames.buffered} bytes of an incomplete message at offset "
                f"{self.frames.stream_offset}"
            )
        if self._definitions_pending:
            raise UnexpectedEOFError("unexpected EOF: type definitions with no value after them")

    def next_item(self) -> TypeDefinition | DecodedValue | NeedData:
        """The next complete definition or value, or NEED_DATA.

        On a :class:`RemoteProtocolError` inside a message, that message (and any the value ran
        on into) is consumed before raising; see :attr:`broken`.
        """
        item = self._next(None)
        assert not isinstance(item, BoundValue)
        return item

    def next_value(self, into: GoType) -> BoundValue | NeedData:
        """The next complete value as a value of local type ``into``, or NEED_DATA.

        Definitions before it are read on. The result is what :meth:`next_item` (up to the value)
        then ``structure(into, ...)`` give, except that a value that does not fit ``into`` comes
        back with :attr:`BoundValue.error` set rather than raised: bad bytes raise as in
        :meth:`next_item`, and both consume the same messages.
        """
        while True:
            item = self._next(into)
            if isinstance(item, BoundValue):
                return item
            if item is NEED_DATA:
                return NEED_DATA
            if isinstance(item, DecodedValue):
                try:
                    value = structure(
                        into, item.type_id, self.types, item.value, checked=self._checked
                    )
                except GobDecodeError as exc:
                    return BoundValue(item.type_id, None, item.offset, exc)
                return BoundValue(item.type_id, value, item.offset)

    def _next(self, into: GoType | None) -> TypeDefinition | DecodedValue | BoundValue | NeedData:
        """``next_item``, and with ``into``, a bound value where a compiled reader fits."""
        if self._messages_needed:
            if self._lacks_messages(self._messages_needed):
                return NEED_DATA
            self._messages_needed = 0
        try:
            peeked = self.frames.peek(0)
        except PrefixSkippedError:
            raise  # the stream goes on after the skipped length, as Go's does
        except GobDecodeError:
            self.broken = True
            raise
        if peeked is None:
            return NEED_DATA
        data, offset = peeked
        if not data:
            where = self.frames.stream_offset
            self.frames.consume(1)
            self._definitions_pending = False
            raise GobDecodeError(f"EOF: a zero-length message at offset {where}", go_text="EOF")
        reader = Reader(data)
        try:
            # A user type id (64 and up) takes two bytes: 0xFF, then the id folded with its sign.
            if data[0] == 0xFF and len(data) > 1:
                reader.pos = 2
                folded = data[1]
            else:
                folded = _read_type_id(reader)
            type_id = ~(folded >> 1) if folded & 1 else folded >> 1
            if not 0 <= type_id < 1 << 31:
                type_id = _int32(type_id)
            if type_id < 0:
                wire = self._read_definition(reader, _int32(-type_id))
                # Go's recvType stores the definition before it finds the bytes left over.
                self._store_types({_int32(-type_id): wire})
                if reader.remaining():
                    raise GobDecodeError(
                        f"extra data in buffer after type definition {-type_id}",
                        go_text="extra data in buffer",
                    )
        except GobDecodeError:
            self.frames.consume(1)
            self._definitions_pending = False
            raise
        if type_id < 0:
            self.frames.consume(1)
            self._definitions_pending = True
            return TypeDefinition(_int32(-type_id), wire, offset)
        cursor = _Cursor(self, reader, offset)
        read = None
        try:
            if type_id not in self._sound:
                self._check_graph(cursor, type_id)
            if into is not None:
                read = self._readers.get((into, type_id))
                if read is None:
                    read = compile_reader(self, into, type_id)
                    if read is not None:
                        self._readers[into, type_id] = read
            if read is not None:
                bound = read(cursor, 0)
            else:
                value = self._top_value(cursor, type_id)
        except _IncompleteError:
            self._messages_needed = cursor.messages_used + 1
            return NEED_DATA
        except (GobDecodeError, RecursionError) as exc:
            self.frames.consume(cursor.messages_used)
            self._definitions_pending = False
            if isinstance(exc, RecursionError):
                raise MessageTooLargeError(
                    f"gob: value nests too deeply {cursor.where()}"
                ) from None
            raise
        # Like Go (DecodeValue resets its buffer), bytes left after the value are dropped.
        if cursor.new_types:
            self._store_types(cursor.new_types)
            if cursor.sound:
                self._sound |= cursor.sound
        self.frames.consume(cursor.messages_used)
        self._definitions_pending = False
        if read is not None:
            error = cursor.bind_error
            return BoundValue(type_id, None if error else bound, offset, error)
        return DecodedValue(
            type_id,
            type_name(self.types, type_id),
            value,
            offset,
            tuple(cursor.inline) if cursor.inline else (),
        )

    def _lacks_messages(self, count: int) -> bool:
        try:
            return self.frames.peek(count - 1) is None
        except GobDecodeError:
            return False  # decoding the value meets the same bad frame and reports it

    # --- definitions -------------------------------------------------------------------------

    def _store_types(self, new: dict[int, WireType]) -> None:
        self._check_type_count(len(self.types) + len(new), "")
        self.types.update(new)

    def _check_type_count(self, count: int, where: str) -> None:
        """Refuse a stream that would hold ``count`` type definitions, over the limit."""
        if count > self.limits.max_types:
            raise MessageTooLargeError(
                f"gob: more than {self.limits.max_types} type definitions in one stream{where}"
            )

    def _check_new_id(self, type_id: int, pending: dict[int, WireType] | None = None) -> None:
        if type_id < FIRST_USER_ID_MIN or type_id in self.types or (pending and type_id in pending):
            raise GobDecodeError(
                f"gob: duplicate type received (id {type_id})",
                go_text="gob: duplicate type received",
            )

    def _read_definition(self, r: Reader, type_id: int) -> WireType:
        """Parse a wireType (type.go) for ``type_id``.

        Go decodes it with its ordinary struct decoder, so any subset of its kinds may be set,
        none included, and nothing is checked until a value uses the type. Of several kinds this
        keeps the one Go decodes a top-level value with (the struct, as compileDec and
        getIgnoreEnginePtr take it, then decIgnoreOpFor's order); one with none is a
        :class:`WireEmpty`, which ``_check_graph`` refuses.
        """
        self._check_new_id(type_id)
        kinds: dict[str, WireType] = {}
        field = 0
        while delta := _delta(r):
            field += delta
            if field > len(_WIRE_VARIANTS):
                raise GobDecodeError(
                    f"gob: bad data: field numbers out of bounds in definition {type_id}",
                    go_text=_OUT_OF_BOUNDS,
                )
            variant = _WIRE_VARIANTS[field - 1]
            kinds[variant] = _read_kind(r, variant, type_id)
        # The definition's own CommonType.Id may differ from the id it is sent under: Go sends a
        # pointer to a GobEncoder type (a *time.Time field) that way, and files it under the id
        # the message names, never comparing the two. So does this decoder.
        for variant in _KIND_PREFERENCE:
            if variant in kinds:
                return kinds[variant]
        return WireEmpty()

    # --- values ------------------------------------------------------------------------------

    def _top_value(self, cur: _Cursor, type_id: int) -> GobValue:
        wire = cur.lookup(type_id)
        if isinstance(wire, WireStruct):
            return self._struct(cur, wire, 0)
        if wire is None and type_id not in BUILTIN_NAMES:
            raise GobDecodeError(
                f"gob: unknown type id or corrupted data: {type_id} {cur.where()}",
                go_text=_UNKNOWN_ID,
            )
        delta = cur.reader.read_uint()
        if delta != 0:
            raise GobDecodeError(
                f"gob: decode: corrupted data: non-zero delta for singleton {cur.where()}"
            )
        return self._value(cur, type_id, 0)

    def _value(self, cur: _Cursor, type_id: int, depth: int) -> GobValue:
        r = cur.reader
        if type_id == STRING_ID:
            return r.read_string()
        if type_id == INT_ID:
            return r.read_int()
        if type_id == UINT_ID:
            return r.read_uint()
        if type_id == BYTES_ID:
            return r.read_bytes()
        if type_id == BOOL_ID:
            return r.read_uint() != 0  # Go's decBool: any value but 0 is true
        if type_id == FLOAT_ID:
            return r.read_float()
        if type_id == COMPLEX_ID:
            real = r.read_float()
            return complex(real, r.read_float())
        if type_id == INTERFACE_ID:
            return self._interface(cur, depth + 1)
        wire = cur.lookup(type_id)
        if wire is None:
            raise GobDecodeError(
                f"gob: unknown type id or corrupted data: {type_id} {cur.where()}",
                go_text=_UNKNOWN_ID,
            )
        if depth >= self.limits.max_nesting:
            raise MessageTooLargeError(
                f"gob: value nests deeper than {self.limits.max_nesting} {cur.where()}"
            )
        if isinstance(wire, WireStruct):
            return self._struct(cur, wire, depth + 1)
        if isinstance(wire, WireSlice):
            count = self._count(cur, wire.elem, "slice")
            return self._elements(cur, wire.elem, count, depth + 1)
        if isinstance(wire, WireArray):
            count = self._count(cur, wire.elem, "array")
            if count != wire.length:
                raise GobDecodeError(
                    f"gob: array of length {count} received for {wire.name or 'array'} of length "
                    f"{wire.length} {cur.where()}"
                )
            return self._elements(cur, wire.elem, count, depth + 1)
        if isinstance(wire, WireMap):
            count = self._count(cur, wire.key, "map")
            result: dict[GobValue, GobValue] = {}
            for _ in range(count):
                key = _hashable(self._value(cur, wire.key, depth + 1), cur)
                result[key] = self._value(cur, wire.elem, depth + 1)
            return result
        return GobMarshaled(wire.name, r.read_bytes())

    def _elements(self, cur: _Cursor, elem: int, count: int, depth: int) -> list[GobValue]:
        """``count`` elements of a slice or array. Go's decodeArrayHelper refuses to start an
        element with nothing left of the message: a struct with no fields set takes one byte,
        so a count that outruns the input cannot build millions of empty structs."""
        elements = []
        for _ in range(count):
            r = cur.reader  # an interface element may have run on into the next message
            if r.pos >= r.end:
                raise GobDecodeError(outruns_input(count, cur))
            elements.append(self._value(cur, elem, depth))
        return elements

    def _count(self, cur: _Cursor, elem: int, what: str) -> int:
        count = cur.reader.read_uint()
        # Every element takes at least one byte. Interfaces are the exception to checking this
        # against the current message: their values may continue in the next one.
        if count > cur.reader.remaining() and not self._has_interface(cur, elem):
            # Go's text; Go finds out only when the bytes run out, having allocated first.
            kind = "map" if what == "map" else "array or slice"
            raise GobDecodeError(outruns_input(count, cur, kind))
        if count > self.limits.max_elements:
            raise MessageTooLargeError(
                f"gob: {what} too big: {count} elements, over the "
                f"{self.limits.max_elements}-element limit {cur.where()}"
            )
        return count

    def _has_interface(self, cur: _Cursor, type_id: int) -> bool:
        """Whether a value of ``type_id`` can hold an interface (and so span messages)."""
        todo = [type_id]
        seen: set[int] = set()
        while todo:
            current = todo.pop()
            if current == INTERFACE_ID:
                return True
            wire = cur.lookup(current)
            if wire is None or current in seen or isinstance(wire, WireMarshaler | WireEmpty):
                continue
            seen.add(current)
            if isinstance(wire, WireStruct):
                todo.extend(f.id for f in wire.fields)
            elif isinstance(wire, WireMap):
                todo += (wire.key, wire.elem)
            else:
                todo.append(wire.elem)
        return False

    def _check_graph(self, cur: _Cursor, type_id: int) -> None:
        """Refuse a value whose type reaches an undefined id, a definition that sets no kind, or
        a struct field with no name, before reading any of it. Go compiles a value's whole decoder
        first (compileDec, decIgnoreOpFor), so such a stream fails even where the value's bytes
        never reach the bad part. Each id found sound is remembered, so a warm stream only looks
        it up; an id whose graph rests on definitions that came inside this value only once the
        value is kept."""
        sound = cur.sound or ()
        if type_id in sound:
            return
        seen: set[int] = set()
        todo = [type_id]
        pending = False
        while todo:
            current = todo.pop()
            if current in seen or current in self._sound or current in sound:
                continue
            seen.add(current)
            wire = self.types.get(current)
            if wire is None:
                wire = cur.new_types.get(current)
                pending = True
            if wire is None:
                if current == type_id:
                    raise GobDecodeError(
                        f"gob: unknown type id or corrupted data: {type_id} {cur.where()}",
                        go_text=_UNKNOWN_ID,
                    )
                raise GobDecodeError(
                    f"gob: bad data: undefined type (id {current}) {cur.where()}",
                    go_text="gob: bad data: undefined type <nil>",  # Go names the missing type
                )
            if isinstance(wire, WireEmpty):
                # Go's decIgnoreOpFor; its typed path says the local type does not match instead.
                raise GobDecodeError(
                    f"gob: bad data: ignore can't handle type (id {current}) {cur.where()}",
                    go_text="gob: bad data: ignore can't handle type <nil>",  # Go names the type
                )
            if isinstance(wire, WireStruct):
                for f in wire.fields:
                    if not f.name:
                        raise GobDecodeError(
                            f"gob: empty name for remote field of type {wire.name} {cur.where()}"
                        )
                    todo.append(f.id)
            elif isinstance(wire, WireMap):
                todo += (wire.key, wire.elem)
            elif not isinstance(wire, WireMarshaler):
                todo.append(wire.elem)
        if pending:
            cur.sound = seen.union(sound)
        else:
            self._sound |= seen

    def _struct(self, cur: _Cursor, wire: WireStruct, depth: int) -> GobStruct:
        fields = wire.fields
        shape = self._shapes.get(wire)
        if shape is None:
            shape = self._shapes[wire] = _Shape(
                tuple(f.name for f in fields),
                tuple(f.id for f in fields),
                tuple(ZERO_VALUES.get(f.id) for f in fields),
            )
        values = list(shape.zeros)
        count = len(fields)
        ids = shape.ids
        field = -1
        r = cur.reader
        # Go accepts a struct whose message ends without the closing zero delta.
        while r.pos < r.end:
            delta = r.data[r.pos]
            if delta < 0x80:  # every delta of a struct under 128 fields: read inline
                r.pos += 1
            else:
                delta = r.read_uint()
            if delta == 0:
                break
            if delta > _INT64_MAX:  # Go converts the delta to int: it is negative
                raise GobDecodeError(f"gob: decode: corrupted data: negative delta {cur.where()}")
            field += delta
            if field >= count:
                raise GobDecodeError(
                    f"gob: bad data: field numbers out of bounds: field {field} of "
                    f"{wire.name or 'struct'} ({count} fields) {cur.where()}",
                    go_text=_OUT_OF_BOUNDS,
                )
            type_id = ids[field]
            if type_id == STRING_ID:
                values[field] = r.read_string()
            elif type_id == BYTES_ID:
                values[field] = r.read_bytes()
            elif type_id == INT_ID:
                values[field] = r.read_int()
            else:
                values[field] = self._value(cur, type_id, depth)
                r = cur.reader  # an interface value may have moved on to the next message
        return GobStruct(wire.name, tuple(zip(shape.names, values, strict=True)))

    def _interface(self, cur: _Cursor, depth: int) -> GobValue:
        r = cur.reader
        size = r.read_uint()
        if size == 0:
            return None
        if size > MAX_INTERFACE_NAME:
            raise GobDecodeError(f"gob: name too long ({size} bytes) {cur.where()}")
        name = r.read_raw(size).decode("utf-8", "surrogateescape")
        if depth >= self.limits.max_nesting:
            raise MessageTooLargeError(
                f"gob: value nests deeper than {self.limits.max_nesting} {cur.where()}"
            )
        concrete = self._interface_type_sequence(cur)
        if concrete not in self._sound:
            self._check_graph(cur, concrete)
        cur.reader.read_uint()  # the value's byte count, which Go reads and ignores
        wire = cur.lookup(concrete)
        if isinstance(wire, WireStruct):
            value: GobValue = self._struct(cur, wire, depth + 1)
        else:
            if wire is None and concrete not in BUILTIN_NAMES:
                raise GobDecodeError(
                    f"gob: unknown type id or corrupted data: {concrete} {cur.where()}",
                    go_text=_UNKNOWN_ID,
                )
            if cur.reader.read_uint() != 0:
                raise GobDecodeError(
                    f"gob: decode: corrupted data: non-zero delta for singleton {cur.where()}"
                )
            value = self._value(cur, concrete, depth)
        return GobInterface(name, value)

    def _interface_type_sequence(self, cur: _Cursor) -> int:
        """Go's decodeTypeSequence(isInterface=true): definitions, then the concrete type id."""
        while True:
            if not cur.reader.remaining():
                cur.next_message()
            type_id = _int32(cur.reader.read_int())
            if type_id >= 0:
                return type_id
            offset = cur.message_offset + cur.reader.pos
            self._check_new_id(-type_id, cur.new_types)
            # Counted as they come: one value may carry many, and a stream's worth of them would
            # otherwise be parsed and kept before the value ends.
            self._check_type_count(len(self.types) + len(cur.new_types) + 1, f" {cur.where()}")
            wire = self._read_definition(cur.reader, -type_id)
            cur.new_types[-type_id] = wire
            cur.inline.append(TypeDefinition(-type_id, wire, offset))
            if cur.reader.remaining():
                cur.reader.read_uint()  # a delimited value's count, skipped as Go skips it


_INT64_MAX: Final = (1 << 63) - 1


def _hashable(key: GobValue, cur: _Cursor) -> GobValue:
    """A map key as a hashable value: arrays (lists) become tuples, also inside structs.

    Go's comparable types cover every key Go can send. A map, or a struct holding one, is not
    comparable, so a stream that declares such a key is refused as Go's decoder would.
    NaN keys are legal in Go maps, and each stays distinct, as in Go.
    """
    if isinstance(key, list | tuple):
        return tuple(_hashable(k, cur) for k in key)
    if isinstance(key, GobStruct):
        return GobStruct(key.type_name, tuple((n, _hashable(v, cur)) for n, v in key.fields))
    if isinstance(key, GobInterface):
        return GobInterface(key.name, _hashable(key.value, cur))
    if isinstance(key, dict):
        raise GobDecodeError(f"gob: invalid map key: a map is not comparable {cur.where()}")
    return key


def _read_kind(r: Reader, variant: str, type_id: int) -> WireType:
    """One kind of a wireType: the arrayType, sliceType, ... struct in field ``variant``."""
    wire: WireType
    if variant == "struct":
        name, wid, extra = _read_common_then(r, 1)
        fields: list[WireField] = []
        if extra == 1:
            count = r.read_uint()
            if count > r.remaining():
                raise GobDecodeError(
                    f"gob: struct definition {type_id} claims {count} fields",
                    # Go's decodeSlice, which reads a definition's field list
                    go_text=f"gob: decoding array or slice: length exceeds input size ({count} "
                    "elements)",
                )
            for _ in range(count):
                if r.pos >= r.end:  # Go's decodeArrayHelper: no element at the end
                    raise GobDecodeError(
                        "gob: decoding array or slice: length exceeds input size "
                        f"({count} elements) in definition {type_id}",
                        go_text="gob: decoding array or slice: length exceeds input size "
                        f"({count} elements)",
                    )
                fields.append(_read_field_type(r))
            extra = _end_struct(r, "structType")
        wire = WireStruct(name, wid, tuple(fields))
    elif variant == "slice":
        name, wid, extra = _read_common_then(r, 1)
        elem = 0
        if extra == 1:
            elem = _read_id(r, "Elem")
            extra = _end_struct(r, "sliceType")
        wire = WireSlice(name, wid, elem)
    elif variant == "array":
        name, wid, extra = _read_common_then(r, 2)
        elem = length = 0
        field = 0
        while extra:
            field += extra
            if field == 1:
                elem = _read_id(r, "Elem")
            elif field == 2:
                length = r.read_int()
            else:
                raise GobDecodeError(
                    f"gob: bad arrayType field {field} in definition {type_id}",
                    go_text=_OUT_OF_BOUNDS,
                )
            extra = _delta(r)
        wire = WireArray(name, wid, elem, length)
    elif variant == "map":
        name, wid, extra = _read_common_then(r, 2)
        key = elem = 0
        field = 0
        while extra:
            field += extra
            if field == 1:
                key = _read_id(r, "Key")
            elif field == 2:
                elem = _read_id(r, "Elem")
            else:
                raise GobDecodeError(
                    f"gob: bad mapType field {field} in definition {type_id}",
                    go_text=_OUT_OF_BOUNDS,
                )
            extra = _delta(r)
        wire = WireMap(name, wid, key, elem)
    else:
        name, wid, extra = _read_common_then(r, 0)
        wire = WireMarshaler(MarshalMethod(variant), name, wid)
    if extra:
        raise GobDecodeError(
            f"gob: bad data: field numbers out of bounds in definition {type_id}",
            go_text=_OUT_OF_BOUNDS,
        )
    return wire


def _read_common_then(r: Reader, max_extra: int) -> tuple[str, int, int]:
    """Read the CommonType field (always field 0) and return (name, id, next delta). Go's struct
    decoder lets it be left out, as zero: a name of "" and id 0 (Go never reads that id)."""
    delta = _delta(r)
    if delta != 1:
        if delta - 1 > max_extra:
            raise GobDecodeError(
                f"gob: bad data: field numbers out of bounds (delta {delta})",
                go_text=_OUT_OF_BOUNDS,
            )
        return "", 0, max(delta - 1, 0)
    name = ""
    type_id = 0
    field = -1
    while True:
        delta = _delta(r)
        if delta == 0:
            break
        field += delta
        if field == 0:
            name = r.read_string()
        elif field == 1:
            type_id = _read_id(r, "Id")
        else:
            raise GobDecodeError(f"gob: bad CommonType field {field}", go_text=_OUT_OF_BOUNDS)
    extra = _delta(r)
    if extra > max_extra:
        raise GobDecodeError(
            f"gob: bad data: field numbers out of bounds (delta {extra})", go_text=_OUT_OF_BOUNDS
        )
    return name, type_id, extra


def _read_field_type(r: Reader) -> WireField:
    """A fieldType. An empty name is refused only if a value uses the struct, as in Go."""
    name = ""
    type_id = 0
    field = -1
    while True:
        delta = _delta(r)
        if delta == 0:
            break
        field += delta
        if field == 0:
            name = r.read_string()
        elif field == 1:
            type_id = _read_id(r, "Id")
        else:
            raise GobDecodeError(f"gob: bad fieldType field {field}", go_text=_OUT_OF_BOUNDS)
    return WireField(name, type_id)


def _read_id(r: Reader, field: str) -> int:
    """A typeId field of a definition: Go's typeId is an int32, and its decoder refuses a wider
    value with this text (decInt32's overflow error)."""
    type_id = r.read_int()
    if not -(1 << 31) <= type_id < 1 << 31:
        raise GobDecodeError(f'value for "{field}" out of range')
    return type_id


def _int32(type_id: int) -> int:
    """A type id as Go holds it: ``typeId(dec.nextInt())`` keeps the low 32 bits, signed."""
    return (type_id + (1 << 31)) % (1 << 32) - (1 << 31)


def _delta(r: Reader) -> int:
    """The next field delta of a definition's struct. The message's end closes every struct still
    open, as Go decodes a wireType with its struct decoder, which reads deltas only while bytes
    are left: Go accepts a definition whose closing zeros are missing."""
    return r.read_uint() if r.pos < r.end else 0


def _end_struct(r: Reader, what: str) -> int:
    delta = _delta(r)
    if delta != 0:
        raise GobDecodeError(
            f"gob: bad data: field numbers out of bounds in {what}", go_text=_OUT_OF_BOUNDS
        )
    return 0


def _read_type_id(reader: Reader) -> int:
    """A message's leading (folded) type id. Go reads it with ``decodeUintReader``, so one cut
    short is ``unexpected EOF`` to Go, not the ``invalid uint data length`` of a value's integer."""
    try:
        return reader.read_uint()
    except GobDecodeError as exc:
        size = 256 - reader.data[reader.pos]  # a multi-byte integer's (it raised: not one byte)
        if size <= 8:  # cut short; a longer one is Go's errBadUint, as ours says
            raise GobDecodeError(str(exc), go_text="unexpected EOF") from None
        raise
