"""The gobrpc exception tree.

One root, :class:`GobRpcError`. Protocol errors are split by whose fault they are, as in h11:
:class:`RemoteProtocolError` means the peer's bytes are bad (the connection is unusable afterwards),
:class:`LocalProtocolError` means our caller misused the API. :class:`RemoteCallError` is not a
protocol error at all: the peer answered correctly, with net/rpc's ``Response.Error`` set.
"""

from __future__ import annotations

import re

__all__ = [
    "GobDecodeError",
    "GobEncodeError",
    "GobRpcError",
    "LocalProtocolError",
    "MessageTooLargeError",
    "ProtocolError",
    "RemoteCallError",
    "RemoteProtocolError",
    "UnexpectedEOFError",
]


#: The place a decode error names at its end (``Cursor.where``): Go's texts have none.
_PLACE = re.compile(r" at offset \d+$")


class GobRpcError(Exception):
    """Root of every exception raised by gobrpc; never raised itself."""


class ProtocolError(GobRpcError):
    """Something about the gob or net/rpc protocol went wrong; see the two subclasses."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that are not a valid gob / net/rpc stream.

    After this the stream may be desynchronised (Go's decoder is in the same position), so a
    connection that raises it goes into its ERROR state and should be closed.
    """


class GobDecodeError(RemoteProtocolError):
    """A message is malformed: bad integer, unknown or duplicate type id, field out of range, type
    mismatch, or a limit exceeded.

    ``str()`` says where and why, for people; :attr:`go_text` is the text Go's decoder gives for
    the same fault where ours adds detail (offsets, ids, counts): what a net/rpc server puts in
    its error reply, so the peer reads Go's words.
    """

    def __init__(self, message: str, *, go_text: str | None = None) -> None:
        super().__init__(message)
        if go_text is None:  # by default, ours less the place it adds at the end
            go_text = _PLACE.sub("", message)
        self.go_text = go_text


class MessageTooLargeError(GobDecodeError):
    """A length prefix, count or nesting depth is over the configured limit.

    Raised before anything of that size is allocated.
    """


class UnexpectedEOFError(RemoteProtocolError):
    """The input ended inside a message, or between a value's type definitions and the value
    (Go's ``io.ErrUnexpectedEOF``)."""


class LocalProtocolError(ProtocolError):
    """Our caller misused the API: a reply to an unknown Seq, a send after close or error."""


class GobEncodeError(LocalProtocolError):
    """A Python value does not fit the Go type it is being encoded as."""


class RemoteCallError(GobRpcError):
    """Client role: the server answered with ``Response.Error`` set (Go's ``rpc.ServerError``).

    ``message`` is the server's error text exactly as sent.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
