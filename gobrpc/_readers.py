"""Compiled readers: a received struct decoded straight into the attrs class bound to it.

The generic path is two steps: the decoder reads a :class:`GobStruct`, then ``structure`` checks
the wire type against the local one and builds the instance. When the caller knows the local type
before the value arrives (net/rpc does: the header names the method, the method its argument),
one pass can do both, as Go's decoder compiles an engine per (wire type, local type) pair on each
stream (``compileDec`` in decode.go). A reader is generated source, like the writers module's:
one block per wire field, the common cases (strings, byte strings, integers, nested bound structs
and slices of them) read inline, every other field handed to the generic decoder and then to the
schema's builder for its local type. Results and errors are those of the generic path:

- a reader exists only for a pair that passed the schema's compatibility check on this stream;
  otherwise the generic path runs, and ``structure`` reports the mismatch after the value;
- a value out of its local width is reported only once the whole value has been read (a corrupt
  byte later in the message wins, as it does when ``structure`` runs after decoding): the reader
  records the first such error on the cursor (:attr:`Cursor.bind_error`) and reads on;
- nesting, field-number and integer checks raise the decoder's texts at the same offsets.

Readers hold no stream state (the decoder and the current message come in through the cursor), so
one compiled for a pair is shared by every stream with the same definitions behind that pair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from ._errors import GobDecodeError, MessageTooLargeError
from ._generated import compile_generated
from ._schema import NARROW_INTS, builder, check_decodable, zero_factory
from ._types import (
    BYTES_ID,
    INT_ID,
    INT_RANGES,
    STRING_ID,
    UINT_ID,
    ZERO_VALUES,
    BasicType,
    GoType,
    SliceType,
    StructType,
    WireArray,
    WireMap,
    WireSlice,
    WireStruct,
    WireType,
    base_type,
)
from ._wire import STRING_ERRORS

if TYPE_CHECKING:
    from ._decoder import Decoder
    from ._wire import Reader

__all__ = [
    "MAX_INLINE_LEVELS",
    "MAX_SHARED_READERS",
    "Cursor",
    "Read",
    "compile_reader",
    "outruns_input",
]

#: Compiled readers kept for all streams of the process. A Lambda peer uses one small vocabulary
#: (aws-lambda-go's is 8 types), so a handful suffice; the cap keeps a sequence of hostile
#: connections, each with new definitions, from growing the table without bound. Past it, readers
#: are compiled per stream and kept only by their decoder.
MAX_SHARED_READERS = 256

_INT64_MAX = (1 << 63) - 1


class Cursor(Protocol):
    """What a reader needs of the decoder's cursor (the current message and the value's state)."""

    decoder: Decoder
    reader: Reader
    bind_error: GobDecodeError | None

    def where(self) -> str:
        """``at offset N`` for error texts."""


#: A compiled reader: the cursor, positioned after the value's type id or field delta, and the
#: nesting depth, as the decoder's ``_struct`` takes them; returns the class instance.
Read = Callable[[Cursor, int], object]

_SHARED: dict[tuple[object, ...], Read] = {}


def compile_reader(decoder: Decoder, into: GoType, wire_id: int) -> Read | None:
    """A reader for values of ``wire_id`` on ``decoder``'s stream into ``into``, or None.

    None means the generic path must run: ``into`` is not a struct bound to a class, the wire
    type is not a struct, or the pair fails the compatibility check (reported by ``structure``
    after the value, as before). Success is final for the stream, which never redefines an id.
    """
    t = base_type(into)
    types = decoder.types
    if not isinstance(t, StructType) or t.python_class is None:
        return None
    if not isinstance(types.get(wire_id), WireStruct):
        return None
    max_nesting = decoder.limits.max_nesting
    try:
        check_decodable(into, wire_id, types, set())
        builder(t, t.go_string)  # a class that binds badly raises here as ``structure`` would
        key = (t, wire_id, max_nesting, _definitions(types, wire_id))
        read = _SHARED.get(key)
        if read is None:
            read = _Compiler(types, max_nesting).struct(t, wire_id)
    except (GobDecodeError, ValueError, RecursionError):
        # The generic path meets the same problem where it always has (RecursionError: types
        # nested past Python's stack, which the generic path reports as it did).
        return None
    if len(_SHARED) < MAX_SHARED_READERS:
        _SHARED.setdefault(key, read)
    return read


def _definitions(types: Mapping[int, WireType], wire_id: int) -> frozenset[tuple[int, WireType]]:
    """Every definition reachable from ``wire_id``: what a reader compiled for it depends on."""
    found: dict[int, WireType] = {}
    todo = [wire_id]
    while todo:
        current = todo.pop()
        wire = types.get(current)
        if wire is None or current in found:
            continue
        found[current] = wire
        if isinstance(wire, WireStruct):
            todo.extend(f.id for f in wire.fields)
        elif isinstance(wire, WireMap):
            todo += (wire.key, wire.elem)
        elif isinstance(wire, WireSlice | WireArray):
            todo.append(wire.elem)
    return frozenset(found.items())


def _bound_struct(t: GoType) -> StructType | None:
    b = base_type(t)
    return b if isinstance(b, StructType) and b.python_class is not None else None


#: How many levels of nested bound structs are read inline, in their parent's generated code,
#: rather than by a call: the Lambda messages nest 3 deep (InvokeResponse -> Error -> StackTrace
#: frames), and deeper inlining only grows the source.
MAX_INLINE_LEVELS = 3


class _Compiler:
    """Compiles the readers of one pair and of the pairs nested in it (recursion-safe)."""

    def __init__(self, types: Mapping[int, WireType], max_nesting: int) -> None:
        self.types = types
        self.max_nesting = max_nesting
        self.done: dict[tuple[StructType, int], Read] = {}
        self.names = 0

    def struct(self, t: StructType, wire_id: int) -> Read:
        """The reader of wire struct ``wire_id`` into bound struct ``t``."""
        key = (t, wire_id)
        done = self.done.get(key)
        if done is not None:
            return done

        def forward(cur: Cursor, depth: int) -> object:
            return self.done[key](cur, depth)

        self.done[key] = forward  # what a recursive field calls while ``t`` is being compiled
        self.done[key] = read = self._generate(t, wire_id)
        return read

    def _unique(self) -> int:
        self.names += 1
        return self.names

    def _generate(self, t: StructType, wire_id: int) -> Read:
        namespace: dict[str, object] = {
            "GobDecodeError": GobDecodeError,
            "MessageTooLargeError": MessageTooLargeError,
            "INT64_MAX": _INT64_MAX,
            "MAX_NESTING": self.max_nesting,
            "STRING_ERRORS": STRING_ERRORS,
            "outruns_input": outruns_input,
        }
        body = self._struct_code(
            t, wire_id, "result", depth="depth", stack=((t, wire_id),), namespace=namespace
        )
        source = (
            "def read(cur, depth):\n"
            "    r = cur.reader\n"
            "    data = r.data\n"
            "    pos = r.pos\n"
            "    end = r.end\n"
            f"{_indent(body, 1)}"
            "    r.pos = pos\n"
            "    return result\n"
        )
        # Named without the struct's own wire id, which its text does not hold (a field's does).
        code = compile_generated(source, f"reader for {t.go_string}")
        exec(code, namespace)  # noqa: S102 - source built from templates
        read = namespace["read"]
        if not callable(read):  # pragma: no cover - the source above defines it
            raise TypeError("generated reader is not callable")
        return read

    def _struct_code(
        self,
        t: StructType,
        wire_id: int,
        target: str,
        *,
        depth: str,
        stack: tuple[tuple[StructType, int], ...],
        namespace: dict[str, object],
    ) -> str:
        """Code (at indent 0) that reads wire struct ``wire_id`` at nesting ``depth`` from the
        locals r, data, pos, end into a new instance of ``t``'s class, assigned to ``target``."""
        wire = self.types[wire_id]
        assert isinstance(wire, WireStruct)
        assert t.python_class is not None
        assert t.python_names is not None
        u = self._unique()
        namespace[f"cls{u}"] = t.python_class
        namespace[f"NAME{u}"] = wire.name or "struct"
        namespace[f"COUNT{u}"] = len(wire.fields)
        local = {
            f.name: (attribute, f.type)
            for f, attribute in zip(t.sent_fields, t.python_names, strict=True)
        }
        blocks = []
        final: dict[str, str] = {}  # attribute -> the last wire field bound to it (it wins)
        local_types = dict(local.values())
        for i, wf in enumerate(wire.fields):
            var = f"v{u}_{i}"
            match = local.get(wf.name)
            if match is None:
                blocks.append(_generic_code("_", wf.id, depth, None))
                continue
            attribute, local_type = match
            final[attribute] = var
            blocks.append(
                self._field_code(
                    var, wf.id, wf.name, local_type, depth=depth, stack=stack, namespace=namespace
                )
            )
        out_of_bounds = (
            "r.pos = pos\n"
            "raise GobDecodeError(\n"
            f'    f"gob: bad data: field numbers out of bounds: field {{field{u}}} "\n'
            f'    f"of {{NAME{u}}} "\n'
            f'    f"({{COUNT{u}}} fields) {{cur.where()}}",\n'
            '    go_text="gob: bad data: field numbers out of bounds",\n'
            ")\n"
        )
        if blocks:
            dispatch = "".join(
                f"{'if' if i == 0 else 'elif'} field{u} == {i}:\n{_indent(block, 1)}"
                for i, block in enumerate(blocks)
            )
            dispatch += "else:\n" + _indent(out_of_bounds, 1)
        else:  # no fields: any field number is out of bounds
            dispatch = out_of_bounds
        zeros = "".join(
            f"v{u}_{i} = {ZERO_VALUES.get(wf.id)!r}\n" for i, wf in enumerate(wire.fields)
        )
        # A field of a struct or array type that the encoder left out holds Go's zero of it.
        left_out = ""
        for attribute, var in final.items():
            make = zero_factory(local_types[attribute])
            if make is not None:
                namespace[f"zero_{var}"] = make
                left_out += f"if {var} is None:\n    {var} = zero_{var}()\n"
        arguments = ", ".join(f"{attribute}={var}" for attribute, var in final.items())
        return (
            f"{zeros}"
            f"field{u} = -1\n"
            "# Go accepts a struct whose message ends without the closing zero delta.\n"
            "while pos < end:\n"
            "    delta = data[pos]\n"
            "    if delta < 0x80:\n"
            "        pos += 1\n"
            "    else:\n"
            "        r.pos = pos\n"
            "        delta = r.read_uint()\n"
            "        pos = r.pos\n"
            "        if delta > INT64_MAX:  # Go converts the delta to int: it is negative\n"
            "            raise GobDecodeError(\n"
            '                f"gob: decode: corrupted data: negative delta {cur.where()}"\n'
            "            )\n"
            "    if delta == 0:\n"
            "        break\n"
            f"    field{u} += delta\n"
            f"{_indent(dispatch, 1)}"
            f"{left_out}"
            f"{target} = cls{u}({arguments})\n"
        )

    def _field_code(
        self,
        var: str,
        wire_id: int,
        go_name: str,
        local: GoType,
        *,
        depth: str,
        stack: tuple[tuple[StructType, int], ...],
        namespace: dict[str, object],
    ) -> str:
        """Code (at indent 0) reading one field of wire type ``wire_id`` into ``var``."""
        b = base_type(local)
        if wire_id == STRING_ID:
            return _sized_code(f"{var} = str(data[pos:stop], 'utf-8', STRING_ERRORS)\n")
        if wire_id == BYTES_ID:
            return _sized_code(
                f"{var} = data[pos:stop]\n"
                f"if {var}.__class__ is not bytes:\n"
                f"    {var} = bytes({var})\n"
            )
        if wire_id in (INT_ID, UINT_ID) and isinstance(b, BasicType):
            fold = f"{var} = ~(u >> 1) if u & 1 else u >> 1" if wire_id == INT_ID else f"{var} = u"
            code = _uint_code(fold)
            if b.kind in NARROW_INTS:
                u = self._unique()
                namespace[f"low{u}"], namespace[f"high{u}"] = INT_RANGES[b.kind]
                namespace[f"range{u}"] = f'value for "{go_name}" out of range'
                code += (
                    f"if not low{u} <= {var} <= high{u} and cur.bind_error is None:\n"
                    f"    cur.bind_error = GobDecodeError(range{u})\n"
                )
            return code
        wire = self.types.get(wire_id)
        nested = _bound_struct(local)
        if isinstance(wire, WireStruct) and nested is not None:
            return _deeper(depth) + self._nested_code(
                var, nested, wire_id, depth=f"{depth} + 1", stack=stack, namespace=namespace
            )
        if (
            isinstance(wire, WireSlice)
            and isinstance(b, SliceType)
            and isinstance(self.types.get(wire.elem), WireStruct)
            and (elem := _bound_struct(b.elem)) is not None
        ):
            u = self._unique()
            element = self._nested_code(
                f"item{u}", elem, wire.elem, depth=f"{depth} + 2", stack=stack, namespace=namespace
            )
            return (
                _deeper(depth)
                + "r.pos = pos\n"
                + f"count{u} = cur.decoder._count(cur, {wire.elem}, 'slice')\n"
                + "pos = r.pos\n"
                + f"if count{u}:\n"
                + _indent(_deeper(f"{depth} + 1", sync=False), 1)
                + f"{var} = []\n"
                + f"for _ in range(count{u}):\n"
                # Go's decodeArrayHelper: no element starts with nothing left of the message.
                + "    if pos >= end:\n"
                + "        r.pos = pos\n"
                + f"        raise GobDecodeError(outruns_input(count{u}, cur))\n"
                + _indent(element, 1)
                + f"    {var}.append(item{u})\n"
            )
        build = builder(local, go_name)
        if build is not None:
            u = self._unique()
            namespace[f"build{u}"] = build
            return _generic_code(var, wire_id, depth, f"build{u}")
        return _generic_code(var, wire_id, depth, None)

    def _nested_code(
        self,
        var: str,
        t: StructType,
        wire_id: int,
        *,
        depth: str,
        stack: tuple[tuple[StructType, int], ...],
        namespace: dict[str, object],
    ) -> str:
        """A nested bound struct at ``depth``: inline, or a call for a recursive or deep one."""
        key = (t, wire_id)
        if key not in stack and len(stack) < MAX_INLINE_LEVELS:
            return self._struct_code(
                t, wire_id, var, depth=depth, stack=(*stack, key), namespace=namespace
            )
        u = self._unique()
        namespace[f"read{u}"] = self.struct(t, wire_id)
        return f"r.pos = pos\n{var} = read{u}(cur, {depth})\n" + _RELOAD


def _indent(code: str, levels: int) -> str:
    return "".join(
        "    " * levels + line if line.strip() else line for line in code.splitlines(True)
    )


def outruns_input(count: int, cur: Cursor, kind: str = "array or slice") -> str:
    """Go's text for a slice, array or map whose count outruns the message."""
    return f"gob: decoding {kind}: length exceeds input size ({count} elements) {cur.where()}"


#: After a call that may have read on into the value's next message (an interface inside).
_RELOAD = "r = cur.reader\ndata = r.data\npos = r.pos\nend = r.end\n"


def _deeper(depth: str, *, sync: bool = True) -> str:
    """The decoder's nesting check before a struct or slice value at ``depth`` (``sync``: first
    bring the reader's position up to date for the error's offset)."""
    return (
        f"if {depth} >= MAX_NESTING:\n"
        + ("    r.pos = pos\n" if sync else "")
        + "    raise MessageTooLargeError(\n"
        + '        f"gob: value nests deeper than {MAX_NESTING} {cur.where()}"\n'
        + "    )\n"
    )


def _uint_code(assign: str) -> str:
    """Read an unsigned integer into ``u`` (inline; the Reader raises the errors), then
    ``assign``."""
    return (
        "if pos < end and (u := data[pos]) < 0x80:\n"
        "    pos += 1\n"
        "elif pos < end and (stop := pos + 257 - u) <= end and u >= 0xF8:\n"
        "    u = int.from_bytes(data[pos + 1 : stop], 'big')\n"
        "    pos = stop\n"
        "else:\n"
        "    r.pos = pos\n"
        "    u = r.read_uint()\n"
        "    pos = r.pos\n"
        f"{assign}\n"
    )


def _sized_code(assign: str) -> str:
    """A length-prefixed string or byte string, the Reader's checks and texts inline."""
    return (
        "if pos < end and (n := data[pos]) < 0x80:\n"
        "    pos += 1\n"
        "else:\n"
        "    r.pos = pos\n"
        "    n = r.read_uint()\n"
        "    pos = r.pos\n"
        "stop = pos + n\n"
        "if stop > end:\n"
        "    raise GobDecodeError(\n"
        '        f"gob: length {n} at offset {pos} exceeds the {end - pos} bytes left"\n'
        "    )\n"
        f"{assign}"
        "pos = stop\n"
    )


def _generic_code(var: str, wire_id: int, depth: str, build: str | None) -> str:
    """A field the generic decoder reads (then the schema's builder ``build`` binds, if any)."""
    code = f"r.pos = pos\n{var} = cur.decoder._value(cur, {wire_id}, {depth})\n" + _RELOAD
    if build is not None:
        code += (
            f"if {var} is not None:\n"
            "    try:\n"
            f"        {var} = {build}({var})\n"
            "    except GobDecodeError as exc:\n"
            "        if cur.bind_error is None:\n"
            "            cur.bind_error = exc\n"
        )
    return code
