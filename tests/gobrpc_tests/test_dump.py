"""The dump tool: golden streams as JSON records, net/rpc labels checked against transcripts."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from codec_helpers import decode_all, expected
from golden_json import GOB_CASES, TRANSCRIPTS, go_type, load, value, writes

from gobrpc import (
    FIRST_USER_ID_GO_1_21,
    BasicType,
    DecodedValue,
    Encoder,
    Field,
    GobInterface,
    GobMarshaled,
    GobStruct,
    Kind,
    SliceType,
    StructType,
    TypeDefinition,
    TypeRegistry,
    WireEmpty,
)
from gobrpc._dump import dump_messages as _dump_messages
from gobrpc._dump import iter_dump, json_value
from gobrpc._encoder import encode_wire_type

ROOT = Path(__file__).resolve().parents[2]
CASES = [pytest.param(p, id=p.stem) for p in GOB_CASES]
# Cases whose writes are inline hex: the others carry large payloads in a .bin file.
SMALL_CASES = [pytest.param(p, id=p.stem) for p in GOB_CASES if "writes" in load(p)]
CONNECTIONS = [
    pytest.param(path, index, id=f"{path.stem}-{index}")
    for path in TRANSCRIPTS
    for index in range(len(load(path)["connections"]))
]


def dump_messages(data: bytes, *, rpc: bool = False) -> list[dict[str, Any]]:
    """The records, typed loosely for reading in tests."""
    return [dict(r) for r in _dump_messages(data, rpc=rpc)]


def _stream(case: dict[str, Any]) -> bytes:
    return b"".join(writes(case))


def _lines(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r, ensure_ascii=False, allow_nan=False) for r in records]


def _sorted_maps(v: Any) -> Any:
    """Map pairs in a fixed order, for cases whose maps Go wrote in random order."""
    if isinstance(v, list):
        return [_sorted_maps(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"map"}:
            pairs = [[_sorted_maps(k), _sorted_maps(x)] for k, x in v["map"]]
            return {"map": sorted(pairs, key=lambda p: json.dumps(p[0], sort_keys=True))}
        return {k: _sorted_maps(x) for k, x in v.items()}
    return v


# --- every golden stream -------------------------------------------------------------------


@pytest.mark.parametrize("path", CASES)
def test_every_golden_stream_dumps(path: Path) -> None:
    case = load(path)
    data = _stream(case)
    records = dump_messages(data)
    items = decode_all([data]) if "encode_error" not in case else None
    if items is None:
        # Go failed mid-encode: its definitions went out, the value did not.
        assert records[-1]["kind"] == "error" if data else records == []
        if data:
            assert records[-1]["error"].startswith("unexpected EOF")
            assert records[-1]["offset"] == len(data)
        return
    assert all(r["kind"] in ("type", "value") for r in records)
    assert [r["kind"] for r in records if "inline" not in r] == [
        "type" if isinstance(i, TypeDefinition) else "value" for i in items
    ]
    # Top-level messages tile the stream exactly: offsets and lengths are the real framing.
    top = [r for r in records if "inline" not in r]
    assert top[0]["offset"] == 0
    for before, after in itertools.pairwise(top):
        assert before["offset"] + before["length"] == after["offset"]
    assert top[-1]["offset"] + top[-1]["length"] == len(data)
    for record, item in zip(top, items, strict=True):
        if isinstance(item, TypeDefinition):
            assert (record["id"], record["name"]) == (item.id, item.wire.name)
        else:
            assert isinstance(item, DecodedValue)
            assert (record["type_id"], record["type"]) == (item.type_id, item.type_name)


@pytest.mark.parametrize("path", CASES)
def test_dumped_values_are_gobs_meaning_of_gos_values(path: Path) -> None:
    """The value records equal Go's values (golden VALUE JSON) under gob's rules, as JSON."""
    case = load(path)
    if "encode_error" in case:
        pytest.skip("Go refused to encode this value")
    registry = TypeRegistry(FIRST_USER_ID_GO_1_21)
    encoder = Encoder(registry)
    refs: dict[str, StructType] = {}
    wanted = []
    for item in case["values"]:
        t = go_type(item["type"], refs)
        v = value(t, item["value"], refs)
        encoder.encode(t, v)  # builds the registry's names as Go's process did
        wanted.append(_sorted_maps(json_value(expected(t, v, registry))))
    got = [_sorted_maps(r["value"]) for r in dump_messages(_stream(case)) if r["kind"] == "value"]
    assert got == wanted


@pytest.mark.parametrize("path", SMALL_CASES)
def test_output_is_stable_json_whatever_the_chunking(path: Path) -> None:
    data = _stream(load(path))
    whole = _lines(dump_messages(data))
    assert _lines(dump_messages(data)) == whole
    assert _lines(list(iter_dump([data[i : i + 1] for i in range(len(data))]))) == whole
    for line in whole:
        assert _lines([json.loads(line)]) == [line]
        assert "NaN" not in line.replace('"NaN"', "")  # no bare NaN/Infinity tokens


# --- how values are shown --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("v", "shown"),
    [
        (None, None),
        (True, True),
        (-(1 << 63), -(1 << 63)),
        ((1 << 64) - 1, (1 << 64) - 1),
        (1.5, 1.5),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (complex(1, math.nan), {"complex": [1.0, "NaN"]}),
        ("héllo", "héllo"),
        (b"\x00\xff", {"bytes": "00ff"}),
        (b"\xffok".decode("utf-8", "surrogateescape"), {"hex": "ff6f6b"}),
        ([1, [2]], [1, [2]]),
        ({"b": 1, "a": None}, {"map": [["b", 1], ["a", None]]}),
        (
            GobStruct.of("Point", {"X": 22, "Y": b"\x01"}),
            {"struct": "Point", "fields": {"X": 22, "Y": {"bytes": "01"}}},
        ),
        (GobInterface("main.Count", 5), {"interface": "main.Count", "value": 5}),
        (GobMarshaled("Time", b"\x01\x02"), {"marshaled": "Time", "bytes": "0102"}),
    ],
)
def test_json_value(v: Any, shown: Any) -> None:
    assert json_value(v) == shown
    json.dumps(json_value(v), allow_nan=False)


def test_negative_zero_is_kept() -> None:
    assert json.dumps(json_value(-0.0)) == "-0.0"


def test_bad_utf8_in_names_is_escaped_not_lost() -> None:
    bad = b"T\xff".decode("utf-8", "surrogateescape")
    node = StructType(bad, "main", (Field("X", BasicType(Kind.INT)),))
    data = Encoder(TypeRegistry()).encode(node, GobStruct.of(bad, {"X": 1}))
    records = dump_messages(data)
    assert [r["name"] for r in records if r["kind"] == "type"] == ["T\\xff"]
    assert records[-1]["value"] == {"struct": "T\\xff", "fields": {"X": 1}}
    _lines(records)  # encodable: no lone surrogates left


def test_a_definition_that_sets_no_kind_dumps_with_an_empty_wire() -> None:
    # wireType{} for id 65 (Go stores it; only a value that uses it fails), then Point{22, 33}.
    point = b"".join(writes(load(next(p for p in GOB_CASES if p.stem == "point"))))
    records = dump_messages(b"\x03\xff\x81\x00" + point)
    assert records[0] == {
        "offset": 0,
        "length": 4,
        "kind": "type",
        "id": 65,
        "name": "",
        "wire": {},
    }
    assert [r["kind"] for r in records[1:]] == ["type", "value"]
    # The encoder writes the same wireType for it.
    out = bytearray()
    encode_wire_type(out, WireEmpty())
    assert out == b"\x00"


# --- net/rpc labels --------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "index"), CONNECTIONS)
def test_rpc_requests_are_labelled_as_recorded(path: Path, index: int) -> None:
    connection = load(path)["connections"][index]
    data = bytes.fromhex(connection["client_to_server"])
    records = dump_messages(data, rpc=True)
    calls = [c for c in connection["calls"] if c["seq"] is not None]
    garbage = [c for c in connection["calls"] if c["seq"] is None]
    values = [r for r in records if r["kind"] == "value"]
    assert [(r["rpc"], r["seq"], r["method"]) for r in values] == [
        (part, c["seq"], c["service_method"]) for c in calls for part in ("header", "body")
    ]
    for c, (header, body) in zip(calls, zip(values[::2], values[1::2], strict=True), strict=True):
        start, end = c["client_bytes"]
        assert start <= header["offset"] < body["offset"] < body["offset"] + body["length"] <= end
        assert header["header"] == "Request"
        assert header["type"] == "Request"
        assert body["type"] == c["request_type"]
    if garbage:
        assert records[-1]["kind"] == "error"
        assert records[-1]["offset"] == garbage[0]["client_bytes"][0]
    else:
        assert records[-1]["kind"] == "value"


@pytest.mark.parametrize(("path", "index"), CONNECTIONS)
def test_rpc_responses_are_labelled_as_recorded(path: Path, index: int) -> None:
    connection = load(path)["connections"][index]
    data = bytes.fromhex(connection["server_to_client"])
    records = dump_messages(data, rpc=True)
    assert all(r["kind"] != "error" for r in records)
    answered = [c for c in connection["calls"] if c["server_bytes"][0] < c["server_bytes"][1]]
    values = [r for r in records if r["kind"] == "value"]
    assert len(values) == 2 * len(answered)
    for c, header, body in zip(answered, values[::2], values[1::2], strict=True):
        start, end = c["server_bytes"]
        assert start <= header["offset"] < body["offset"] < body["offset"] + body["length"] <= end
        assert (header["rpc"], header["header"]) == ("header", "Response")
        assert (header["seq"], header["method"]) == (c["seq"], c["service_method"])
        assert header["error"] == c.get("response_header", {}).get("Error", c["error"])
        assert (body["rpc"], body["seq"], body["method"]) == ("body", c["seq"], c["service_method"])
        # An error reply's body is net/rpc's unnamed struct{}.
        assert body["type"] == ("" if header["error"] else c["response_type"])


def _request_stream(*headers: tuple[StructType, GobStruct]) -> bytes:
    encoder = Encoder(TypeRegistry())
    return b"".join(encoder.encode(t, v) for t, v in headers)


def test_rpc_refuses_a_value_that_is_not_a_header() -> None:
    data = Encoder(TypeRegistry()).encode(BasicType(Kind.INT), 7)
    records = dump_messages(data, rpc=True)
    assert records[-1]["kind"] == "error"
    assert "expected a Request or Response header" in records[-1]["error"]
    assert records[-1]["offset"] == 0


def test_rpc_refuses_a_response_header_in_a_request_stream() -> None:
    from gobrpc import REQUEST, RESPONSE

    encoder = Encoder(TypeRegistry())
    first = encoder.encode(REQUEST, GobStruct.of("Request", {"ServiceMethod": "A.B"}))
    first += encoder.encode(BasicType(Kind.INT), 1)
    second = encoder.encode(RESPONSE, GobStruct.of("Response", {"ServiceMethod": "A.B"}))
    records = dump_messages(first + second, rpc=True)
    assert [r["kind"] for r in records] == ["type", "value", "value", "type", "error"]
    assert "expected a Request header" in records[-1]["error"]
    # The Response definition is fine on its own; the header value after it is not.
    assert records[-2]["offset"] == len(first)
    assert records[-1]["offset"] == len(first) + records[-2]["length"]


def test_rpc_header_with_no_body_is_an_error_at_the_end() -> None:
    from gobrpc import REQUEST

    data = Encoder(TypeRegistry()).encode(
        REQUEST, GobStruct.of("Request", {"ServiceMethod": "Function.Ping", "Seq": 3})
    )
    records = dump_messages(data, rpc=True)
    assert records[-2]["rpc"] == "header"
    assert records[-1] == {
        "offset": len(data),
        "kind": "error",
        "error": "unexpected EOF: no body after the Request header of seq 3",
    }


# --- errors and the command line ------------------------------------------------------------


def _point_stream() -> bytes:
    return _stream(load(ROOT / "golden" / "gob" / "point.json"))


def test_truncated_stream_prints_what_decoded_then_the_error() -> None:
    data = _point_stream()
    records = dump_messages(data[:-3])
    assert [r["kind"] for r in records] == ["type", "error"]
    assert records[-1]["offset"] == records[0]["length"]
    assert records[-1]["error"].startswith("unexpected EOF")


def test_bad_bytes_mid_stream_stop_the_dump_at_their_offset() -> None:
    data = _point_stream()
    bad = data + b"\x02\x7f\x00" + data  # a definition of id 64 again: duplicate
    records = dump_messages(bad)
    assert [r["kind"] for r in records] == ["type", "value", "error"]
    assert records[-1]["offset"] == len(data)
    assert "gob: duplicate type received" in records[-1]["error"]


def _run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gobrpc", *args], input=stdin, capture_output=True, check=False
    )


def test_cli_prints_one_json_line_per_record(tmp_path: Path) -> None:
    data = _stream(load(ROOT / "golden" / "gob" / "interface_fields.json"))
    capture = tmp_path / "capture.gob"
    capture.write_bytes(data)
    from_file = _run("dump", str(capture))
    from_stdin = _run("dump", "-", stdin=data)
    assert from_file.returncode == from_stdin.returncode == 0
    assert from_file.stdout == from_stdin.stdout
    assert from_file.stdout.decode().splitlines() == _lines(dump_messages(data))


def test_cli_rpc_and_error_exit_status() -> None:
    transcript = load(ROOT / "golden" / "transcripts" / "header_decode_error.json")
    data = bytes.fromhex(transcript["connections"][0]["client_to_server"])
    result = _run("dump", "--rpc", "-", stdin=data)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line["kind"] for line in lines] == ["type", "value", "type", "value", "error"]
    assert lines[-1]["offset"] == transcript["connections"][0]["calls"][1]["client_bytes"][0]
    assert lines[1]["rpc"] == "header"


def test_cli_usage_errors(tmp_path: Path) -> None:
    missing = _run("dump", str(tmp_path / "nope.gob"))
    assert missing.returncode == 2
    assert b"cannot read" in missing.stderr
    assert _run().returncode == 2
    assert _run("dump").returncode == 2


def test_large_byte_payload_dumps_as_hex() -> None:
    payload = bytes(range(256)) * 10
    t = StructType("Big", "main", (Field("Data", BasicType(Kind.BYTES)),))
    data = Encoder(TypeRegistry()).encode(t, GobStruct.of("Big", {"Data": payload}))
    (record,) = [r for r in dump_messages(data) if r["kind"] == "value"]
    assert bytes.fromhex(record["value"]["fields"]["Data"]["bytes"]) == payload


def test_slice_definition_names_known_element_types() -> None:
    t = SliceType(BasicType(Kind.STRING))
    records = dump_messages(Encoder(TypeRegistry()).encode(t, ["a"]))
    assert records[0]["wire"] == {"slice": {"elem": {"id": 6, "type": "string"}}}
    assert records[1]["value"] == ["a"]


def test_offsets_stay_true_past_the_buffers_compaction() -> None:
    """After more than 64 KiB has been read the buffer moves what is left to its front; the
    offsets of what follows still count from the stream's start, in any chunking."""
    encoder = Encoder(TypeRegistry())
    big = encoder.encode(BasicType(Kind.BYTES), b"x" * 70_000)
    small = encoder.encode(BasicType(Kind.BYTES), b"y" * 10)
    stream = big + small + small
    want = [(0, len(big)), (len(big), len(small)), (len(big) + len(small), len(small))]
    for chunks in ([stream], [stream[:100], stream[100:]], [big + small[:3], small[3:] + small]):
        records = list(iter_dump(chunks))
        assert [(r["offset"], r["length"]) for r in records] == want
