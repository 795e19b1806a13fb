"""gob's primitive encodings (doc.go, "Types and Values"), as pure functions.

Writers append to a ``bytearray``; :class:`Reader` reads one complete message. Integers:
an unsigned value below 128 is one byte, otherwise a byte holding the negated byte count followed
by the big-endian bytes without leading zeros. Signed values are folded into unsigned ones with the
sign in bit 0. Floats are their IEEE bits with the byte order reversed, so that common values have
short encodings. Strings are length-prefixed bytes; Go does not check UTF-8, so gobrpc decodes them
with ``surrogateescape`` and encodes them back the same way: any byte string round-trips unchanged.
"""

from __future__ import annotations

import struct

from ._errors import GobDecodeError, GobEncodeError

__all__ = [
    "BAD_UINT",
    "STRING_ERRORS",
    "Reader",
    "float_from_uint",
    "float_to_uint",
    "put_bytes",
    "put_int",
    "put_string",
    "put_uint",
    "uint_bytes",
]

#: Go's errBadUint: an integer whose length byte says more than 8 bytes.
BAD_UINT = "gob: encoded unsigned integer out of range"

#: How non-UTF-8 bytes in a gob string reach Python and go back: losslessly, as lone surrogates.
STRING_ERRORS = "surrogateescape"

_UINT64_MAX = (1 << 64) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_DOUBLE = struct.Struct(">d")
#: uint_bytes(n) for n < 128, made once: every small message's length prefix is one of these.
_ONE_BYTE = tuple(bytes((n,)) for n in range(0x80))


def put_uint(out: bytearray, n: int) -> None:
    """Append gob's encoding of the unsigned integer ``n`` (0 <= n < 2**64)."""
    if 0 <= n < 0x80:
        out.append(n)
        return
    if n < 0 or n > _UINT64_MAX:
        raise GobEncodeError(f"gob: unsigned value {n} does not fit uint64")
    size = (n.bit_length() + 7) >> 3
    out.append(256 - size)
    out += n.to_bytes(size, "big")


def uint_bytes(n: int) -> bytes:
    """gob's encoding of ``n`` as a bytes object (for length prefixes)."""
    if 0 <= n < 0x80:
        return _ONE_BYTE[n]
    if n < 0x100:
        return bytes((0xFF, n))
    if n < 0x10000:
        return bytes((0xFE, n >> 8, n & 0xFF))
    out = bytearray()
    put_uint(out, n)
    return bytes(out)


def put_int(out: bytearray, i: int) -> None:
    """Append gob's encoding of the signed integer ``i`` (an int64)."""
    if i < _INT64_MIN or i > _INT64_MAX:
        raise GobEncodeError(f"gob: signed value {i} does not fit int64")
    put_uint(out, (i << 1) if i >= 0 else ((~i) << 1) | 1)


def float_to_uint(f: float) -> int:
    """The unsigned integer gob sends for a float64: its bits with the bytes reversed."""
    return int.from_bytes(_DOUBLE.pack(f), "little")


def float_from_uint(u: int) -> float:
    """Inverse of :func:`float_to_uint`."""
    return float(_DOUBLE.unpack(u.to_bytes(8, "little"))[0])


def put_bytes(out: bytearray, data: bytes | bytearray | memoryview) -> None:
    """Append a length-prefixed byte string."""
    put_uint(out, len(data))
    out += data


def put_string(out: bytearray, s: str) -> None:
    """Append a length-prefixed string, encoded back with ``surrogateescape``."""
    try:
        data = s.encode("utf-8", STRING_ERRORS)
    except UnicodeEncodeError as exc:
        raise GobEncodeError(f"gob: string cannot be encoded: {exc}") from None
    put_uint(out, len(data))
    out += data


class Reader:
    """Reads primitives from one complete gob message.

    ``data`` may be ``bytes`` or a ``memoryview`` of a receive buffer; what is read out is always
    new ``bytes`` or ``str``, never a view, so a decoder may read a message in place (without
    copying it out of its buffer) and then release the view. Running off the end raises
    :class:`GobDecodeError`: the framing already delivered the whole message, so a short read
    means the message itself is corrupt.
    """

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes | memoryview, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def remaining(self) -> int:
        """Bytes left in the message."""
        return self.end - self.pos

    def read_uint(self) -> int:
        """Read an unsigned integer."""
        pos = self.pos
        if pos >= self.end:
            raise GobDecodeError(f"gob: message ends where an integer was expected (offset {pos})")
        b = self.data[pos]
        if b < 0x80:
            self.pos = pos + 1
            return b
        size = 256 - b
        if size > 8:
            raise GobDecodeError(f"{BAD_UINT} (byte {b:#04x} at offset {pos})", go_text=BAD_UINT)
        stop = pos + 1 + size
        if stop > self.end:
            raise GobDecodeError(
                f"gob: message ends inside an integer (offset {pos})",
                go_text=f"gob: invalid uint data length {size}: exceeds input size "
                f"{self.end - pos - 1}",
            )
        self.pos = stop
        return int.from_bytes(self.data[pos + 1 : stop], "big")

    def read_int(self) -> int:
        """Read a signed integer."""
        u = self.read_uint()
        return ~(u >> 1) if u & 1 else u >> 1

    def read_float(self) -> float:
        """Read a float (always float64 on the wire)."""
        return float_from_uint(self.read_uint())

    def _take(self, n: int) -> bytes | bytearray | memoryview:
        """The next ``n`` bytes as a slice of the data (no copy for a memoryview)."""
        pos = self.pos
        if n > self.end - pos:
            raise GobDecodeError(
                f"gob: length {n} at offset {pos} exceeds the {self.end - pos} bytes left"
            )
        self.pos = pos + n
        return self.data[pos : pos + n]

    def _length_prefixed(self) -> bytes | bytearray | memoryview:
        data, pos = self.data, self.pos
        if pos < self.end and (n := data[pos]) < 0x80:  # one-byte length, inline
            self.pos = pos + 1
        else:
            n = self.read_uint()
        return self._take(n)

    def read_raw(self, n: int) -> bytes:
        """Read exactly ``n`` bytes."""
        chunk = self._take(n)
        return chunk if type(chunk) is bytes else bytes(chunk)

    def read_bytes(self) -> bytes:
        """Read a length-prefixed byte string (a copy: the one copy a payload costs)."""
        chunk = self._length_prefixed()
        return chunk if type(chunk) is bytes else bytes(chunk)

    def read_string(self) -> str:
        """Read a length-prefixed string (non-UTF-8 bytes kept as surrogate escapes)."""
        return str(self._length_prefixed(), "utf-8", STRING_ERRORS)
