"""net/rpc over gob, sans-IO, in both roles (Go's net/rpc server.go, client.go).

Theory of operation. Each direction of a connection is one gob stream. A call is two values on the
client's stream, a ``Request`` header then the argument; a reply is a ``Response`` header then the
result, or, when ``Response.Error`` is set, net/rpc's unnamed empty ``struct{}``. Go writes the two
values of one call or reply contiguously and flushes once, and so does :meth:`send_reply`: it
returns the bytes of both.

The server reads requests one after another. A header that fails to decode, or EOF, ends the
connection silently (:class:`ConnectionClosed`, and Go sends nothing). A bad method name or a body
that fails to decode is answered with Go's exact error text (:class:`BadCall`), and the connection
goes on. The client matches replies to calls by ``Seq``, so replies may arrive in any order.

The two directions fail separately, as in h11's two states. Bad bytes from the peer, or its EOF,
end the receiving side (:attr:`state` becomes ERROR or CLOSED) but not the sending side: Go's
server still writes the replies of calls in flight before it closes, and so may the caller here.
Only :meth:`send_failed` ends the sending side.

Replies must be written in the order these methods return them: the encoder's record of which type
definitions the peer has seen advances with each call. The I/O layer therefore holds one write lock
around "encode, then send" (Go's ``sending`` mutex), and calls :meth:`send_failed` if a send did not
complete, after which the connection refuses to send more.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from ._decoder import NEED_DATA, BoundValue, DecodedValue, Decoder, NeedData, TypeDefinition
from ._encoder import Encoder
from ._errors import (
    GobDecodeError,
    LocalProtocolError,
    MessageTooLargeError,
    RemoteProtocolError,
)
from ._events import BadCall, Call, CallFailed, ConnectionClosed, ErrorReply, Reply
from ._limits import DEFAULT_LIMITS, Limits
from ._schema import gob_field, struct_type
from ._types import BasicType, GoType, Kind, StructType, TypeRegistry
from ._values import GobStruct

__all__ = [
    "INVALID_REQUEST",
    "REQUEST",
    "RESPONSE",
    "RequestHeader",
    "ResponseHeader",
    "ClientConnection",
    "ConnectionState",
    "ServerConnection",
]

_STRING = BasicType(Kind.STRING)
_UINT64 = BasicType(Kind.UINT64)


@attrs.frozen
class RequestHeader:
    """net/rpc's request header, ``rpc.Request`` (its unexported ``next`` field is never sent)."""

    __gob_name__ = "Request"
    __gob_package__ = "rpc"
    service_method: str = gob_field("ServiceMethod", _STRING, default="")
    seq: int = gob_field("Seq", _UINT64, default=0)


@attrs.frozen
class ResponseHeader:
    """net/rpc's response header, ``rpc.Response``."""

    __gob_name__ = "Response"
    __gob_package__ = "rpc"
    service_method: str = gob_field("ServiceMethod", _STRING, default="")
    seq: int = gob_field("Seq", _UINT64, default=0)
    error: str = gob_field("Error", _STRING, default="")


# Bound to classes, so headers are read by compiled readers straight into instances and written
# by generated writers, as bodies are (a header read into a GobStruct and searched by name cost
# two fifths of reading a call).
REQUEST = struct_type(RequestHeader)
RESPONSE = struct_type(ResponseHeader)
#: The body net/rpc sends with an error reply: ``invalidRequest = struct{}{}``, an unnamed type.
INVALID_REQUEST = StructType("")


class ConnectionState(enum.Enum):
    """The receiving side: OPEN until the peer closes (CLOSED), or its bytes are bad or a send
    failed (ERROR)."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


#: Go's ``rpc.ErrShutdown`` text: what a call made after the connection ended fails with.
_SHUT_DOWN = "connection is shut down"


class _Half:
    """The machinery both roles share: a decoder, an encoder, header/body pairing, EOF."""

    def __init__(self, registry: TypeRegistry, limits: Limits) -> None:
        self.decoder = Decoder(limits)
        self.encoder = Encoder(registry)
        self.state = ConnectionState.OPEN
        self._eof = False
        self._send_failed = False
        self._closed = ConnectionClosed()

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the peer; ``b""`` means the peer closed its side."""
        if data:
            self.decoder.receive_data(data)
        else:
            self._eof = True

    def send_failed(self) -> None:
        """The I/O layer could not send what we returned: no further sends are allowed, and the
        connection is in ERROR."""
        self._send_failed = True
        if self.state is ConnectionState.OPEN:
            self._close("a send failed", ConnectionState.ERROR)

    def _check_can_send(self) -> None:
        if self._send_failed:
            raise LocalProtocolError("cannot send: an earlier send on this connection failed")

    def _next_value(self) -> DecodedValue | NeedData:
        """The next value, generic: for a body that is read only to be dropped."""
        while True:
            item = self.decoder.next_item()
            if not isinstance(item, TypeDefinition):
                return item

    def _eof_reason(self) -> str | None:
        try:
            self.decoder.check_eof()
        except RemoteProtocolError as exc:
            return str(exc)
        return None

    def _close(
        self, reason: str | None, state: ConnectionState, *, over_limit: bool = False
    ) -> ConnectionClosed:
        self.state = state
        self._closed = ConnectionClosed(reason, over_limit)
        return self._closed


class ServerConnection(_Half):
    """The function's side: requests in, replies out.

    ``methods`` maps each ``"Service.Method"`` the server offers to the Go type of its argument.
    Every :class:`Call` and :class:`BadCall` is to be answered once, with :meth:`send_reply` or
    :meth:`send_error`, in any order.
    """

    def __init__(
        self,
        registry: TypeRegistry,
        methods: Mapping[str, GoType],
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(registry, limits)
        self.methods = dict(methods)
        self._services = {name.rpartition(".")[0] for name in self.methods}
        self._well_formed = frozenset(name for name in self.methods if "." in name)
        #: How many requests with each Seq await an answer (a plain dict: ``Counter``'s Python-level
        #: methods showed in profiles of the per-call path).
        self._unanswered: dict[int, int] = {}
        self._header: RequestHeader | None = None

    def next_event(self) -> Call | BadCall | ConnectionClosed | NeedData:
        """The next request event, or NEED_DATA.

        Never raises for bad input: what Go closes on becomes :class:`ConnectionClosed` (and
        stays the answer from then on), what Go answers becomes :class:`BadCall`. Any exception
        is a bug.
        """
        if self.state is not ConnectionState.OPEN:
            return self._closed
        if self._header is None:
            try:
                header = self.decoder.next_value(REQUEST)
            except RemoteProtocolError as exc:
                return self._close(
                    f"rpc: server cannot decode request: {exc}",
                    ConnectionState.ERROR,
                    over_limit=isinstance(exc, MessageTooLargeError),
                )
            if isinstance(header, NeedData):
                if self._eof:
                    return self._close(self._eof_reason(), ConnectionState.CLOSED)
                return NEED_DATA
            if header.error is not None:
                return self._close(
                    f"rpc: server cannot decode request: {header.error}", ConnectionState.ERROR
                )
            request = header.value
            assert isinstance(request, RequestHeader)
            self._header = request
        request = self._header
        service_method = request.service_method
        seq = request.seq
        error = self._method_error(service_method)
        # Go reads the body even for a bad method name (and ignores how that read fails), then
        # answers; a body it cannot read is answered with the gob error, and reading goes on.
        try:
            body = (
                self._next_value()
                if error
                else self.decoder.next_value(self.methods[service_method])
            )
        except RemoteProtocolError as exc:
            self._header = None
            return self._expect_answer(BadCall(seq, service_method, error or _go_text(exc)))
        if isinstance(body, NeedData):
            if not self._eof:
                return NEED_DATA
            # Go's ReadRequestBody fails with EOF or unexpected EOF and is answered; the next
            # header read then meets the EOF and closes.
            self._header = None
            eof = "unexpected EOF" if self._eof_reason() else "EOF"
            return self._expect_answer(BadCall(seq, service_method, error or eof))
        self._header = None
        if error:
            return self._expect_answer(BadCall(seq, service_method, error))
        assert isinstance(body, BoundValue)
        if body.error is not None:
            return self._expect_answer(BadCall(seq, service_method, _go_text(body.error)))
        return self._expect_answer(Call(seq, service_method, body.value))

    def _expect_answer(self, event: Call | BadCall) -> Call | BadCall:
        seq = event.seq
        self._unanswered[seq] = self._unanswered.get(seq, 0) + 1
        return event

    def _check_unanswered(self, seq: int) -> None:
        if seq not in self._unanswered:
            raise LocalProtocolError(f"no request with Seq {seq} is waiting for a reply")

    def _answer(self, seq: int) -> None:
        self._check_unanswered(seq)
        waiting = self._unanswered[seq] - 1
        if waiting:
            self._unanswered[seq] = waiting
        else:
            del self._unanswered[seq]

    def _method_error(self, service_method: str) -> str:
        if service_method in self._well_formed:  # the usual case, decided in one lookup
            return ""
        service, dot, _method = service_method.rpartition(".")
        if not dot:
            return f"rpc: service/method request ill-formed: {service_method}"
        if service not in self._services:
            return f"rpc: can't find service {service_method}"
        if service_method not in self.methods:
            return f"rpc: can't find method {service_method}"
        return ""

    def send_reply(self, seq: int, service_method: str, body_type: GoType, body: object) -> bytes:
        """The bytes of a successful reply: the Response header, then ``body``.

        Raises :class:`LocalProtocolError` if no request with ``seq`` awaits an answer or an
        earlier send failed, and :class:`GobEncodeError` if ``body`` does not fit ``body_type``.
        """
        self._check_can_send()
        self._check_unanswered(seq)
        header = ResponseHeader(service_method=service_method, seq=seq)
        data = self.encoder.encode_many([(RESPONSE, header), (body_type, body)])
        self._answer(seq)
        return data

    def send_error(self, seq: int, service_method: str, error: str) -> bytes:
        """The bytes of an error reply: the header with ``Error`` set, then ``struct{}{}``.

        Raises :class:`LocalProtocolError` as :meth:`send_reply` does.
        """
        self._check_can_send()
        self._answer(seq)
        header = ResponseHeader(service_method=service_method, seq=seq, error=error)
        return self.encoder.encode_many([(RESPONSE, header), (INVALID_REQUEST, GobStruct.of(""))])


class ClientConnection(_Half):
    """The service's side: calls out, replies in, matched by ``Seq`` (starting at 0).

    Replies follow Go's ``rpc.Client``: a reply for a Seq nobody waits for is read and dropped;
    when a reply's body cannot be read, that call fails (``reading body ...``, or its error reply
    stands if it had one) and the connection ends, failing every other pending call.
    """

    def __init__(self, registry: TypeRegistry, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(registry, limits)
        self.next_seq = 0
        self._pending: dict[int, GoType] = {}
        self._header: ResponseHeader | None = None
        self._queued: list[ConnectionClosed] = []

    @property
    def pending(self) -> frozenset[int]:
        """Seqs of calls sent and not yet answered (empty once the connection has ended: they
        all failed)."""
        return frozenset(self._pending)

    def send_call(
        self, service_method: str, body_type: GoType, body: object, reply_type: GoType
    ) -> tuple[int, bytes]:
        """Start a call; returns its Seq and the bytes to send (header, then body).

        Raises :class:`LocalProtocolError` once the connection has ended or a send failed (Go's
        ``connection is shut down``), and :class:`GobEncodeError` if ``body`` does not fit.
        """
        self._check_can_send()
        if self.state is not ConnectionState.OPEN:
            raise LocalProtocolError(_SHUT_DOWN)
        seq = self.next_seq
        header = RequestHeader(service_method=service_method, seq=seq)
        data = self.encoder.encode_many([(REQUEST, header), (body_type, body)])
        self.next_seq += 1
        self._pending[seq] = reply_type
        return seq, data

    def next_event(self) -> Reply | ErrorReply | CallFailed | ConnectionClosed | NeedData:
        """The next reply event, or NEED_DATA.

        Never raises for bad input. After :class:`ConnectionClosed` (which stays the answer from
        then on) every call still pending has failed: with ``unexpected EOF`` if the peer closed,
        as Go fails them, or with the reason given.
        """
        if self._queued:
            return self._queued.pop(0)
        while True:
            event = self._read_reply()
            if event is not None:
                return event

    def _read_reply(self) -> Reply | ErrorReply | CallFailed | ConnectionClosed | NeedData | None:
        """One step; None when a reply nobody waits for was dropped."""
        if self.state is not ConnectionState.OPEN:
            return self._closed
        if self._header is None:
            try:
                header = self.decoder.next_value(RESPONSE)
            except RemoteProtocolError as exc:
                return self._close(str(exc), ConnectionState.ERROR)
            if isinstance(header, NeedData):
                if not self._eof:
                    return NEED_DATA
                reason = self._eof_reason()
                if reason is None and self._pending:
                    reason = "unexpected EOF"
                return self._close(reason, ConnectionState.CLOSED)
            if header.error is not None:
                return self._close(str(header.error), ConnectionState.ERROR)
            response = header.value
            assert isinstance(response, ResponseHeader)
            self._header = response
        response = self._header
        seq = response.seq
        service_method = response.service_method
        error = response.error
        # A body nobody will bind (an error reply's, or one for a Seq nobody waits for) is read
        # generically and dropped, as Go reads it into nothing.
        reply_type = None if error else self._pending.get(seq)
        try:
            body = self._next_value() if reply_type is None else self.decoder.next_value(reply_type)
        except RemoteProtocolError as exc:
            return self._body_failed(seq, service_method, error, str(exc))
        if isinstance(body, NeedData):
            if not self._eof:
                return NEED_DATA
            eof = "unexpected EOF" if self._eof_reason() else "EOF"
            return self._body_failed(seq, service_method, error, eof)
        self._header = None
        if self._pending.pop(seq, None) is None:
            return None
        if error:
            return ErrorReply(seq, service_method, error)
        assert isinstance(body, BoundValue)
        if body.error is not None:
            self._queued.append(self._close(str(body.error), ConnectionState.ERROR))
            return CallFailed(seq, f"reading body {body.error}")
        return Reply(seq, service_method, body.value)

    def _body_failed(
        self, seq: int, service_method: str, error: str, text: str
    ) -> ErrorReply | CallFailed | ConnectionClosed:
        """Go's client loop when reading a body fails: the call learns its fate, then all end."""
        self._header = None
        known = self._pending.pop(seq, None) is not None
        if known and not error:
            # Go ends the other calls with the same error, EOF turned into unexpected EOF.
            reason = "unexpected EOF" if text == "EOF" else text
            self._queued.append(self._close(reason, ConnectionState.ERROR))
            return CallFailed(seq, f"reading body {text}")
        closed = self._close(f"reading error body: {text}", ConnectionState.ERROR)
        if not known:
            return closed
        self._queued.append(closed)
        return ErrorReply(seq, service_method, error)

    def _close(
        self, reason: str | None, state: ConnectionState, *, over_limit: bool = False
    ) -> ConnectionClosed:
        self._pending.clear()  # every pending call fails with the connection
        return super()._close(reason, state, over_limit=over_limit)


def _go_text(exc: RemoteProtocolError) -> str:
    """What Go's server replies for a body that failed to decode with ``exc``: its decoder's text,
    not ours (which says where)."""
    return exc.go_text if isinstance(exc, GobDecodeError) else str(exc)
