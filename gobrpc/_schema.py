"""Binding frozen attrs classes to gob structs, and decoding into them as Go does.

A class declares its Go side in field metadata: each attribute made with :func:`gob_field` names its
Go field and Go type (``int32`` vs ``int64`` vs ``uint64`` matters for range checks; names and
pointer-ness matter for type ids). :func:`struct_type` turns the class into a :class:`StructType`
(cached, recursion-safe), which the :class:`Encoder` encodes exactly.

Decoding is two steps, as cattrs does it: the :class:`Decoder` yields generic values, then
:func:`structure` checks the wire type against the local type with Go's own rules and messages
(``compileDec``/``compatibleType`` in decode.go: fields matched by name only, unknown wire fields
skipped, kinds must agree, widths may differ but values must fit) and builds the instances.
Where the caller knows the local type before the value arrives, the decoder can do both steps in
one pass with a reader compiled from the same rules (gobrpc's readers module, which uses
:func:`check_decodable` and :func:`builder` from here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar, overload

import attrs

from ._errors import GobDecodeError
from ._types import (
    BOOL_ID,
    BYTES_ID,
    COMPLEX_ID,
    FLOAT_ID,
    INT_ID,
    INT_RANGES,
    INTERFACE_ID,
    SIGNED_KINDS,
    STRING_ID,
    UINT_ID,
    UNSIGNED_KINDS,
    ZERO_VALUES,
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
from ._values import GobStruct, GobValue

__all__ = [
    "GOB_NAME",
    "GOB_TYPE",
    "NARROW_INTS",
    "Builder",
    "TypeSpec",
    "ZeroFactory",
    "builder",
    "check_decodable",
    "gob_field",
    "structure",
    "struct_type",
    "zero_factory",
]

T = TypeVar("T")

#: Field metadata keys.
GOB_NAME = "gob_name"
GOB_TYPE = "gob_type"

#: A field's Go type: a GoType, an attrs class (a by-value struct), or a zero-argument callable
#: returning either (for types declared later in the module, or recursive ones).
TypeSpec = GoType | type | Callable[[], "GoType | type"]

_KIND_WIRE = {
    Kind.BOOL: BOOL_ID,
    Kind.STRING: STRING_ID,
    Kind.BYTES: BYTES_ID,
    Kind.FLOAT32: FLOAT_ID,
    Kind.FLOAT64: FLOAT_ID,
    Kind.COMPLEX64: COMPLEX_ID,
    Kind.COMPLEX128: COMPLEX_ID,
}


@overload
def gob_field(go_name: str, go_type: TypeSpec, *, default: T) -> T: ...
@overload
def gob_field(go_name: str, go_type: TypeSpec, *, factory: Callable[[], T]) -> T: ...
def gob_field(
    go_name: str,
    go_type: TypeSpec,
    *,
    default: object = attrs.NOTHING,
    factory: Callable[[], object] | None = None,
) -> object:
    """An attrs field that is the Go struct field ``go_name`` of type ``go_type``."""
    metadata = {GOB_NAME: go_name, GOB_TYPE: go_type}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def _resolve(spec: object) -> GoType:
    if isinstance(spec, type) and attrs.has(spec):
        return struct_type(spec)
    if isinstance(
        spec,
        BasicType
        | InterfaceType
        | UnsentType
        | MarshalerType
        | PointerType
        | SliceType
        | ArrayType
        | MapType
        | StructType,
    ):
        return spec
    if callable(spec):
        return _resolve(spec())
    raise TypeError(f"not a Go type specification: {spec!r}")


_STRUCTS: dict[type, StructType] = {}


def struct_type(cls: type) -> StructType:
    """The Go struct type bound to attrs class ``cls``.

    The Go name is ``cls.__gob_name__`` (default: the class name) and the package name, which
    shows up in type names such as ``[]*messages.InvokeResponse_Error_StackFrame``, is
    ``cls.__gob_package__`` (default ``main``).
    """
    cached = _STRUCTS.get(cls)
    if cached is not None:
        return cached
    st = StructType(
        getattr(cls, "__gob_name__", cls.__name__),
        getattr(cls, "__gob_package__", "main"),
        python_class=cls,
    )
    _STRUCTS[cls] = st  # before resolving fields, so recursive classes find it
    fields = []
    names = []
    for attribute in attrs.fields(cls):
        if GOB_NAME not in attribute.metadata:
            continue
        field = Field(attribute.metadata[GOB_NAME], _resolve(attribute.metadata[GOB_TYPE]))
        fields.append(field)
        if field.sent:
            names.append(attribute.name)
    st.fields = tuple(fields)
    st.python_names = tuple(names)
    return st


# --- Go's compatibility rules (decode.go compatibleType / compileDec / compileSingle) ----------


def _wire_string(types: Mapping[int, WireType], type_id: int) -> str:
    builtin = {
        BOOL_ID: "bool",
        INT_ID: "int",
        UINT_ID: "uint",
        FLOAT_ID: "float",
        BYTES_ID: "bytes",
        STRING_ID: "string",
        COMPLEX_ID: "complex",
        INTERFACE_ID: "interface",
    }
    if type_id in builtin:
        return builtin[type_id]
    wire = types.get(type_id)
    return wire.name if wire is not None else ""


def _compatible(
    local: GoType, wire_id: int, types: Mapping[int, WireType], seen: dict[GoType, int]
) -> bool:
    if local in seen:
        return seen[local] == wire_id
    seen[local] = wire_id
    wire = types.get(wire_id)
    t = base_type(local)
    if isinstance(t, MarshalerType) != isinstance(wire, WireMarshaler):
        return False
    if isinstance(t, MarshalerType):
        return isinstance(wire, WireMarshaler) and wire.method is t.method
    if isinstance(t, BasicType):
        if t.kind in SIGNED_KINDS:
            return wire_id == INT_ID
        if t.kind in UNSIGNED_KINDS:
            return wire_id == UINT_ID
        return wire_id == _KIND_WIRE[t.kind]
    if isinstance(t, InterfaceType):
        return wire_id == INTERFACE_ID
    if isinstance(t, ArrayType):
        return (
            isinstance(wire, WireArray)
            and wire.length == t.length
            and _compatible(t.elem, wire.elem, types, seen)
        )
    if isinstance(t, MapType):
        return (
            isinstance(wire, WireMap)
            and _compatible(t.key, wire.key, types, seen)
            and _compatible(t.elem, wire.elem, types, seen)
        )
    if isinstance(t, SliceType):
        if isinstance(t.elem, BasicType) and t.elem.kind is Kind.UINT8:
            return wire_id == BYTES_ID
        return isinstance(wire, WireSlice) and _compatible(t.elem, wire.elem, types, seen)
    return isinstance(t, StructType)


def check_decodable(
    local: GoType, wire_id: int, types: Mapping[int, WireType], done: set[tuple[int, int]]
) -> None:
    """Go's compile step for decoding ``wire_id`` into ``local``: raise Go's error text."""
    t = base_type(local)
    if not isinstance(t, StructType):
        if not _compatible(local, wire_id, types, {}):
            name = local.go_string
            remote = _wire_string(types, wire_id)
            if isinstance(t, InterfaceType) and wire_id != INTERFACE_ID:
                raise GobDecodeError(
                    f"gob: local interface type {name} can only be decoded from remote interface "
                    f"type; received concrete type {remote}"
                )
            raise GobDecodeError(
                f"gob: decoding into local type {name}, received remote type {remote}"
            )
        _check_elements(t, wire_id, types, done)
        return
    key = (id(t), wire_id)
    if key in done:
        return
    done.add(key)
    wire = types.get(wire_id)
    if wire is None and wire_id > INTERFACE_ID:
        raise GobDecodeError("gob: unknown type id or corrupted data")
    if not isinstance(wire, WireStruct):
        raise GobDecodeError(
            f"gob: type mismatch in decoder: want struct type {t.go_string}; got non-struct"
        )
    local_fields = {f.name: f for f in t.fields}
    matched = 0
    for wf in wire.fields:
        lf = local_fields.get(wf.name)
        if lf is None or not lf.exported:
            continue
        if not _compatible(lf.type, wf.id, types, {}):
            raise GobDecodeError(
                f"gob: wrong type ({lf.type.go_string}) for received field {wire.name}.{wf.name}"
            )
        _check_elements(base_type(lf.type), wf.id, types, done)
        matched += 1
    if matched == 0 and t.fields and wire.fields:
        raise GobDecodeError(
            f"gob: type mismatch: no fields matched compiling decoder for {t.name}"
        )


def _check_elements(
    t: GoType, wire_id: int, types: Mapping[int, WireType], done: set[tuple[int, int]]
) -> None:
    wire = types.get(wire_id)
    if isinstance(t, StructType):
        check_decodable(t, wire_id, types, done)
    elif isinstance(t, SliceType | ArrayType) and isinstance(wire, WireSlice | WireArray):
        if isinstance(base_type(t.elem), StructType):
            check_decodable(t.elem, wire.elem, types, done)
    elif isinstance(t, MapType) and isinstance(wire, WireMap):
        for part, pid in ((t.key, wire.key), (t.elem, wire.elem)):
            if isinstance(base_type(part), StructType):
                check_decodable(part, pid, types, done)


# --- building values ------------------------------------------------------------------------


def structure(
    go_type: GoType,
    wire_id: int,
    types: Mapping[int, WireType],
    value: GobValue,
    *,
    checked: set[tuple[GoType, int]] | None = None,
) -> object:
    """Decode a generic value into ``go_type`` as Go would decode it into that Go type.

    Raises :class:`GobDecodeError` with Go's message when the wire type does not fit, or a value
    overflows its declared width. Structs bound to a class come back as instances of it.

    ``checked`` remembers the (local type, wire id) pairs already found compatible on one stream
    (a stream never redefines an id, so the answer cannot change); pass the same set for every
    value of a stream, as Go compiles its decoder once per type and stream.
    """
    if checked is None or (go_type, wire_id) not in checked:
        check_decodable(go_type, wire_id, types, set())
        if checked is not None:
            checked.add((go_type, wire_id))
    build = _BUILDERS.get(go_type)
    if build is None:
        build = builder(go_type, go_type.go_string)
    return value if build is None else build(value)


#: What turns a decoded generic value into the local type's value; None where nothing does.
Builder = Callable[[GobValue], object]
#: Builders of structs bound to classes, compiled once per struct type (they hold no stream state).
_BUILDERS: dict[GoType, Builder] = {}


def builder(t: GoType, name: str) -> Builder | None:
    """The builder for values of ``t``; ``name`` is the field named in range errors."""
    t = base_type(t)
    if isinstance(t, StructType):
        if t.python_class is None:
            return None
        built = _BUILDERS.get(t)
        if built is None:
            built = _struct_builder(t, t.python_class)
        return built
    if isinstance(t, SliceType | ArrayType):
        elem = builder(t.elem, name)
        if elem is None:
            return None
        sub = elem

        def build_list(value: GobValue) -> object:
            if isinstance(value, list):
                return [None if v is None else sub(v) for v in value]
            return value

        return build_list
    if isinstance(t, MapType):
        key, item = builder(t.key, name), builder(t.elem, name)
        if key is None and item is None:
            return None

        def build_map(value: GobValue) -> object:
            if not isinstance(value, dict):
                return value
            return {
                k if key is None or k is None else key(k): (
                    v if item is None or v is None else item(v)
                )
                for k, v in value.items()
            }

        return build_map
    if isinstance(t, BasicType) and t.kind in NARROW_INTS:
        low, high = INT_RANGES[t.kind]
        message = f'value for "{name}" out of range'

        def check_range(value: GobValue) -> object:
            if isinstance(value, int) and not low <= value <= high:
                raise GobDecodeError(message)
            return value

        return check_range
    return None


#: Integer kinds narrower than the wire's 64 bits: their values are range-checked when bound.
NARROW_INTS = frozenset(INT_RANGES) - {Kind.INT, Kind.INT64, Kind.UINT, Kind.UINT64, Kind.UINTPTR}


def _struct_builder(t: StructType, cls: type) -> Builder:
    fields = t.sent_fields
    attributes = t.python_names or ()
    if len(attributes) != len(fields):
        raise ValueError(
            f"{t.go_string} binds {len(attributes)} attributes to {len(fields)} fields"
        )

    def forward(value: GobValue) -> object:
        return _BUILDERS[t](value)

    _BUILDERS[t] = forward  # what a recursive field calls while ``t`` is being compiled
    try:
        plan = {
            f.name: (attribute, builder(f.type, f.name), zero_factory(f.type))
            for f, attribute in zip(fields, attributes, strict=True)
        }
    except BaseException:
        del _BUILDERS[t]
        raise

    def build(value: GobValue) -> object:
        if not isinstance(value, GobStruct):
            return value
        kwargs: dict[str, object] = {}
        for go_name, v in value.fields:
            entry = plan.get(go_name)
            if entry is not None:
                attribute, sub, zero = entry
                if v is None:  # left out (a field of a composite kind; predefined ones hold zero)
                    kwargs[attribute] = None if zero is None else zero()
                else:
                    kwargs[attribute] = v if sub is None else sub(v)
        return cls(**kwargs)

    _BUILDERS[t] = build
    return build


#: Makes the value a field holds when the encoder left it out (see :func:`zero_factory`).
ZeroFactory = Callable[[], object]


def zero_factory(t: GoType) -> ZeroFactory | None:
    """What makes the value Go holds in a field of local type ``t`` that the encoder left out,
    where that value is not None: a struct bound to a class gets a new instance of it with every
    field zero (Go's zero struct: a field of a struct type is never nil), an array its length of
    zero elements. None for the rest: a predefined type's zero comes with its wire type
    (:data:`ZERO_VALUES`), and a nil pointer, slice, map or interface is None."""
    return _zero_factory(t, frozenset())


def _zero_factory(t: GoType, enclosing: frozenset[StructType]) -> ZeroFactory | None:
    if isinstance(t, PointerType):
        return None
    if isinstance(t, StructType) and t.python_class is not None and t not in enclosing:
        cls = t.python_class
        inner = enclosing | {t}  # a struct cannot hold itself by value: Go refuses such a type
        parts = [
            (attribute, _zero_factory(f.type, inner), _predefined_zero(f.type))
            for f, attribute in zip(t.sent_fields, t.python_names or (), strict=True)
        ]

        def zero_struct() -> object:
            return cls(**{a: make() if make else zero for a, make, zero in parts})

        return zero_struct
    if isinstance(t, ArrayType):
        make, zero, length = _zero_factory(t.elem, enclosing), _predefined_zero(t.elem), t.length
        return lambda: [make() if make else zero for _ in range(length)]
    return None


def _predefined_zero(t: GoType) -> GobValue:
    """The zero of a predefined type (None for the others, and for any pointer: nil)."""
    if isinstance(t, PointerType):
        return None
    type_id = builtin_id(t)
    return None if type_id is None else ZERO_VALUES.get(type_id)
