"""Named limits for decoding untrusted gob streams, each with the reason for its value.

Go's decoder allows 8 GiB messages (``tooBig``), allocates a whole message before reading it,
allocates slices before checking that the bytes exist, and has no nesting limit for values (the
class of CVE-2022-30635). A Lambda peer never needs any of that, so gobrpc is stricter; every limit
is checked before anything of that size is allocated, and each can be overridden per stream with
:class:`Limits`.
"""

from __future__ import annotations

import attrs

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_ELEMENTS",
    "MAX_MESSAGE_SIZE",
    "MAX_NESTING",
    "MAX_TYPES_PER_STREAM",
    "MAX_VALUE_MESSAGES",
    "Limits",
]

#: Lambda caps synchronous invoke payloads at 6 MB (request and response). A gob message carrying
#: one holds the payload plus a few hundred bytes of other fields; 8 MiB leaves ample headroom
#: while refusing the multi-GiB allocations Go's 8 GiB ``tooBig`` would allow.
MAX_MESSAGE_SIZE = 8 * 1024 * 1024

#: Values nest through structs, slices, maps, pointers and interfaces. Real Lambda messages nest at
#: most 4 deep (InvokeResponse -> Error -> StackTrace -> frame); 100 allows any sane user type and
#: stays far below Python's recursion limit, so deep input fails with a protocol error, never with
#: RecursionError.
MAX_NESTING = 100

#: The largest element count one slice, array or map may declare. Every element takes at least one
#: byte on the wire, so a count is also checked against the bytes left in its message; this caps
#: the count independently of the message size.
MAX_ELEMENTS = MAX_MESSAGE_SIZE

#: A stream defines each type once. aws-lambda-go's whole vocabulary is 8 types; 1024 keeps a
#: hostile peer from growing the per-stream type table without bound.
MAX_TYPES_PER_STREAM = 1024

#: A value runs on into a following message only where an interface field introduces a concrete
#: type (Go's encoder starts a new message after the inline definition). aws-lambda-go's messages
#: have no interface fields at all; 64 new concrete types in one value is far beyond any real
#: peer. An incomplete value is decoded again from its start when the next message arrives, so
#: this also bounds that work (together with the value's total size, capped like one message).
MAX_VALUE_MESSAGES = 64


@attrs.frozen(kw_only=True)
class Limits:
    """Per-stream decoding limits; the defaults are the module constants above."""

    max_message_size: int = MAX_MESSAGE_SIZE
    max_nesting: int = MAX_NESTING
    max_elements: int = MAX_ELEMENTS
    max_types: int = MAX_TYPES_PER_STREAM
    max_value_messages: int = MAX_VALUE_MESSAGES


DEFAULT_LIMITS = Limits()
