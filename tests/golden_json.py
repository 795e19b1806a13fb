"""Reading golden/: Go's TYPE DESC and VALUE JSON (see golden/README.md) as gobrpc types, values."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from gobrpc import (
    ArrayType,
    BasicType,
    Field,
    GobInterface,
    GobMarshaled,
    GobStruct,
    GoType,
    InterfaceType,
    Kind,
    MapType,
    MarshalerType,
    MarshalMethod,
    PointerType,
    SliceType,
    StructType,
    UnsentType,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
GOB_CASES = sorted((GOLDEN / "gob").glob("*.json"))
TRANSCRIPTS = sorted((GOLDEN / "transcripts").glob("*.json"))

Json = Any  # parsed JSON from our own fixtures


def load(path: Path) -> Json:
    """Parse one fixture."""
    return json.loads(path.read_text())


def _split(string: str, name: str) -> tuple[str, str]:
    pkg, dot, rest = string.rpartition(".")
    return (pkg, rest) if dot and rest == name else ("", name)


def go_type(desc: Json, refs: dict[str, StructType] | None = None) -> GoType:
    """A gobrpc GoType from a TYPE DESC."""
    refs = {} if refs is None else refs
    kind, name, string = desc["kind"], desc.get("name", ""), desc.get("string", "")
    package, name = _split(string, name) if name else ("", "")
    if "marshaler" in desc and desc["kind"] != "ptr":
        return MarshalerType(MarshalMethod(desc["marshaler"]), name, package)
    if kind == "ref":
        return refs[string]
    if kind == "ptr":
        return PointerType(go_type(desc["elem"], refs))
    if kind == "struct":
        if name and string in refs:
            return refs[string]  # one Go type per name in a process, as reflect has it
        st = StructType(name, package)
        refs[string] = st
        st.fields = tuple(Field(f["name"], go_type(f["type"], refs)) for f in desc["fields"])
        return st
    if kind == "slice":
        elem = desc["elem"]
        if elem["kind"] == "uint8":
            return BasicType(Kind.BYTES, name, package)
        return SliceType(go_type(elem, refs), name, package)
    if kind == "array":
        return ArrayType(go_type(desc["elem"], refs), desc["len"], name, package)
    if kind == "map":
        return MapType(go_type(desc["key"], refs), go_type(desc["elem"], refs), name, package)
    if kind == "interface":
        return InterfaceType(name, package)
    if kind in ("chan", "func", "unsafe"):
        return UnsentType(string)
    predeclared = name == kind
    return BasicType(Kind(kind), "" if predeclared else name, "" if predeclared else package)


def pattern(length: int, seed: int) -> bytes:
    """golden/README.md's generator for large byte strings: byte i = (i*31 + seed) & 0xff."""
    return bytes((i * 31 + seed) & 0xFF for i in range(length))


def _float(bits: str) -> float:
    return float(struct.unpack(">d", bytes.fromhex(bits))[0])


def value(t: GoType, v: Json, refs: dict[str, StructType] | None = None) -> Any:
    """A gobrpc encoder value from VALUE JSON of type ``t``."""
    if isinstance(t, PointerType):
        return None if v is None else value(t.elem, v, refs)
    if isinstance(t, MarshalerType):
        if v is None or v.get("zero"):
            return None  # gob omits a zero marshaler field; None is how gobrpc says "zero"
        return GobMarshaled(t.name, bytes.fromhex(v["marshaled"]))
    if isinstance(t, BasicType):
        if t.kind is Kind.BYTES:
            if v is None:
                return None
            if "bytes_pattern" in v:
                return pattern(v["bytes_pattern"]["len"], v["bytes_pattern"]["seed"])
            return bytes.fromhex(v["bytes"])
        if t.kind in (Kind.FLOAT32, Kind.FLOAT64):
            return _float(v)
        if t.kind in (Kind.COMPLEX64, Kind.COMPLEX128):
            return complex(_float(v[0]), _float(v[1]))
        if t.kind is Kind.STRING and isinstance(v, dict):
            return bytes.fromhex(v["hex"]).decode("utf-8", "surrogateescape")
        return v
    if isinstance(t, SliceType | ArrayType):
        return None if v is None else [value(t.elem, x, refs) for x in v]
    if isinstance(t, MapType):
        if v is None:
            return None
        return {_hashable(value(t.key, k, refs)): value(t.elem, x, refs) for k, x in v}
    if isinstance(t, StructType):
        return GobStruct.of(
            t.name, {f.name: value(f.type, v.get(f.name), refs) for f in t.fields if f.name in v}
        )
    if isinstance(t, InterfaceType):
        if v is None:
            return None
        concrete = go_type(v["type"], refs)
        return GobInterface(v["name"], value(concrete, v["value"], refs), concrete)
    return None


def _hashable(v: object) -> object:
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


def writes(case: Json) -> list[bytes]:
    """The Write calls Go made, from hex or from the companion .bin file."""
    if "writes" in case:
        return [bytes.fromhex(w) for w in case["writes"]]
    blob = (GOLDEN / "gob" / case["writes_file"]).read_bytes()
    out, pos = [], 0
    for n in case["write_lengths"]:
        out.append(blob[pos : pos + n])
        pos += n
    return out
