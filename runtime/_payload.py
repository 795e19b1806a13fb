"""JSON in and out of a handler, as aws-lambda-go does it (PROTOCOL.md section 5).

Theory of operation. The stdlib's C decoder and encoder do the work; Go's rules differ from
Python's in a few known places, and those are patched around the fast path instead of
re-implementing JSON:

- Go's ``json.Decoder`` reads only the **first** value and ignores what follows, which is
  ``JSONDecoder.raw_decode``. ``Unmarshal`` (used for ClientContext) wants the whole document.
- Python accepts ``NaN``/``Infinity`` and stops a top-level number early (``1.`` reads as ``1``,
  ``1.5e`` as ``1.5``) where Go keeps reading and fails. Constants are rejected through
  ``parse_constant``; a top-level number followed by ``.``, ``e`` or ``E`` is re-checked.
- Go decodes a float out of float64 range (``1e400``) as an ``UnmarshalTypeError``, Python as
  ``inf``; ``parse_float`` rejects it. Integers stay exact Python ints (Go would use float64).
- Go replaces lone UTF-16 surrogate escapes and invalid UTF-8 in strings with U+FFFD: one per
  byte that does not decode (``utf8.DecodeRune``), where Python's ``replace`` writes one per
  maximal bad sequence; an error handler of this module's does it Go's way.

Whenever Python rejects the input, or its answer is in doubt, a port of Go's scanner
(``encoding/json/scanner.go``) runs over the raw bytes. It decides validity and supplies Go's exact
error text (``invalid character 'n' looking for beginning of object key string``), plus the
Decoder's ``EOF`` / ``unexpected EOF``. It is pure Python, so it runs only on those paths.

On the way out, ``json.dumps`` output is fixed up to Go 1.19's bytes: U+2028/U+2029 escaped,
``\\b``/``\\f`` written as ``\\u0008``/``\\u000c``, lone surrogates as ``\\ufffd``, and floats
as Go's ``float64`` encoder writes them (``10.0`` as ``10``, ``1e-05`` as ``0.00001``, ``1e+16``
as ``10000000000000000``, ``1e-07`` as ``1e-7``): the same shortest digits, Go's notation. A
``Decimal`` (boto3's DynamoDB numbers) is written as the ``float64`` a Go function would have held.
This module does not import :mod:`decimal` (its C library is milliseconds of a cold start that
most functions never use): no ``Decimal`` can exist until something has imported it (``decimal``
or ``_decimal``), so the class is looked up in ``sys.modules`` when a result is encoded.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import sys
from typing import TYPE_CHECKING, cast

from ._errors import MarshalError, UnmarshalError

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "MAX_NESTING_DEPTH",
    "GoJSONError",
    "go_json_error",
    "parse_json",
    "decode_event",
    "encode_result",
]

#: Go's ``maxNestingDepth`` in encoding/json/scanner.go.
MAX_NESTING_DEPTH = 10000


class GoJSONError(Exception):
    """Internal: input that Go's encoding/json would reject, with Go's error type and text.

    The callers in this package turn it into a :class:`~runtime._errors.RuntimeFault`.
    """

    def __init__(self, go_type: str, go_message: str) -> None:
        super().__init__(go_message)
        self.go_type = go_type
        self.go_message = go_message


# --- Go's scanner, for validity and error text ------------------------------------------------

_OBJECT_KEY, _OBJECT_VALUE, _ARRAY_VALUE = range(3)
(
    _BEGIN_VALUE_OR_EMPTY,
    _BEGIN_VALUE,
    _BEGIN_STRING_OR_EMPTY,
    _BEGIN_STRING,
    _END_VALUE,
    _END_TOP,
    _IN_STRING,
    _IN_STRING_ESC,
    _IN_STRING_ESC_U,
    _NEG,
    _ONE,
    _ZERO,
    _DOT,
    _DOT0,
    _E,
    _E_SIGN,
    _E0,
    _LITERAL,
) = range(18)

_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): ("true", b"rue"), ord("f"): ("false", b"alse"), ord("n"): ("null", b"ull")}
_STRING_RUN = re.compile(rb'[^"\\\x00-\x1f]+')
_GO_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 92: "\\\\"}


def _quote_char(c: int) -> str:
    """Go's ``quoteChar``: the byte as ``strconv.Quote(string(rune(c)))`` in single quotes."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    if c in _GO_ESCAPES:
        return f"'{_GO_ESCAPES[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if c < 0x7F or (c >= 0xA1 and c != 0xAD):  # strconv.IsPrint for Latin-1
        return f"'{chr(c)}'"
    return f"'\\u{c:04x}'"


class _ScanError(Exception):
    def __init__(self, c: int, context: str) -> None:
        super().__init__(f"invalid character {_quote_char(c)} {context}")


class _Scanner:
    """Go's scanner state machine, one byte per :meth:`step`; ``_END_TOP`` means a full value."""

    def __init__(self, *, stop_at_top: bool) -> None:
        self.stop_at_top = stop_at_top
        self.stack: list[int] = []
        self.state = _BEGIN_VALUE
        self.literal = b""
        self.literal_name = ""
        self.hex_left = 0

    def _push(self, c: int, kind: int) -> None:
        self.stack.append(kind)
        if len(self.stack) > MAX_NESTING_DEPTH:
            raise _ScanError(c, "exceeded max depth")

    def _pop(self) -> None:
        self.stack.pop()
        self.state = _END_VALUE if self.stack else _END_TOP

    def step(self, c: int) -> None:
        """Advance over byte ``c``; raises :class:`_ScanError` with Go's message."""
        while True:  # a state that hands ``c`` on to the next one loops once more
            state = self.state
            if state == _IN_STRING:
                if c == 0x22:
                    self.state = _END_VALUE
                elif c == 0x5C:
                    self.state = _IN_STRING_ESC
                elif c < 0x20:
                    raise _ScanError(c, "in string literal")
                return
            if state in (_BEGIN_VALUE, _BEGIN_VALUE_OR_EMPTY):
                if c in _SPACE:
                    return
                if state == _BEGIN_VALUE_OR_EMPTY and c == 0x5D:
                    self.state = _END_VALUE
                    continue
                self._begin_value(c)
                return
            if state in (_BEGIN_STRING, _BEGIN_STRING_OR_EMPTY):
                if c in _SPACE:
                    return
                if state == _BEGIN_STRING_OR_EMPTY and c == 0x7D:
                    self.stack[-1] = _OBJECT_VALUE
                    self.state = _END_VALUE
                    continue
                if c != 0x22:
                    raise _ScanError(c, "looking for beginning of object key string")
                self.state = _IN_STRING
                return
            if state == _END_VALUE:
                if not self.stack:
                    self.state = _END_TOP
                    if self.stop_at_top:
                        return
                    continue
                self._end_value(c)
                return
            if state == _END_TOP:
                if c not in _SPACE:
                    raise _ScanError(c, "after top-level value")
                return
            if self._step_token(state, c):
                return

    def _begin_value(self, c: int) -> None:
        if c == 0x7B:
            self.state = _BEGIN_STRING_OR_EMPTY
            self._push(c, _OBJECT_KEY)
        elif c == 0x5B:
            self.state = _BEGIN_VALUE_OR_EMPTY
            self._push(c, _ARRAY_VALUE)
        elif c == 0x22:
            self.state = _IN_STRING
        elif c == 0x2D:
            self.state = _NEG
        elif c == 0x30:
            self.state = _ZERO
        elif c in _DIGITS:
            self.state = _ONE
        elif c in _LITERALS:
            self.state = _LITERAL
            self.literal_name, self.literal = _LITERALS[c]
        else:
            raise _ScanError(c, "looking for beginning of value")

    def _end_value(self, c: int) -> None:
        if c in _SPACE:
            return
        top = self.stack[-1]
        if top == _OBJECT_KEY:
            if c != 0x3A:
                raise _ScanError(c, "after object key")
            self.stack[-1] = _OBJECT_VALUE
            self.state = _BEGIN_VALUE
        elif top == _OBJECT_VALUE:
            if c == 0x2C:
                self.stack[-1] = _OBJECT_KEY
                self.state = _BEGIN_STRING
            elif c == 0x7D:
                self._pop()
            else:
                raise _ScanError(c, "after object key:value pair")
        elif c == 0x2C:
            self.state = _BEGIN_VALUE
        elif c == 0x5D:
            self._pop()
        else:
            raise _ScanError(c, "after array element")

    def _step_token(self, state: int, c: int) -> bool:
        """Escapes, numbers and literals. Returns False when ``c`` must be stepped again."""
        if state == _IN_STRING_ESC:
            if c == 0x75:
                self.state, self.hex_left = _IN_STRING_ESC_U, 4
            elif c in _SIMPLE_ESCAPES:
                self.state = _IN_STRING
            else:
                raise _ScanError(c, "in string escape code")
        elif state == _IN_STRING_ESC_U:
            if c not in _HEX_DIGITS:
                raise _ScanError(c, "in \\u hexadecimal character escape")
            self.hex_left -= 1
            if not self.hex_left:
                self.state = _IN_STRING
        elif state == _LITERAL:
            if c != self.literal[0]:
                expecting = chr(self.literal[0])
                raise _ScanError(c, f"in literal {self.literal_name} (expecting '{expecting}')")
            self.literal = self.literal[1:]
            if not self.literal:
                self.state = _END_VALUE
        elif state == _NEG:
            if c not in _DIGITS:
                raise _ScanError(c, "in numeric literal")
            self.state = _ZERO if c == 0x30 else _ONE
        elif state in (_DOT, _E_SIGN):
            if c not in _DIGITS:
                where = "after decimal point in" if state == _DOT else "in exponent of"
                raise _ScanError(c, f"{where} numeric literal")
            self.state = _DOT0 if state == _DOT else _E0
        elif state == _E:
            self.state = _E_SIGN
            return c in (0x2B, 0x2D)
        elif c in _DIGITS and state != _ZERO:  # _ONE, _DOT0, _E0 take more digits
            pass
        elif c == 0x2E and state in (_ONE, _ZERO):
            self.state = _DOT
        elif c in (0x65, 0x45) and state in (_ONE, _ZERO, _DOT0):
            self.state = _E
        else:  # the number ended before ``c``
            self.state = _END_VALUE
            return False
        return True


def go_json_error(data: bytes, *, whole_document: bool) -> tuple[str, str] | None:
    """What Go's encoding/json says about ``data``: ``(type, message)``, or None if it is valid.

    ``whole_document=False`` is ``json.Decoder.Decode`` (first value only; ``EOF`` and
    ``unexpected EOF`` are ``errorString``); ``True`` is ``json.Unmarshal`` (trailing bytes are an
    error; truncation is ``unexpected end of JSON input``). Only syntax is checked.
    """
    scanner = _Scanner(stop_at_top=not whole_document)
    index, end = 0, len(data)
    try:
        while index < end:
            if scanner.state == _IN_STRING:
                run = _STRING_RUN.match(data, index)
                if run is not None:
                    index = run.end()
                    continue
            scanner.step(data[index])
            index += 1
            if scanner.state == _END_TOP and not whole_document:
                return None
        # End of input: Go steps one space through the scanner to finish a trailing number.
        scanner.step(0x20)
    except _ScanError as exc:
        if not whole_document and index == end:
            return ("errorString", "unexpected EOF")
        return ("SyntaxError", str(exc))
    if scanner.state == _END_TOP:
        return None
    if whole_document:
        return ("SyntaxError", "unexpected end of JSON input")
    if data.strip(b" \t\r\n"):
        return ("errorString", "unexpected EOF")
    return ("errorString", "EOF")


# --- decoding ---------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SPACE_TEXT = " \t\n\r"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER_CONTINUES = frozenset(".eE")


class _GoRejectsError(Exception):
    """Raised from the decoder's hooks for input Python takes but Go refuses."""

    def __init__(self, go_type: str, go_message: str) -> None:
        super().__init__(go_message)
        self.failure = (go_type, go_message)


def _skip_whitespace(text: str, position: int) -> int:
    if text[position : position + 1] not in _SPACE_TEXT:  # the usual case: no regex run
        return position
    match = _WHITESPACE.match(text, position)
    return position if match is None else match.end()


def _reject_constant(name: str) -> object:
    raise _GoRejectsError("SyntaxError", f"invalid character {_quote_char(ord(name[0]))} in value")


def _go_replace(error: UnicodeError) -> tuple[str, int]:
    """One U+FFFD per byte that does not decode, as Go's ``utf8.DecodeRune`` reads them."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\ufffd" * (error.end - error.start), error.end


#: The error handler's registered name (``codecs`` names are process-wide: this one is ours).
_GO_REPLACE = "lambda_legacy.go_replace"
codecs.register_error(_GO_REPLACE, _go_replace)


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        message = f"json: cannot unmarshal number {text} into Go value of type float64"
        raise _GoRejectsError("UnmarshalTypeError", message)
    return value


# Into ``interface{}`` (an event) Go decodes every number as float64; into a typed struct (the
# ClientContext) an out-of-range number is only an error where a float field expects it.
_FLOAT64_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=_reject_constant)
_TYPED_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _replace_lone_surrogates(value: object) -> object:
    """Go's U+FFFD for lone surrogate escapes, in all strings and keys; iterative, so no depth
    limit."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            for position, element in enumerate(item):
                if isinstance(element, str):
                    item[position] = _LONE_SURROGATE.sub("\ufffd", element)
                elif isinstance(element, (list, dict)):
                    pending.append(element)
        elif isinstance(item, dict):
            entries = list(item.items())
            item.clear()
            for key, element in entries:
                if isinstance(element, (list, dict)):
                    pending.append(element)
                fixed = (
                    _LONE_SURROGATE.sub("\ufffd", element) if isinstance(element, str) else element
                )
                item[_LONE_SURROGATE.sub("\ufffd", key)] = fixed
    return value


def _go_failure(data: bytes, whole_document: bool, fallback: tuple[str, str]) -> GoJSONError:
    """Go checks the syntax of the whole value before decoding it, so its syntax error wins."""
    return GoJSONError(*(go_json_error(data, whole_document=whole_document) or fallback))


def parse_json(data: bytes, *, whole_document: bool, numbers_as_float64: bool = True) -> object:
    """Decode ``data`` as Go's ``json.Decoder`` (first value) or ``json.Unmarshal`` would.

    ``numbers_as_float64`` says the target is ``interface{}``, where Go decodes every number as
    float64 and so refuses one out of its range; for a typed target (the ClientContext) pass False.

    Raises:
        GoJSONError: Go would have failed; carries Go's error type name and message.
    """
    text = data.decode("utf-8", _GO_REPLACE)  # Go turns invalid UTF-8 in strings into U+FFFD
    start = _skip_whitespace(text, 0)
    try:
        decoder = _FLOAT64_DECODER if numbers_as_float64 else _TYPED_DECODER
        value, end = decoder.raw_decode(text, start)
    except _GoRejectsError as exc:
        raise _go_failure(data, whole_document, exc.failure) from None
    except (ValueError, RecursionError) as exc:
        # The fallback covers Python's own limits (nesting depth, digits in an int literal).
        raise _go_failure(data, whole_document, (type(exc).__name__, str(exc))) from None
    in_doubt = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and text[end : end + 1] in _NUMBER_CONTINUES
    ) or (whole_document and _skip_whitespace(text, end) != len(text))
    if in_doubt:
        failure = go_json_error(data, whole_document=whole_document)
        if failure is not None:
            raise GoJSONError(*failure)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):  # a substring test is far cheaper
        value = _replace_lone_surrogates(value)
    return value


def decode_event(payload: bytes) -> object:
    """The handler's ``event``: the first JSON value of ``payload``, trailing bytes ignored.

    Raises:
        UnmarshalError: Go would have failed. ``go_message``/``go_type`` are aws-lambda-go's:
            ``EOF``/``errorString`` for an empty or blank payload, ``unexpected EOF``/
            ``errorString`` for a truncated one, Go's ``SyntaxError`` text otherwise.
    """
    try:
        return parse_json(payload, whole_document=False)
    except GoJSONError as exc:
        raise UnmarshalError(
            f"Unable to unmarshal input: {exc.go_message}",
            go_message=exc.go_message,
            go_type=exc.go_type,
        ) from None


# --- encoding ---------------------------------------------------------------------------------


#: Where the one ``Decimal`` class lives: :mod:`decimal` takes it from the C module ``_decimal``,
#: which code may also import directly (``from _decimal import Decimal``, as IDEs auto-import it).
_DECIMAL_MODULES = ("decimal", "_decimal")


def _decimal_type() -> type[Decimal] | None:
    """``decimal.Decimal`` if anything has imported it; None if nothing has, and then no value
    can be one."""
    for name in _DECIMAL_MODULES:
        found = getattr(sys.modules.get(name), "Decimal", None)
        if found is not None:
            return cast("type[Decimal]", found)
    return None


def _as_go_number(value: object) -> object:
    """A ``Decimal`` (what boto3 reads DynamoDB numbers as) is written as the ``float64`` a Go
    function would have held; anything else JSON cannot hold keeps the stdlib's error text."""
    decimal_type = _decimal_type()
    if decimal_type is not None and isinstance(value, decimal_type):
        return float(value) if not value.is_snan() else math.nan
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_as_go_number
)
_ESCAPE_SEQUENCE = re.compile(r"\\(.)", re.DOTALL)
_GO_119_ESCAPES = {"b": "\\u0008", "f": "\\u000c"}


def _go_escape(match: re.Match[str]) -> str:
    return _GO_119_ESCAPES.get(match.group(1), match.group(0))


def _first_non_finite(value: object) -> float | None:
    """The first NaN or infinity in encoding order, keys included; None if there is none."""
    decimal_type = _decimal_type()
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if decimal_type is not None and isinstance(item, decimal_type):
            number = math.nan if item.is_nan() else float(item)  # 1e400 is +Inf as a float64
            if not math.isfinite(number):
                return number
        elif isinstance(item, float):
            if not math.isfinite(item):
                return item
        elif isinstance(item, (list, tuple, dict)) and id(item) not in seen:
            seen.add(id(item))
            children = (
                [part for pair in item.items() for part in pair] if isinstance(item, dict) else item
            )
            pending.extend(reversed(children))
    return None


def _contains_float(value: object) -> bool:
    """Whether a float (or a ``Decimal``, written as one) is among the values (not keys) of
    ``value``'s lists, tuples and dicts."""
    decimal_type = _decimal_type()
    numbers: tuple[type, ...] = (float,) if decimal_type is None else (float, decimal_type)
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if isinstance(item, numbers):
            return True
        if isinstance(item, (list, tuple, dict)) and id(item) not in seen:
            seen.add(id(item))
            pending.extend(item.values() if isinstance(item, dict) else item)
    return False


#: A JSON string (left alone) or a number (group 1) in the encoder's output.
#: A JSON string in the encoder's output (captured, so ``split`` keeps it as its own part).
_JSON_STRING = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")')
#: A float as ``repr`` writes it, outside strings: a fraction, an exponent, or both.
_PYTHON_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+(?:e[-+]?[0-9]+)?|e[-+]?[0-9]+)")

#: Go writes a float64 whose magnitude is in [1e-6, 1e21) without an exponent (encode.go).
_GO_FIXED_LOW, _GO_FIXED_HIGH = 1e-6, 1e21


def _go_float(match: re.Match[str]) -> str:
    """Go's text for the float Python wrote as ``match`` (its ``repr``: shortest digits)."""
    token = match.group(0)
    if "e" not in token:
        # repr's fixed notation (1e-4 <= |v| < 1e16) has Go's digits, and ".0" Go leaves out.
        return token[:-2] if token.endswith(".0") else token
    value = float(token)
    if value == 0.0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if _GO_FIXED_LOW <= abs(value) < _GO_FIXED_HIGH:
        return _fixed_notation(token)
    # Exponent form, as strconv's 'e' with Go's clean-up of a one-digit negative exponent.
    return token.replace("e-0", "e-")


def _fixed_notation(token: str) -> str:
    """``token`` (repr's exponent form, ``-1.5e-05``) in fixed notation with the same digits and no
    trailing zeros (``-0.000015``), as Go writes a float64 in [1e-6, 1e21)."""
    sign, body = ("-", token[1:]) if token.startswith("-") else ("", token)
    mantissa, _, exponent = body.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent)  # where the decimal point falls among the digits
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return sign + text


def _go_floats(text: str) -> str:
    """``text`` with every float outside its strings rewritten by :func:`_go_float`."""
    parts = _JSON_STRING.split(text)  # odd indexes hold the strings, left alone
    for index in range(0, len(parts), 2):
        parts[index] = _PYTHON_FLOAT.sub(_go_float, parts[index])
    return "".join(parts)


def _go_float_text(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)`` for the non-finite values."""
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def encode_result(value: object) -> bytes:
    """The response payload for a handler's return value.

    ``bytes``-like values pass through untouched. Everything else is compact JSON without a
    trailing newline and without HTML escaping, non-ASCII written as raw UTF-8 except U+2028 and
    U+2029 (escaped, as Go always does); ``None`` is ``null``.

    Raises:
        MarshalError: NaN or infinity (``json: unsupported value: NaN``, Go's text and type
            ``UnsupportedValueError``), or a value JSON cannot hold (awslambdaric's
            ``Unable to marshal response: Object of type set is not JSON serializable``).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    try:
        text = _ENCODER.encode(value)
    except Exception as exc:  # awslambdaric catches everything the encoder raises
        bad = _first_non_finite(value) if isinstance(exc, ValueError) else None
        if bad is not None:
            message = f"json: unsupported value: {_go_float_text(bad)}"
            raise MarshalError(message, go_type="UnsupportedValueError") from exc
        raise MarshalError(f"Unable to marshal response: {exc}") from exc
    if _contains_float(value):
        text = _go_floats(text)
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if "\\b" in text or "\\f" in text:
        text = _ESCAPE_SEQUENCE.sub(_go_escape, text)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: Go writes invalid UTF-8 as \ufffd
        return _LONE_SURROGATE.sub(lambda _: "\\ufffd", text).encode("utf-8")
