"""Events a net/rpc connection yields, one class per thing that can happen on the wire."""

from __future__ import annotations

import attrs

from ._decoder import NEED_DATA, NeedData

__all__ = [
    "NEED_DATA",
    "BadCall",
    "Call",
    "CallFailed",
    "ConnectionClosed",
    "ErrorReply",
    "NeedData",
    "Reply",
]


@attrs.frozen
class Call:
    """Server role: a request for a known method, with its decoded body."""

    seq: int
    service_method: str
    body: object


@attrs.frozen
class BadCall:
    """Server role: a request Go's net/rpc answers with an error reply, ``error`` being its exact
    text (unknown service or method, ill-formed name, a body that failed to decode). The body has
    been read and discarded; the connection goes on."""

    seq: int
    service_method: str
    error: str


@attrs.frozen
class Reply:
    """Client role: a successful reply to call ``seq``."""

    seq: int
    service_method: str
    body: object


@attrs.frozen
class ErrorReply:
    """Client role: the server set ``Response.Error`` for call ``seq`` (Go's ServerError)."""

    seq: int
    service_method: str
    error: str


@attrs.frozen
class CallFailed:
    """Client role: call ``seq`` failed on our side, e.g. ``reading body <gob error>``."""

    seq: int
    error: str


@attrs.frozen
class ConnectionClosed:
    """No more events: the peer closed (``reason`` None for a clean end), or the stream broke in a
    way Go answers by closing the connection (``reason`` says how).

    ``over_limit``: it broke on one of gobrpc's own limits (:mod:`gobrpc._limits`), where Go's
    decoder would have read on; the I/O layer should say so, since Go's server would not close.
    """

    reason: str | None = None
    over_limit: bool = False
