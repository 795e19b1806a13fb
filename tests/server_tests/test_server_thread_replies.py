"""A plain ``def`` handler's reply is written by its worker thread; mixed with Pings, other
invokes and replies too big for the socket buffer, every reply still reaches its own call whole."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest
import trio
from in_process_server import serving

from runtime._client import connect_function
from runtime._messages import InvokeRequest
from runtime._socket_io import receive_some
from runtime._stream import RpcStream, ThreadSend

#: Event sizes mixed in one run: small, and big enough that the kernel may take a reply in parts.
SIZES = (100, 300_000, 3_000_000)
#: More than a TCP send buffer holds (Linux's largest default, tcp_wmem's maximum, is 4 MiB),
#: so a worker's non-blocking write of this reply is always partial; and within Lambda's 6 MB.
OVER_ANY_SEND_BUFFER = 5_900_000
#: Concurrent invokes on the one connection (bounded: a load test, not a stress test).
INVOKES = 24
#: No run here may take longer (a lost or stuck reply fails instead of hanging).
RUN_TIMEOUT_S = 60.0


def _echo(event: object, context: object) -> object:
    return event


async def _async_echo(event: object, context: object) -> object:
    return event


@pytest.fixture
def thread_sends(monkeypatch: pytest.MonkeyPatch) -> list[ThreadSend]:
    """What every RpcStream.send_from_thread call did, in order."""
    seen: list[ThreadSend] = []
    original = RpcStream.send_from_thread

    def recording(self: RpcStream, produce: Callable[..., bytes]) -> ThreadSend:  # type: ignore[type-arg]
        outcome = original(self, produce)
        seen.append(outcome)
        return outcome

    monkeypatch.setattr(RpcStream, "send_from_thread", recording)
    return seen


async def test_concurrent_invokes_and_pings_each_get_their_own_whole_reply(
    thread_sends: list[ThreadSend],
) -> None:
    rng = random.Random(7)
    events = [{"n": i, "pad": "x" * rng.choice(SIZES)} for i in range(INVOKES)]
    replies: dict[int, object] = {}
    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(_echo) as port, connect_function(port, timeout=10) as client:

            async def invoke(index: int) -> None:
                payload = json.dumps(events[index]).encode()
                response = await client.invoke(
                    InvokeRequest(payload=payload, request_id=str(index))
                )
                assert response.error is None
                replies[index] = json.loads(response.payload)

            async def pings() -> None:
                for _ in range(INVOKES):
                    await client.ping()
                    await trio.sleep(0)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(pings)
                for index in range(INVOKES):
                    nursery.start_soon(invoke, index)
    assert replies == dict(enumerate(events))
    # Workers offered every reply and wrote at least one, or its head, themselves: one that meets
    # a trio-side send in progress (a Ping's, or the tail of a big reply) leaves its reply to it,
    # so under load most may be LEFT.
    assert len(thread_sends) == INVOKES
    assert set(thread_sends) - {ThreadSend.LEFT}


async def test_a_reply_the_kernel_takes_in_part_is_finished_whole(
    thread_sends: list[ThreadSend], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once the big invoke is sent, the client reads nothing until the worker's first write has
    # returned: otherwise, on loopback, a client reading on the other CPU can let one write()
    # take all 5.9 MB.
    ports: list[int] = []
    held: list[bool] = []

    async def client_waits_for_the_first_write(sock: trio.socket.SocketType) -> bytes:
        if held and sock.getsockname()[1] != ports[0]:  # the client's end, not the server's
            while not thread_sends:
                await trio.sleep(0.001)
        return await receive_some(sock)

    monkeypatch.setattr("runtime._stream.receive_some", client_waits_for_the_first_write)
    event = {"pad": "y" * OVER_ANY_SEND_BUFFER}
    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(_echo) as port:
            ports.append(port)
            async with connect_function(port, timeout=10) as client:
                held.append(True)
                big = await client.invoke(InvokeRequest(payload=json.dumps(event).encode()))
                await client.ping()  # the connection goes on after the tail
                small = await client.invoke(InvokeRequest(payload=b"[1]"))
    assert json.loads(big.payload) == event
    assert small.payload == b"[1]"
    assert thread_sends == [ThreadSend.PARTIAL, ThreadSend.SENT]


async def test_an_async_handler_replies_from_trio_only(thread_sends: list[ThreadSend]) -> None:
    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(_async_echo) as port, connect_function(port, timeout=10) as client:
            response = await client.invoke(InvokeRequest(payload=b'{"a": 1}'))
    assert response.payload == b'{"a":1}'
    assert thread_sends == []


async def test_a_handler_error_is_answered_from_trio_as_before(
    thread_sends: list[ThreadSend],
) -> None:
    def fails(event: object, context: object) -> object:
        raise ValueError("bad")

    def unserialisable(event: object, context: object) -> object:
        return {1j}

    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(fails) as port, connect_function(port, timeout=10) as client:
            failed = await client.invoke(InvokeRequest(payload=b"{}"))
        async with serving(unserialisable) as port, connect_function(port, timeout=10) as client:
            unmarshalled = await client.invoke(InvokeRequest(payload=b"{}"))
    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == ("ValueError", "bad")
    assert [frame.label for frame in failed.error.stack_trace or []] == ["fails"]
    assert unmarshalled.error is not None
    assert unmarshalled.error.type == "Runtime.MarshalError"
    assert thread_sends == []


async def test_a_result_that_does_not_serialise_is_serialised_once() -> None:
    items_calls: list[int] = []

    class Watched(dict):  # type: ignore[type-arg]
        """A result whose serialisation can be counted: the JSON encoder asks for its items."""

        def items(self):  # type: ignore[no-untyped-def]
            items_calls.append(1)
            return super().items()

    def unserialisable(event: object, context: object) -> object:
        return Watched(bad={1j})

    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(unserialisable) as port, connect_function(port, timeout=10) as client:
            response = await client.invoke(InvokeRequest(payload=b"{}"))
    assert response.error is not None
    assert response.error.type == "Runtime.MarshalError"
    assert (
        response.error.message
        == "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert len(items_calls) == 1


async def test_a_plain_handler_that_returns_a_coroutine_is_awaited() -> None:
    """A ``def`` that returns a coroutine (a decorator around an ``async def``, say) is awaited
    on trio, as a coroutine handler is, and the reply carries what it returns."""

    def returns_a_coroutine(event: object, context: object) -> object:
        return _async_echo({"awaited": event}, context)

    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(returns_a_coroutine) as port, connect_function(port) as client:
            response = await client.invoke(InvokeRequest(payload=b'{"n": 1}'))
    assert response.error is None
    assert json.loads(response.payload) == {"awaited": {"n": 1}}
