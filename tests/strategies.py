"""Hypothesis strategies shared by the whole suite: random Go types and values of those types."""

from __future__ import annotations

import itertools
import math
import struct
from typing import TypeAlias

from hypothesis import strategies as st

from gobrpc import (
    ArrayType,
    BasicType,
    Field,
    GobStruct,
    GoType,
    Kind,
    MapType,
    PointerType,
    SliceType,
    StructType,
)
from gobrpc._types import INT_RANGES

INT_BOUNDS: dict[Kind, tuple[int, int]] = {
    k: r for k, r in INT_RANGES.items() if k is not Kind.UINTPTR
}
SCALAR_KINDS = [*INT_BOUNDS, Kind.BOOL, Kind.FLOAT64, Kind.FLOAT32, Kind.STRING, Kind.BYTES]
KEY_KINDS = [Kind.INT64, Kind.UINT32, Kind.STRING]

Pair: TypeAlias = tuple[GoType, object]


def int_values(kind: Kind) -> st.SearchStrategy[int]:
    """Integers of a Go width, with the extremes and zero weighted in."""
    low, high = INT_BOUNDS[kind]
    return st.one_of(st.sampled_from([low, high, 0, -1 if low < 0 else 1]), st.integers(low, high))


def float32_values() -> st.SearchStrategy[float]:
    """float32 values (as Go widens them), including NaN, infinities and -0.0."""
    return st.floats(width=32, allow_nan=True).map(
        lambda f: f if math.isnan(f) else struct.unpack("<f", struct.pack("<f", f))[0]
    )


def strings() -> st.SearchStrategy[str]:
    """Strings, including ones from arbitrary (possibly non-UTF-8) bytes."""
    return st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")))


def scalar_values(kind: Kind) -> st.SearchStrategy[object]:
    """Values of one basic kind."""
    if kind in INT_BOUNDS:
        return int_values(kind)
    if kind is Kind.BOOL:
        return st.booleans()
    if kind is Kind.FLOAT64:
        return st.floats(allow_nan=True)
    if kind is Kind.FLOAT32:
        return float32_values()
    if kind is Kind.STRING:
        return strings()
    return st.binary()


def go_types(max_depth: int = 3) -> st.SearchStrategy[GoType]:
    """Random Go types: basics, slices, arrays, maps, pointers and (nested) structs."""
    basic = st.sampled_from(SCALAR_KINDS).map(BasicType)
    if max_depth == 0:
        return basic
    inner = go_types(max_depth - 1)
    return st.one_of(
        basic,
        inner.map(SliceType),
        st.tuples(inner, st.integers(0, 3)).map(lambda p: ArrayType(p[0], p[1])),
        st.tuples(st.sampled_from(KEY_KINDS).map(BasicType), inner).map(lambda p: MapType(*p)),
        st.tuples(st.integers(0, 999), st.lists(st.tuples(inner, st.booleans()), max_size=4)).map(
            lambda p: StructType(
                f"S{p[0]}",
                "main",
                tuple(
                    Field(f"F{i}", PointerType(t) if ptr and isinstance(t, StructType) else t)
                    for i, (t, ptr) in enumerate(p[1])
                ),
            )
        ),
    )


def values_of(t: GoType, depth: int = 0) -> st.SearchStrategy[object]:
    """Values of Go type ``t`` in gobrpc's encoding form."""
    if isinstance(t, BasicType):
        return scalar_values(t.kind)
    if isinstance(t, PointerType):
        return st.one_of(st.none(), values_of(t.elem, depth))
    if isinstance(t, SliceType):
        if isinstance(t.elem, BasicType) and t.elem.kind is Kind.UINT8:
            return st.binary()  # Go's []uint8 is []byte
        return st.lists(values_of(t.elem, depth + 1), max_size=3)
    if isinstance(t, ArrayType):
        return st.lists(values_of(t.elem, depth + 1), min_size=t.length, max_size=t.length)
    if isinstance(t, MapType):
        return st.dictionaries(values_of(t.key), values_of(t.elem, depth + 1), max_size=3)
    assert isinstance(t, StructType)
    names = [f.name for f in t.fields]
    return st.tuples(*(values_of(f.type, depth + 1) for f in t.fields)).map(
        lambda vs: GobStruct.of(t.name, dict(zip(names, vs, strict=True)))
    )


def typed_values() -> st.SearchStrategy[Pair]:
    """(Go type, value of that type) pairs."""
    return go_types().flatmap(lambda t: st.tuples(st.just(t), values_of(t)))


def split_points(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """``data`` cut into chunks at random points."""
    return st.lists(st.integers(0, len(data)), max_size=8).map(
        lambda cuts: [data[a:b] for a, b in _pairs(sorted({0, len(data), *cuts}))]
    )


def _pairs(points: list[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(points))
