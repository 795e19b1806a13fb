"""The Lambda Runtime API's HTTP, without the I/O: what a client sends and how it reads answers.

Theory of operation. The Runtime API is four plain HTTP calls against
``http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/``: ``GET invocation/next`` (200, the event),
``POST invocation/<id>/response`` and ``POST invocation/<id>/error`` (202), and ``POST
init/error`` (202). One runtime makes them strictly one after another, each a request, its whole
response, then a check of its status: a result is accepted before the next event is asked for,
as Lambda's own runtimes do it. So a client is one keep-alive connection and one
:class:`h11.Connection` in the CLIENT role: send a request, read events until ``EndOfMessage``,
then ``start_next_cycle()``, or, when the server said ``Connection: close``, open a new
connection for the next call. h11 parses and frames every byte.

This module holds all of that except the socket, for the two clients that move the bytes: the
trio one (:mod:`runtime._runtime_api_client`, for the bridge, which also speaks gob RPC on trio)
and the blocking one (:mod:`runtime._runtime_api_blocking`, for Runtime API mode, which serves
one invoke at a time on the main thread, as awslambdaric does, and so needs no event loop).
Both keep these rules:

- A request goes out in one write of h11's pieces (head, body, end): one segment on the wire for
  a small event, no copy of a large body. The ``/next`` request, the same every time, is built
  (its headers checked by h11) once, and so are the Host and User-Agent headers of every POST.
- A body that arrives in many reads is joined once, at the end.
- Header values go out as their UTF-8 bytes: h11 takes bytes as they are and would refuse
  non-ASCII text, which awslambdaric's X-Ray cause document may hold. Header values that come in
  are read as UTF-8 too, as awslambdaric's HTTP client reads them. Bytes that are not UTF-8
  survive as surrogate escapes (and go back out as the same bytes).
- A reused connection that the server has closed in the meantime fails before any response byte
  arrives (:class:`ConnectionLostError`); the request is then sent once more on a fresh
  connection. A failure on a fresh connection, or after part of a response, is reported as
  :class:`RuntimeApiError`.

Sending the next ``GET invocation/next`` in the same write as a result, before its 202 (HTTP/1.1
pipelining), was tried and removed: the gain measured under the stand-in emulator was mixed, and
a runtime whose result is refused would by then have asked for, and maybe been handed, the next
event, which it would fail with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import h11

from ._errors import LambdaLegacyError

__all__ = [
    "API_VERSION",
    "ERROR_TYPE_HEADER",
    "INVOCATION_ID_HEADER",
    "MAX_XRAY_CAUSE_BYTES",
    "XRAY_CAUSE_HEADER",
    "ApiCall",
    "ConnectionLostError",
    "Invocation",
    "ResponseAssembly",
    "RuntimeApiError",
    "RuntimeApiRequests",
    "RuntimeApiResponse",
    "new_connection",
    "request_pieces",
    "reusable",
    "split_address",
]

#: The path prefix of every Runtime API call.
API_VERSION = "/2018-06-01"

#: Names the error on ``init/error`` (awslambdaric sends the body's ``errorType``).
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
#: awslambdaric's X-Ray cause document on ``invocation/<id>/error``.
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
#: A cause this long or longer is left out, as awslambdaric 4.2.2 leaves it out: a header over
#: 1 MiB is refused (RIE drops the connection), and the error itself would be lost with it.
MAX_XRAY_CAUSE_BYTES = 1024 * 1024
#: The ``/next`` answer's invocation id, sent back on that invoke's result as awslambdaric does
#: (Lambda uses it where one runtime serves invokes concurrently).
INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"

#: The path of ``GET invocation/next``, below :data:`API_VERSION`.
NEXT_PATH = "/runtime/invocation/next"

#: h11 buffers at most this much of an incomplete event (a response head). Runtime API heads are
#: a few hundred bytes; a client context header can reach a few KiB. 64 KiB leaves room.
MAX_INCOMPLETE_EVENT_SIZE = 64 * 1024


class RuntimeApiError(LambdaLegacyError):
    """A Runtime API call failed: unexpected status, broken connection, or bad HTTP.

    The message follows aws-lambda-go's wording, e.g. ``failed to GET
    http://127.0.0.1:9001/2018-06-01/runtime/invocation/next: got unexpected status code: 500``.
    """


class ConnectionLostError(Exception):
    """Internal to the clients: the connection ended before any byte of the response arrived."""


@attrs.frozen(kw_only=True)
class RuntimeApiResponse:
    """One HTTP response: status, headers (names lower-cased, last value wins), body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@attrs.frozen(kw_only=True)
class Invocation:
    """One event from ``GET invocation/next``: the ``Lambda-Runtime-*`` headers and the body.

    Absent headers are None, as awslambdaric's ``headers.get`` sees them, and so are empty
    ones: awslambdaric's HTTP client passes an empty header value on as None.
    """

    request_id: str
    deadline_ms: str | None
    invoked_function_arn: str | None
    trace_id: str | None
    client_context: str | None
    cognito_identity: str | None
    tenant_id: str | None
    content_type: str | None
    body: bytes
    invocation_id: str | None = None

    @classmethod
    def from_response(cls, response: RuntimeApiResponse) -> Invocation:
        """Map the ``/next`` response headers onto the fields."""
        headers = response.headers

        def header(name: str) -> str | None:
            return headers.get(name) or None

        return cls(
            request_id=headers.get("lambda-runtime-aws-request-id", ""),
            deadline_ms=header("lambda-runtime-deadline-ms"),
            invoked_function_arn=header("lambda-runtime-invoked-function-arn"),
            trace_id=header("lambda-runtime-trace-id"),
            client_context=header("lambda-runtime-client-context"),
            cognito_identity=header("lambda-runtime-cognito-identity"),
            tenant_id=header("lambda-runtime-aws-tenant-id"),
            content_type=header("content-type"),
            invocation_id=header("lambda-runtime-invocation-id"),
            body=response.body,
        )


@attrs.frozen
class ApiCall:
    """One Runtime API call to make: the request, its body, and the status that accepts it."""

    method: str
    target: str
    request: h11.Request
    body: bytes
    expected: int


@attrs.frozen
class _Shared:
    """What a client sends on every call: its Host and User-Agent, and the ``/next`` call."""

    host_headers: tuple[tuple[bytes, bytes], ...]
    next_call: ApiCall

    @classmethod
    def of(cls, address: str, user_agent: str) -> _Shared:
        host_headers = ((b"Host", address.encode("ascii")), (b"User-Agent", user_agent.encode()))
        target = API_VERSION + NEXT_PATH
        request = h11.Request(method=b"GET", target=target.encode(), headers=list(host_headers))
        return cls(host_headers=host_headers, next_call=ApiCall("GET", target, request, b"", 200))


@attrs.define(eq=False)
class RuntimeApiRequests:
    """The calls a runtime makes at one Runtime API address (``host:port``), and how their
    answers are judged: the part of a client that does not depend on how bytes move."""

    address: str
    user_agent: str = "lambda-legacy"
    _shared: _Shared | None = None

    def next_call(self) -> ApiCall:
        """``GET invocation/next``."""
        return self._prepare("GET", API_VERSION + NEXT_PATH).next_call

    def response_call(
        self, request_id: str, body: bytes, content_type: str, invocation_id: str | None
    ) -> ApiCall:
        """``POST invocation/<id>/response`` with the handler's result; ``invocation_id`` (the
        ``/next`` answer's) goes back as ``Lambda-Runtime-Invocation-Id``."""
        path = f"/runtime/invocation/{request_id}/response"
        headers = [("Content-Type", content_type), *_invocation_id(invocation_id)]
        return self._post(path, headers, body)

    def error_call(
        self, request_id: str, body: bytes, xray_cause: bytes | None, invocation_id: str | None
    ) -> ApiCall:
        """``POST invocation/<id>/error`` with a JSON error body.

        As awslambdaric 4.2.2 sends it: ``Content-Type: application/json``,
        ``Lambda-Runtime-Function-XRay-Error-Cause`` when given and shorter than
        :data:`MAX_XRAY_CAUSE_BYTES` (its bytes as they are), and the invocation id as for
        :meth:`response_call`; no ``Lambda-Runtime-Function-Error-Type`` (awslambdaric sends that
        header on ``init/error`` only).
        """
        headers: list[tuple[str, str | bytes]] = [("Content-Type", "application/json")]
        if xray_cause and len(xray_cause) < MAX_XRAY_CAUSE_BYTES:
            headers.append((XRAY_CAUSE_HEADER, xray_cause))
        headers.extend(_invocation_id(invocation_id))
        return self._post(f"/runtime/invocation/{request_id}/error", headers, body)

    def init_error_call(self, body: bytes, error_type: str) -> ApiCall:
        """``POST init/error`` with ``Lambda-Runtime-Function-Error-Type: <error_type>``; no
        Content-Type, as awslambdaric's ``http.client`` call sends none."""
        return self._post("/runtime/init/error", ((ERROR_TYPE_HEADER, error_type),), body)

    def checked(self, call: ApiCall, response: RuntimeApiResponse) -> RuntimeApiResponse:
        """``response`` if its status is the one ``call`` expects.

        Raises:
            RuntimeApiError: any other status.
        """
        if response.status != call.expected:
            verb = "GET" if call.method == "GET" else "POST to"
            raise RuntimeApiError(
                f"failed to {verb} {self._url(call.target)}: "
                f"got unexpected status code: {response.status}"
            )
        return response

    def failed(self, call: ApiCall, exc: BaseException) -> RuntimeApiError:
        """The error that reports ``call`` failing with ``exc`` (connection or HTTP)."""
        return self._error(call.method, call.target, exc)

    def _prepare(self, method: str, target: str) -> _Shared:
        """The parts every request shares, built (and checked by h11) on the first call."""
        if self._shared is None:
            try:
                self._shared = _Shared.of(self.address, self.user_agent)
            except (h11.ProtocolError, UnicodeError) as exc:
                raise self._error(method, target, exc) from exc
        return self._shared

    def _post(self, path: str, headers: Sequence[tuple[str, str | bytes]], body: bytes) -> ApiCall:
        """A POST of ``body``; header values go out as their UTF-8 bytes."""
        target = API_VERSION + path
        shared = self._prepare("POST", target)
        try:
            request = h11.Request(
                method=b"POST",
                target=target.encode(),
                headers=[
                    *shared.host_headers,
                    *((name.encode(), _utf8(value)) for name, value in headers),
                    (b"Content-Length", b"%d" % len(body)),
                ],
            )
        except (h11.ProtocolError, UnicodeError) as exc:
            raise self._error("POST", target, exc) from exc
        return ApiCall("POST", target, request, body, 202)

    def _error(self, method: str, target: str, exc: BaseException) -> RuntimeApiError:
        reason = str(exc) or type(exc).__name__
        return RuntimeApiError(f"failed to {method} {self._url(target)}: {reason}")

    def _url(self, target: str) -> str:
        return f"http://{self.address}{target}"


#: The largest TCP port.
MAX_PORT = 65535
#: The port of an ``http://`` URL that names none, as Go's and awslambdaric's clients take it.
HTTP_PORT = 80


def split_address(address: str) -> tuple[str, int]:
    """The host and port of a Runtime API address, ``host:port`` (``[v6]:port``; no port: 80).

    Raises:
        RuntimeApiError: the port is not a number from 1 to 65535.
    """
    host, colon, port = address.rpartition(":")
    if not colon or "]" in port:  # no port, or the colon was inside an IPv6 address
        host, port = address, str(HTTP_PORT)
    if not (port.isascii() and port.isdigit() and 0 < int(port) <= MAX_PORT):
        raise RuntimeApiError(f"bad Runtime API address {address!r}: the port must be 1 to 65535")
    return host.removeprefix("[").removesuffix("]"), int(port)


def new_connection() -> h11.Connection:
    """The h11 state of a fresh connection."""
    return h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)


def reusable(conn: h11.Connection) -> bool:
    """Whether ``conn`` takes another request: not after ``Connection: close``, a close, an
    error, or a call cancelled part-way."""
    return conn.our_state is h11.IDLE and conn.their_state is h11.IDLE


def request_pieces(conn: h11.Connection, call: ApiCall) -> list[bytes]:
    """The bytes of ``call``'s request, in pieces for one ``writev``: head, body, end."""
    pieces = [conn.send(call.request)]
    if call.body:
        # send_with_data_passthrough hands the body back uncopied (Content-Length framing).
        pieces.extend(conn.send_with_data_passthrough(h11.Data(data=call.body)) or ())
    pieces.append(conn.send(h11.EndOfMessage()))
    return [piece for piece in pieces if piece]


@attrs.define(eq=False)
class ResponseAssembly:
    """One answer being read: fed what the socket gives and what h11 makes of it."""

    received: bool = False
    _status: int = 0
    _headers: dict[str, str] = attrs.field(factory=dict)
    _chunks: list[bytes | bytearray] = attrs.field(factory=list)

    def data(self, data: bytes) -> None:
        """Note a read of ``data`` (empty: the peer closed).

        Raises:
            ConnectionLostError: the connection closed before any byte of the answer.
        """
        if not data and not self.received:
            raise ConnectionLostError("connection closed before the response")
        self.received = True

    def event(self, conn: h11.Connection, event: object) -> RuntimeApiResponse | None:
        """Take h11's next event; the whole answer once it is complete, else None.

        After the answer, ``conn`` is ready for the next request if it stays open.

        Raises:
            ConnectionLostError: h11 saw the connection close before the answer.
        """
        if isinstance(event, h11.Response):
            self._status = event.status_code
            self._headers = {
                name.decode("latin-1"): value.decode("utf-8", "surrogateescape")
                for name, value in event.headers
            }
        elif isinstance(event, h11.Data):
            self._chunks.append(event.data)  # joined once at the end, not copied one by one
        elif isinstance(event, h11.EndOfMessage):
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
            chunks = self._chunks
            body = bytes(chunks[0]) if len(chunks) == 1 else b"".join(chunks)
            return RuntimeApiResponse(status=self._status, headers=self._headers, body=body)
        elif isinstance(event, h11.ConnectionClosed):
            raise ConnectionLostError("connection closed before the response")
        # h11.InformationalResponse (1xx) is skipped
        return None


def _utf8(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _invocation_id(invocation_id: str | None) -> list[tuple[str, str | bytes]]:
    return [] if invocation_id is None else [(INVOCATION_ID_HEADER, invocation_id)]
