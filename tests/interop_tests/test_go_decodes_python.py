"""Go's own decoder reads what gobrpc encodes: every golden case, decoded by gopeer gobdecode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from go_peer import gopeer
from golden_json import GOB_CASES, go_type, load, value

from gobrpc import FIRST_USER_ID_LEGACY, Encoder, StructType, TypeRegistry

#: Go's decoder cannot give back exactly what was encoded for these (golden/README.md): chan
#: and func fields come back null, and an empty []byte comes back nil.
GO_LOSSY = {"all_kinds_nonzero", "unexported_chan_fields", "bytes_empty"}
CASES = [
    pytest.param(p, id=p.stem)
    for p in GOB_CASES
    if p.stem not in GO_LOSSY and p.stat().st_size < 100_000
]


@pytest.mark.parametrize("first_user_id", [64, FIRST_USER_ID_LEGACY], ids=["go1.21", "go1.20"])
@pytest.mark.parametrize("path", CASES)
def test_go_decodes_our_bytes(path: Path, first_user_id: int) -> None:
    case = load(path)
    if "encode_error" in case:
        pytest.skip("Go refuses to encode this value, so there is nothing to compare")
    encoder = Encoder(TypeRegistry(first_user_id))
    refs: dict[str, StructType] = {}
    stream = b""
    for item in case["values"]:
        t = go_type(item["type"], refs)
        stream += encoder.encode(t, value(t, item["value"], refs))
    result = subprocess.run(
        [gopeer(), "gobdecode", "--case", case["case"]],
        input=stream,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout) == [item["value"] for item in case["values"]]
