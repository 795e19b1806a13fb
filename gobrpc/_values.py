"""Generic decoded values: what a gob stream means without a declared Python class.

Basic kinds map to Python scalars (``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``);
slices and arrays to ``list``; maps to ``dict`` (list keys become tuples so they can be hashed);
structs to :class:`GobStruct`, which keeps Go's type and field names; interface values to
:class:`GobInterface`; GobEncoder and BinaryMarshaler values to :class:`GobMarshaled`, opaque
bytes with their type name (gob never uses TextMarshaler: that code is commented out in Go).
A nil pointer, slice, map or interface is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias, Union

import attrs

if TYPE_CHECKING:
    from ._types import GoType

__all__ = ["GobInterface", "GobMarshaled", "GobStruct", "GobValue"]

GobValue: TypeAlias = Union[
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    list["GobValue"],
    tuple["GobValue", ...],
    dict["GobValue", "GobValue"],
    "GobStruct",
    "GobInterface",
    "GobMarshaled",
    None,
]


@attrs.frozen(repr=False)
class GobStruct(Mapping[str, GobValue]):
    """A struct value: Go's type name (as sent on the wire) and its fields by Go field name.

    Decoded structs list every field of the wire type; fields the encoder omitted as zero hold
    their zero value (``0``, ``""``, ``b""``, ``False``) or ``None`` for composite kinds. For
    encoding, fields not given are zero and are omitted, as Go omits them.
    """

    type_name: str
    fields: tuple[tuple[str, GobValue], ...] = ()

    @classmethod
    def of(cls, type_name: str, fields: Mapping[str, GobValue] | None = None) -> GobStruct:
        """Build from a mapping of Go field names to values."""
        return cls(type_name, tuple((fields or {}).items()))

    def __getitem__(self, key: str) -> GobValue:
        for name, value in self.fields:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self.fields)
        return f"GobStruct[{self.type_name}]({inner})"


@attrs.frozen
class GobInterface:
    """A non-nil interface value: the concrete type's registered name and its value.

    ``go_type`` is needed only to encode (it decides the type id and definitions sent); a
    decoded value carries ``None`` there.
    """

    name: str
    value: GobValue
    go_type: GoType | None = attrs.field(default=None, eq=False)


@attrs.frozen
class GobMarshaled:
    """A value of a type that marshals itself (GobEncoder, BinaryMarshaler or TextMarshaler):
    the Go type name and the bytes its method produced, kept opaque."""

    type_name: str
    data: bytes
