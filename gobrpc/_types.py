"""Go types as gob sees them, the wire's type definitions, and Go's process-wide id allocation.

:data:`GoType` describes a Go type the way ``reflect`` does, as far as gob cares: kind, Name(),
String() (which needs the package *name*), element types, struct fields in declaration order.
:class:`TypeRegistry` is Go's package-global type table made into an object: it assigns ids in
first-use order by exactly the rules of ``encoding/gob/type.go`` (a struct takes its id before its
fields; a slice, array or map after its elements; a field of an unnamed type is named by its Go
spelling; an element reached through ``[]*T`` is built with an empty name), so an encoder that
shares one registry across streams produces the same ids as one Go process would.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

import attrs

from ._errors import GobEncodeError

if TYPE_CHECKING:
    from ._values import GobValue
    from ._writers import Put

__all__ = [
    "BOOL_ID",
    "BYTES_ID",
    "COMPLEX_ID",
    "FIRST_USER_ID_GO_1_21",
    "FIRST_USER_ID_LEGACY",
    "FLOAT_ID",
    "INT_RANGES",
    "SIGNED_KINDS",
    "UNSIGNED_KINDS",
    "INTERFACE_ID",
    "ZERO_VALUES",
    "INT_ID",
    "STRING_ID",
    "UINT_ID",
    "ArrayType",
    "BasicType",
    "Field",
    "GoType",
    "InterfaceType",
    "Kind",
    "MapType",
    "MarshalMethod",
    "MarshalerType",
    "PointerType",
    "SliceType",
    "StructType",
    "TypeRegistry",
    "UnsentType",
    "WireArray",
    "WireEmpty",
    "WireField",
    "WireMap",
    "WireMarshaler",
    "WireSlice",
    "WireStruct",
    "WireType",
    "base_type",
    "builtin_id",
]

# Predefined type ids (type.go): these never appear in definitions.
BOOL_ID = 1
INT_ID = 2
UINT_ID = 3
FLOAT_ID = 4
BYTES_ID = 5
STRING_ID = 6
COMPLEX_ID = 7
INTERFACE_ID = 8
#: What a value of each predefined type holds when the encoder left it out (it sends no zeros).
ZERO_VALUES: Mapping[int, GobValue] = {
    BOOL_ID: False,
    INT_ID: 0,
    UINT_ID: 0,
    FLOAT_ID: 0.0,
    BYTES_ID: b"",
    STRING_ID: "",
    COMPLEX_ID: 0j,
}
#: Ids below this are reserved; a definition for one is "gob: duplicate type received".
FIRST_USER_ID_MIN = 64
#: First id a Go process hands out since Go 1.21 (the next id is ``len(idToTypeSlice)``).
FIRST_USER_ID_GO_1_21 = 64
#: First id in Go up to 1.20 (``nextId`` started at 64 and was incremented before each use).
FIRST_USER_ID_LEGACY = 65


class Kind(enum.Enum):
    """The basic kinds; the value is Go's spelling of the predeclared type."""

    # Members are singletons compared by identity; Enum's own __hash__ hashes the name in Python
    # code, which showed in profiles of every lookup keyed by a Kind or a BasicType.
    __hash__ = object.__hash__

    BOOL = "bool"
    INT = "int"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    UINT = "uint"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    UINT64 = "uint64"
    UINTPTR = "uintptr"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    COMPLEX64 = "complex64"
    COMPLEX128 = "complex128"
    STRING = "string"
    BYTES = "[]uint8"


_KIND_IDS = {
    Kind.BOOL: BOOL_ID,
    Kind.INT: INT_ID,
    Kind.INT8: INT_ID,
    Kind.INT16: INT_ID,
    Kind.INT32: INT_ID,
    Kind.INT64: INT_ID,
    Kind.UINT: UINT_ID,
    Kind.UINT8: UINT_ID,
    Kind.UINT16: UINT_ID,
    Kind.UINT32: UINT_ID,
    Kind.UINT64: UINT_ID,
    Kind.UINTPTR: UINT_ID,
    Kind.FLOAT32: FLOAT_ID,
    Kind.FLOAT64: FLOAT_ID,
    Kind.COMPLEX64: COMPLEX_ID,
    Kind.COMPLEX128: COMPLEX_ID,
    Kind.STRING: STRING_ID,
    Kind.BYTES: BYTES_ID,
}


#: The value range of each integer kind, for range checks on encode and when binding to a width.
INT_RANGES = {
    Kind.INT8: (-(1 << 7), (1 << 7) - 1),
    Kind.INT16: (-(1 << 15), (1 << 15) - 1),
    Kind.INT32: (-(1 << 31), (1 << 31) - 1),
    Kind.INT64: (-(1 << 63), (1 << 63) - 1),
    Kind.INT: (-(1 << 63), (1 << 63) - 1),
    Kind.UINT8: (0, (1 << 8) - 1),
    Kind.UINT16: (0, (1 << 16) - 1),
    Kind.UINT32: (0, (1 << 32) - 1),
    Kind.UINT64: (0, (1 << 64) - 1),
    Kind.UINT: (0, (1 << 64) - 1),
    Kind.UINTPTR: (0, (1 << 64) - 1),
}
#: Kinds sent as gob's signed int (id 2); the other INT_RANGES kinds are sent as uint (id 3).
SIGNED_KINDS = frozenset({Kind.INT, Kind.INT8, Kind.INT16, Kind.INT32, Kind.INT64})
UNSIGNED_KINDS = frozenset(INT_RANGES) - SIGNED_KINDS


def _qualified(package: str, name: str) -> str:
    return f"{package}.{name}" if package else name


@attrs.frozen(cache_hash=True)
class BasicType:
    """bool, the integer, float and complex kinds, string, and []byte; optionally named
    (``type Celsius float64``). Named or not, gob sends them under the predefined ids."""

    kind: Kind
    name: str = ""
    package: str = ""

    @property
    def go_name(self) -> str:
        """reflect's Name(): the declared name, or the predeclared type's own name."""
        if self.name:
            return self.name
        return "" if self.kind is Kind.BYTES else self.kind.value

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        return _qualified(self.package, self.name) if self.name else self.kind.value


@attrs.frozen(cache_hash=True)
class InterfaceType:
    """Any interface type (``interface{}``, ``error``, ...): a registered name plus a value."""

    name: str = ""
    package: str = ""

    @property
    def go_name(self) -> str:
        """reflect's Name()."""
        return self.name

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        return _qualified(self.package, self.name) if self.name else "interface {}"


@attrs.frozen(cache_hash=True)
class UnsentType:
    """A chan or func type: a struct field of this type is never sent, as if unexported."""

    spelling: str = "chan int"

    @property
    def go_name(self) -> str:
        """reflect's Name()."""
        return ""

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        return self.spelling


class MarshalMethod(enum.Enum):
    """Which self-marshalling interface a type implements, in gob's order of preference."""

    GOB_ENCODER = "GobEncoder"
    BINARY_MARSHALER = "BinaryMarshaler"
    TEXT_MARSHALER = "TextMarshaler"


@attrs.frozen(cache_hash=True)
class MarshalerType:
    """A named type that marshals itself (``time.Time`` is a GobEncoder): opaque bytes."""

    method: MarshalMethod
    name: str
    package: str = ""

    @property
    def go_name(self) -> str:
        """reflect's Name()."""
        return self.name

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        return _qualified(self.package, self.name)


@attrs.frozen(cache_hash=True)
class PointerType:
    """``*T``. gob flattens pointers: the value is sent as T, and a nil pointer is omitted."""

    elem: GoType

    @property
    def go_name(self) -> str:
        """reflect's Name() (always empty for pointers)."""
        return ""

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        return "*" + self.elem.go_string


@attrs.frozen(cache_hash=True)
class SliceType:
    """``[]T`` or a named slice type. A slice of uint8 is ``[]byte``: use BasicType(Kind.BYTES)."""

    elem: GoType
    name: str = ""
    package: str = ""

    @property
    def go_name(self) -> str:
        """reflect's Name()."""
        return self.name

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        return _qualified(self.package, self.name) if self.name else "[]" + self.elem.go_string


@attrs.frozen(cache_hash=True)
class ArrayType:
    """``[N]T``: always sent, every element included."""

    elem: GoType
    length: int
    name: str = ""
    package: str = ""

    @property
    def go_name(self) -> str:
        """reflect's Name()."""
        return self.name

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        if self.name:
            return _qualified(self.package, self.name)
        return f"[{self.length}]{self.elem.go_string}"


@attrs.frozen(cache_hash=True)
class MapType:
    """``map[K]V``. An empty non-nil map is sent; a nil map is omitted."""

    key: GoType
    elem: GoType
    name: str = ""
    package: str = ""

    @property
    def go_name(self) -> str:
        """reflect's Name()."""
        return self.name

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        if self.name:
            return _qualified(self.package, self.name)
        return f"map[{self.key.go_string}]{self.elem.go_string}"


@attrs.frozen
class Field:
    """One struct field in declaration order: Go name and Go type.

    ``exported`` and ``sent`` are worked out once here, because encoding and binding consult them
    for every field of every value.
    """

    name: str
    type: GoType
    #: Go's isExported: the name starts with an upper-case letter.
    exported: bool = attrs.field(init=False, eq=False, repr=False)
    #: Go's isSent: exported, and not a chan or func (or pointer to one).
    sent: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        exported = self.name[:1].isupper()
        object.__setattr__(self, "exported", exported)
        sent = exported and not isinstance(base_type(self.type), UnsentType)
        object.__setattr__(self, "sent", sent)


@attrs.define(eq=False, repr=False)
class StructType:
    """A struct type, compared by identity like a Go type.

    ``fields`` may be filled in after construction, which is how recursive types are described
    (``type Node struct{ Next *Node }``). An unnamed struct has ``name == ""``.
    """

    name: str
    package: str = ""
    fields: Sequence[Field] = ()
    #: For structs bound to a Python class (see gobrpc's schema module): the attribute holding
    #: each *sent* field, in order, and the class that decoded values are built as.
    python_names: tuple[str, ...] | None = None
    python_class: type | None = None
    #: ``fields`` and the sent ones among them, recomputed when ``fields`` is replaced.
    _sent: tuple[Sequence[Field], tuple[Field, ...]] | None = attrs.field(default=None, init=False)

    @property
    def go_name(self) -> str:
        """reflect's Name()."""
        return self.name

    @property
    def go_string(self) -> str:
        """reflect's String()."""
        if self.name:
            return _qualified(self.package, self.name)
        if not self.fields:
            return "struct {}"
        inner = "; ".join(f"{f.name} {f.type.go_string}" for f in self.fields)
        return f"struct {{ {inner} }}"

    @property
    def sent_fields(self) -> tuple[Field, ...]:
        """The fields gob sends, in order; their position is their field number."""
        cache = self._sent
        if cache is None or cache[0] is not self.fields:
            cache = self._sent = (self.fields, tuple(f for f in self.fields if f.sent))
        return cache[1]

    def __repr__(self) -> str:
        return f"StructType({self.go_string})"


GoType: TypeAlias = (
    BasicType
    | InterfaceType
    | UnsentType
    | MarshalerType
    | PointerType
    | SliceType
    | ArrayType
    | MapType
    | StructType
)


def base_type(t: GoType) -> GoType:
    """The type with every pointer level removed (gob's ``userType(t).base``)."""
    while isinstance(t, PointerType):
        t = t.elem
    return t


def _is_bytes(t: GoType) -> bool:
    if isinstance(t, BasicType):
        return t.kind is Kind.BYTES
    # Go treats any slice whose element kind is uint8 as []byte, named or not.
    return isinstance(t, SliceType) and isinstance(t.elem, BasicType) and t.elem.kind is Kind.UINT8


def builtin_id(t: GoType) -> int | None:
    """The predefined id gob uses for ``t``, or None if ``t`` needs a definition of its own."""
    t = base_type(t)
    if _is_bytes(t):
        return BYTES_ID
    if isinstance(t, BasicType):
        return _KIND_IDS[t.kind]
    if isinstance(t, InterfaceType):
        return INTERFACE_ID
    return None


# --- definitions as they travel on the wire (wireType in type.go) --------------------------


@attrs.frozen(cache_hash=True)
class WireField:
    """fieldType: a struct field's name and type id."""

    name: str
    id: int


@attrs.frozen(cache_hash=True)
class WireStruct:
    """structType: CommonType plus the sent fields in order."""

    name: str
    id: int
    fields: tuple[WireField, ...] = ()


@attrs.frozen(cache_hash=True)
class WireSlice:
    """sliceType."""

    name: str
    id: int
    elem: int


@attrs.frozen(cache_hash=True)
class WireArray:
    """arrayType."""

    name: str
    id: int
    elem: int
    length: int


@attrs.frozen(cache_hash=True)
class WireMap:
    """mapType."""

    name: str
    id: int
    key: int
    elem: int


@attrs.frozen(cache_hash=True)
class WireMarshaler:
    """gobEncoderType under one of wireType's GobEncoderT / BinaryMarshalerT / TextMarshalerT."""

    method: MarshalMethod
    name: str
    id: int


@attrs.frozen(cache_hash=True)
class WireEmpty:
    """A wireType that sets none of its kinds. Go's encoder never sends one; Go's decoder stores
    it and refuses only a value whose type graph reaches it, so ours does the same."""

    name: str = ""
    id: int = 0


WireType: TypeAlias = WireStruct | WireSlice | WireArray | WireMap | WireMarshaler | WireEmpty


@attrs.define(eq=False)
class _Node:
    """A gobType under construction: id 0 until Go would have set it."""

    name: str
    id: int = 0
    wire: WireType | None = None


class TypeRegistry:
    """Go's process-wide gob type table: one per emulated Go process.

    An id is assigned the first time any encoder sharing the registry needs the type, and never
    changes; the name a type is first built with stays its wire name. Decoding never assigns ids.
    ``first_user_id`` is 64 for Go 1.21 and later, 65 for older Go (see the constants).

    Like Go's table, which also keeps each type's compiled encoder, it holds :attr:`writers`: the
    compiled writers of types that no interface value can occur in, so that every stream of the
    process shares them and a new connection does not compile them again.
    """

    def __init__(self, first_user_id: int = FIRST_USER_ID_GO_1_21) -> None:
        self.first_user_id = first_user_id
        self._nodes: dict[GoType, _Node] = {}
        self._by_id: dict[int, _Node] = {}
        #: Go's typeInfoMap: (id, definition) by base type, and for a marshaler by the type as
        #: given, pointers included (``getTypeInfo`` keys those by ``ut.user``).
        self._infos: dict[GoType, tuple[int, WireType]] = {}
        #: The name in the first definition built for each id: the one Go sends first.
        self._names: dict[int, str] = {}
        self._next_id = first_user_id
        #: Compiled writers shared by the encoders of this registry (filled by the encoders).
        self.writers: dict[GoType, Put] = {}

    def __repr__(self) -> str:
        return f"TypeRegistry(first_user_id={self.first_user_id}, next_id={self._next_id})"

    @property
    def next_id(self) -> int:
        """The id the next newly built type will get."""
        return self._next_id

    def type_id(self, t: GoType) -> int:
        """The id of ``t`` as a top-level value (Go's ``getTypeInfo``), building it if new."""
        fixed = builtin_id(t)
        if fixed is not None:
            return fixed
        return self.type_info(t)[0]

    def type_info(self, t: GoType) -> tuple[int, WireType]:
        """Go's ``getTypeInfo`` for a type that needs a definition: its id and that definition.

        A marshaler is keyed by ``t`` itself, pointers included, and ``*T`` gets a gobType of its
        own: its id is T's, but its definition is ``{Name: "", Id: Y}`` for a new id Y, which is
        used up even when that definition is never sent (``buildTypeInfo``). So every later id
        matches Go's only if a ``*T`` reaches here exactly when Go's encoder would call it.
        """
        b = base_type(t)
        key = t if isinstance(b, MarshalerType) else b
        info = self._infos.get(key)
        if info is None:
            node = self._build(key.go_name, key)
            if isinstance(node, int) or node.wire is None:
                raise GobEncodeError(f"gob: type {t.go_string} needs no definition")
            self._set_id(node)
            wire = node.wire
            if isinstance(b, MarshalerType) and key is not b:
                user = self._nodes.get(key)
                if user is None:
                    user = self._nodes[key] = _Node("")
                    self._set_id(user)
                    user.wire = WireMarshaler(b.method, "", user.id)
                wire = user.wire or wire
            info = self._infos[key] = (node.id, wire)
            self._names.setdefault(node.id, wire.name)
        return info

    def wire_name(self, t: GoType) -> str:
        """The name values of ``t`` carry on the wire, building ``t`` if new: the Name in the
        first definition built for its id (a ``*T`` marshaler's is empty)."""
        fixed = builtin_id(t)
        if fixed is not None:
            return ""
        return self._names[self.type_id(t)]

    def wire_type(self, type_id: int) -> WireType:
        """The definition an encoder sends for a built type id."""
        node = self._by_id.get(type_id)
        if node is None or node.wire is None:
            raise GobEncodeError(f"gob: type id {type_id} has not been built in this registry")
        return node.wire

    def built_types(self) -> Iterable[tuple[int, WireType]]:
        """Every complete definition, in id order (for debugging and tests)."""
        for type_id in sorted(self._by_id):
            wire = self._by_id[type_id].wire
            if wire is not None:
                yield type_id, wire

    def _set_id(self, node: _Node) -> None:
        if node.id == 0:
            node.id = self._next_id
            self._by_id[node.id] = node
            self._next_id += 1

    def _id(self, built: _Node | int) -> int:
        return built if isinstance(built, int) else built.id

    def _build(self, name: str, t: GoType) -> _Node | int:
        """Go's getBaseType: the existing gobType for base(t), or a new one named ``name``."""
        fixed = builtin_id(t)
        if fixed is not None:
            return fixed
        t = base_type(t)
        node = self._nodes.get(t)
        if node is not None:
            return node
        node = _Node(name)
        self._nodes[t] = node
        if isinstance(t, MarshalerType):
            self._set_id(node)
            node.wire = WireMarshaler(t.method, name, node.id)
        elif isinstance(t, StructType):
            self._set_id(node)
            fields = []
            for field in t.sent_fields:
                fb = base_type(field.type)
                built = self._build(fb.go_name or fb.go_string, field.type)
                if isinstance(built, _Node) and built.id == 0:
                    self._set_id(built)
                fields.append(WireField(field.name, self._id(built)))
            node.wire = WireStruct(name, node.id, tuple(fields))
        elif isinstance(t, SliceType):
            elem = self._build(t.elem.go_name, t.elem)
            self._set_id(node)
            if isinstance(elem, _Node) and elem.id == 0:
                self._set_id(elem)
            node.wire = WireSlice(name, node.id, self._id(elem))
        elif isinstance(t, ArrayType):
            elem = self._build("", t.elem)
            self._set_id(node)
            node.wire = WireArray(name, node.id, self._id(elem), t.length)
        elif isinstance(t, MapType):
            key = self._build("", t.key)
            elem = self._build("", t.elem)
            self._set_id(node)
            node.wire = WireMap(name, node.id, self._id(key), self._id(elem))
        else:
            del self._nodes[t]
            raise GobEncodeError(f"gob NewTypeObject can't handle type: {t.go_string}")
        return node
