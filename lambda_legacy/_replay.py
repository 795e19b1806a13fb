"""Transcript replay: send the client side of a recorded go1.x session and compare the answers.

A transcript (``golden/transcripts/*.json``, captured from a real aws-lambda-go function) holds, per
connection, every byte the client sent and every byte the server answered, cut into calls. Replay
sends each call's bytes in turn on a fresh connection, reads the reply (or the close) that comes
back, and compares it byte for byte with the recorded reply. Parts that a transcript marks as
language dependent (``"InvokeResponse.Error.StackTrace"``: frames of Go code against frames of
Python code) are compared decoded, with those fields set aside; everything else must be the same
bytes, type definitions and ids included.

Calls go one at a time, as they were recorded, so the server's type ids follow the same history.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import trio

from gobrpc import NEED_DATA, DecodedValue, Decoder, GobRpcError, dump_messages

__all__ = [
    "CallOutcome",
    "CallScript",
    "ConnectionScript",
    "Transcript",
    "load_transcript",
    "replay_connection",
]

#: How long to wait for one reply (or for the close a transcript recorded) before calling the
#: reply missing. Go functions answer in well under a millisecond; a slow interpreter start is
#: not part of this wait (the connection is already open).
REPLY_TIMEOUT_SECONDS = 5.0

#: After a connection's last recorded reply (when the recording kept it open), how long to watch
#: for bytes nobody asked for: a server that sends more than Go's did is not the same.
EXTRA_BYTES_GRACE_SECONDS = 0.1

#: Values whose fields a transcript marks as language dependent are compared with the field's
#: value replaced by this marker on both sides.
SET_ASIDE = "<language dependent: not compared>"

_RECEIVE_CHUNK = 65536


@attrs.frozen
class CallScript:
    """One recorded call: what the client sent, and what the server answered from which offset."""

    service_method: str
    seq: int | None
    request: bytes
    reply: bytes
    reply_offset: int


@attrs.frozen
class ConnectionScript:
    """One recorded connection, its calls in order; ``server_closed`` if the server hung up."""

    calls: tuple[CallScript, ...]
    server_closed: bool
    server_to_client: bytes


@attrs.frozen
class Transcript:
    """A recorded session with a go1.x function, and how that function was started."""

    scenario: str
    handler: str
    connections: tuple[ConnectionScript, ...]
    language_dependent: tuple[str, ...]
    function_env: Mapping[str, str]
    function_exit_code: int | None


def load_transcript(path: str | Path) -> Transcript:
    """Read a transcript file written by ``tools/capture``.

    Raises:
        ValueError: the file is not such a transcript.
    """
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        connections = []
        for conn in raw["connections"]:
            server = bytes.fromhex(conn["server_to_client"])
            client = bytes.fromhex(conn["client_to_server"])
            calls = tuple(
                CallScript(
                    service_method=call["service_method"],
                    seq=call["seq"],
                    request=_cut(client, call["client_bytes"], "client_bytes"),
                    reply=_cut(server, call["server_bytes"], "server_bytes"),
                    reply_offset=call["server_bytes"][0],
                )
                for call in conn["calls"]
            )
            if not calls:
                raise ValueError("a connection with no calls")
            connections.append(ConnectionScript(calls, bool(conn["server_closed"]), server))
        if not connections:
            raise ValueError("no connections")
        return Transcript(
            scenario=raw["scenario"],
            handler=raw["handler"],
            connections=tuple(connections),
            language_dependent=tuple(raw.get("language_dependent") or ()),
            function_env=_environment(raw.get("function_env") or {}),
            function_exit_code=raw.get("function_exit_code"),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"{path}: not a go1.x transcript: {exc}") from exc


def _cut(stream: bytes, bounds: object, name: str) -> bytes:
    """``stream[start:end]`` for a call's ``[start, end]``, which must lie within the stream."""
    if not (
        isinstance(bounds, list)
        and len(bounds) == 2  # a start and an end
        and all(isinstance(b, int) for b in bounds)
        and 0 <= bounds[0] <= bounds[1] <= len(stream)
    ):
        raise ValueError(f"{name} {bounds!r:.40} is not a range within the {len(stream)} bytes")
    return stream[bounds[0] : bounds[1]]


def _environment(raw: object) -> dict[str, str]:
    """A transcript's ``function_env``: names and values are strings, as in an environment."""
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ValueError(f"function_env must map names to strings, got {raw!r:.80}")
    return raw


@attrs.frozen
class CallOutcome:
    """How one call's reply compared.

    ``verdict`` is ``"same bytes"``, ``"same decoded"`` (bytes differ only in language-dependent
    fields) or ``"different"``; for a difference, ``offset`` is the first differing byte in the
    connection's server stream and ``message`` the index of the gob message holding it.
    """

    connection: int
    call: int
    service_method: str
    verdict: str
    expected: bytes
    actual: bytes
    offset: int | None = None
    message: int | None = None
    detail: str = ""
    #: The dump tool's records of each side's reply (``python -m gobrpc dump --rpc``).
    expected_decoded: tuple[Mapping[str, object], ...] = ()
    actual_decoded: tuple[Mapping[str, object], ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the reply matched."""
        return self.verdict != "different"


def _set_aside(value: object, paths: Sequence[str]) -> object:
    """A copy of a dumped value with each ``Type.Field.Field`` path's value replaced by
    :data:`SET_ASIDE` (the dump records themselves stay whole, for the difference report)."""
    value = copy.deepcopy(value)
    for path in paths:
        type_name, *names = path.split(".")
        if not (isinstance(value, dict) and value.get("struct") == type_name and names):
            continue
        node: object = value
        for name in names[:-1]:
            fields = node.get("fields") if isinstance(node, dict) else None
            node = fields.get(name) if isinstance(fields, dict) else None
        fields = node.get("fields") if isinstance(node, dict) else None
        if isinstance(fields, dict) and names[-1] in fields:
            fields[names[-1]] = SET_ASIDE
    return value


def _first_difference(expected: bytes, actual: bytes) -> int:
    for index, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return index
    return min(len(expected), len(actual))


def _records_between(stream: bytes, start: int, end: int) -> list[Mapping[str, object]]:
    """The dump tool's records (values, definitions, errors) of ``stream[start:end]``."""
    return [
        record
        for record in dump_messages(stream, rpc=True)
        if start <= _int(record.get("offset")) < end
    ]


def _message_index(stream: bytes, offset: int) -> int:
    """The index of the gob message of ``stream`` that holds byte ``offset`` (or would start
    there): how many messages end at or before it."""
    return sum(
        1
        for record in dump_messages(stream, rpc=True)
        if _int(record.get("offset")) + _int(record.get("length")) <= offset
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _comparable(
    records: Sequence[Mapping[str, object]], language_dependent: Sequence[str]
) -> list[dict[str, object]]:
    """What "same decoded" compares of each record: everything (type definitions and ids
    included) but where it lies in the stream, with the language-dependent fields set aside."""
    out: list[dict[str, object]] = []
    for record in records:
        kept = {k: v for k, v in record.items() if k not in ("offset", "length")}
        if "value" in kept:
            kept["value"] = _set_aside(kept["value"], language_dependent)
        out.append(kept)
    return out


def compare_reply(
    index: tuple[int, int],
    call: CallScript,
    *,
    expected_stream: bytes,
    actual_stream: bytes,
    actual_start: int,
    language_dependent: Sequence[str],
    note: str = "",
) -> CallOutcome:
    """Compare one call's reply; the streams are each connection's whole server side so far."""
    actual = actual_stream[actual_start:]
    base = CallOutcome(index[0], index[1], call.service_method, "same bytes", call.reply, actual)
    if actual == call.reply:
        return base
    expected_end = call.reply_offset + len(call.reply)
    want = _records_between(expected_stream, call.reply_offset, expected_end)
    got = _records_between(actual_stream, actual_start, len(actual_stream))
    if (
        language_dependent
        and any(r.get("kind") == "value" for r in want)
        and _comparable(want, language_dependent) == _comparable(got, language_dependent)
    ):
        return attrs.evolve(base, verdict="same decoded", detail=", ".join(language_dependent))
    offset = call.reply_offset + _first_difference(call.reply, actual)
    message = _message_index(expected_stream, offset)
    return attrs.evolve(
        base,
        verdict="different",
        offset=offset,
        message=message,
        detail=note,
        expected_decoded=tuple(want),
        actual_decoded=tuple(got),
    )


async def _read_reply(
    stream: trio.abc.Stream, decoder: Decoder, received: bytearray, timeout: float
) -> str:
    """Read until one reply (header and body values) is complete; say why reading stopped."""
    values = 0
    with trio.move_on_after(timeout):
        while values < 2:
            try:
                item = decoder.next_item()
            except GobRpcError as exc:
                return f"the reply does not decode: {exc}"
            if item is NEED_DATA:
                try:
                    data = await stream.receive_some(_RECEIVE_CHUNK)
                except trio.BrokenResourceError:
                    data = b""
                if not data:
                    return "the server closed the connection"
                received += data
                decoder.receive_data(data)
            elif isinstance(item, DecodedValue):
                values += 1
        return ""
    return f"no complete reply within {timeout:g} s"


async def _read_until_closed(stream: trio.abc.Stream, received: bytearray, timeout: float) -> str:
    with trio.move_on_after(timeout):
        while True:
            try:
                data = await stream.receive_some(_RECEIVE_CHUNK)
            except trio.BrokenResourceError:
                return ""
            if not data:
                return ""
            received += data
    return f"the server did not close the connection within {timeout:g} s"


async def replay_connection(
    stream: trio.abc.Stream,
    connection: int,
    script: ConnectionScript,
    language_dependent: Sequence[str] = (),
    reply_timeout: float = REPLY_TIMEOUT_SECONDS,
) -> list[CallOutcome]:
    """Replay one recorded connection on ``stream``; stops at the first difference."""
    decoder = Decoder()
    received = bytearray()
    outcomes: list[CallOutcome] = []
    for number, call in enumerate(script.calls):
        start = len(received)
        with trio.move_on_after(reply_timeout) as sending:
            await stream.send_all(call.request)
        last = number == len(script.calls) - 1
        missing = ""  # what the server should have done and did not
        if sending.cancelled_caught:
            note = missing = f"the server did not take the request within {reply_timeout:g} s"
        elif not call.reply and (script.server_closed and last):
            note = missing = await _read_until_closed(stream, received, reply_timeout)
        elif not call.reply:
            note = ""
        else:
            note = await _read_reply(stream, decoder, received, reply_timeout)
            if last and not note:
                # Whatever comes after the last recorded reply is a difference too: the rest of
                # the connection (a recorded close), or bytes nobody asked for.
                if script.server_closed:
                    note = missing = await _read_until_closed(stream, received, reply_timeout)
                else:
                    note = await _read_extra(stream, received)
        outcome = compare_reply(
            (connection, number),
            call,
            expected_stream=script.server_to_client,
            actual_stream=bytes(received),
            actual_start=start,
            language_dependent=language_dependent,
            note=note,
        )
        if missing and outcome.ok:  # the bytes matched; what should have followed did not
            outcome = attrs.evolve(
                outcome,
                verdict="different",
                detail=missing,
                offset=call.reply_offset + len(call.reply),
                message=_message_index(
                    script.server_to_client, call.reply_offset + len(call.reply)
                ),
            )
        outcomes.append(outcome)
        if not outcome.ok:
            break
    return outcomes


async def _read_extra(stream: trio.abc.Stream, received: bytearray) -> str:
    """After the last recorded reply of a connection the server kept open: bytes that arrive
    within :data:`EXTRA_BYTES_GRACE_SECONDS` (they go into ``received``, so the comparison
    shows them)."""
    with trio.move_on_after(EXTRA_BYTES_GRACE_SECONDS):
        try:
            data = await stream.receive_some(_RECEIVE_CHUNK)
        except trio.BrokenResourceError:
            return ""
        if data:
            received += data
            return "bytes after the last reply"
    return ""
