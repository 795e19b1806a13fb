"""A captured gob stream as JSON records, for people debugging traffic (``python -m gobrpc dump``).

Each record is a dict ready for ``json.dumps``, one per message, in stream order:

- ``{"offset", "length", "kind": "type", "id", "name", "wire"}``: a type definition. ``offset``
  is where the message (its length prefix) starts in the stream and ``length`` its size with the
  prefix. ``wire`` is the definition as sent, e.g. ``{"struct": {"fields": [{"name": "X",
  "id": 2, "type": "int"}]}}``; a field's or element's ``type`` is given when its id is known at
  that point (a builtin, or defined earlier).
- ``{"offset", "length", "kind": "value", "type_id", "type", "value"}``: a value, with the name
  the stream gave its type. Definitions that travelled inside it (interface fields) come first,
  as type records with ``"inline": true``.
- With ``rpc``, value records also say ``"rpc": "header"`` or ``"body"``, the ``seq`` and the
  ``method``; a header says ``"header": "Request"`` or ``"Response"`` (net/rpc's two header
  types tell the directions apart), and a response header its ``error``.
- ``{"offset", "kind": "error", "error"}``: the stream is bad from ``offset`` on (the start of
  the message that failed, or where the input ended). Nothing follows an error.

Values (:func:`json_value`) keep Go's names: a struct is ``{"struct": TypeName, "fields":
{GoName: value}}``, an interface ``{"interface": registered name, "value": v}``, a map ``{"map":
[[key, value], ...]}`` in wire order, a GobEncoder/BinaryMarshaler value ``{"marshaled":
TypeName, "bytes": hex}``. Lossless where JSON is not: ``[]byte`` is ``{"bytes": hex}``, a
string that is not UTF-8 is ``{"hex": hex}`` (the golden files' conventions), NaN and the
infinities are the strings ``"NaN"``, ``"+Inf"``, ``"-Inf"`` (Go's spelling), a complex number is
``{"complex": [re, im]}``. Names that are not UTF-8 (only a broken peer sends those) show their
bad bytes as ``\\xNN``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TypeAlias

from ._decoder import BUILTIN_NAMES, DecodedValue, Decoder, NeedData, TypeDefinition
from ._errors import GobDecodeError, RemoteProtocolError
from ._limits import DEFAULT_LIMITS, Limits
from ._rpc import REQUEST, RESPONSE, RequestHeader, ResponseHeader
from ._schema import structure
from ._types import (
    WireArray,
    WireMap,
    WireMarshaler,
    WireSlice,
    WireStruct,
    WireType,
)
from ._values import GobInterface, GobMarshaled, GobStruct, GobValue
from ._wire import STRING_ERRORS

__all__ = ["JsonValue", "Record", "StreamDumper", "dump_messages", "iter_dump", "json_value"]

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
Record: TypeAlias = dict[str, JsonValue]

_HEADERS = {"Request": REQUEST, "Response": RESPONSE}


def _name(text: str) -> str:
    """A name as printable text: bytes that were not UTF-8 shown as ``\\xNN``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", STRING_ERRORS).decode("utf-8", "backslashreplace")
    return text


def _float(f: float) -> JsonValue:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return f


def json_value(value: GobValue) -> JsonValue:
    """A decoded gob value as JSON data, losslessly and with Go's names (see the module doc)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return {"hex": value.encode("utf-8", STRING_ERRORS).hex()}
        return value
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, complex):
        return {"complex": [_float(value.real), _float(value.imag)]}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {"map": [[json_value(k), json_value(v)] for k, v in value.items()]}
    if isinstance(value, GobStruct):
        return {
            "struct": _name(value.type_name),
            "fields": {_name(k): json_value(v) for k, v in value.fields},
        }
    if isinstance(value, GobInterface):
        return {"interface": _name(value.name), "value": json_value(value.value)}
    assert isinstance(value, GobMarshaled)
    return {"marshaled": _name(value.type_name), "bytes": value.data.hex()}


class StreamDumper:
    """Sans-IO: bytes of one gob stream in, :data:`Record` lists out.

    Feed the stream in any chunking with :meth:`feed`, then call :meth:`close` at its end. After
    an error record nothing more is produced (:attr:`failed`).
    """

    def __init__(self, *, rpc: bool = False, limits: Limits = DEFAULT_LIMITS) -> None:
        self.rpc = rpc
        self.decoder = Decoder(limits)
        self.failed = False
        #: net/rpc: the header type of this direction once seen, and the header awaiting a body.
        self._direction: str | None = None
        self._header: Record | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[Record]:
        """Records for everything the stream completes with ``data``."""
        if self.failed:
            return []
        self.decoder.receive_data(data)
        records: list[Record] = []
        while True:
            offset = self.decoder.frames.stream_offset
            try:
                item = self.decoder.next_item()
                if isinstance(item, NeedData):
                    return records
                length = self.decoder.frames.stream_offset - offset
                if isinstance(item, TypeDefinition):
                    records.append(self._definition(item, offset, length))
                else:
                    for inline in item.inline_definitions:
                        records.append(self._definition(inline, inline.offset, None))
                    records.append(self._value(item, offset, length))
            except RemoteProtocolError as exc:
                records.append(self._error(offset, str(exc)))
                return records

    def close(self) -> list[Record]:
        """Records for the end of the stream: an error if it stopped in the middle of something."""
        if self.failed:
            return []
        offset = self.decoder.frames.stream_offset
        try:
            self.decoder.check_eof()
        except RemoteProtocolError as exc:
            return [self._error(offset, str(exc))]
        if self._header is not None:
            return [
                self._error(
                    offset,
                    f"unexpected EOF: no body after the {self._direction} header of seq "
                    f"{self._header['seq']}",
                )
            ]
        return []

    def _error(self, offset: int, text: str) -> Record:
        self.failed = True
        return {"offset": offset, "kind": "error", "error": _name(text)}

    def _type_ref(self, type_id: int) -> Record:
        name = BUILTIN_NAMES.get(type_id)
        wire = self.decoder.types.get(type_id)
        if name is None and wire is not None:
            name = wire.name
        return {"id": type_id} if name is None else {"id": type_id, "type": _name(name)}

    def _wire(self, wire: WireType) -> Record:
        if isinstance(wire, WireStruct):
            fields: list[JsonValue] = [
                {"name": _name(f.name), **self._type_ref(f.id)} for f in wire.fields
            ]
            return {"struct": {"fields": fields}}
        if isinstance(wire, WireSlice):
            return {"slice": {"elem": self._type_ref(wire.elem)}}
        if isinstance(wire, WireArray):
            return {"array": {"elem": self._type_ref(wire.elem), "len": wire.length}}
        if isinstance(wire, WireMap):
            return {"map": {"key": self._type_ref(wire.key), "elem": self._type_ref(wire.elem)}}
        if isinstance(wire, WireMarshaler):
            return {wire.method.value: {}}
        return {}  # a WireEmpty: the definition sets no kind

    def _definition(self, item: TypeDefinition, offset: int, length: int | None) -> Record:
        record: Record = {"offset": offset}
        if length is None:
            record["inline"] = True
        else:
            record["length"] = length
        record.update(
            kind="type", id=item.id, name=_name(item.wire.name), wire=self._wire(item.wire)
        )
        return record

    def _value(self, item: DecodedValue, offset: int, length: int) -> Record:
        record: Record = {
            "offset": offset,
            "length": length,
            "kind": "value",
            "type_id": item.type_id,
            "type": _name(item.type_name),
        }
        if self.rpc:
            record.update(self._rpc_labels(item))
        record["value"] = json_value(item.value)
        return record

    def _rpc_labels(self, item: DecodedValue) -> Record:
        header = self._header
        if header is not None:
            self._header = None
            return {"rpc": "body", "seq": header["seq"], "method": header["method"]}
        go_type = _HEADERS.get(item.type_name)
        if go_type is None or self._direction not in (None, item.type_name):
            expected = self._direction or "Request or Response"
            raise GobDecodeError(
                f"net/rpc: expected a {expected} header, got a value of type "
                f"{_name(item.type_name)!r}"
            )
        decoded = structure(go_type, item.type_id, self.decoder.types, item.value)
        assert isinstance(decoded, RequestHeader | ResponseHeader)
        self._direction = item.type_name
        labels: Record = {
            "rpc": "header",
            "header": item.type_name,
            "seq": json_value(decoded.seq),
            "method": json_value(decoded.service_method),
        }
        if isinstance(decoded, ResponseHeader):
            labels["error"] = json_value(decoded.error)
        self._header = labels
        return labels


def iter_dump(
    chunks: Iterable[bytes], *, rpc: bool = False, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record]:
    """Records for a stream given in chunks (e.g. read from a file), yielded as they complete."""
    dumper = StreamDumper(rpc=rpc, limits=limits)
    for chunk in chunks:
        yield from dumper.feed(chunk)
        if dumper.failed:
            return
    yield from dumper.close()


def dump_messages(
    data: bytes, *, rpc: bool = False, limits: Limits = DEFAULT_LIMITS
) -> list[Record]:
    """Every record of one whole captured stream; never raises for bad bytes.

    A bad stream ends with an ``"kind": "error"`` record (see the module doc). ``rpc`` reads the
    stream as one direction of net/rpc and labels headers and bodies.
    """
    return list(iter_dump([data], rpc=rpc, limits=limits))
