"""The go1.x service's side, as a Python API for test harnesses.

Three ways in, from the lowest level up:

- :func:`connect` (trio) and :func:`connect_sync` (blocking) talk to a function that is already
  listening: dial ``127.0.0.1:<port>`` and Ping it (both retried every 5 ms, as the service does,
  until ``init_timeout``), then ``ping()`` and ``invoke()`` as often as you like::

      async with lambda_legacy.client.connect(port) as function:
          response = await function.invoke(Invocation.of_event({"name": "go1.x"}))
          print(response.json())

      with lambda_legacy.client.connect_sync(port) as function:
          function.invoke(Invocation(payload=b"{}"))

- :func:`open_service` (trio) starts the executable itself, exactly as ``lambda-legacy invoke``
  does: its own process group, ``_LAMBDA_SERVER_PORT`` and the go1.x environment, the deadline
  enforced by killing the group, a fresh process after a crash, a timeout or ShouldExit. Its
  :meth:`FunctionService.invoke` never raises for the function's failures; it returns an
  :class:`InvokeOutcome` (payload or error, durations, peak memory)::

      async with open_service(FunctionConfiguration(timeout=1), command=["./main"]) as service:
          outcome = await service.invoke(Invocation.of_event({"ms": 10}))
          outcome.result()  # the Response, or raises InvokeFailed

  ``await service.start()`` runs the init phase before any event (None, or an
  :class:`InitFailure`); otherwise the first invoke does.

A function error arrives as :class:`InvokeFailed`: ``message``, ``type``, ``stack_trace``
(frames with ``path``, ``line``, ``label``, innermost first) and ``should_exit``, the fields of
aws-lambda-go's ``InvokeResponse_Error``. If the connection ends before the reply, the trio client
raises ``trio.BrokenResourceError`` and the blocking one ``ConnectionError``, with Go's client error
text (``unexpected EOF``, ``reading body gob: ...``); a reply with net/rpc's ``Response.Error``
set (e.g. the process serves no ``Function`` service) raises :class:`RemoteCallError`.

Every request carries a deadline: ``Invocation.deadline_ns`` if given, else "now + timeout" when
it is sent. The clients only send it; the function itself never enforces it (aws-lambda-go only
exposes it in the context), which is why :func:`open_service` kills the process when it passes.
So a call to a hung function waits as long as its caller lets it: the trio client's calls are
bounded the trio way, by the caller's cancel scope (``with trio.fail_after(seconds):``; the
client stays usable, and a reply that comes later is dropped); the blocking client bounds each
read with ``read_timeout`` (``timeout`` plus a second by default), then closes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from gobrpc import RemoteCallError
from runtime._client import FunctionClient, connect_function
from runtime._errors import InvokeFailed
from runtime._faults import Frame
from runtime._messages import InvokeResponse

from ._invocation import DEFAULT_FUNCTION_NAME, Invocation, Response, function_arn
from ._service import (
    DEFAULT_INIT_TIMEOUT,
    DEFAULT_TIMEOUT,
    FunctionConfiguration,
    FunctionService,
    InitFailure,
    InvokeOutcome,
    open_service,
)
from ._service_errors import FunctionError
from ._sync_client import BlockingFunctionClient, dial_blocking

__all__ = [
    # values
    "Invocation",
    "Response",
    "InvokeFailed",
    "Frame",
    "RemoteCallError",
    # a function that is already listening
    "Client",
    "connect",
    "SyncClient",
    "connect_sync",
    # a function this process starts
    "FunctionConfiguration",
    "FunctionService",
    "InitFailure",
    "InvokeOutcome",
    "open_service",
]

#: How much longer than the function's timeout :class:`SyncClient` waits for a read by default.
SYNC_READ_MARGIN = 1.0


def _response(request_id: str, response: InvokeResponse) -> Response:
    if response.error is not None:
        error = FunctionError.from_response(response.error)
        raise InvokeFailed(
            message=error.message,
            type=error.type,
            stack_trace=error.stack_trace,
            should_exit=error.should_exit,
        )
    return Response(request_id=request_id, payload=response.payload)


class Client:
    """A connection to a listening go1.x function, on trio (made by :func:`connect`).

    Calls may overlap (net/rpc matches replies by Seq), though a real go1.x service makes one at a
    time, and aws-lambda-go's response buffers are unsafe under overlapping invokes.
    """

    def __init__(self, inner: FunctionClient, *, timeout: float, function_arn: str) -> None:
        self._inner = inner
        self._timeout = timeout
        self._function_arn = function_arn

    async def ping(self) -> None:
        """Call ``Function.Ping`` once.

        Raises:
            trio.BrokenResourceError: the connection ended first.
            RemoteCallError: the process answered with a net/rpc error.
        """
        await self._inner.ping()

    async def invoke(self, invocation: Invocation | None = None) -> Response:
        """Send one event (``{}`` by default) with ``Function.Invoke`` and wait for the answer.

        Returns:
            The function's payload.

        Raises:
            InvokeFailed: the function answered with an error.
            trio.BrokenResourceError: the connection ended first.
            RemoteCallError: the process answered with a net/rpc error.
        """
        event = _invocation(invocation)
        request = event.to_request(timeout=self._timeout, function_arn=self._function_arn)
        return _response(event.request_id, await self._inner.invoke(request))


def _invocation(invocation: Invocation | None) -> Invocation:
    """The event to send: ``invocation``, ``{}`` for None; anything else is misuse, said plainly
    (a dict would otherwise fail deep inside with an AttributeError)."""
    if invocation is None:
        return Invocation()
    if not isinstance(invocation, Invocation):
        raise TypeError(
            f"invoke() takes an Invocation (Invocation(payload=b'...')), not "
            f"{type(invocation).__name__}"
        )
    return invocation


@asynccontextmanager
async def connect(
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = DEFAULT_TIMEOUT,
    init_timeout: float = DEFAULT_INIT_TIMEOUT,
    function_name: str = DEFAULT_FUNCTION_NAME,
) -> AsyncIterator[Client]:
    """Connect to the function listening on ``host:port`` (trio).

    Dials and Pings, each retried every 5 ms, until a Ping is answered. ``timeout`` sets the
    deadline sent with each invoke; ``function_name`` the ARN sent as ``InvokedFunctionArn``.

    Raises:
        trio.TooSlowError: no Ping was answered within ``init_timeout`` seconds.
        trio.BrokenResourceError: the connection ended during Ping.
    """
    async with connect_function(port, host=host, timeout=init_timeout) as inner:
        yield Client(inner, timeout=timeout, function_arn=function_arn(function_name))


class SyncClient:
    """A connection to a listening go1.x function, blocking (made by :func:`connect_sync`).

    One call at a time; each read waits at most ``read_timeout`` seconds.
    """

    def __init__(
        self,
        inner: BlockingFunctionClient,
        *,
        timeout: float,
        read_timeout: float | None,
        function_arn: str,
    ) -> None:
        self._inner = inner
        self._timeout = timeout
        self._read_timeout = read_timeout
        self._function_arn = function_arn

    def ping(self) -> None:
        """Call ``Function.Ping`` once.

        Raises:
            ConnectionError: the connection ended first.
            TimeoutError: no reply in time; the client is closed.
            RemoteCallError: the process answered with a net/rpc error.
        """
        self._inner.ping(timeout=self._read_timeout)

    def invoke(self, invocation: Invocation | None = None) -> Response:
        """Send one event (``{}`` by default) with ``Function.Invoke`` and wait for the answer.

        Returns:
            The function's payload.

        Raises:
            InvokeFailed: the function answered with an error.
            ConnectionError: the connection ended first.
            TimeoutError: no reply in time; the client is closed. Or another thread's call
                kept the connection for ``read_timeout``; the client stays open.
            RemoteCallError: the process answered with a net/rpc error.
        """
        event = _invocation(invocation)
        with self._inner.turn(self._read_timeout):  # the deadline counts from the call's turn
            request = event.to_request(timeout=self._timeout, function_arn=self._function_arn)
            response = self._inner.invoke(request, timeout=self._read_timeout)
        return _response(event.request_id, response)

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()


@contextmanager
def connect_sync(
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = DEFAULT_TIMEOUT,
    init_timeout: float = DEFAULT_INIT_TIMEOUT,
    read_timeout: float | None = None,
    function_name: str = DEFAULT_FUNCTION_NAME,
) -> Iterator[SyncClient]:
    """Connect to the function listening on ``host:port`` (blocking).

    As :func:`connect`; ``read_timeout`` bounds each wait for a reply (default: ``timeout`` plus
    one second, so a function that outlives its deadline does not hang the harness).

    Raises:
        TimeoutError: no Ping was answered within ``init_timeout`` seconds.
        ConnectionError: the connection ended during Ping.
    """
    deadline = time.monotonic() + init_timeout
    inner = BlockingFunctionClient(dial_blocking(host, port, deadline))
    try:
        inner.ping_until_answered(deadline)
        yield SyncClient(
            inner,
            timeout=timeout,
            read_timeout=timeout + SYNC_READ_MARGIN if read_timeout is None else read_timeout,
            function_arn=function_arn(function_name),
        )
    finally:
        inner.close()
