"""Every golden gob case from Go: our encoder writes the same bytes, our decoder reads Go's bytes.

Each case is one fresh Go 1.26 process (first user id 64). Maps with two or more entries are
compared decoded, because Go writes them in random order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from codec_helpers import canon, decode_all, expected, three_ways, values
from golden_json import GOB_CASES, go_type, load, value, writes
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import split_points

from gobrpc import FIRST_USER_ID_GO_1_21, Encoder, GobEncodeError, StructType, TypeRegistry

CASES = [pytest.param(p, id=p.stem) for p in GOB_CASES]
SMALL_CASES = [pytest.param(p, id=p.stem) for p in GOB_CASES if p.stat().st_size < 50_000]


def _encode(case: dict[str, object]) -> tuple[list[bytes], TypeRegistry, list[object]]:
    registry = TypeRegistry(FIRST_USER_ID_GO_1_21)
    encoder = Encoder(registry)
    out: list[bytes] = []
    wanted: list[object] = []
    refs: dict[str, StructType] = {}
    for item in case["values"]:  # type: ignore[attr-defined]
        t = go_type(item["type"], refs)
        v = value(t, item["value"], refs)
        out += encoder.encode_writes(t, v)
        wanted.append(canon(expected(t, v, registry)))
    return out, registry, wanted


def test_golden_cases_exist() -> None:
    assert len(GOB_CASES) >= 90, "golden/gob is missing: run tools/regen-golden"


@pytest.mark.parametrize("path", CASES)
def test_encode_matches_go(path: Path) -> None:
    case = load(path)
    if "encode_error" in case:
        with pytest.raises(GobEncodeError) as info:
            _encode(case)
        go_error = case["encode_error"].removeprefix("gob: ")
        assert go_error.split(":")[0].split(" of type")[0] in str(info.value)
        return
    ours, _, _ = _encode(case)
    if case["map_order_random"]:
        assert [canon(v) for v in values(decode_all([b"".join(ours)]))] == [
            canon(v) for v in values(decode_all([b"".join(writes(case))]))
        ]
    else:
        assert [w.hex() for w in ours] == [w.hex() for w in writes(case)]


@pytest.mark.parametrize("path", CASES)
def test_decode_go_bytes_whole_and_bytewise(path: Path) -> None:
    case = load(path)
    if "encode_error" in case:
        pytest.skip("Go refused to encode this value")
    _, _, wanted = _encode(case)
    data = b"".join(writes(case))
    ways = three_ways(data) if len(data) < 20_000 else [[data]]
    for chunks in ways:
        assert [canon(v) for v in values(decode_all(chunks))] == wanted


@pytest.mark.parametrize("path", SMALL_CASES)
@given(data=st.data())
@settings(max_examples=20, deadline=None)
def test_decode_go_bytes_random_splits(path: Path, data: st.DataObject) -> None:
    case = load(path)
    if "encode_error" in case:
        return
    _, _, wanted = _encode(case)
    chunks = data.draw(split_points(b"".join(writes(case))))
    assert [canon(v) for v in values(decode_all(chunks))] == wanted
