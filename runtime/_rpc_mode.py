"""go1.x RPC mode: the trio server beside the main thread, for a handler already loaded.

The trio run takes a thread of its own and plain handlers run on the main thread, the one that
imported their module, as awslambdaric calls them (:mod:`runtime._main_thread`); concurrent
invokes, which only local load sends, take worker threads while the main thread is busy.
SIGTERM is caught on the main thread and stops the server once the invokes in flight are
answered.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import MutableMapping

from gobrpc import (
    FIRST_USER_ID_LEGACY,
    Call,
    ClientConnection,
    ServerConnection,
    TypeRegistry,
    struct_type,
)

from ._dispatch import HandlerFunction
from ._errors import RuntimeFault
from ._handler import Handler
from ._handler_threads import MainThreadCalls, MainThreadFirst
from ._main_thread import StopRequests, run_beside_main_thread
from ._messages import (
    INVOKE,
    METHODS,
    PING,
    InvokeRequest,
    InvokeResponse,
    InvokeResponse_Error,
    InvokeResponse_Error_StackFrame,
    PingRequest,
    PingResponse,
)
from ._server import serve_function
from ._settings import Settings

__all__ = ["LISTEN_FAILED", "MAX_PORT", "rehearse_first_calls", "serve_rpc"]

#: The largest TCP port; Go's listen refuses a larger one with "invalid port".
MAX_PORT = 65535

#: Exit status when the listener cannot be opened, as aws-lambda-go's ``log.Fatal`` gives.
LISTEN_FAILED = 1


def serve_rpc(
    port: str,
    handler: Handler | None,
    *,
    init_error: RuntimeFault | None,
    settings: Settings,
    environ: MutableMapping[str, str],
    first_user_id: int | None,
) -> int:
    """Serve ``handler`` (or answer every invoke with ``init_error``) on 127.0.0.1:``port``
    until SIGTERM (status 0) or a ShouldExit reply (1); 1 when the listener cannot be opened.

    ``port`` is the text as given, checked as Go's listen checks it; ``first_user_id`` is the
    first gob type id the process sends (None: :data:`~gobrpc.FIRST_USER_ID_LEGACY`).
    """
    listen_port = _listen_port(port)
    if listen_port is None:
        return LISTEN_FAILED
    function = HandlerFunction(handler, settings, init_error, environ=environ)
    registry = TypeRegistry(FIRST_USER_ID_LEGACY if first_user_id is None else first_user_id)

    async def main(calls: MainThreadCalls, stop_requests: StopRequests) -> int:
        first = MainThreadFirst(calls)
        function.plain_calls, function.replying = first.run_sync, first.replying
        return await serve_function(
            function, listen_port, registry=registry, stop_requests=stop_requests
        )

    # Plain handlers on this (main) thread, as awslambdaric calls them; trio beside it.
    return run_beside_main_thread(main, stop_signals=(signal.SIGTERM,))


def _listen_port(port: str) -> int | None:
    """The port number, or None after printing Go's listen error for text it would refuse."""
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_PORT:
        print(f"listen tcp: address localhost:{port}: invalid port", file=sys.stderr)
        return None
    return number


def rehearse_first_calls() -> None:
    """Decode a Ping and two Invokes as the go1.x service sends them, and encode the answers (a
    result, then an error with its stack trace): every gob reader and writer a function's first
    calls need gets generated. A bundle runs this when it is built, to record their code
    (:func:`gobrpc.recording_generated_code`), so that its first calls compile none.
    """
    ping_response, invoke_response = struct_type(PingResponse), struct_type(InvokeResponse)
    service = ClientConnection(TypeRegistry(FIRST_USER_ID_LEGACY))
    calls = [
        service.send_call(PING, METHODS[PING], PingRequest(), ping_response)[1],
        *(
            service.send_call(INVOKE, METHODS[INVOKE], InvokeRequest(), invoke_response)[1]
            for _ in range(2)
        ),
    ]
    function = ServerConnection(TypeRegistry(FIRST_USER_ID_LEGACY), METHODS)
    function.receive_data(b"".join(calls))
    frame = InvokeResponse_Error_StackFrame(path="handler.py", line=1, label="handler")
    error = InvokeResponse_Error(message="m", type="Exception", stack_trace=[frame])
    answers = [
        (PING, ping_response, PingResponse()),
        (INVOKE, invoke_response, InvokeResponse(payload=b"{}")),
        (INVOKE, invoke_response, InvokeResponse(error=error)),
    ]
    for method, body_type, body in answers:
        call = function.next_event()
        assert isinstance(call, Call), call
        function.send_reply(call.seq, method, body_type, body)
