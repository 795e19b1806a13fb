"""JSON in and out as aws-lambda-go does it (PROTOCOL.md section 5).

The expected Go types and messages below were produced by running ``json.NewDecoder(...).Decode``
into an ``interface{}`` with Go's encoding/json (see the report that introduced this file); they
are typed here so that the tests run without Go.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime._errors import MarshalError, UnmarshalError
from runtime._payload import MAX_NESTING_DEPTH, decode_event, encode_result, go_json_error


def _nested(depth: int) -> object:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


# --- decode_event: what Go accepts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        (b'{"A":1}', {"A": 1}),
        (b'{"A":1} garbage', {"A": 1}),  # only the first value is read
        (b'  {"a":{"b":[1,2,{"c":null}]}}  xx', {"a": {"b": [1, 2, {"c": None}]}}),
        (b"123abc", 123),
        (b"truex", True),
        (b"01", 0),  # Go reads "0" and stops
        (b"1E+2", 100.0),
        (b"1e5.", 100000.0),
        (b"null", None),
        (b'"\\ud83d\\ude00"', "\U0001f600"),
        (b'"caf\xc3\xa9"', "caf\u00e9"),
        pytest.param(b"[" * 500 + b"]" * 500, _nested(500), id="nested-500"),
    ],
)
def test_accepted_payloads(payload: bytes, event: object) -> None:
    assert decode_event(payload) == event


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        (b'"\\ud800"', "\ufffd"),  # lone surrogate escape
        (b'"a\\udc00b"', "a\ufffdb"),
        (b'{"\\ud800":["\\ud800",{"k":"\\udfff"}]}', {"\ufffd": ["\ufffd", {"k": "\ufffd"}]}),
        (b'"\xff"', "\ufffd"),  # invalid UTF-8 inside a string
        # Go's utf8.DecodeRune: one U+FFFD per byte that does not decode, not one per sequence
        (b'"a\xe2\x82b"', "a\ufffd\ufffdb"),
        (b'"\xf0\x9f\x98"', "\ufffd\ufffd\ufffd"),
        (b'{"\xe2\x82":"\xc3"}', {"\ufffd\ufffd": "\ufffd"}),
        (b'"\xff\xfe ok \xc3\xa9"', "\ufffd\ufffd ok \u00e9"),
    ],
)
def test_invalid_unicode_becomes_replacement_character(payload: bytes, event: object) -> None:
    assert decode_event(payload) == event


# --- decode_event: what Go refuses, with Go's words ---------------------------------------------


@pytest.mark.parametrize(
    ("payload", "go_type", "go_message"),
    [
        (b"", "errorString", "EOF"),
        (b"   \n\t ", "errorString", "EOF"),
        (b'{"A":1', "errorString", "unexpected EOF"),
        (b'{"A"', "errorString", "unexpected EOF"),
        (b'"abc', "errorString", "unexpected EOF"),
        (b"1.5e", "errorString", "unexpected EOF"),
        (b"1.", "errorString", "unexpected EOF"),
        (b"-", "errorString", "unexpected EOF"),
        (b"tru", "errorString", "unexpected EOF"),
        (
            b"{ not json }",
            "SyntaxError",
            "invalid character 'n' looking for beginning of object key string",
        ),
        (b"1.5ex", "SyntaxError", "invalid character 'x' in exponent of numeric literal"),
        (b"1.x", "SyntaxError", "invalid character 'x' after decimal point in numeric literal"),
        (b"1.e5", "SyntaxError", "invalid character 'e' after decimal point in numeric literal"),
        (b"-x", "SyntaxError", "invalid character 'x' in numeric literal"),
        (b"NaN", "SyntaxError", "invalid character 'N' looking for beginning of value"),
        (b"[NaN]", "SyntaxError", "invalid character 'N' looking for beginning of value"),
        (b"-Infinity", "SyntaxError", "invalid character 'I' in numeric literal"),
        (b"trux", "SyntaxError", "invalid character 'x' in literal true (expecting 'e')"),
        (b"falsy", "SyntaxError", "invalid character 'y' in literal false (expecting 'e')"),
        (b"nUll", "SyntaxError", "invalid character 'U' in literal null (expecting 'u')"),
        (b'"a\nb"', "SyntaxError", "invalid character '\\n' in string literal"),
        (b'"a\\qb"', "SyntaxError", "invalid character 'q' in string escape code"),
        (b'"\\u12g4"', "SyntaxError", "invalid character 'g' in \\u hexadecimal character escape"),
        (b"\xff", "SyntaxError", "invalid character '\u00ff' looking for beginning of value"),
        (b"\xc3\xa9", "SyntaxError", "invalid character '\u00c3' looking for beginning of value"),
        (
            b"\xef\xbb\xbf{}",
            "SyntaxError",
            "invalid character '\u00ef' looking for beginning of value",
        ),
        (b"[1,]", "SyntaxError", "invalid character ']' looking for beginning of value"),
        (b"[1 2]", "SyntaxError", "invalid character '2' after array element"),
        (b'{"a" 1}', "SyntaxError", "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "SyntaxError", "invalid character '\"' after object key:value pair"),
        (
            b'{"a":1,}',
            "SyntaxError",
            "invalid character '}' looking for beginning of object key string",
        ),
        (b"'x'", "SyntaxError", "invalid character '\\'' looking for beginning of value"),
        (b"\\", "SyntaxError", "invalid character '\\\\' looking for beginning of value"),
        (b"\x00", "SyntaxError", "invalid character '\\x00' looking for beginning of value"),
        (b"\x07", "SyntaxError", "invalid character '\\a' looking for beginning of value"),
        (b"\x0b", "SyntaxError", "invalid character '\\v' looking for beginning of value"),
        (b"\x7f", "SyntaxError", "invalid character '\\x7f' looking for beginning of value"),
        (b"\xa0", "SyntaxError", "invalid character '\\u00a0' looking for beginning of value"),
        (b"\xad", "SyntaxError", "invalid character '\\u00ad' looking for beginning of value"),
        (
            b"1e400",
            "UnmarshalTypeError",
            "json: cannot unmarshal number 1e400 into Go value of type float64",
        ),
        (
            b"[1e400, 1e500]",
            "UnmarshalTypeError",
            "json: cannot unmarshal number 1e400 into Go value of type float64",
        ),
        (b"[1e400, x]", "SyntaxError", "invalid character 'x' looking for beginning of value"),
    ],
)
def test_refused_payloads_carry_go_type_and_message(
    payload: bytes, go_type: str, go_message: str
) -> None:
    with pytest.raises(UnmarshalError) as info:
        decode_event(payload)
    assert (info.value.go_type, info.value.go_message) == (go_type, go_message)
    assert info.value.error_type == "Runtime.UnmarshalError"
    assert info.value.message == f"Unable to unmarshal input: {go_message}"


def test_nesting_limit_is_go_s() -> None:
    assert MAX_NESTING_DEPTH == 10_000  # encoding/json's maxNestingDepth
    with pytest.raises(UnmarshalError) as too_deep:
        decode_event(b"[" * (MAX_NESTING_DEPTH + 1))
    assert too_deep.value.go_message == "invalid character '[' exceeded max depth"
    with pytest.raises(UnmarshalError) as deep_enough:
        decode_event(b"[" * MAX_NESTING_DEPTH)
    assert deep_enough.value.go_message == "unexpected EOF"


def test_nesting_beyond_python_s_limit_is_refused_with_python_s_reason() -> None:
    # Go allows 10000 levels; Python's decoder stops near the recursion limit. The payload
    # is refused rather than crashing, under Python's own error type.
    depth = 5000
    with pytest.raises(UnmarshalError) as info:
        decode_event(b"[" * depth + b"]" * depth)
    assert info.value.go_type == "RecursionError"


def test_go_scanner_whole_document_mode() -> None:
    assert go_json_error(b"{} ", whole_document=True) is None
    assert go_json_error(b"{} x", whole_document=True) == (
        "SyntaxError",
        "invalid character 'x' after top-level value",
    )
    assert go_json_error(b"{", whole_document=True) == (
        "SyntaxError",
        "unexpected end of JSON input",
    )
    assert go_json_error(b"1.", whole_document=True) == (
        "SyntaxError",
        "invalid character ' ' after decimal point in numeric literal",
    )


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_unmarshal_error(payload: bytes) -> None:
    go_types = {"errorString", "SyntaxError", "UnmarshalTypeError"}
    try:
        decode_event(payload)
    except UnmarshalError as exc:
        error_type = exc.go_type
    else:
        error_type = "errorString"
    assert error_type in go_types


@given(
    st.lists(
        st.sampled_from(
            [
                b"{",
                b"}",
                b"[",
                b"]",
                b'"a"',
                b":",
                b",",
                b" ",
                b"1",
                b"-",
                b".",
                b"e",
                b"null",
                b"t",
            ]
        ),
        max_size=12,
    )
)
def test_structured_noise_agrees_with_python_on_acceptance(parts: list[bytes]) -> None:
    payload = b"".join(parts)
    try:
        event = decode_event(payload)
    except UnmarshalError:
        return
    # Whatever Go accepts is a JSON value that Python reads the same way once isolated.
    assert json.loads(encode_result(event)) == event


# --- encode_result ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "payload"),
    [
        (None, b"null"),
        ({"a": [1, 2.5, "x"], "b": None}, b'{"a":[1,2.5,"x"],"b":null}'),
        ("<a&b>", b'"<a&b>"'),  # HTML escaping is off
        ("caf\u00e9 \U0001f600", '"caf\u00e9 \U0001f600"'.encode()),  # raw UTF-8
        ("\u2028\u2029", b'"\\u2028\\u2029"'),  # always escaped by Go
        ("\u2029", b'"\\u2029"'),  # each on its own too
        ("\b\f\n\r\t\x01\x1f\x7f", b'"\\u0008\\u000c\\n\\r\\t\\u0001\\u001f\x7f"'),  # Go 1.19
        ("C:\\bin\\file", b'"C:\\\\bin\\\\file"'),  # a backslash before "b" is not \b
        ("\ud800x", b'"\\ufffdx"'),  # a lone surrogate is invalid UTF-8 to Go
        (True, b"true"),
        ([], b"[]"),
        ((1, 2), b"[1,2]"),
    ],
)
def test_encoded_bytes(value: object, payload: bytes) -> None:
    assert encode_result(value) == payload


@pytest.mark.parametrize("value", [b"raw \xff bytes", bytearray(b"{}"), memoryview(b"[]"), b""])
def test_bytes_pass_through_untouched(value: bytes) -> None:
    assert encode_result(value) == bytes(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "json: unsupported value: NaN"),
        (math.inf, "json: unsupported value: +Inf"),
        ({"a": [1.0, -math.inf]}, "json: unsupported value: -Inf"),
        ({math.nan: 1}, "json: unsupported value: NaN"),
        ([math.inf, math.nan], "json: unsupported value: +Inf"),
    ],
)
def test_non_finite_floats_are_marshal_errors(value: object, message: str) -> None:
    with pytest.raises(MarshalError) as info:
        encode_result(value)
    assert (info.value.message, info.value.go_message) == (message, message)
    assert info.value.go_type == "UnsupportedValueError"
    assert info.value.error_type == "Runtime.MarshalError"


def test_unserialisable_value_uses_awslambdaric_message() -> None:
    with pytest.raises(MarshalError) as info:
        encode_result({"s": {1, 2}})
    assert info.value.message == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert info.value.go_type == "Runtime.MarshalError"


def test_circular_value_is_a_marshal_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(MarshalError) as info:
        encode_result(loop)
    assert info.value.message == "Unable to marshal response: Circular reference detected"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


def _same_value(parsed: object, original: object) -> bool:
    """``parsed`` is ``original`` read back: a float may come back as an int of the same value,
    since Go writes ``10.0`` as ``10``."""
    if isinstance(original, float):
        return type(parsed) in (int, float) and float(parsed) == original  # type: ignore[arg-type]
    if isinstance(original, list):
        return (
            isinstance(parsed, list)
            and len(parsed) == len(original)
            and all(map(_same_value, parsed, original))
        )
    if isinstance(original, dict):
        return (
            isinstance(parsed, dict)
            and parsed.keys() == original.keys()
            and all(_same_value(parsed[key], item) for key, item in original.items())
        )
    return type(parsed) is type(original) and parsed == original


@given(json_values)
def test_encode_then_parse_gives_the_value_back(value: object) -> None:
    payload = encode_result(value)
    assert _same_value(json.loads(payload), value)
    assert _same_value(decode_event(payload), value)
    assert not payload.endswith(b"\n")
    assert "\u2028".encode() not in payload
