"""A stand-in for AWS's Runtime Interface Emulator, for machines where ``aws-lambda-rie`` is absent.

Why it exists: until December 2026 the Go module proxy reachable from this project's machines
refused ``github.com/aws/aws-lambda-runtime-interface-emulator`` (403 "This module version is not
available"), so ``tools/check`` may not be able to install the real emulator. The tests run
against this stand-in and say so in their ids (``standin``); with the real binary in
``tools/bin`` they run against it too (``rie``), and the two must agree.

What it copies from RIE (read in its source, ``cmd/aws-lambda-rie`` and ``internal/lambda/rie``,
and checked against the binary at ``v0.0.0-20261030222936-bef5c4ba774d``):

- the command line: ``--runtime-interface-emulator-address HOST:PORT`` (invoke endpoint),
  ``--runtime-api-address HOST:PORT``, ``--log-level``, then the bootstrap command and its args;
- ``POST /2015-03-31/functions/function/invocations``: the body is the event; the answer is 200
  with the runtime's response or error body, sent only once the runtime has asked for its next
  event (RIE releases an invoke then, so a runtime's turn-around to ``/next`` is part of every
  invoke's latency);
- 502 instead, with the body the runtime posted, when the runtime exits before asking for the
  next event (aws-lambda-go does after a panic), and for an invoke answered by ``/init/error``;
- the bootstrap starts at the first invoke, with the environment RIE gives it (its defaults for
  ``AWS_LAMBDA_FUNCTION_NAME`` ``test_function`` etc., overridden by the emulator's own
  environment) plus ``AWS_LAMBDA_RUNTIME_API``;
- ``/next`` headers set only when non-empty; request id a UUID; ARN
  ``arn:aws:lambda:us-east-1:012345678912:function:<name>``; deadline now + the timeout
  (``AWS_LAMBDA_FUNCTION_TIMEOUT``, default 300 s); ``Content-Type`` ``application/json``;
  the invoke's ``X-Amz-Client-Context`` (base64, as Lambda's Invoke API takes it) decoded,
  ``X-Amz-Cognito-Identity`` (JSON) and ``X-Amz-Tenant-Id`` as the matching ``/next`` headers;
- ``/response``, ``/error``, ``/init/error`` answer 202 ``{"status":"OK"}``; a request id that
  is not the current invoke's gets 400 ``InvalidRequestID``;
- an ``/init/error`` becomes the answer to the pending invoke once the runtime has exited; a
  runtime that exits without answering gives ``Runtime.ExitError``
  (``{"errorType":"Runtime.ExitError","errorMessage":"RequestId: <id> Error: Runtime exited with
  error: exit status N"}``); the next invoke starts the bootstrap again.

Where it differs, on purpose for tests: the invoke's ``X-Amzn-Trace-Id`` goes to the runtime as
``Lambda-Runtime-Trace-Id``, as Lambda sends it (RIE drops it); the answer carries the
Content-Type the runtime posted (RIE sets none, so Go's ``net/http`` sniffs one); and
``--record FILE`` appends one JSON line per runtime request (method, path, headers, body size)
and per runtime exit. Where it differs and no test depends on it: a second post for one invoke
gets 400 ``InvalidRequestID`` (RIE: 403, the state transition is not allowed); the request id is
always a fresh UUID (RIE takes the invoke's ``X-Amzn-RequestId`` when given); the Cognito header
passes through unchanged (RIE re-encodes its JSON); and there is no function timeout.
It uses h11 as our runtime client does; awslambdaric (libcurl) and aws-lambda-go (Go's net/http)
talk to it too, so an h11 quirk shared by both ends would still show.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Sequence

import attrs
import h11
import trio

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
RUNTIME_PREFIX = "/2018-06-01/runtime/"
ARN_PREFIX = "arn:aws:lambda:us-east-1:012345678912:function:"
RECEIVE_SIZE = 64 * 1024
#: RIE's ``interop.MaxPayloadSize``: 6 MiB.
MAX_PAYLOAD = 6 * 1024 * 1024

# RIE's InitHandler sets these unless the emulator's environment has them.
DEFAULT_ENV = {
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/Functions",
    "AWS_LAMBDA_LOG_STREAM_NAME": "$LATEST",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008",
    "AWS_LAMBDA_FUNCTION_NAME": "test_function",
}

Headers = list[tuple[str, str]]
Reply = tuple[int, Headers, bytes]


@attrs.define(eq=False)
class Invoke:
    """One invoke in flight: what ``/next`` hands out and where the answer goes."""

    request_id: str
    payload: bytes
    next_headers: Headers
    done: trio.Event = attrs.field(factory=trio.Event)
    answer: Reply | None = None
    #: What the runtime posted: the answer once it asks for the next event.
    posted: Reply | None = None

    def finish(self, answer: Reply) -> None:
        if self.answer is None:
            self.answer = answer
            self.done.set()


def _ok() -> Reply:
    return 202, [("Content-Type", "application/json")], b'{"status":"OK"}\n'


def _bad_request_id() -> Reply:
    body = b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}\n'
    return 400, [("Content-Type", "application/json")], body


@attrs.define(eq=False)
class Emulator:
    bootstrap: Sequence[str]
    runtime_api: str
    record_path: str | None
    timeout_s: int
    function_name: str
    nursery: trio.Nursery
    process: trio.Process | None = None
    pending: list[Invoke] = attrs.field(factory=list)
    current: Invoke | None = None
    init_error: Reply | None = None
    wakeup: trio.Event = attrs.field(factory=trio.Event)
    invoke_lock: trio.Lock = attrs.field(factory=trio.Lock)

    def record(self, entry: dict[str, object]) -> None:
        if self.record_path:
            with open(self.record_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")

    # --- invoke side -----------------------------------------------------------------------

    async def invoke(self, headers: dict[str, str], body: bytes) -> Reply:
        async with self.invoke_lock:  # one invoke at a time, as one RIE sandbox does
            request_id = str(uuid.uuid4())
            deadline_ms = time.time_ns() // 1_000_000 + self.timeout_s * 1000
            next_headers: Headers = [("Lambda-Runtime-Aws-Request-Id", request_id)]
            trace = headers.get("x-amzn-trace-id", "")
            if trace:
                next_headers.append(("Lambda-Runtime-Trace-Id", trace))
            client_context = headers.get("x-amz-client-context", "")
            if client_context:
                decoded = base64.b64decode(client_context).decode("utf-8")
                next_headers.append(("Lambda-Runtime-Client-Context", decoded))
            cognito = headers.get("x-amz-cognito-identity", "")
            if cognito:
                next_headers.append(("Lambda-Runtime-Cognito-Identity", cognito))
            next_headers.append(
                ("Lambda-Runtime-Invoked-Function-Arn", ARN_PREFIX + self.function_name)
            )
            next_headers.append(("Lambda-Runtime-Deadline-Ms", str(deadline_ms)))
            tenant = headers.get("x-amz-tenant-id", "")
            if tenant:
                next_headers.append(("Lambda-Runtime-Aws-Tenant-Id", tenant))
            next_headers.append(("Content-Type", "application/json"))
            job = Invoke(request_id=request_id, payload=body, next_headers=next_headers)
            if self.process is None:
                self.init_error = None
                await self.nursery.start(self._run_runtime)
            self.pending.append(job)
            self.wakeup.set()
            await job.done.wait()
            assert job.answer is not None
            return job.answer

    async def _run_runtime(self, task_status: trio.TaskStatus[None]) -> None:
        env = dict(DEFAULT_ENV)
        env.update(os.environ)
        env["AWS_LAMBDA_RUNTIME_API"] = self.runtime_api
        process = await trio.lowlevel.open_process(list(self.bootstrap), env=env)
        self.process = process
        task_status.started()
        status = await process.wait()
        self.process = None
        self.record({"exit": status})
        job = self.current
        self.current = None
        if self.init_error is not None:  # every invoke waiting for this runtime gets its error
            for waiting in [*([job] if job is not None else []), *self.pending]:
                waiting.finish(self.init_error)
            self.pending.clear()
        elif job is not None:  # handed out by /next, and the runtime never came back for another
            if job.posted is not None:
                job.finish((502, *job.posted[1:]))
            else:
                reason = f"exit status {status}" if status >= 0 else f"signal: {-status}"
                message = f"RequestId: {job.request_id} Error: Runtime exited with error: {reason}"
                body = json.dumps(
                    {"errorType": "Runtime.ExitError", "errorMessage": message},
                    separators=(",", ":"),
                )
                job.finish((502, [("Content-Type", "application/json")], body.encode()))
        if self.pending:  # invokes that arrived while it was exiting get a fresh runtime
            self.init_error = None
            await self.nursery.start(self._run_runtime)

    # --- runtime side ----------------------------------------------------------------------

    async def runtime_request(self, method: str, path: str, headers: Headers, body: bytes) -> Reply:
        self.record({"method": method, "path": path, "headers": headers, "body_size": len(body)})
        route = path[len(RUNTIME_PREFIX) :] if path.startswith(RUNTIME_PREFIX) else None
        if method == "GET" and route == "invocation/next":
            released = self.current
            if released is not None and released.posted is not None:
                self.current = None
                released.finish(released.posted)
            while not self.pending:
                self.wakeup = trio.Event()
                await self.wakeup.wait()
            job = self.pending.pop(0)
            self.current = job
            return 200, list(job.next_headers), job.payload
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if method == "POST" and route == "init/error":
            # The pending invoke gets it when the runtime exits (_run_runtime), as with RIE.
            self.init_error = (502, [("Content-Type", content_type)], body)
            return _ok()
        if method == "POST" and route is not None and route.startswith("invocation/"):
            _, request_id, verb = [*route.split("/"), "", ""][:3]
            answered = self.current
            if answered is None or request_id != answered.request_id or answered.posted:
                return _bad_request_id()
            if verb not in ("response", "error"):
                return _bad_request_id()
            answered.posted = (200, [("Content-Type", content_type)], body)
            return _ok()
        return 404, [("Content-Type", "text/plain")], b"404 page not found\n"


async def serve_http(stream: trio.SocketStream, handle: object) -> None:
    """Serve HTTP/1.1 requests on ``stream`` with h11 until the peer closes it."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_PAYLOAD)
    try:
        while True:
            request: h11.Request | None = None
            chunks: list[bytes] = []
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(RECEIVE_SIZE))
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return
            assert request is not None
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
            status, reply_headers, body = await handle(  # type: ignore[operator]
                request.method.decode(), request.target.decode(), headers, b"".join(chunks)
            )
            # Values as UTF-8, as RIE writes a client context with non-ASCII text.
            reply_headers = [
                *((name, value.encode()) for name, value in reply_headers),
                ("Content-Length", str(len(body)).encode()),
            ]
            head = conn.send(h11.Response(status_code=status, headers=reply_headers))
            framed = b"".join(conn.send_with_data_passthrough(h11.Data(data=body)) or ())
            await stream.send_all(head + framed + conn.send(h11.EndOfMessage()))
            if conn.our_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (h11.ProtocolError, trio.BrokenResourceError, OSError):
        return
    finally:
        await stream.aclose()


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


async def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-interface-emulator-address", default="0.0.0.0:8080")
    parser.add_argument("--runtime-api-address", default="127.0.0.1:9001")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--record")
    parser.add_argument("bootstrap", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    timeout_s = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 300)
    api_host, api_port = _split(args.runtime_api_address)
    rie_host, rie_port = _split(args.runtime_interface_emulator_address)
    async with trio.open_nursery() as nursery:
        emulator = Emulator(
            bootstrap=args.bootstrap,
            runtime_api=args.runtime_api_address,
            record_path=args.record,
            timeout_s=timeout_s,
            function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "test_function",
            nursery=nursery,
        )

        async def on_runtime(stream: trio.SocketStream) -> None:
            await serve_http(stream, emulator.runtime_request)

        async def on_invoke(stream: trio.SocketStream) -> None:
            async def handle(method: str, path: str, headers: Headers, body: bytes) -> Reply:
                if method != "POST" or path != INVOKE_PATH:
                    return 404, [("Content-Type", "text/plain")], b"404 page not found\n"
                lowered = {k.lower(): v for k, v in headers}
                return await emulator.invoke(lowered, body)

            await serve_http(stream, handle)

        api = await trio.open_tcp_listeners(api_port, host=api_host)
        rie = await trio.open_tcp_listeners(rie_port, host=rie_host)
        nursery.start_soon(trio.serve_listeners, on_runtime, api)
        nursery.start_soon(trio.serve_listeners, on_invoke, rie)
        print(f"stand-in RIE listening on {args.runtime_interface_emulator_address}", flush=True)
        await trio.sleep(math.inf)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main, sys.argv[1:])
