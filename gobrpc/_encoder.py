"""Encoder: values in, the exact bytes a Go ``gob.Encoder`` writes out.

Theory of operation (doc.go, "Encoding Details"; encoder.go). Before a value, the encoder sends each
type definition this stream has not seen yet, each as its own message, outer type first and then
every exported field's type depth-first (pointers stripped; basic types and ``[]byte`` never). Ids
come
from the shared :class:`TypeRegistry`, so every stream of one emulated process agrees on them. The
value follows in one message: a struct is ``(field delta, value)*`` and a zero delta; any other type
is a "singleton", a zero delta and then the value.

Inside structs Go omits zero fields: numbers equal to 0 (so ``-0.0`` too, while NaN is sent), empty
strings, byte strings and slices, nil maps, pointers and interfaces. By-value structs and arrays are
always sent, and so is an empty non-nil map. Elements of slices, arrays and maps are all sent.

Interface values reproduce a quirk of Go's encoder exactly: definitions for a concrete type that the
stream has not seen are written out *as a message that also holds the value encoded so far*, and the
value continues in the next message. :class:`Decoder` reads that back the way Go's decoder does.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping, Sequence

from ._errors import GobEncodeError
from ._types import (
    INT_RANGES,
    SIGNED_KINDS,
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
    WireMap,
    WireMarshaler,
    WireSlice,
    WireStruct,
    WireType,
    base_type,
    builtin_id,
)
from ._values import GobInterface, GobMarshaled, GobStruct
from ._wire import float_to_uint, put_bytes, put_int, put_string, put_uint, uint_bytes

__all__ = ["Encoder", "encode_wire_type"]

_FLOAT32 = struct.Struct("<f")
_WIRE_DELTA = {
    WireArray: 1,
    WireSlice: 2,
    WireStruct: 3,
    WireMap: 4,
}
_MARSHAL_DELTA = {"GobEncoder": 5, "BinaryMarshaler": 6, "TextMarshaler": 7}

#: Where finished messages go: the stream's list of writes, or an enclosing value's buffer.
_Writer = list[bytes] | bytearray


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


def _write_message(w: _Writer, b: bytearray) -> None:
    """Go's writeMessage: one length-prefixed message to ``w``; ``b`` is emptied."""
    frame = uint_bytes(len(b)) + b
    if isinstance(w, list):
        w.append(frame)
    else:
        w += frame
    b.clear()


class Encoder:
    """The sending half of one gob stream: the set of types it has sent, over a shared registry.

    :meth:`encode` returns the bytes of one ``Encode`` call; :meth:`encode_writes` returns them as
    the separate writes Go makes (each definition, then the value).
    """

    def __init__(self, registry: TypeRegistry) -> None:
        self.registry = registry
        self._sent: dict[GoType, int] = {}
        self._writers: list[_Writer] = []

    def encode(self, go_type: GoType, value: object) -> bytes:
        """Encode one top-level value of ``go_type``; the definitions it needs come first."""
        return b"".join(self.encode_writes(go_type, value))

    def encode_writes(self, go_type: GoType, value: object) -> list[bytes]:
        """As :meth:`encode`, one bytes object per write Go would make."""
        if value is None and isinstance(go_type, PointerType):
            raise GobEncodeError(f"gob: cannot encode nil pointer of type {go_type.go_string}")
        out: list[bytes] = []
        self._writers = [out]
        b = bytearray()
        base = base_type(go_type)
        if isinstance(base, UnsentType):
            raise GobEncodeError(f"gob: type {base.go_string} cannot be encoded")
        self._send_type_descriptor(out, b, go_type)
        put_int(b, self._sent[base])
        self._encode_top(b, base, value)
        _write_message(out, b)
        return out

    # --- definitions -------------------------------------------------------------------------

    def _send_type_descriptor(self, w: _Writer, b: bytearray, t: GoType) -> None:
        base = base_type(t)
        if base not in self._sent and not self._send_type(w, b, base):
            self._sent[base] = self.registry.type_id(base)

    def _send_type(self, w: _Writer, b: bytearray, t: GoType) -> bool:
        base = base_type(t)
        if isinstance(base, MarshalerType | StructType | ArrayType | MapType) or (
            isinstance(base, SliceType) and builtin_id(base) is None
        ):
            return self._send_actual_type(w, b, base)
        return False

    def _send_actual_type(self, w: _Writer, b: bytearray, base: GoType) -> bool:
        if base in self._sent:
            return False
        type_id = self.registry.type_id(base)
        put_int(b, -type_id)
        encode_wire_type(b, self.registry.wire_type(type_id))
        _write_message(w, b)
        self._sent[base] = type_id
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

    # --- values ------------------------------------------------------------------------------

    def _encode_top(self, b: bytearray, base: GoType, value: object) -> None:
        """Go's Encoder.encode: a struct, or a singleton behind a zero delta."""
        if isinstance(base, StructType):
            self._struct(b, base, value)
        else:
            b.append(0)
            self._value(b, base, value)

    def _struct(self, b: bytearray, t: StructType, value: object) -> None:
        if t.fields and not any(f.sent for f in t.fields):
            raise GobEncodeError(f"gob: type {t.go_string} has no exported fields")
        field_num = -1
        getter = _field_getter(t, value)
        for index, field in enumerate(t.sent_fields):
            v = getter(index, field.name)
            ft = field.type
            if isinstance(ft, PointerType):
                if v is None:
                    continue
                ft = base_type(ft)
            if _omitted(ft, v):
                continue
            put_uint(b, index - field_num)
            field_num = index
            self._value(b, ft, v)
        b.append(0)

    def _value(self, b: bytearray, t: GoType, value: object) -> None:
        """The value's bytes with zeros sent (as inside arrays, maps and singletons)."""
        t = base_type(t)
        if isinstance(t, BasicType):
            _put_basic(b, t, value)
        elif isinstance(t, StructType):
            self._struct(b, t, value)
        elif isinstance(t, SliceType | ArrayType):
            self._array(b, t, value)
        elif isinstance(t, MapType):
            self._map(b, t, value)
        elif isinstance(t, InterfaceType):
            self._interface(b, value)
        elif isinstance(t, MarshalerType):
            if isinstance(value, GobMarshaled):
                value = value.data
            if not isinstance(value, bytes | bytearray | memoryview):
                raise GobEncodeError(
                    f"gob: {t.go_string} value must be its marshaled bytes, got "
                    f"{type(value).__name__}"
                )
            put_bytes(b, value)
        else:
            raise GobEncodeError(f"gob: cannot encode a value of type {t.go_string}")

    def _array(self, b: bytearray, t: SliceType | ArrayType, value: object) -> None:
        if isinstance(t.elem, BasicType) and t.elem.kind is Kind.UINT8 and isinstance(t, SliceType):
            _put_basic(b, BasicType(Kind.BYTES), value)
            return
        items = _sequence(t, value)
        if isinstance(t, ArrayType) and len(items) != t.length:
            raise GobEncodeError(f"gob: {t.go_string} needs {t.length} elements, got {len(items)}")
        put_uint(b, len(items))
        pointer_elem = isinstance(t.elem, PointerType)
        for item in items:
            if item is None and (pointer_elem or not _nil_allowed(t.elem)):
                raise GobEncodeError("gob: encodeArray: nil element")
            self._value(b, t.elem, item)

    def _map(self, b: bytearray, t: MapType, value: object) -> None:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise GobEncodeError(f"gob: {t.go_string} value must be a mapping, got {value!r:.60}")
        put_uint(b, len(value))
        for key, item in value.items():
            for part, pt in ((key, t.key), (item, t.elem)):
                if part is None and (isinstance(pt, PointerType) or not _nil_allowed(pt)):
                    raise GobEncodeError("gob: encodeReflectValue: nil element")
                self._value(b, pt, part)

    def _interface(self, b: bytearray, value: object) -> None:
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
        data = bytearray()
        try:
            self._encode_top(data, base, value.value)
        finally:
            self._writers.pop()
        _write_message(b, data)


def _field_getter(t: StructType, value: object) -> Callable[[int, str], object]:
    if isinstance(value, GobStruct | Mapping):
        mapping: Mapping[str, object] = value
        return lambda _i, name: mapping.get(name)
    python_names = getattr(t, "python_names", None)
    if python_names is not None:
        names: Sequence[str] = python_names
        return lambda i, _name: getattr(value, names[i])
    if value is None:
        raise GobEncodeError(f"gob: cannot encode nil value of type {t.go_string}")
    return lambda _i, name: getattr(value, name, None)


def _nil_allowed(t: GoType) -> bool:
    """Whether None is a value of ``t`` itself (nil slice, map or interface)."""
    return isinstance(t, SliceType | MapType | InterfaceType)


def _sequence(t: GoType, value: object) -> Sequence[object]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    raise GobEncodeError(f"gob: {t.go_string} value must be a list or tuple, got {value!r:.60}")


def _omitted(t: GoType, v: object) -> bool:
    """Go's zero test for a struct field (sendZero false), after pointer indirection."""
    if isinstance(t, BasicType):
        if t.kind in (Kind.STRING, Kind.BYTES):
            return v is None or len(v) == 0  # type: ignore[arg-type]
        if isinstance(v, float) and math.isnan(v):
            return False
        return v is None or v == 0
    if isinstance(t, SliceType):
        return v is None or len(v) == 0  # type: ignore[arg-type]
    if isinstance(t, MapType | InterfaceType):
        return v is None
    if isinstance(t, MarshalerType):
        return v is None  # Go's IsZero; a zero marshaler value is passed as None
    return False  # structs (by value or through a non-nil pointer) and arrays are always sent


def _put_basic(b: bytearray, t: BasicType, value: object) -> None:
    kind = t.kind
    if kind is Kind.STRING:
        if not isinstance(value, str):
            raise GobEncodeError(f"gob: {t.go_string} value must be str, got {value!r:.60}")
        put_string(b, value)
    elif kind is Kind.BYTES:
        if value is None:
            value = b""
        if not isinstance(value, bytes | bytearray | memoryview):
            raise GobEncodeError(f"gob: []byte value must be bytes, got {value!r:.60}")
        put_bytes(b, value)
    elif kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise GobEncodeError(f"gob: bool value must be bool, got {value!r:.60}")
        b.append(1 if value else 0)
    elif kind in INT_RANGES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise GobEncodeError(f"gob: {t.go_string} value must be int, got {value!r:.60}")
        low, high = INT_RANGES[kind]
        if not low <= value <= high:
            raise GobEncodeError(f"gob: {value} overflows {t.go_string}")
        if kind in SIGNED_KINDS:
            put_int(b, value)
        else:
            put_uint(b, value)
    elif kind in (Kind.FLOAT32, Kind.FLOAT64):
        put_uint(b, float_to_uint(_as_float(t, kind, value)))
    else:
        if not isinstance(value, complex | float | int) or isinstance(value, bool):
            raise GobEncodeError(f"gob: {t.go_string} value must be complex, got {value!r:.60}")
        c = complex(value)
        part = Kind.FLOAT32 if kind is Kind.COMPLEX64 else Kind.FLOAT64
        put_uint(b, float_to_uint(_as_float(t, part, c.real)))
        put_uint(b, float_to_uint(_as_float(t, part, c.imag)))


def _as_float(t: BasicType, kind: Kind, value: object) -> float:
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise GobEncodeError(f"gob: {t.go_string} value must be float, got {value!r:.60}")
    f = float(value)
    if kind is Kind.FLOAT32 and math.isfinite(f):
        try:
            f = _FLOAT32.unpack(_FLOAT32.pack(f))[0]
        except OverflowError:
            raise GobEncodeError(f"gob: {value} overflows float32") from None
    return f
