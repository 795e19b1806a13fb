"""The Lambda Runtime API over HTTP/1.1: h11 does the protocol, trio does the I/O.

Theory of operation. The Runtime API is four plain HTTP calls against
``http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/``: ``GET invocation/next`` (200, the event),
``POST invocation/<id>/response`` and ``POST invocation/<id>/error`` (202), and ``POST
init/error`` (202). One runtime makes them strictly one after another, so the client is one
keep-alive connection and one :class:`h11.Connection` in the CLIENT role: send a request, read
events until ``EndOfMessage``, then ``start_next_cycle()``. h11 parses and frames every byte; this
module only moves bytes between it and a ``trio.SocketStream`` (TCP_NODELAY is trio's default), as
``runtime/_stream.py`` does for gob.

A reused connection that the server has closed in the meantime fails before any response byte
arrives; the request is then sent once more on a fresh connection. A failure on a fresh connection,
or after part of a response, is reported as :class:`RuntimeApiError`.

httpx (on trio through anyio) was measured against this and was slower per invoke; see
``benchmarks/runtime_api_client.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

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

#: How much to ask ``receive_some`` for at once: a 6 MB event arrives in about a hundred reads.
RECEIVE_SIZE = 64 * 1024

#: Bodies up to this size are sent in the same write as the request head (one segment on the
#: wire); larger ones go in their own write rather than being copied into one buffer.
COALESCE_LIMIT = 64 * 1024

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

    async def next_invocation(self) -> Invocation:
        """``GET invocation/next``: wait for the next event.

        Raises:
            RuntimeApiError: the status was not 200, or the connection failed.
        """
        response = await self._call("GET", "/runtime/invocation/next", (), b"", 200)
        return Invocation.from_response(response)

    async def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        """``POST invocation/<id>/response`` with the handler's result."""
        headers = [("Content-Type", content_type)]
        path = f"/runtime/invocation/{request_id}/response"
        await self._call("POST", path, headers, body, 202)

    async def post_error(self, request_id: str, body: bytes, *, xray_cause: bytes | None) -> None:
        """``POST invocation/<id>/error`` with a JSON error body.

        As awslambdaric 4.2.2 sends it: ``Content-Type: application/json`` and, when given,
        ``Lambda-Runtime-Function-XRay-Error-Cause``; no ``Lambda-Runtime-Function-Error-Type``
        (awslambdaric sends that header on ``init/error`` only).
        """
        headers = [("Content-Type", "application/json")]
        if xray_cause:
            headers.append((XRAY_CAUSE_HEADER, xray_cause.decode("utf-8")))
        path = f"/runtime/invocation/{request_id}/error"
        await self._call("POST", path, headers, body, 202)

    async def post_init_error(self, body: bytes, *, error_type: str) -> None:
        """``POST init/error`` with ``Lambda-Runtime-Function-Error-Type: <error_type>``.

        No Content-Type, as awslambdaric's ``http.client`` call sends none.
        """
        headers = [(ERROR_TYPE_HEADER, error_type)]
        await self._call("POST", "/runtime/init/error", headers, body, 202)

    async def aclose(self) -> None:
        """Close the connection, if one is open."""
        stream, self._stream, self._conn = self._stream, None, None
        if stream is not None:
            await stream.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]] | tuple[()],
        body: bytes,
        expected: int,
    ) -> RuntimeApiResponse:
        target = API_VERSION + path
        try:
            try:
                response = await self._exchange(method, target, headers, body)
            except _ConnectionLostError:
                if self._fresh:
                    raise
                await self.aclose()  # the server closed a kept-alive connection: try once more
                response = await self._exchange(method, target, headers, body)
        except (_ConnectionLostError, OSError, trio.BrokenResourceError, h11.ProtocolError) as exc:
            await self.aclose()
            reason = str(exc) or type(exc).__name__
            raise RuntimeApiError(f"failed to {method} {self._url(target)}: {reason}") from exc
        if response.status != expected:
            raise RuntimeApiError(
                f"failed to {'GET' if method == 'GET' else 'POST to'} {self._url(target)}: "
                f"got unexpected status code: {response.status}"
            )
        return response

    def _url(self, target: str) -> str:
        return f"http://{self.address}{target}"

    async def _connect(self) -> tuple[trio.SocketStream, h11.Connection]:
        if self._stream is not None and self._conn is not None:
            if self._conn.our_state is h11.IDLE and self._conn.their_state is h11.IDLE:
                self._fresh = False
                return self._stream, self._conn
            await self.aclose()  # MUST_CLOSE, CLOSED or ERROR: h11 will not take another request
        host, _, port = self.address.rpartition(":")
        self._stream = await trio.open_tcp_stream(host, int(port))
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
        self._fresh = True
        return self._stream, self._conn

    async def _exchange(
        self,
        method: str,
        target: str,
        extra_headers: list[tuple[str, str]] | tuple[()],
        body: bytes,
    ) -> RuntimeApiResponse:
        stream, conn = await self._connect()
        headers = [("Host", self.address), ("User-Agent", self.user_agent)]
        headers.extend(extra_headers)
        if method != "GET":
            headers.append(("Content-Length", str(len(body))))
        head = conn.send(h11.Request(method=method, target=target, headers=headers))
        # send_with_data_passthrough hands the body back uncopied (Content-Length framing).
        framed = (conn.send_with_data_passthrough(h11.Data(data=body)) or []) if body else []
        tail = conn.send(h11.EndOfMessage())
        try:
            if len(body) <= COALESCE_LIMIT:
                await stream.send_all(b"".join([head, *framed, tail]))
            else:
                await stream.send_all(head)
                for piece in framed:
                    await stream.send_all(piece)
                await stream.send_all(tail)
        except (OSError, trio.BrokenResourceError) as exc:
            raise _ConnectionLostError(str(exc)) from exc
        response = await self._receive(stream, conn, method)
        conn.start_next_cycle()
        return response

    async def _receive(
        self, stream: trio.SocketStream, conn: h11.Connection, method: str
    ) -> RuntimeApiResponse:
        status = 0
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await stream.receive_some(RECEIVE_SIZE)
                except (OSError, trio.BrokenResourceError) as exc:
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
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                return RuntimeApiResponse(status=status, headers=headers, body=body)
            elif isinstance(event, h11.ConnectionClosed):
                raise _ConnectionLostError("connection closed before the response")
            # h11.InformationalResponse (1xx) is skipped
