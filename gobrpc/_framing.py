"""Length-prefixed gob messages (doc.go: "a stream of messages, each preceded by its length").

:class:`MessageBuffer` collects bytes in any chunking and hands out complete messages. It can peek
at messages beyond the first without consuming them, because a value with an interface field may
carry its type definitions inside the value and continue in the next message (Go's
``decodeTypeSequence``); the decoder consumes only once the whole value is there. A length over the
limit is refused as soon as its prefix is readable, before any of it is buffered as a message.
A zero-length message is a valid frame: Go reads it as one, and what it means is the decoder's
business.

Large messages are read in place: :meth:`MessageBuffer.peek` hands out a ``memoryview`` of the
buffer, not a copy, so a 6 MB payload is copied once, from here into the ``bytes`` the decoder
returns (``Reader`` always copies what it reads out). A bytearray cannot grow or shrink while a view
of it exists, so every view handed out is released before the buffer changes (:meth:`release`,
called by :meth:`feed` and :meth:`consume`): the decoder must not use a message after either. The
buffer also keeps its capacity when emptied, as Go's decoder keeps its buffer: freeing and
reallocating several megabytes per message costs page faults that showed as ten times the copy
itself. A message under :data:`COPY_BELOW` bytes is handed out as a ``bytes`` copy instead:
copying it costs less than a view's bookkeeping, and the decoder then slices ``bytes`` out of it
without converting.
"""

from __future__ import annotations

from ._errors import GobDecodeError, MessageTooLargeError
from ._wire import BAD_UINT

__all__ = [
    "COPY_BELOW",
    "GO_TOO_BIG",
    "LengthSkippedError",
    "MessageBuffer",
    "PrefixSkippedError",
]

#: Messages shorter than this are handed out as ``bytes`` copies rather than views. Copying 4 KiB
#: takes about as long as making and releasing one view, and every Lambda message other than a
#: large payload is far shorter.
COPY_BELOW = 4 * 1024

# Compact the buffer once this much has been consumed from its front, so that consuming many small
# messages costs O(total) rather than O(n^2) memmoves.
_COMPACT_AT = 64 * 1024


#: Go's decoder refuses a message length of this many bytes or more (``tooBig``, 8 GiB on a
#: 64-bit machine) and reads on after the length's bytes; a smaller one over our own limit
#: cannot be read on from, since Go would read that message.
GO_TOO_BIG = 1 << 33


class PrefixSkippedError(GobDecodeError):
    """The length of the next message was refused, as Go's decoder refuses it (an integer of more
    than 8 bytes, or 8 GiB and more), and its bytes were skipped, as Go's decoder has read them:
    the stream goes on after them (net/rpc reads its next request there)."""


class LengthSkippedError(PrefixSkippedError, MessageTooLargeError):
    """A :class:`PrefixSkippedError` for a length of 8 GiB or more: a message too large, too."""


class MessageBuffer:
    """Bytes in, complete messages out; no I/O."""

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size
        self._buf = bytearray()
        self._start = 0  # read offset of the first unconsumed message
        self._end = 0  # bytes of self._buf in use; beyond it is capacity kept for later
        self._offset = 0  # stream offset of self._buf[0], for error messages
        self._views: list[memoryview] = []
        #: End of the first unconsumed message, once :meth:`peek` has found it (its frame cannot
        #: change until :meth:`consume` moves past it).
        self._first_end: int | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes (messages peeked before are released)."""
        if self._views:
            self.release()
        end = self._end + len(data)
        self._buf[self._end : end] = data  # within capacity: no reallocation
        self._end = end

    def release(self) -> None:
        """End every view :meth:`peek` has handed out."""
        for view in self._views:
            view.release()
        self._views.clear()

    @property
    def buffered(self) -> int:
        """Unconsumed bytes held."""
        return self._end - self._start

    @property
    def stream_offset(self) -> int:
        """Offset in the whole stream of the next unconsumed byte."""
        return self._offset + self._start

    def _frame_at(self, pos: int) -> tuple[int, int] | None:
        """(payload start, payload end) of the message whose prefix starts at ``pos``."""
        buf = self._buf
        if pos >= self._end:
            return None
        first = buf[pos]
        if first < 0x80:
            size, start = first, pos + 1
        else:
            width = 256 - first
            if width > 8:
                message = (
                    f"{BAD_UINT} in a message length "
                    f"(byte {first:#04x} at offset {self._offset + pos})"
                )
                self._skip_prefix(pos, 1, PrefixSkippedError(message, go_text=BAD_UINT))
                raise GobDecodeError(message, go_text=BAD_UINT)
            start = pos + 1 + width
            if start > self._end:
                return None
            size = int.from_bytes(buf[pos + 1 : start], "big")
            if size >= GO_TOO_BIG:
                message = f"invalid message length: {size} bytes at offset {self._offset + pos}"
                self._skip_prefix(
                    pos, 1 + width, LengthSkippedError(message, go_text="invalid message length")
                )
        if size > self.max_message_size:
            # Go's text for a length it refuses (it refuses only 8 GiB and more).
            raise MessageTooLargeError(
                f"invalid message length: {size} bytes at offset {self._offset + pos}, over "
                f"the {self.max_message_size}-byte limit",
                go_text="invalid message length",
            )
        end = start + size
        if end > self._end:
            return None
        return start, end

    def peek(self, index: int) -> tuple[bytes | memoryview, int] | None:
        """The ``index``-th unconsumed message (a copy if short, else a view, valid until the next
        :meth:`feed` or :meth:`consume`) and its stream offset, or None if incomplete."""
        pos = self._start
        for _ in range(index):
            frame = self._frame_at(pos)
            if frame is None:
                return None
            pos = frame[1]
        frame = self._frame_at(pos)
        if frame is None:
            return None
        start, end = frame
        if index == 0:
            self._first_end = end
        if end - start < COPY_BELOW:
            return bytes(self._buf[start:end]), self._offset + start
        view = memoryview(self._buf)[start:end]
        self._views.append(view)
        return view, self._offset + start

    def _skip_prefix(self, pos: int, size: int, error: PrefixSkippedError) -> None:
        """At the front of the stream, skip the ``size`` bytes of a refused length and raise
        ``error``; elsewhere (a value running into later messages) return, and the caller raises
        an error that ends the stream."""
        if pos != self._start:
            return
        self._first_end = None
        self._start = pos + size
        self._moved()
        raise error

    def consume(self, count: int) -> None:
        """Drop the first ``count`` messages (they must be complete)."""
        pos = self._start
        if count == 1 and self._first_end is not None:
            pos = self._first_end
        else:
            for _ in range(count):
                frame = self._frame_at(pos)
                if frame is None:
                    raise AssertionError("consume() past the complete messages")  # pragma: no cover
                pos = frame[1]
        self._first_end = None
        self._start = pos
        self._moved()

    def _moved(self) -> None:
        """After the front moved on: release the views, drop or compact what is behind it."""
        if self._views:
            self.release()
        if self._start == self._end:
            self._offset += self._start
            self._start = self._end = 0
        elif self._start >= _COMPACT_AT:
            rest = self._end - self._start
            self._buf[:rest] = self._buf[self._start : self._end]
            self._offset += self._start
            self._start, self._end = 0, rest
