"""Compiled value writers: each Go type becomes, once, a function that appends its values' bytes.

Go's encoder compiles an ``encEngine`` per type (encode.go) so that encoding a value walks a
prepared table instead of inspecting types. These are gobrpc's counterpart, built by
:class:`Encoder` on first use and kept for the stream:

- a writer (:data:`Put`) appends one value of its type with zeros sent, as inside arrays, maps and
  singletons;
- a field writer (:data:`FieldPut`) applies Go's zero test for one struct field (``sendZero``
  false: numbers equal to 0, so ``-0.0`` too while NaN is sent; empty strings, byte strings and
  slices; nil maps, pointers, interfaces), then writes the field delta and the value;
- a struct bound to an attrs class also gets generated straight-line code, the way attrs
  generates ``__init__``: one block per field, the common cases (a non-empty ``str`` or ``bytes``,
  an ``int``, a nested struct) written inline and every other value handed to that field's field
  writer, which holds the rules. This takes about a third off a warm ``InvokeRequest``.

Byte strings of :data:`SPLICE_MIN` bytes or more are not copied into the message being built: the
message records them by reference (:attr:`Message.spliced`) and they are copied once, when the
framed message is joined, so a 6 MB payload costs one copy per encode.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Callable, Mapping, Sequence

from ._errors import GobEncodeError
from ._generated import compile_generated
from ._types import (
    INT_RANGES,
    SIGNED_KINDS,
    ArrayType,
    BasicType,
    Field,
    GoType,
    InterfaceType,
    Kind,
    MapType,
    MarshalerType,
    PointerType,
    SliceType,
    StructType,
    base_type,
)
from ._values import GobMarshaled, GobStruct
from ._wire import STRING_ERRORS, float_to_uint, put_uint

__all__ = [
    "SPLICE_MIN",
    "FieldPut",
    "Message",
    "Put",
    "array_writer",
    "basic_writer",
    "holds_interface",
    "map_writer",
    "marshaler_writer",
    "message_chunks",
    "message_size",
    "refuse",
    "splice",
    "struct_writer",
]

#: Byte strings of at least this many bytes are not copied into the message under construction but
#: kept by reference and copied once, when the framed message is joined. Below it a plain copy is
#: cheaper than the bookkeeping (a 16 KiB memcpy takes about as long as recording one reference).
SPLICE_MIN = 16 * 1024

_FLOAT32 = struct.Struct("<f")
_BYTES_TYPES = (bytes, bytearray, memoryview)
#: Python values whose emptiness is a Go zero for string, []byte and slice fields.
_SIZED_TYPES = (str, bytes, bytearray, memoryview, list, tuple)
#: Field numbers from here on need a multi-byte delta; generated code inlines only smaller ones.
_ONE_BYTE_FIELDS = 0x7F

_Bytes = bytes | bytearray | memoryview


class Message(bytearray):
    """One gob message under construction, without its length prefix.

    ``spliced`` holds (offset, data) for byte strings of ``SPLICE_MIN`` bytes or more that belong
    at that offset but were not copied in (a class-level empty default keeps creation cheap).
    """

    spliced: tuple[tuple[int, _Bytes], ...] = ()


#: A compiled writer: appends one value of its type (zeros included) to a message.
Put = Callable[[Message, object], None]
#: A compiled struct field writer: (message, value, last field number sent) -> last field number
#: sent. It applies Go's zero test for its field, then writes the delta and the value.
FieldPut = Callable[[Message, object, int], int]


def message_size(m: Message) -> int:
    """The message's length in bytes, spliced byte strings included."""
    return len(m) + sum(len(data) for _, data in m.spliced)


def message_chunks(m: Message) -> list[_Bytes]:
    """The message's bytes in order, spliced byte strings included, for one ``join``."""
    if not m.spliced:
        return [m]
    view = memoryview(m)
    chunks: list[_Bytes] = []
    pos = 0
    for offset, data in m.spliced:
        chunks.append(view[pos:offset])
        chunks.append(data)
        pos = offset
    chunks.append(view[pos:])
    return chunks


def splice(b: Message, data: _Bytes) -> None:
    """Record ``data`` as belonging at the end of ``b`` without copying it."""
    b.spliced = (*b.spliced, (len(b), data))


def _put_sized(b: Message, data: _Bytes) -> None:
    """A length-prefixed byte string; large ones are spliced rather than copied."""
    if type(data) is memoryview and not (
        data.ndim == 1 and data.itemsize == 1 and data.c_contiguous
    ):
        data = data.tobytes()  # len() of such a view counts items, or it cannot be appended
    n = len(data)
    if n < 0x80:
        b.append(n)
    else:
        put_uint(b, n)
    if n >= SPLICE_MIN:
        splice(b, data)
    else:
        b += data


def refuse(message: str) -> Put:
    """A writer for a type that cannot be encoded: it raises ``message``."""

    def put(_b: Message, _value: object) -> None:
        raise GobEncodeError(message)

    return put


def holds_interface(t: GoType, seen: set[int]) -> bool:
    """Whether a value of ``t`` can hold an interface value (through fields, elements, keys)."""
    t = base_type(t)
    if isinstance(t, InterfaceType):
        return True
    if id(t) in seen:
        return False
    seen.add(id(t))
    if isinstance(t, StructType):
        return any(holds_interface(f.type, seen) for f in t.sent_fields)
    if isinstance(t, SliceType | ArrayType):
        return holds_interface(t.elem, seen)
    if isinstance(t, MapType):
        return holds_interface(t.key, seen) or holds_interface(t.elem, seen)
    return False


# --- basic kinds ------------------------------------------------------------------------------


def basic_writer(t: BasicType) -> Put:
    """The writer for a basic kind (``[]byte`` included)."""
    kind = t.kind
    go_string = t.go_string
    if kind is Kind.STRING:

        def put_str(b: Message, value: object) -> None:
            if not isinstance(value, str):
                raise GobEncodeError(f"gob: {go_string} value must be str, got {value!r:.60}")
            try:
                data = value.encode("utf-8", STRING_ERRORS)
            except UnicodeEncodeError as exc:
                raise GobEncodeError(f"gob: string cannot be encoded: {exc}") from None
            _put_sized(b, data)

        return put_str
    if kind is Kind.BYTES:

        def put_bytes(b: Message, value: object) -> None:
            if value is None:
                b.append(0)
            elif isinstance(value, _BYTES_TYPES):
                _put_sized(b, value)
            else:
                raise GobEncodeError(f"gob: []byte value must be bytes, got {value!r:.60}")

        return put_bytes
    if kind is Kind.BOOL:

        def put_bool(b: Message, value: object) -> None:
            if value is True:
                b.append(1)
            elif value is False:
                b.append(0)
            else:
                raise GobEncodeError(f"gob: bool value must be bool, got {value!r:.60}")

        return put_bool
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        signed = kind in SIGNED_KINDS

        def put_int(b: Message, value: object) -> None:
            if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
                raise GobEncodeError(f"gob: {go_string} value must be int, got {value!r:.60}")
            if not low <= value <= high:
                raise GobEncodeError(f"gob: {value} overflows {go_string}")
            if signed:
                value = value << 1 if value >= 0 else (~value << 1) | 1
            if value < 0x80:
                b.append(value)
            else:
                put_uint(b, value)

        return put_int

    def put_number(b: Message, value: object) -> None:
        _put_float_or_complex(b, t, value)

    return put_number


def _put_float_or_complex(b: bytearray, t: BasicType, value: object) -> None:
    kind = t.kind
    if kind in (Kind.FLOAT32, Kind.FLOAT64):
        put_uint(b, float_to_uint(_as_float(t, kind, value)))
        return
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


def marshaler_writer(t: MarshalerType) -> Put:
    """A GobEncoder / BinaryMarshaler value: its marshaled bytes, length-prefixed."""

    def put(b: Message, value: object) -> None:
        if isinstance(value, GobMarshaled):
            value = value.data
        if not isinstance(value, _BYTES_TYPES):
            raise GobEncodeError(
                f"gob: {t.go_string} value must be its marshaled bytes, got {type(value).__name__}"
            )
        _put_sized(b, value)

    return put


# --- composites -------------------------------------------------------------------------------


def _nil_allowed(t: GoType) -> bool:
    """Whether None can be sent as a value of ``t``: a nil slice, map or interface, or a pointer
    to one (pointers are transparent here, so None for ``*interface{}`` is what Go's decoder
    gives for a pointer to a nil interface, and Go can send that)."""
    return isinstance(base_type(t), SliceType | MapType | InterfaceType)


def array_writer(t: SliceType | ArrayType, put_elem: Put) -> Put:
    """A slice or array: the count, then every element (zeros included)."""
    nil_allowed = _nil_allowed(t.elem)
    length = t.length if isinstance(t, ArrayType) else None

    def put(b: Message, value: object) -> None:
        if value is None:
            items: Sequence[object] = ()
        elif isinstance(value, list | tuple):
            items = value
        else:
            raise GobEncodeError(
                f"gob: {t.go_string} value must be a list or tuple, got {value!r:.60}"
            )
        if length is not None and len(items) != length:
            raise GobEncodeError(f"gob: {t.go_string} needs {length} elements, got {len(items)}")
        put_uint(b, len(items))
        for item in items:
            if item is None and not nil_allowed:
                raise GobEncodeError("gob: encodeArray: nil element")
            put_elem(b, item)

    return put


def map_writer(t: MapType, put_key: Put, put_elem: Put) -> Put:
    """A map: the count, then key and element pairs in the mapping's order."""
    key_nil_allowed = _nil_allowed(t.key)
    elem_nil_allowed = _nil_allowed(t.elem)

    def put(b: Message, value: object) -> None:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise GobEncodeError(f"gob: {t.go_string} value must be a mapping, got {value!r:.60}")
        put_uint(b, len(value))
        for key, item in value.items():
            if key is None and not key_nil_allowed:
                raise GobEncodeError("gob: encodeReflectValue: nil element")
            put_key(b, key)
            if item is None and not elem_nil_allowed:
                raise GobEncodeError("gob: encodeReflectValue: nil element")
            put_elem(b, item)

    return put


def struct_writer(t: StructType, engine: Callable[[GoType], Put]) -> Put:
    """A struct: the sent fields that are not zero, each as (delta, value), then a zero delta.

    ``engine`` gives the writer of a field's (pointer-stripped) type. A value may be an instance
    of the bound class, a :class:`GobStruct` or other mapping of Go field names, or any object
    with attributes named as the Go fields.
    """
    fields = t.sent_fields
    if t.fields and not fields:
        return refuse(f"gob: type {t.go_string} has no exported fields")
    value_puts = tuple(engine(f.type) for f in fields)
    field_puts = tuple(
        _field_writer(i, f, put) for i, (f, put) in enumerate(zip(fields, value_puts, strict=True))
    )
    go_names = tuple(f.name for f in fields)
    attributes = _attribute_getter(t, len(fields))
    cls = t.python_class if attributes is not None else None
    if cls is not None and issubclass(cls, Mapping):
        cls = None
    nil_message = f"gob: cannot encode nil value of type {t.go_string}"

    def put(b: Message, value: object) -> None:
        values: Sequence[object]
        if type(value) is cls and attributes is not None:
            values = attributes(value)
        elif isinstance(value, GobStruct):
            by_name = dict(value.fields)
            values = [by_name.get(name) for name in go_names]
        elif isinstance(value, Mapping):
            values = [value.get(name) for name in go_names]
        elif value is None:
            raise GobEncodeError(nil_message)
        elif attributes is not None:
            values = attributes(value)
        else:
            values = [getattr(value, name, None) for name in go_names]
        last = -1
        for put_field, v in zip(field_puts, values):  # noqa: B905 - equal by construction
            last = put_field(b, v, last)
        b.append(0)

    if cls is None or attributes is None or not fields:
        return put
    return _generated(
        t,
        cls,
        attributes=attributes,
        fields=fields,
        value_puts=value_puts,
        field_puts=field_puts,
        generic=put,
    )


def _attribute_getter(t: StructType, count: int) -> Callable[[object], Sequence[object]] | None:
    """Reads the sent fields' attributes of a bound class's instance in one call, or None."""
    names = t.python_names
    if names is None:
        return None
    if len(names) != count:
        raise GobEncodeError(
            f"gob: {t.go_string} binds {len(names)} attributes to {count} sent fields"
        )
    if count == 0:
        return lambda _value: ()
    if count == 1:
        one = operator.attrgetter(names[0])
        return lambda value: (one(value),)
    many: Callable[[object], Sequence[object]] = operator.attrgetter(*names)
    return many


# --- struct fields ----------------------------------------------------------------------------


def _delta(b: Message, index: int, last: int) -> int:
    delta = index - last
    if delta < 0x80:
        b.append(delta)
    else:
        put_uint(b, delta)
    return index


def _field_writer(index: int, field: Field, put_value: Put) -> FieldPut:
    """Field number ``index``: Go's zero test for its type, then the delta and the value."""
    base = base_type(field.type)
    if isinstance(base, BasicType) and base.kind not in (Kind.STRING, Kind.BYTES):
        return _number_field(index, put_value)
    if isinstance(base, BasicType | SliceType):
        return _sized_field(index, put_value)
    if isinstance(base, MapType | InterfaceType | MarshalerType) or isinstance(
        field.type, PointerType
    ):
        return _non_nil_field(index, put_value)
    return _always_field(index, put_value)


def _number_field(index: int, put_value: Put) -> FieldPut:
    """Numbers and bool: omitted when == 0 (so -0.0 too, while NaN is sent)."""

    def put(b: Message, value: object, last: int) -> int:
        if not value and (value is None or value == 0):
            return last
        last = _delta(b, index, last)
        put_value(b, value)
        return last

    return put


def _sized_field(index: int, put_value: Put) -> FieldPut:
    """Strings, byte strings and slices: omitted when empty or nil."""

    def put(b: Message, value: object, last: int) -> int:
        if not value and (value is None or isinstance(value, _SIZED_TYPES)):
            return last
        last = _delta(b, index, last)
        put_value(b, value)
        return last

    return put


def _non_nil_field(index: int, put_value: Put) -> FieldPut:
    """Maps, interfaces, marshalers and pointers to always-sent types: omitted when nil."""

    def put(b: Message, value: object, last: int) -> int:
        if value is None:
            return last
        last = _delta(b, index, last)
        put_value(b, value)
        return last

    return put


def _always_field(index: int, put_value: Put) -> FieldPut:
    """Structs by value and arrays: always sent."""

    def put(b: Message, value: object, last: int) -> int:
        last = _delta(b, index, last)
        put_value(b, value)
        return last

    return put


# --- generated code for bound structs ---------------------------------------------------------

# Each template handles the common, valid case of one field inline; anything else (None, empty,
# another type, a value out of range) goes to the field's field writer ``f{i}``, which applies
# every rule and raises the errors. Only generated names appear in the source, never a Go name.
_STRING_BLOCK = """\
    if v{i}.__class__ is str and v{i}:
        try:
            d = v{i}.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            last = f{i}(b, v{i}, last)
        else:
            b.append({i} - last)
            last = {i}
            n = len(d)
            if n < 128:
                b.append(n)
            else:
                put_uint(b, n)
            if n < SPLICE_MIN:
                b += d
            else:
                splice(b, d)
    else:
        last = f{i}(b, v{i}, last)
"""
_BYTES_BLOCK = """\
    if v{i}.__class__ is bytes and v{i}:
        b.append({i} - last)
        last = {i}
        n = len(v{i})
        if n < 128:
            b.append(n)
        else:
            put_uint(b, n)
        if n < SPLICE_MIN:
            b += v{i}
        else:
            splice(b, v{i})
    else:
        last = f{i}(b, v{i}, last)
"""
_INT_BLOCK = """\
    if v{i}.__class__ is int and v{i} and {low} <= v{i} <= {high}:
        b.append({i} - last)
        last = {i}
        u = {fold}
        if u < 128:
            b.append(u)
        else:
            put_uint(b, u)
    else:
        last = f{i}(b, v{i}, last)
"""
_SIGNED_FOLD = "v{i} << 1 if v{i} >= 0 else (~v{i} << 1) | 1"
_STRUCT_BLOCK = """\
    b.append({i} - last)
    last = {i}
    p{i}(b, v{i})
"""
_OTHER_BLOCK = """\
    last = f{i}(b, v{i}, last)
"""


def _field_block(i: int, field: Field) -> str:
    t = field.type
    if i >= _ONE_BYTE_FIELDS:
        return _OTHER_BLOCK.format(i=i)
    if isinstance(t, BasicType) and t.kind is Kind.STRING:
        return _STRING_BLOCK.format(i=i)
    if isinstance(t, BasicType) and t.kind is Kind.BYTES:
        return _BYTES_BLOCK.format(i=i)
    if isinstance(t, BasicType) and t.kind is not Kind.BOOL and t.kind in INT_RANGES:
        low, high = INT_RANGES[t.kind]
        fold = _SIGNED_FOLD.format(i=i) if t.kind in SIGNED_KINDS else f"v{i}"
        return _INT_BLOCK.format(i=i, low=low, high=high, fold=fold)
    if isinstance(t, StructType):
        return _STRUCT_BLOCK.format(i=i)
    return _OTHER_BLOCK.format(i=i)


def _generated(
    t: StructType,
    cls: type,
    *,
    attributes: Callable[[object], Sequence[object]],
    fields: Sequence[Field],
    value_puts: Sequence[Put],
    field_puts: Sequence[FieldPut],
    generic: Put,
) -> Put:
    """Straight-line code for instances of ``cls``; any other value goes to ``generic``."""
    names = ", ".join(f"v{i}" for i in range(len(fields)))
    source = (
        "def write(b, value):\n"
        "    if value.__class__ is not cls:\n"
        "        return generic(b, value)\n"
        f"    ({names},) = attributes(value)\n"
        "    last = -1\n"
        + "".join(_field_block(i, f) for i, f in enumerate(fields))
        + "    b.append(0)\n"
    )
    namespace: dict[str, object] = {
        "cls": cls,
        "attributes": attributes,
        "generic": generic,
        "put_uint": put_uint,
        "splice": splice,
        "SPLICE_MIN": SPLICE_MIN,
    }
    for i, (put_value, put_field) in enumerate(zip(value_puts, field_puts, strict=True)):
        namespace[f"p{i}"] = put_value
        namespace[f"f{i}"] = put_field
    code = compile_generated(source, f"writer for {t.go_string}")
    exec(code, namespace)  # noqa: S102 - source built from templates
    write = namespace["write"]
    if not callable(write):  # pragma: no cover - the source above defines it
        raise TypeError("generated writer is not callable")
    return write
