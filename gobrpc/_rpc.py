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

Replies must be written in the order these methods return them: the encoder's record of which type
definitions the peer has seen advances with each call. The I/O layer therefore holds one write lock
around "encode, then send" (Go's ``sending`` mutex), and calls :meth:`send_failed` if a send did not
complete, after which the connection refuses to send more.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from ._decoder import NEED_DATA, DecodedValue, Decoder, NeedData, TypeDefinition
from ._encoder import Encoder
from ._errors import GobDecodeError, LocalProtocolError, RemoteProtocolError
from ._events import BadCall, Call, CallFailed, ConnectionClosed, ErrorReply, Reply
from ._limits import DEFAULT_LIMITS, Limits
from ._schema import structure
from ._types import BasicType, Field, GoType, Kind, StructType, TypeRegistry
from ._values import GobStruct

__all__ = [
    "INVALID_REQUEST",
    "REQUEST",
    "RESPONSE",
    "ClientConnection",
    "ConnectionState",
    "ServerConnection",
]

_STRING = BasicType(Kind.STRING)
_UINT64 = BasicType(Kind.UINT64)
#: net/rpc's request header, ``rpc.Request`` (its unexported ``next`` field is never sent).
REQUEST = StructType("Request", "rpc", (Field("ServiceMethod", _STRING), Field("Seq", _UINT64)))
#: net/rpc's response header, ``rpc.Response``.
RESPONSE = StructType(
    "Response",
    "rpc",
    (Field("ServiceMethod", _STRING), Field("Seq", _UINT64), Field("Error", _STRING)),
)
#: The body net/rpc sends with an error reply: ``invalidRequest = struct{}{}``, an unnamed type.
INVALID_REQUEST = StructType("")


def _text(header: GobStruct, name: str) -> str:
    value = header.get(name, "")
    return value if isinstance(value, str) else ""


def _number(header: GobStruct, name: str) -> int:
    value = header.get(name, 0)
    return value if isinstance(value, int) else 0


class ConnectionState(enum.Enum):
    """OPEN until the peer closes (CLOSED) or the stream breaks or a send fails (ERROR)."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


class _Half:
    """The machinery both roles share: a decoder, an encoder, header/body pairing, EOF."""

    def __init__(self, registry: TypeRegistry, limits: Limits) -> None:
        self.decoder = Decoder(limits)
        self.encoder = Encoder(registry)
        self.state = ConnectionState.OPEN
        self._eof = False
        self._header: DecodedValue | None = None

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the peer; ``b""`` means the peer closed its side."""
        if data:
            self.decoder.receive_data(data)
        else:
            self._eof = True

    def send_failed(self) -> None:
        """The I/O layer could not send what we returned: no further sends are allowed."""
        self.state = ConnectionState.ERROR

    def _check_can_send(self) -> None:
        if self.state is ConnectionState.ERROR:
            raise LocalProtocolError("cannot send on a connection in ERROR state")

    def _next_value(self) -> DecodedValue | NeedData:
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

    def _close(self, reason: str | None, state: ConnectionState) -> ConnectionClosed:
        self.state = state
        return ConnectionClosed(reason)


class ServerConnection(_Half):
    """The function's side: requests in, replies out.

    ``methods`` maps each ``"Service.Method"`` the server offers to the Go type of its argument.
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

    def next_event(self) -> Call | BadCall | ConnectionClosed | NeedData:
        """The next request event, or NEED_DATA.

        Never raises for bad input: what Go closes on becomes :class:`ConnectionClosed`, what Go
        answers becomes :class:`BadCall`. Any exception is a bug.
        """
        if self.state is not ConnectionState.OPEN:
            return ConnectionClosed("connection already closed")
        if self._header is None:
            try:
                header = self._next_value()
            except RemoteProtocolError as exc:
                return self._close(
                    f"rpc: server cannot decode request: {exc}", ConnectionState.ERROR
                )
            if isinstance(header, NeedData):
                if self._eof:
                    return self._close(self._eof_reason(), ConnectionState.CLOSED)
                return NEED_DATA
            try:
                request = structure(REQUEST, header.type_id, self.decoder.types, header.value)
            except GobDecodeError as exc:
                return self._close(
                    f"rpc: server cannot decode request: {exc}", ConnectionState.ERROR
                )
            self._header = header
            assert isinstance(request, GobStruct)
        else:
            request_value = self._header.value
            assert isinstance(request_value, GobStruct)
            request = request_value
        service_method = _text(request, "ServiceMethod")
        seq = _number(request, "Seq")
        error = self._method_error(service_method)
        try:
            body = self._next_value()
        except RemoteProtocolError as exc:
            self._header = None
            if self.decoder.broken:
                self.state = ConnectionState.ERROR
            return BadCall(seq, service_method, error or str(exc))
        if isinstance(body, NeedData):
            if self._eof:
                # Go's ReadRequestBody fails with EOF or unexpected EOF, replies, then closes.
                self._header = None
                self.state = ConnectionState.CLOSED
                reason = self._eof_reason()
                return BadCall(
                    seq, service_method, error or ("unexpected EOF" if reason else "EOF")
                )
            return NEED_DATA
        self._header = None
        if error:
            return BadCall(seq, service_method, error)
        try:
            value = structure(
                self.methods[service_method], body.type_id, self.decoder.types, body.value
            )
        except GobDecodeError as exc:
            return BadCall(seq, service_method, str(exc))
        return Call(seq, service_method, value)

    def _method_error(self, service_method: str) -> str:
        service, dot, _method = service_method.rpartition(".")
        if not dot:
            return f"rpc: service/method request ill-formed: {service_method}"
        if service not in self._services:
            return f"rpc: can't find service {service_method}"
        if service_method not in self.methods:
            return f"rpc: can't find method {service_method}"
        return ""

    def send_reply(self, seq: int, service_method: str, body_type: GoType, body: object) -> bytes:
        """The bytes of a successful reply: the Response header, then ``body``."""
        self._check_can_send()
        header = GobStruct.of("Response", {"ServiceMethod": service_method, "Seq": seq})
        return self.encoder.encode(RESPONSE, header) + self.encoder.encode(body_type, body)

    def send_error(self, seq: int, service_method: str, error: str) -> bytes:
        """The bytes of an error reply: the header with ``Error`` set, then ``struct{}{}``."""
        self._check_can_send()
        header = GobStruct.of(
            "Response", {"ServiceMethod": service_method, "Seq": seq, "Error": error}
        )
        return self.encoder.encode(RESPONSE, header) + self.encoder.encode(
            INVALID_REQUEST, GobStruct.of("")
        )


class ClientConnection(_Half):
    """The service's side: calls out, replies in, matched by ``Seq`` (starting at 0)."""

    def __init__(self, registry: TypeRegistry, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(registry, limits)
        self.next_seq = 0
        self._pending: dict[int, GoType] = {}

    @property
    def pending(self) -> frozenset[int]:
        """Seqs of calls sent and not yet answered."""
        return frozenset(self._pending)

    def send_call(
        self, service_method: str, body_type: GoType, body: object, reply_type: GoType
    ) -> tuple[int, bytes]:
        """Start a call; returns its Seq and the bytes to send (header, then body)."""
        self._check_can_send()
        seq = self.next_seq
        header = GobStruct.of("Request", {"ServiceMethod": service_method, "Seq": seq})
        data = self.encoder.encode(REQUEST, header) + self.encoder.encode(body_type, body)
        self.next_seq += 1
        self._pending[seq] = reply_type
        return seq, data

    def next_event(self) -> Reply | ErrorReply | CallFailed | ConnectionClosed | NeedData:
        """The next reply event, or NEED_DATA. After :class:`ConnectionClosed` every call still
        pending has failed (Go fails them with ``unexpected EOF``)."""
        if self.state is not ConnectionState.OPEN:
            return ConnectionClosed("connection already closed")
        if self._header is None:
            try:
                header = self._next_value()
            except RemoteProtocolError as exc:
                return self._close(str(exc), ConnectionState.ERROR)
            if isinstance(header, NeedData):
                if self._eof:
                    reason = self._eof_reason()
                    if reason is None and self._pending:
                        reason = "unexpected EOF"
                    return self._close(reason, ConnectionState.CLOSED)
                return NEED_DATA
            try:
                response = structure(RESPONSE, header.type_id, self.decoder.types, header.value)
            except GobDecodeError as exc:
                return self._close(str(exc), ConnectionState.ERROR)
            assert isinstance(response, GobStruct)
            self._header = header
        else:
            response_value = self._header.value
            assert isinstance(response_value, GobStruct)
            response = response_value
        seq = _number(response, "Seq")
        service_method = _text(response, "ServiceMethod")
        error = _text(response, "Error")
        try:
            body = self._next_value()
        except RemoteProtocolError as exc:
            self._header = None
            known = self._pending.pop(seq, None) is not None
            self.state = ConnectionState.ERROR
            prefix = "reading body " if known and not error else "reading error body: "
            return CallFailed(seq, prefix + str(exc))
        if isinstance(body, NeedData):
            if self._eof:
                return self._close("unexpected EOF", ConnectionState.CLOSED)
            return NEED_DATA
        self._header = None
        reply_type = self._pending.pop(seq, None)
        if reply_type is None:
            # Go discards a reply nobody waits for; so do we, and look for the next event.
            return self.next_event()
        if error:
            return ErrorReply(seq, service_method, error)
        try:
            value = structure(reply_type, body.type_id, self.decoder.types, body.value)
        except GobDecodeError as exc:
            self.state = ConnectionState.ERROR
            return CallFailed(seq, f"reading body {exc}")
        return Reply(seq, service_method, value)
