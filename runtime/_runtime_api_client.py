"""The Lambda Runtime API over HTTP/1.1: h11 does the protocol, trio does the I/O.

Theory of operation. The Runtime API is four plain HTTP calls against
``http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/``: ``GET invocation/next`` (200, the event),
``POST invocation/<id>/response`` and ``POST invocation/<id>/error`` (202), and ``POST
init/error`` (202). One runtime makes them strictly one after another, so the client is one
keep-alive connection and one :class:`h11.Connection` in the CLIENT role: send a request, read
events until ``EndOfMessage``, then ``start_next_cycle()``. h11 parses and frames every byte; this
module only moves bytes between it and the socket of a ``trio.SocketStream`` (TCP_NODELAY is
trio's default), as ``runtime/_stream.py`` does for gob.

Each event crosses this module twice on the invoke's critical path (its ``/next`` answer in, the
result out), so the I/O skips what trio's stream methods add to every call:

- A request goes out in one ``writev`` of h11's pieces (head, body, end) straight to the
  non-blocking descriptor: one segment on the wire for a small event, no copy of a large body.
  Only what the kernel does not take at once goes through ``send_all``.
- An answer is read from the descriptor as soon as it is there; only when nothing is yet does
  the call wait, with ``wait_readable``. ``SocketStream`` takes two schedule points per send and
  per receive; here a call that waits yields once, and a cancelled one sends nothing.
- The request for ``/next``, the same every time, is built (its headers checked by h11) once.
- After a result is posted, the ``GET invocation/next`` that always follows goes out in the same
  write (HTTP/1.1 pipelining, which RIE's Go server supports: it answers both in order on the one
  connection). The runtime does not wait for the 202 before asking for its next event, and the
  server reads both requests in one go. h11 sends one request per cycle, so the pipelined bytes
  are h11's own rendering of the ``/next`` request on a scratch connection; once the 202 is
  read, the live connection is handed the same request to move its state on. Only bodies within
  Lambda's response limit are pipelined (see :data:`PIPELINE_LIMIT`).

A reused connection that the server has closed in the meantime fails before any response byte
arrives; the request is then sent once more on a fresh connection (a pipelined POST with its
``/next``, or the ``/next`` alone if the POST was answered). A failure on a fresh connection, or
after part of a response, is reported as :class:`RuntimeApiError`.

httpx (on trio through anyio) was measured against this and was slower per invoke; see
``benchmarks/runtime_api_client.py``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence

import attrs
import h11
import trio

from ._errors import LambdaLegacyError

__all__ = [
    "API_VERSION",
    "ERROR_TYPE_HEADER",
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

#: The path of ``GET invocation/next``, below :data:`API_VERSION`.
NEXT_PATH = "/runtime/invocation/next"

#: The largest body posted with the next ``GET invocation/next`` pipelined behind it: Lambda's
#: limit on a synchronous response (6 MiB; RIE's ``MaxPayloadSize``). A larger one is refused
#: with 413, and the runtime must not have asked for another event by then.
PIPELINE_LIMIT = 6 * 1024 * 1024

#: How much to ask ``receive_some`` for at once: a 6 MB event arrives in about a hundred reads.
RECEIVE_SIZE = 64 * 1024

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

    Absent headers are None, as awslambdaric's ``headers.get`` sees them.
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

    @classmethod
    def from_response(cls, response: RuntimeApiResponse) -> Invocation:
        """Map the ``/next`` response headers onto the fields."""
        headers = response.headers
        return cls(
            request_id=headers.get("lambda-runtime-aws-request-id", ""),
            deadline_ms=headers.get("lambda-runtime-deadline-ms"),
            invoked_function_arn=headers.get("lambda-runtime-invoked-function-arn"),
            trace_id=headers.get("lambda-runtime-trace-id"),
            client_context=headers.get("lambda-runtime-client-context"),
            cognito_identity=headers.get("lambda-runtime-cognito-identity"),
            tenant_id=headers.get("lambda-runtime-aws-tenant-id"),
            content_type=headers.get("content-type"),
            body=response.body,
        )


class _ConnectionLostError(Exception):
    """Internal: the connection ended before any byte of the response arrived."""


# What a descriptor read or write raises once the socket is closed on our side.
_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK})


def _descriptor(stream: trio.SocketStream) -> int:
    fd = stream.socket.fileno()
    if fd == -1:
        raise trio.ClosedResourceError("this socket was already closed")
    return fd


def _stream_error(exc: OSError) -> Exception:
    """``exc`` as trio's streams report it: closed by us, or broken by something else."""
    if exc.errno in _CLOSED_ERRNOS:
        return trio.ClosedResourceError("this socket was already closed")
    return trio.BrokenResourceError(f"socket connection broken: {exc}")


def _write_now(fd: int, pieces: Sequence[bytes]) -> list[memoryview]:
    """Write ``pieces`` in one ``writev`` without blocking; what the kernel did not take."""
    try:
        written = os.writev(fd, pieces)
    except BlockingIOError:
        written = 0
    except OSError as exc:
        raise _stream_error(exc) from exc
    left: list[memoryview] = []
    for piece in pieces:
        if written >= len(piece):
            written -= len(piece)
            continue
        left.append(memoryview(piece)[written:])
        written = 0
    return left


async def _receive_some(stream: trio.SocketStream) -> bytes:
    """What has arrived on ``stream`` (``b""`` at its end), waiting only if nothing has yet."""
    while True:
        try:
            return os.read(_descriptor(stream), RECEIVE_SIZE)
        except BlockingIOError:
            pass
        except OSError as exc:
            raise _stream_error(exc) from exc
        await trio.lowlevel.wait_readable(stream.socket)


@attrs.frozen
class _Posted:
    """A POST sent with ``GET invocation/next`` right behind it, its answer not read yet."""

    target: str
    request: h11.Request
    body: bytes
    fresh: bool


@attrs.frozen
class _Prepared:
    """What a client sends on every call: its Host and User-Agent, and the ``/next`` request."""

    host_headers: list[tuple[bytes, bytes]]
    next_request: h11.Request
    next_wire: bytes

    @classmethod
    def of(cls, address: str, user_agent: str) -> _Prepared:
        host_headers = [(b"Host", address.encode("ascii")), (b"User-Agent", user_agent.encode())]
        target = (API_VERSION + NEXT_PATH).encode()
        request = h11.Request(method=b"GET", target=target, headers=host_headers)
        # The bytes h11 writes for that request, rendered on a scratch connection: the live one
        # takes no request while the answer to the one before it is unread.
        scratch = h11.Connection(h11.CLIENT)
        wire = scratch.send(request) + scratch.send(h11.EndOfMessage())
        return cls(host_headers=host_headers, next_request=request, next_wire=wire)


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


@attrs.define(eq=False)
class RuntimeApiClient:
    """A keep-alive HTTP/1.1 client for one Runtime API address (``host:port``).

    Not safe for concurrent use: calls are made one after another, as a runtime makes them.
    """

    address: str
    user_agent: str = "lambda-legacy"
    _stream: trio.SocketStream | None = None
    _conn: h11.Connection | None = None
    _fresh: bool = False
    _posted: _Posted | None = None
    _prepared: _Prepared | None = None

    def _prepare(self, method: str, target: str) -> _Prepared:
        """The parts every request shares, built (and checked by h11) on the first call."""
        if self._prepared is None:
            try:
                self._prepared = _Prepared.of(self.address, self.user_agent)
            except (h11.ProtocolError, UnicodeError) as exc:
                raise RuntimeApiError(f"failed to {method} {self._url(target)}: {exc}") from exc
        return self._prepared

    async def next_invocation(self) -> Invocation:
        """``GET invocation/next``: wait for the next event.

        After a post with ``then_next=True`` that request is already out: the post's answer is
        read and checked first, then the event.

        Raises:
            RuntimeApiError: a status was not the expected one, or the connection failed.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        target = API_VERSION + NEXT_PATH
        request = self._prepare("GET", target).next_request
        posted, self._posted = self._posted, None
        in_flight = posted is not None and await self._answer_posted(posted, request)
        try:
            if not in_flight:
                response = await self._exchange_once_more(request, b"")
            else:
                try:
                    response = await self._read()
                except _ConnectionLostError:
                    # The server closed the connection right after answering the POST.
                    self._drop()
                    response = await self._exchange(request, b"")
        except _FAILURES as exc:
            raise self._failed("GET", target, exc) from exc
        _check_status("GET", self._url(target), response, 200)
        return Invocation.from_response(response)

    async def post_response(
        self, request_id: str, body: bytes, content_type: str, *, then_next: bool = False
    ) -> None:
        """``POST invocation/<id>/response`` with the handler's result.

        With ``then_next=True`` the ``GET invocation/next`` that comes next goes out in the same
        write (HTTP/1.1 pipelining: the server reads both at once and answers them in order on
        the one connection), and this returns without waiting for the 202: the next call, which
        must be :meth:`next_invocation`, reads and checks it. Bodies over
        :data:`PIPELINE_LIMIT` are never pipelined: the server may refuse them, and then no
        other event must have been asked for.
        """
        headers = [("Content-Type", content_type)]
        await self._post(f"/runtime/invocation/{request_id}/response", headers, body, then_next)

    async def post_error(
        self,
        request_id: str,
        body: bytes,
        *,
        xray_cause: bytes | None,
        then_next: bool = False,
    ) -> None:
        """``POST invocation/<id>/error`` with a JSON error body (``then_next``: as for
        :meth:`post_response`).

        As awslambdaric 4.2.2 sends it: ``Content-Type: application/json`` and, when given,
        ``Lambda-Runtime-Function-XRay-Error-Cause``; no ``Lambda-Runtime-Function-Error-Type``
        (awslambdaric sends that header on ``init/error`` only).
        """
        headers: list[tuple[str, str | bytes]] = [("Content-Type", "application/json")]
        if xray_cause:
            headers.append((XRAY_CAUSE_HEADER, xray_cause))
        await self._post(f"/runtime/invocation/{request_id}/error", headers, body, then_next)

    async def post_init_error(self, body: bytes, *, error_type: str) -> None:
        """``POST init/error`` with ``Lambda-Runtime-Function-Error-Type: <error_type>``.

        No Content-Type, as awslambdaric's ``http.client`` call sends none.
        """
        await self._post("/runtime/init/error", [(ERROR_TYPE_HEADER, error_type)], body, False)

    async def aclose(self) -> None:
        """Close the connection, if one is open."""
        self._drop()
        await trio.lowlevel.checkpoint()

    # --- calls -------------------------------------------------------------------------------

    async def _post(
        self,
        path: str,
        headers: Sequence[tuple[str, str | bytes]],
        body: bytes,
        then_next: bool,
    ) -> None:
        """POST ``body``; header values go out as their UTF-8 bytes (h11 takes bytes as they
        are, and would refuse non-ASCII text)."""
        if self._posted is not None:
            raise RuntimeError("a post with then_next=True must be followed by next_invocation")
        await trio.lowlevel.checkpoint_if_cancelled()
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
            if not then_next or len(body) > PIPELINE_LIMIT:
                response = await self._exchange_once_more(request, body)
            else:
                await self._send_once_more(request, body, then=prepared.next_wire)
                self._posted = _Posted(target=target, request=request, body=body, fresh=self._fresh)
                return
        except _FAILURES as exc:
            raise self._failed("POST", target, exc) from exc
        _check_status("POST", self._url(target), response, 202)

    async def _answer_posted(self, posted: _Posted, next_request: h11.Request) -> bool:
        """Read and check the answer to a pipelined POST; whether the ``/next`` request sent
        behind it is still in flight on a usable connection."""
        try:
            try:
                response = await self._read()
                in_flight = True
            except _ConnectionLostError:
                if posted.fresh:
                    raise
                # The server had closed the kept-alive connection: the POST again, alone.
                self._drop()
                response = await self._exchange(posted.request, posted.body)
                in_flight = False
        except _FAILURES as exc:
            raise self._failed("POST", posted.target, exc) from exc
        if response.status != 202:
            self._drop()  # and with it the /next request sent behind the refused POST
        _check_status("POST", self._url(posted.target), response, 202)
        conn = self._conn
        if not in_flight or conn is None:
            return False
        if conn.our_state is not h11.IDLE:
            self._drop()  # the server ended the connection after its answer
            return False
        # h11 renders this request as the bytes already sent; here it only moves h11's state on.
        conn.send(next_request)
        conn.send(h11.EndOfMessage())
        return True

    async def _exchange_once_more(self, request: h11.Request, body: bytes) -> RuntimeApiResponse:
        """:meth:`_exchange`, once more on a fresh connection if a kept-alive one turns out to
        have been closed by the server (no byte of the answer came)."""
        try:
            return await self._exchange(request, body)
        except _ConnectionLostError:
            if self._fresh:
                raise
            self._drop()
            return await self._exchange(request, body)

    async def _exchange(self, request: h11.Request, body: bytes) -> RuntimeApiResponse:
        await self._send(request, body)
        return await self._read()

    async def _send_once_more(self, request: h11.Request, body: bytes, *, then: bytes) -> None:
        try:
            await self._send(request, body, then=then)
        except _ConnectionLostError:
            if self._fresh:
                raise
            self._drop()
            await self._send(request, body, then=then)

    def _failed(self, method: str, target: str, exc: BaseException) -> RuntimeApiError:
        self._drop()
        reason = str(exc) or type(exc).__name__
        return RuntimeApiError(f"failed to {method} {self._url(target)}: {reason}")

    def _url(self, target: str) -> str:
        return f"http://{self.address}{target}"

    # --- the connection ----------------------------------------------------------------------

    def _drop(self) -> None:
        """Close the connection now (a socket closes without waiting); forget a pending POST."""
        stream, self._stream, self._conn, self._posted = self._stream, None, None, None
        if stream is not None:
            stream.socket.close()

    async def _connect(self) -> tuple[trio.SocketStream, h11.Connection]:
        if self._stream is not None and self._conn is not None:
            if self._conn.our_state is h11.IDLE and self._conn.their_state is h11.IDLE:
                self._fresh = False
                return self._stream, self._conn
            self._drop()  # MUST_CLOSE, CLOSED or ERROR: h11 will not take another request
        host, _, port = self.address.rpartition(":")
        self._stream = await trio.open_tcp_stream(host, int(port))
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
        self._fresh = True
        return self._stream, self._conn

    async def _send(self, request: h11.Request, body: bytes, *, then: bytes = b"") -> None:
        """Write ``request`` (and ``then``, a request pipelined behind it) in one write."""
        stream, conn = await self._connect()
        pieces = [conn.send(request)]
        if body:
            # send_with_data_passthrough hands the body back uncopied (Content-Length framing).
            pieces.extend(conn.send_with_data_passthrough(h11.Data(data=body)) or ())
        pieces.append(conn.send(h11.EndOfMessage()))
        if then:
            pieces.append(then)
        try:
            for piece in _write_now(_descriptor(stream), pieces):
                await stream.send_all(piece)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise _ConnectionLostError(str(exc)) from exc

    async def _read(self) -> RuntimeApiResponse:
        """Read one answer; ready h11 for the next request if the connection stays open."""
        stream, conn = self._stream, self._conn
        if stream is None or conn is None:
            raise _ConnectionLostError("not connected")
        status = 0
        headers: dict[str, str] = {}
        chunks: list[bytes | bytearray] = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await _receive_some(stream)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    if not status:
                        raise _ConnectionLostError(str(exc)) from exc
                    raise
                if not data and not status:
                    raise _ConnectionLostError("connection closed before the response")
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {
                    name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers
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
    return value if isinstance(value, bytes) else value.encode()


def _check_status(method: str, url: str, response: RuntimeApiResponse, expected: int) -> None:
    if response.status != expected:
        raise RuntimeApiError(
            f"failed to {'GET' if method == 'GET' else 'POST to'} {url}: "
            f"got unexpected status code: {response.status}"
        )
