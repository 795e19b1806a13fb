"""Encoder: values in, the exact bytes a Go ``gob.Encoder`` writes out.

Theory of operation (doc.go, "Encoding Details"; encoder.go). Before a value, the encoder sends each
type definition this stream has not seen yet, each as its own message, outer type first and then
every exported field's type depth-first (pointers stripped; basic types and ``[]byte`` never). Ids
come from the shared :class:`TypeRegistry`, so every stream of one emulated process agrees on them.
The value follows in one message: a struct is ``(field delta, value)*`` and a zero delta; any other
type is a "singleton", a zero delta and then the value.

Inside structs Go omits zero fields: numbers equal to 0 (so ``-0.0`` too, while NaN is sent), empty
strings, byte strings and slices, nil maps, pointers and interfaces. By-value structs and arrays are
always sent, and so is an empty non-nil map. Elements of slices, arrays and maps are all sent.

Interface values reproduce a quirk of Go's encoder exactly: definitions for a concrete type that the
stream has not seen are written out *as a message that also holds the value encoded so far*, and the
value continues in the next message. :class:`Decoder` reads that back the way Go's decoder does.

Values are written by writers compiled once per type and stream (see gobrpc's writers module, Go's
``encEngine``). Once a top-level type's definitions have gone out, encoding another value of it is
its compiled writer and the length prefix, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._errors import GobEncodeError
from ._types import (
    ArrayType,
    BasicType,
    GoType,
    InterfaceType,
    Kind,
    MapType,
    MarshalerType,
    PointerType,
    SliceType,
    StructType,
    TypeRegistry,
    UnsentType,
    WireArray,
    WireEmpty,
    WireMap,
    WireMarshaler,
    WireSlice,
    WireStruct,
    WireType,
    base_type,
    builtin_id,
)
from ._values import GobInterface
from ._wire import put_int, put_string, put_uint, uint_bytes
from ._writers import (
    Message,
    Put,
    array_writer,
    basic_writer,
    holds_interface,
    map_writer,
    marshaler_writer,
    message_chunks,
    message_size,
    refuse,
    struct_writer,
)

__all__ = ["Encoder", "encode_wire_type"]

_WIRE_DELTA = {
    WireArray: 1,
    WireSlice: 2,
    WireStruct: 3,
    WireMap: 4,
}
_MARSHAL_DELTA = {"GobEncoder": 5, "BinaryMarshaler": 6, "TextMarshaler": 7}

#: A top-level type whose definitions a stream has sent: the value's type id as bytes, its
#: compiled writer, and whether every value of it is one message (no interface inside, whose
#: concrete type's definitions would start a new one).
_Ready = tuple[bytes, Put, bool]
#: Where a finished message goes: the stream's list of messages, or an enclosing value's message.
_Writer = list[Message] | Message


def _put_common(out: bytearray, name: str, type_id: int) -> None:
    out.append(1)  # field 0 of the enclosing type: CommonType, a by-value struct, always sent
    if name:
        out.append(1)
        put_string(out, name)
        out.append(1)
    else:
        out.append(2)
    put_int(out, type_id)
    out.append(0)


def encode_wire_type(out: bytearray, wire: WireType) -> None:
    """Append the wireType struct value that defines ``wire`` (type.go)."""
    if isinstance(wire, WireEmpty):  # no kind set: only the wireType's closing zero
        out.append(0)
        return
    if isinstance(wire, WireMarshaler):
        out.append(_MARSHAL_DELTA[wire.method.value])
    else:
        out.append(_WIRE_DELTA[type(wire)])
    _put_common(out, wire.name, wire.id)
    if isinstance(wire, WireStruct):
        if wire.fields:
            out.append(1)
            put_uint(out, len(wire.fields))
            for field in wire.fields:
                out.append(1)
                put_string(out, field.name)
                if field.id:
                    out.append(1)
                    put_int(out, field.id)
                out.append(0)
    elif isinstance(wire, WireSlice):
        if wire.elem:
            out.append(1)
            put_int(out, wire.elem)
    elif isinstance(wire, WireArray):
        delta = 1
        if wire.elem:
            out.append(delta)
            put_int(out, wire.elem)
            delta = 0
        if wire.length:
            out.append(delta + 1)
            put_int(out, wire.length)
    elif isinstance(wire, WireMap):
        delta = 1
        if wire.key:
            out.append(delta)
            put_int(out, wire.key)
            delta = 0
        if wire.elem:
            out.append(delta + 1)
            put_int(out, wire.elem)
    out.append(0)  # end of the variant struct
    out.append(0)  # end of wireType


def _framed(m: Message) -> list[bytes | bytearray | memoryview]:
    """The message with its length prefix, as chunks for one ``join``."""
    return [uint_bytes(message_size(m)), *message_chunks(m)]


def _write_message(w: _Writer, b: Message) -> None:
    """Go's writeMessage: ``b`` becomes one length-prefixed message in ``w``; ``b`` is emptied."""
    if isinstance(w, list):
        done = Message(b)
        done.spliced = b.spliced
        w.append(done)
    else:
        put_uint(w, message_size(b))
        if b.spliced:
            base = len(w)
            w.spliced = (*w.spliced, *((base + offset, data) for offset, data in b.spliced))
        w += b
    b.clear()
    b.spliced = ()


def _int_bytes(i: int) -> bytes:
    out = bytearray()
    put_int(out, i)
    return bytes(out)


class Encoder:
    """The sending half of one gob stream: the set of types it has sent, over a shared registry.

    :meth:`encode` returns the bytes of one ``Encode`` call; :meth:`encode_writes` returns them as
    the separate writes Go makes (each definition, then the value); :meth:`encode_many` returns
    several ``Encode`` calls joined with one copy (net/rpc's header and body).
    """

    def __init__(self, registry: TypeRegistry) -> None:
        self.registry = registry
        self._sent: dict[GoType, int] = {}
        self._writers: list[_Writer] = []
        #: Compiled writers by base type.
        self._engines: dict[GoType, Put] = {}
        #: Top-level types whose definitions this stream has sent.
        self._ready: dict[GoType, _Ready] = {}

    def encode(self, go_type: GoType, value: object) -> bytes:
        """Encode one top-level value of ``go_type``; the definitions it needs come first.

        A value that does not encode raises :class:`GobEncodeError` and leaves the stream as it
        was: the definitions its bytes would have carried count as unsent (the caller gets no
        bytes to send), so the next value of the type brings them. The same holds for
        :meth:`encode_writes` and, for all its values at once, :meth:`encode_many`.
        """
        sent, ready = len(self._sent), len(self._ready)
        try:
            b = self._one_message(go_type, value)
            if b is not None:
                if b.spliced:
                    return b"".join(_framed(b))
                return uint_bytes(len(b)) + b
            messages = self._encode(go_type, value)
        except BaseException:
            self._forget_since(sent, ready)
            raise
        if len(messages) == 1 and not messages[0].spliced:
            return uint_bytes(len(messages[0])) + messages[0]
        return b"".join([chunk for m in messages for chunk in _framed(m)])

    def encode_writes(self, go_type: GoType, value: object) -> list[bytes]:
        """As :meth:`encode`, one bytes object per write Go would make."""
        sent, ready = len(self._sent), len(self._ready)
        try:
            messages = self._encode(go_type, value)
        except BaseException:
            self._forget_since(sent, ready)
            raise
        return [b"".join(_framed(m)) for m in messages]

    def encode_many(self, values: Iterable[tuple[GoType, object]]) -> bytes:
        """Several :meth:`encode` calls in order, joined with one copy of each byte."""
        chunks: list[bytes | bytearray | memoryview] = []
        sent, ready = len(self._sent), len(self._ready)
        try:
            for go_type, value in values:
                b = self._one_message(go_type, value)
                if b is None:
                    chunks += [chunk for m in self._encode(go_type, value) for chunk in _framed(m)]
                elif b.spliced:
                    chunks += _framed(b)
                else:
                    chunks += (uint_bytes(len(b)), b)
        except BaseException:
            self._forget_since(sent, ready)
            raise
        return b"".join(chunks)

    def _forget_since(self, sent: int, ready: int) -> None:
        """Undo what an encode that failed recorded as sent: the first ``sent`` and ``ready``
        entries (dicts keep their order) are from before it. Type ids stay assigned in the
        registry, as Go assigns them on a type's first use whether or not its value encodes."""
        for go_type in list(self._sent)[sent:]:
            del self._sent[go_type]
        for go_type in list(self._ready)[ready:]:
            del self._ready[go_type]

    def _one_message(self, go_type: GoType, value: object) -> Message | None:
        """The common case: the value's one message, or None if it needs :meth:`_encode`.

        Once a type's definitions have gone out on this stream and no interface can occur in its
        values (whose concrete types' definitions would start new messages), a value is its type
        id and its compiled writer's bytes, nothing more.
        """
        ready = self._ready.get(go_type)
        if ready is None or not ready[2] or value is None:
            return None
        b = Message(ready[0])
        ready[1](b, value)
        return b

    def _encode(self, go_type: GoType, value: object) -> list[Message]:
        if value is None and isinstance(go_type, PointerType):
            raise GobEncodeError(f"gob: cannot encode nil pointer of type {go_type.go_string}")
        out: list[Message] = []
        self._writers = [out]
        ready = self._ready.get(go_type)
        if ready is None:
            ready = self._prepare(out, go_type)
        id_bytes, put, _ = ready
        b = Message(id_bytes)
        put(b, value)
        out.append(b)
        return out

    def _prepare(self, out: list[Message], go_type: GoType) -> _Ready:
        """First value of ``go_type`` on this stream: send its definitions, compile its writer."""
        base = base_type(go_type)
        if isinstance(base, UnsentType):
            raise GobEncodeError(f"gob: type {base.go_string} cannot be encoded")
        self._send_type_descriptor(out, Message(), go_type)
        put = self._top_writer(base)
        # Shared writers are exactly those of types no interface value can occur in.
        ready = (_int_bytes(self._sent[base]), put, base in self.registry.writers)
        self._ready[go_type] = ready
        return ready

    # --- definitions -------------------------------------------------------------------------

    def _send_type_descriptor(self, w: _Writer, b: Message, t: GoType) -> None:
        """Go's sendTypeDescriptor: a marshaler counts as sent under the type as given (``*T``
        apart from ``T``), anything else under its base type. A type with nothing to send still
        gets its id from the registry, which for a new ``*T`` marshaler uses one up, as in Go."""
        base = base_type(t)
        key = t if isinstance(base, MarshalerType) else base
        if key not in self._sent and not self._send_type(w, b, t):
            self._sent[key] = self.registry.type_id(t)

    def _send_type(self, w: _Writer, b: Message, t: GoType) -> bool:
        base = base_type(t)
        if isinstance(base, MarshalerType):
            return self._send_actual_type(w, b, t, base)
        if isinstance(base, StructType | ArrayType | MapType) or (
            isinstance(base, SliceType) and builtin_id(base) is None
        ):
            return self._send_actual_type(w, b, base, base)
        return False

    def _send_actual_type(self, w: _Writer, b: Message, t: GoType, base: GoType) -> bool:
        """Go's sendActualType: the definition for the type as given (a marshaler's depends on
        its pointers), unless its base type has gone out on this stream already."""
        if base in self._sent:
            return False
        type_id, wire = self.registry.type_info(t)
        put_int(b, -type_id)
        encode_wire_type(b, wire)
        _write_message(w, b)
        self._sent[base] = self._sent[t] = type_id
        if isinstance(base, StructType):
            for field in base.fields:
                if field.exported:
                    self._send_type(w, b, field.type)
        elif isinstance(base, ArrayType | SliceType):
            self._send_type(w, b, base.elem)
        elif isinstance(base, MapType):
            self._send_type(w, b, base.key)
            self._send_type(w, b, base.elem)
        return True

    # --- compiled writers --------------------------------------------------------------------

    def _engine(self, t: GoType) -> Put:
        """The writer for values of ``t`` (pointers stripped), compiled on first use.

        A writer that can meet an interface value calls back into this stream (the concrete
        type's definitions depend on what it has sent), so it is compiled per stream; any other
        is compiled once per registry and shared, as Go shares its encEngines process-wide.
        """
        t = base_type(t)
        put = self._engines.get(t) or self.registry.writers.get(t)
        if put is None:
            engines = self._engines if holds_interface(t, set()) else self.registry.writers
            put = self._compile_into(engines, t)
        self._engines[t] = put
        return put

    def _compile_into(self, engines: dict[GoType, Put], t: GoType) -> Put:
        if isinstance(t, StructType):
            struct_t = t

            def forward(b: Message, value: object) -> None:
                engines[struct_t](b, value)

            engines[t] = forward  # what a recursive field calls while ``t`` is being compiled
        try:
            put = engines[t] = self._compile(t)
        except BaseException:
            engines.pop(t, None)
            self._engines.pop(t, None)  # a recursive field may have cached ``forward`` here
            raise
        return put

    def _top_writer(self, base: GoType) -> Put:
        """Go's Encoder.encode: a struct as it is, any other value as a singleton."""
        put = self._engine(base)
        if isinstance(base, StructType):
            return put

        def singleton(b: Message, value: object) -> None:
            b.append(0)
            put(b, value)

        return singleton

    def _compile(self, t: GoType) -> Put:
        if isinstance(t, BasicType):
            return basic_writer(t)
        if isinstance(t, StructType):
            return struct_writer(t, self._engine)
        if isinstance(t, SliceType) and isinstance(t.elem, BasicType) and t.elem.kind is Kind.UINT8:
            return basic_writer(BasicType(Kind.BYTES))  # Go sends any []uint8 as []byte
        if isinstance(t, SliceType | ArrayType):
            return array_writer(t, self._engine(t.elem))
        if isinstance(t, MapType):
            return map_writer(t, self._engine(t.key), self._engine(t.elem))
        if isinstance(t, InterfaceType):
            return self._interface
        if isinstance(t, MarshalerType):
            return marshaler_writer(t)
        return refuse(f"gob: cannot encode a value of type {t.go_string}")

    def _interface(self, b: Message, value: object) -> None:
        if value is None:
            put_uint(b, 0)
            return
        if not isinstance(value, GobInterface) or value.go_type is None:
            raise GobEncodeError(
                "gob: an interface value must be a GobInterface with its concrete go_type"
            )
        concrete = value.go_type
        if isinstance(concrete, PointerType) and value.value is None:
            raise GobEncodeError(
                f"gob: cannot encode nil pointer of type {concrete.go_string} inside interface"
            )
        name = value.name.encode("utf-8", "surrogateescape")
        put_uint(b, len(name))
        b += name
        base = base_type(concrete)
        self._send_type_descriptor(self._writers[-1], b, concrete)
        put_int(b, self._sent[base])
        self._writers.append(b)
        data = Message()
        try:
            self._top_writer(base)(data, value.value)
        finally:
            self._writers.pop()
        _write_message(b, data)
