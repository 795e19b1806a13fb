"""The public client API (``lambda_legacy.client``): trio and blocking clients, and the service.

Against a real aws-lambda-go function (``gopeer function --handler script``) and against our own
server running a Python handler in this process.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from go_peer import go_function_listening, gopeer
from process_checks import gone

from gobrpc import (
    FIRST_USER_ID_LEGACY,
    BadCall,
    Call,
    GobEncodeError,
    NeedData,
    ServerConnection,
    TypeRegistry,
    struct_type,
)
from lambda_legacy import client
from lambda_legacy.client import (
    FunctionConfiguration,
    Invocation,
    InvokeFailed,
    open_service,
)
from runtime._client import free_port
from runtime._context import LambdaContext
from runtime._dispatch import HandlerFunction
from runtime._messages import (
    METHODS,
    PING,
    InvokeRequest,
    InvokeResponse,
    PingResponse,
    ReplyNow,
)
from runtime._server import serve_function
from runtime._settings import Settings

PEERS = Path(__file__).resolve().parent.parent / "cli_tests" / "peers"
PING_RESPONSE = struct_type(PingResponse)
#: Generous: a cold start on a loaded machine must not fail a test (only a hang would reach it).
INIT_TIMEOUT = 30.0


def event(action: str, **fields: object) -> Invocation:
    return Invocation.of_event({"action": action, **fields})


@asynccontextmanager
async def go_function() -> AsyncIterator[int]:
    """A real aws-lambda-go function listening on the port it yields."""
    port = free_port()
    env = {**os.environ, "_LAMBDA_SERVER_PORT": str(port)}
    command = [str(gopeer()), "function", "--handler", "script"]
    async with trio.open_nursery() as nursery:
        process = await nursery.start(
            lambda task_status: trio.run_process(
                command, env=env, check=False, task_status=task_status
            )
        )
        try:
            yield port
        finally:
            process.kill()


class BoomError(Exception):
    """A Python handler's error."""


def python_handler(event: dict[str, object], context: LambdaContext) -> object:
    if event.get("action") == "error":
        raise BoomError("boom")
    if event.get("action") == "sleep":
        time.sleep(float(str(event["ms"])) / 1000)
    if event.get("action") == "remaining":
        return {"remaining_ms": context.get_remaining_time_in_millis()}
    return event


@asynccontextmanager
async def our_server() -> AsyncIterator[int]:
    """Our own go1.x server in this process, with ``python_handler``."""
    function = HandlerFunction(python_handler, Settings())
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_function, function, 0)
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def test_trio_client_against_go_ping_invoke_and_typed_errors() -> None:
    async with go_function() as port, client.connect(port, init_timeout=INIT_TIMEOUT) as function:
        await function.ping()
        response = await function.invoke(event("echo", n=1))
        assert response.json() == {"action": "echo", "n": 1}
        with pytest.raises(InvokeFailed) as failed:
            await function.invoke(event("error"))
        assert (failed.value.message, failed.value.type) == ("boom", "errorString")
        assert (failed.value.stack_trace, failed.value.should_exit) == ((), False)
        with pytest.raises(InvokeFailed) as panicked:
            await function.invoke(event("panic"))
        assert panicked.value.should_exit
        assert panicked.value.type == "string"
        assert panicked.value.stack_trace[0].label == "lambdaPanicResponse"
        # aws-lambda-go does not exit after a panic in RPC mode: the same process still answers.
        counted = await function.invoke(event("count"))
        assert json.loads(counted.payload)["invocations"] == 4


async def test_trio_client_against_our_server() -> None:
    async with our_server() as port, client.connect(port) as function:
        response = await function.invoke(Invocation(payload=b'{"x": [1, 2]}'))
        assert response.payload == b'{"x":[1,2]}'
        with pytest.raises(InvokeFailed) as failed:
            await function.invoke(event("error"))
        assert (failed.value.type, failed.value.message) == ("BoomError", "boom")
        assert failed.value.stack_trace[0].label == "python_handler"


async def test_blocking_client_against_go_and_our_server() -> None:
    def use(port: int) -> tuple[object, str]:
        with client.connect_sync(port, init_timeout=INIT_TIMEOUT) as function:
            function.ping()
            echoed = function.invoke(event("echo")).json()
            try:
                function.invoke(event("error"))
            except InvokeFailed as exc:
                return echoed, exc.message
            raise AssertionError("no error")

    async with go_function() as port:
        assert await trio.to_thread.run_sync(use, port) == ({"action": "echo"}, "boom")
    async with our_server() as port:
        assert await trio.to_thread.run_sync(use, port) == ({"action": "echo"}, "boom")


async def test_ping_answered_with_a_net_rpc_error_is_retried_until_the_init_timeout() -> None:
    pings: list[str] = []

    async def not_a_function(stream: trio.SocketStream) -> None:
        # Go's net/rpc server without a "Function" service: every call gets an error reply.
        connection = ServerConnection(TypeRegistry(FIRST_USER_ID_LEGACY), {})
        while True:
            event = connection.next_event()
            if isinstance(event, NeedData):
                connection.receive_data(await stream.receive_some(65536))
            elif isinstance(event, BadCall):
                pings.append(event.error)
                await stream.send_all(
                    connection.send_error(event.seq, event.service_method, event.error)
                )
            else:
                return

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, not_a_function, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        with pytest.raises(trio.TooSlowError):
            async with client.connect(port, init_timeout=0.3):
                pass
        nursery.cancel_scope.cancel()
    assert len(pings) >= 2
    assert set(pings) == {"rpc: can't find service Function.Ping"}


async def test_connecting_to_nothing_gives_up_at_the_init_timeout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(trio.TooSlowError):
            async with client.connect(port, init_timeout=0.2):
                pass
        with pytest.raises(TimeoutError):
            await trio.to_thread.run_sync(
                lambda: client.connect_sync(port, init_timeout=0.2).__enter__()
            )


@pytest.mark.parametrize("kind", ["go", "python"])
async def test_the_service_restarts_after_should_exit_timeout_and_crash(kind: str) -> None:
    if kind == "go":
        command = [str(gopeer()), "function", "--handler", "script"]
        environment: dict[str, str] = {}
    else:
        command = [sys.executable, "-m", "lambda_legacy", "serve", "pyfunction.script"]
        environment = {"LAMBDA_TASK_ROOT": str(PEERS)}
    configuration = FunctionConfiguration(
        timeout=0.5, init_timeout=INIT_TIMEOUT, environment=environment
    )
    async with open_service(configuration, command=command, output=subprocess.DEVNULL) as service:
        first = await service.invoke(event("count"))
        assert first.init_duration is not None
        pid = service.pid
        assert pid is not None
        assert first.result().json() == {"pid": pid, "invocations": 1}
        warm = await service.invoke(event("count"))
        assert warm.init_duration is None
        assert warm.max_memory_kib is not None
        panicked = await service.invoke(event("panic"))
        assert panicked.error is not None
        assert panicked.error.should_exit
        with pytest.raises(InvokeFailed):
            panicked.result()
        assert service.pid != pid  # no instance until the next event
        assert gone(pid)
        late = await service.invoke(event("sleep", ms=20_000))
        assert late.timed_out
        assert late.error is not None
        assert late.error.type == "Sandbox.Timedout"
        crashed = await service.invoke(event("crash", code=4))
        assert crashed.error is not None
        assert crashed.error.message.endswith("exit status 4")
        assert crashed.init_duration is not None
        last = await service.invoke(event("count"))
        pid = service.pid
        assert pid is not None
        assert last.result().json() == {"pid": pid, "invocations": 1}
    assert gone(pid)  # leaving the block ends the instance


async def test_the_service_reports_an_executable_that_cannot_start() -> None:
    configuration = FunctionConfiguration()
    async with open_service(configuration, command=["/nonexistent/main"]) as service:
        outcome = await service.invoke(Invocation(request_id="req-1"))
    assert outcome.error is not None
    assert outcome.error.type == "Runtime.InvalidEntrypoint"
    assert outcome.error.message == (
        "RequestId: req-1 Error: fork/exec /nonexistent/main: no such file or directory"
    )


async def test_the_service_in_port_mode_reports_a_net_rpc_error_reply_to_invoke() -> None:
    async def ping_only(stream: trio.SocketStream) -> None:
        # Answers Ping; Invoke is an unknown method, which Go's net/rpc answers with an error.
        methods = {PING: METHODS[PING]}
        connection = ServerConnection(TypeRegistry(FIRST_USER_ID_LEGACY), methods)
        while True:
            event = connection.next_event()
            if isinstance(event, NeedData):
                connection.receive_data(await stream.receive_some(65536))
            elif isinstance(event, Call):
                reply = connection.send_reply(event.seq, PING, PING_RESPONSE, PingResponse())
                await stream.send_all(reply)
            elif isinstance(event, BadCall):
                error = connection.send_error(event.seq, event.service_method, event.error)
                await stream.send_all(error)
            else:
                return

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, ping_only, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        async with open_service(FunctionConfiguration(), port=port) as service:
            for request_id in ("r-1", "r-2"):  # the connection stays usable, as in Go
                outcome = await service.invoke(Invocation(request_id=request_id))
                assert outcome.error is not None
                assert outcome.error.message == (
                    f"RequestId: {request_id} Error: rpc: can't find method Function.Invoke"
                )
                assert outcome.error.type == ""
                assert outcome.init_duration is None  # nothing was started
        nursery.cancel_scope.cancel()


class GatedEcho:
    """A server-side Function: echoes, holding gated events back until the gate opens."""

    def __init__(self) -> None:
        self.entered = trio.Event()
        self.gate = trio.Event()

    async def invoke(self, request: InvokeRequest, reply: ReplyNow | None = None) -> InvokeResponse:
        if b"gated" in request.payload:
            self.entered.set()
            await self.gate.wait()
        return InvokeResponse(payload=request.payload)


async def test_overlapping_calls_each_get_their_own_reply_and_pings_pass_a_slow_invoke() -> None:
    function = GatedEcho()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_function, function, 0)
        port = listeners[0].socket.getsockname()[1]
        async with client.connect(port) as connection, trio.open_nursery() as calls:
            slow: list[object] = []

            async def gated() -> None:
                slow.append((await connection.invoke(Invocation.of_event({"gated": 1}))).json())

            async def fast(i: int) -> None:
                response = await connection.invoke(Invocation.of_event({"i": i}))
                assert response.json() == {"i": i}
                await connection.ping()

            calls.start_soon(gated)
            await function.entered.wait()  # the gated invoke is in flight, its caller reading
            # These complete while the gated call still waits for its reply; if they could not,
            # this would fail at the limit instead of hanging.
            with trio.fail_after(60):
                async with trio.open_nursery() as fast_calls:
                    for i in range(20):
                        fast_calls.start_soon(fast, i)
            assert slow == []
            function.gate.set()
        assert slow == [{"gated": 1}]
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("phase", ["init", "invoke"])
async def test_cancelling_the_caller_ends_the_function_in_any_phase(phase: str) -> None:
    if phase == "init":  # never listens; prints "pid N" first
        command = [sys.executable, str(PEERS / "bad_peer.py"), "nolisten"]
    else:  # prints "pids N 0" once the sleeping invoke runs
        command = [str(gopeer()), "function", "--handler", "script"]
    configuration = FunctionConfiguration(timeout=60, init_timeout=60)
    read_end, write_end = os.pipe()
    output = trio.lowlevel.FdStream(read_end)
    seen = b""
    try:
        with trio.fail_after(60):
            async with open_service(configuration, command=command, output=write_end) as service:
                with trio.CancelScope() as scope:

                    async def cancel_when_running() -> None:
                        nonlocal seen
                        while b"\n" not in seen:
                            seen += await output.receive_some(1024)
                        scope.cancel()

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(cancel_when_running)
                        await service.invoke(event("sleep", ms=60_000))
                assert scope.cancelled_caught
    finally:
        os.close(write_end)
        await output.aclose()
    pid = re.match(rb"pids? (\d+)", seen)
    assert pid is not None, seen
    assert gone(int(pid[1]))


async def test_start_runs_the_init_phase_before_any_event() -> None:
    configuration = FunctionConfiguration(init_timeout=INIT_TIMEOUT)
    command = [str(gopeer()), "function", "--handler", "script"]
    async with open_service(configuration, command=command) as service:
        assert await service.start() is None
        pid = service.pid
        assert pid is not None
        assert await service.start() is None  # already running: nothing new
        first = await service.invoke(event("count"))
        assert first.result().json() == {"pid": pid, "invocations": 1}
        assert first.init_duration is not None  # the cold start is reported with the first event
        second = await service.invoke(event("count"))
        assert second.init_duration is None
    nothing = FunctionConfiguration(init_timeout=0.2)
    never = [sys.executable, str(PEERS / "bad_peer.py"), "nolisten"]
    async with open_service(nothing, command=never, output=subprocess.DEVNULL) as service:
        failure = await service.start()
    assert failure is not None
    assert failure.error.message == "Error: Task timed out after 0.20 seconds"
    assert failure.init_duration is not None


@pytest.mark.parametrize("measure", [True, False])
async def test_peak_memory_is_read_only_when_asked_for(measure: bool) -> None:
    configuration = FunctionConfiguration(init_timeout=INIT_TIMEOUT)
    command = [str(gopeer()), "function", "--handler", "script"]
    async with open_service(configuration, command=command, measure_memory=measure) as service:
        cold = await service.invoke(event("count"))
        warm = await service.invoke(event("count"))
    answers = [outcome.result().json() for outcome in (cold, warm)]
    assert [answer["invocations"] for answer in answers if isinstance(answer, dict)] == [1, 2]
    for outcome in (cold, warm):
        if measure:
            assert outcome.max_memory_kib is not None
            assert outcome.max_memory_kib > 0
        else:
            assert outcome.max_memory_kib is None


async def test_a_request_that_does_not_encode_raises_and_the_next_call_still_works() -> None:
    # A str payload fails to encode after the request's type definitions were prepared; those
    # never went out, so the next request must carry them (the server read "unknown type id").
    bad = Invocation(payload='{"action": "echo"}')  # type: ignore[arg-type]
    good = event("echo", a=1)

    def use_sync(port: int) -> object:
        with client.connect_sync(port, init_timeout=INIT_TIMEOUT) as function:
            with pytest.raises(GobEncodeError):
                function.invoke(bad)
            with pytest.raises(TypeError, match="takes an Invocation"):
                function.invoke({"a": 1})  # type: ignore[arg-type]
            return function.invoke(good).json()

    async with go_function() as port:
        async with client.connect(port, init_timeout=INIT_TIMEOUT) as function:
            with pytest.raises(GobEncodeError):
                await function.invoke(bad)
            with pytest.raises(TypeError, match="takes an Invocation"):
                await function.invoke({"a": 1})  # type: ignore[arg-type]
            assert (await function.invoke(good)).json() == {"action": "echo", "a": 1}
        assert await trio.to_thread.run_sync(use_sync, port) == {"action": "echo", "a": 1}


async def test_threads_sharing_one_blocking_client_each_get_their_own_reply() -> None:
    # The blocking client makes one call at a time; threads take turns rather than read away
    # each other's replies. Started slowest first, so that without turns every reply would come
    # back while all four threads read the one socket.
    sleeps = (400, 300, 200, 100)

    def share(port: int) -> dict[int, object]:
        replies: dict[int, object] = {}
        with client.connect_sync(port, init_timeout=INIT_TIMEOUT) as function:

            def call(ms: int) -> None:
                try:
                    replies[ms] = function.invoke(event("sleep", ms=ms)).json()
                except Exception as exc:  # recorded, then asserted on
                    replies[ms] = exc

            threads = [threading.Thread(target=call, args=(ms,)) for ms in sleeps]
            for thread in threads:
                thread.start()
                time.sleep(0.03)
            for thread in threads:
                thread.join(INIT_TIMEOUT)
        return replies

    async with go_function() as port:
        replies = await trio.to_thread.run_sync(share, port)
    assert replies == {ms: {"action": "sleep", "ms": ms} for ms in sleeps}


async def test_a_trio_call_bounded_by_its_caller_leaves_the_client_usable() -> None:
    async with go_function() as port, client.connect(port, init_timeout=INIT_TIMEOUT) as function:
        with pytest.raises(trio.TooSlowError):
            with trio.fail_after(0.1):
                await function.invoke(event("sleep", ms=400))
        # The late reply to the abandoned call is dropped; this call gets its own.
        assert (await function.invoke(event("sleep", ms=600))).json() == {
            "action": "sleep",
            "ms": 600,
        }
        assert (await function.invoke(event("echo", n=2))).json() == {"action": "echo", "n": 2}


async def test_a_blocking_call_s_deadline_counts_from_its_turn_not_from_its_wait() -> None:
    # Thread B waits ~0.7 s behind thread A's call; its deadline (now + 3 s) must start when its
    # request goes out, so the handler sees nearly all of it.
    def share(port: int) -> dict[str, object]:
        out: dict[str, object] = {}
        with client.connect_sync(port, timeout=3, read_timeout=10) as function:

            def call(name: str, action: str) -> None:
                out[name] = function.invoke(event(action, ms=800)).json()

            first = threading.Thread(target=call, args=("a", "sleep"))
            first.start()
            time.sleep(0.1)
            call("b", "remaining")
            first.join(INIT_TIMEOUT)
        return out

    async with our_server() as port:
        out = await trio.to_thread.run_sync(share, port)
    assert out["a"] == {"action": "sleep", "ms": 800}
    remaining = out["b"]
    assert isinstance(remaining, dict)
    assert remaining["remaining_ms"] > 2_600  # counted from the wait: about 2,300


#: A call from a signal handler during another call, on the thread that makes both; run in a
#: process of its own so that a deadlock fails the test at its timeout instead of hanging the suite.
_SIGNAL_HANDLER_CALL = """
import signal, sys
from lambda_legacy import client
from lambda_legacy.client import Invocation
pinged = []
with client.connect_sync(int(sys.argv[1]), init_timeout=30, read_timeout=10) as function:
    def on_alarm(number, frame):
        function.ping()
        pinged.append("ping")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    reply = function.invoke(Invocation.of_event({"action": "sleep", "ms": 400})).json()
print(pinged, reply)
"""


def test_a_blocking_call_made_by_a_signal_handler_during_another_goes_through() -> None:
    with go_function_listening("script") as port:
        result = subprocess.run(
            [sys.executable, "-c", _SIGNAL_HANDLER_CALL, str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['ping'] {'action': 'sleep', 'ms': 400}\n"
