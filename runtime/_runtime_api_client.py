"""The Lambda Runtime API over HTTP/1.1: h11 does the protocol, trio does the I/O.

Theory of operation. The Runtime API is four plain HTTP calls against
``http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/``: ``GET invocation/next`` (200, the event),
``POST invocation/<id>/response`` and ``POST invocation/<id>/error`` (202), and ``POST
init/error`` (202). One runtime makes them strictly one after another, each a request, its whole
response, then a check of its status: a result is accepted before the next event is asked for,
as Lambda's own runtimes do it. So the client is one keep-alive connection and one
:class:`h11.Connection` in the CLIENT role: send a request, read events until ``EndOfMessage``,
then ``start_next_cycle()``, or, when the server said ``Connection: close``, open a new
connection for the next call. h11 parses and frames every byte; this module only moves bytes
between it and the socket of a ``trio.SocketStream`` (TCP_NODELAY is trio's default), as
``runtime/_stream.py`` does for gob.

Each event crosses this module twice on the invoke's critical path (its ``/next`` answer in, the
result out), so the I/O skips what trio's stream methods add to every call:

- A request goes out in one ``writev`` of h11's pieces (head, body, end) straight to the
  non-blocking descriptor: one segment on the wire for a small event, no copy of a large body.
  Only what the kernel does not take at once goes through ``send_all``. Cancellation is checked
  before h11 renders the request, so a cancelled call sends nothing and the connection stays
  usable.
- An answer is read straight from the descriptor with one schedule point per read, as
  ``runtime/_stream.py`` reads gob (:func:`runtime._socket_io.receive_some`: a cancelled reader
  consumes nothing). ``SocketStream`` takes two schedule points per send and two per receive.
- The ``/next`` request, the same every time, is built (its headers checked by h11) once, and
  so are the Host and User-Agent headers of every POST.
- A body that arrives in many reads is joined once, at the end.

Header values go out as their UTF-8 bytes: h11 takes bytes as they are and would refuse
non-ASCII text, which awslambdaric's X-Ray cause document may hold. Header values that come in are
read as UTF-8 too, as awslambdaric's HTTP client reads them: a client context or Cognito identity
with non-ASCII text arrives as that text. Bytes that are not UTF-8 survive as surrogate escapes
(and go back out as the same bytes).

A reused connection that the server has closed in the meantime fails before any response byte
arrives; the request is then sent once more on a fresh connection. A failure on a fresh connection,
or after part of a response, is reported as :class:`RuntimeApiError`.

Sending the next ``GET invocation/next`` in the same write as a result, before its 202 (HTTP/1.1
pipelining), was tried and removed: the gain measured under the stand-in emulator was mixed, and
a runtime whose result is refused would by then have asked for, and maybe been handed, the next
event, which it would fail with it.

httpx (on trio through anyio) was measured against this and was slower per invoke; see
``benchmarks/runtime_api_client.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import h11
import trio

from ._errors import LambdaLegacyError
from ._socket_io import descriptor, receive_some, writev_now

__all__ = [
    "API_VERSION",
    "ERROR_TYPE_HEADER",
    "INVOCATION_ID_HEADER",
    "MAX_XRAY_CAUSE_BYTES",
    "XRAY_CAUSE_HEADER",
    "Invocation",
    "RuntimeApiClient",
    "RuntimeApiError",
    "RuntimeApiResponse",
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


class _ConnectionLostError(Exception):
    """Internal: the connection ended before any byte of the response arrived."""


# What ends a call as RuntimeApiError: the connection, or the HTTP on it, failed (UnicodeError:
# text that cannot be written as bytes, such as a lone surrogate in a request id).
_FAILURES = (
    _ConnectionLostError,
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    h11.ProtocolError,
    UnicodeError,
)


@attrs.frozen
class _Prepared:
    """What a client sends on every call: its Host and User-Agent, and the ``/next`` request."""

    host_headers: tuple[tuple[bytes, bytes], ...]
    next_request: h11.Request

    @classmethod
    def of(cls, address: str, user_agent: str) -> _Prepared:
        host_headers = ((b"Host", address.encode("ascii")), (b"User-Agent", user_agent.encode()))
        target = (API_VERSION + NEXT_PATH).encode()
        request = h11.Request(method=b"GET", target=target, headers=list(host_headers))
        return cls(host_headers=host_headers, next_request=request)


@attrs.define(eq=False)
class RuntimeApiClient:
    """A keep-alive HTTP/1.1 client for one Runtime API address (``host:port``).

    Not safe for concurrent use: calls are made one after another, as a runtime makes them.
    Each returns once the server's whole answer is read and its status checked.
    """

    address: str
    user_agent: str = "lambda-legacy"
    _stream: trio.SocketStream | None = None
    _conn: h11.Connection | None = None
    _fresh: bool = False
    _prepared: _Prepared | None = None

    async def next_invocation(self) -> Invocation:
        """``GET invocation/next``: wait for the next event.

        Raises:
            RuntimeApiError: the status was not 200, or the connection failed.
        """
        target = API_VERSION + NEXT_PATH
        request = self._prepare("GET", target).next_request
        response = await self._call("GET", target, request, b"", 200)
        return Invocation.from_response(response)

    async def post_response(
        self, request_id: str, body: bytes, content_type: str, *, invocation_id: str | None = None
    ) -> None:
        """``POST invocation/<id>/response`` with the handler's result.

        ``invocation_id`` (the ``/next`` answer's) goes back as ``Lambda-Runtime-Invocation-Id``.

        Raises:
            RuntimeApiError: the status was not 202, or the connection failed.
        """
        path = f"/runtime/invocation/{request_id}/response"
        headers = [("Content-Type", content_type), *_invocation_id(invocation_id)]
        await self._post(path, headers, body)

    async def post_error(
        self,
        request_id: str,
        body: bytes,
        *,
        xray_cause: bytes | None,
        invocation_id: str | None = None,
    ) -> None:
        """``POST invocation/<id>/error`` with a JSON error body.

        As awslambdaric 4.2.2 sends it: ``Content-Type: application/json``,
        ``Lambda-Runtime-Function-XRay-Error-Cause`` when given and shorter than
        :data:`MAX_XRAY_CAUSE_BYTES` (its bytes as they are), and the invocation id as for
        :meth:`post_response`; no ``Lambda-Runtime-Function-Error-Type`` (awslambdaric sends that
        header on ``init/error`` only).

        Raises:
            RuntimeApiError: the status was not 202, or the connection failed.
        """
        headers: list[tuple[str, str | bytes]] = [("Content-Type", "application/json")]
        if xray_cause and len(xray_cause) < MAX_XRAY_CAUSE_BYTES:
            headers.append((XRAY_CAUSE_HEADER, xray_cause))
        headers.extend(_invocation_id(invocation_id))
        await self._post(f"/runtime/invocation/{request_id}/error", headers, body)

    async def post_init_error(self, body: bytes, *, error_type: str) -> None:
        """``POST init/error`` with ``Lambda-Runtime-Function-Error-Type: <error_type>``.

        No Content-Type, as awslambdaric's ``http.client`` call sends none.

        Raises:
            RuntimeApiError: the status was not 202, or the connection failed.
        """
        await self._post("/runtime/init/error", ((ERROR_TYPE_HEADER, error_type),), body)

    async def aclose(self) -> None:
        """Close the connection, if one is open."""
        self._drop()
        await trio.lowlevel.checkpoint()

    # --- calls -------------------------------------------------------------------------------

    def _prepare(self, method: str, target: str) -> _Prepared:
        """The parts every request shares, built (and checked by h11) on the first call."""
        if self._prepared is None:
            try:
                self._prepared = _Prepared.of(self.address, self.user_agent)
            except (h11.ProtocolError, UnicodeError) as exc:
                raise self._error(method, target, exc) from exc
        return self._prepared

    async def _post(
        self, path: str, headers: Sequence[tuple[str, str | bytes]], body: bytes
    ) -> None:
        """POST ``body``; header values go out as their UTF-8 bytes."""
        target = API_VERSION + path
        prepared = self._prepare("POST", target)
        try:
            request = h11.Request(
                method=b"POST",
                target=target.encode(),
                headers=[
                    *prepared.host_headers,
                    *((name.encode(), _utf8(value)) for name, value in headers),
                    (b"Content-Length", b"%d" % len(body)),
                ],
            )
        except (h11.ProtocolError, UnicodeError) as exc:
            raise self._error("POST", target, exc) from exc
        await self._call("POST", target, request, body, 202)

    async def _call(
        self, method: str, target: str, request: h11.Request, body: bytes, expected: int
    ) -> RuntimeApiResponse:
        """Send ``request``, read its whole answer, and check that its status is ``expected``."""
        try:
            try:
                response = await self._exchange(request, body)
            except _ConnectionLostError:
                if self._fresh:
                    raise
                self._drop()  # the server closed a kept-alive connection: try once more
                response = await self._exchange(request, body)
        except _FAILURES as exc:
            self._drop()
            raise self._error(method, target, exc) from exc
        if response.status != expected:
            raise RuntimeApiError(
                f"failed to {'GET' if method == 'GET' else 'POST to'} {self._url(target)}: "
                f"got unexpected status code: {response.status}"
            )
        return response

    def _error(self, method: str, target: str, exc: BaseException) -> RuntimeApiError:
        reason = str(exc) or type(exc).__name__
        return RuntimeApiError(f"failed to {method} {self._url(target)}: {reason}")

    def _url(self, target: str) -> str:
        return f"http://{self.address}{target}"

    # --- the connection ----------------------------------------------------------------------

    def _drop(self) -> None:
        """Close the connection now (a socket closes without waiting)."""
        stream, self._stream, self._conn = self._stream, None, None
        if stream is not None:
            stream.socket.close()

    async def _connect(self) -> tuple[trio.SocketStream, h11.Connection]:
        if self._stream is not None and self._conn is not None:
            if self._conn.our_state is h11.IDLE and self._conn.their_state is h11.IDLE:
                self._fresh = False
                return self._stream, self._conn
            # MUST_CLOSE (Connection: close), CLOSED, ERROR, or a call cancelled part-way:
            # h11 will not take another request on it.
            self._drop()
        host, _, port = self.address.rpartition(":")
        self._stream = await trio.open_tcp_stream(host, int(port))
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
        self._fresh = True
        return self._stream, self._conn

    async def _exchange(self, request: h11.Request, body: bytes) -> RuntimeApiResponse:
        """Write ``request`` and ``body`` in one write, then read the whole answer."""
        stream, conn = await self._connect()
        # Before h11 moves on: a cancelled call sends nothing and leaves the connection usable.
        await trio.lowlevel.checkpoint_if_cancelled()
        pieces = [conn.send(request)]
        if body:
            # send_with_data_passthrough hands the body back uncopied (Content-Length framing).
            pieces.extend(conn.send_with_data_passthrough(h11.Data(data=body)) or ())
        pieces.append(conn.send(h11.EndOfMessage()))
        try:
            for piece in writev_now(descriptor(stream.socket), pieces):
                await stream.send_all(piece)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise _ConnectionLostError(str(exc)) from exc
        return await _read_response(stream.socket, conn)


async def _read_response(sock: trio.socket.SocketType, conn: h11.Connection) -> RuntimeApiResponse:
    """Read one whole answer; ready h11 for the next request if the connection stays open."""
    received = False
    status = 0
    headers: dict[str, str] = {}
    chunks: list[bytes | bytearray] = []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await receive_some(sock)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                if not received:
                    raise _ConnectionLostError(str(exc)) from exc
                raise
            if not data and not received:
                raise _ConnectionLostError("connection closed before the response")
            received = True
            conn.receive_data(data)
        elif isinstance(event, h11.Response):
            status = event.status_code
            headers = {
                name.decode("latin-1"): value.decode("utf-8", "surrogateescape")
                for name, value in event.headers
            }
        elif isinstance(event, h11.Data):
            chunks.append(event.data)  # joined once at the end, not copied one by one
        elif isinstance(event, h11.EndOfMessage):
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
            body = bytes(chunks[0]) if len(chunks) == 1 else b"".join(chunks)
            return RuntimeApiResponse(status=status, headers=headers, body=body)
        elif isinstance(event, h11.ConnectionClosed):
            raise _ConnectionLostError("connection closed before the response")
        # h11.InformationalResponse (1xx) is skipped


def _utf8(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _invocation_id(invocation_id: str | None) -> list[tuple[str, str | bytes]]:
    return [] if invocation_id is None else [(INVOCATION_ID_HEADER, invocation_id)]
