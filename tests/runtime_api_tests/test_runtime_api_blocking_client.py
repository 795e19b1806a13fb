"""The blocking Runtime API client's own I/O: writes the kernel takes in part, and failures.

Its HTTP is the shared one, checked on the wire against both clients in
``test_runtime_api_client_wire.py``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime._runtime_api_blocking import BlockingRuntimeApiClient, _send_all
from runtime._runtime_api_http import RuntimeApiError, split_address


class _TakesSome:
    """A socket whose ``sendmsg`` takes at most the next of ``takes`` bytes per call."""

    def __init__(self, takes: list[int]) -> None:
        self.takes = takes
        self.sent = bytearray()

    def sendmsg(self, pieces: Sequence[memoryview]) -> int:
        budget = self.takes.pop(0) if self.takes else 1 << 30
        taken = 0
        for piece in pieces:
            part = bytes(piece[: budget - taken])
            self.sent += part
            taken += len(part)
            if taken == budget:
                break
        return taken


@settings(deadline=None)  # a stall of the shared machine is no failure
@given(
    pieces=st.lists(st.binary(max_size=64), min_size=1, max_size=4),
    takes=st.lists(st.integers(min_value=1, max_value=50), max_size=20),
)
def test_every_byte_goes_out_in_order_however_little_each_call_takes(
    pieces: list[bytes], takes: list[int]
) -> None:
    sock = _TakesSome(takes)
    _send_all(sock, pieces)  # type: ignore[arg-type]
    assert bytes(sock.sent) == b"".join(pieces)


def test_a_refused_connection_is_a_runtime_api_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    client = BlockingRuntimeApiClient(f"127.0.0.1:{port}")  # nobody listens there now
    with pytest.raises(RuntimeApiError) as caught:
        client.next_invocation()
    assert str(caught.value).startswith(
        f"failed to GET http://127.0.0.1:{port}/2018-06-01/runtime/invocation/next: "
    )
    assert "Connection refused" in str(caught.value)


def test_a_reset_after_part_of_an_answer_is_an_error_and_not_tried_again() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = BlockingRuntimeApiClient(f"127.0.0.1:{listener.getsockname()[1]}")
        listener.settimeout(30)

        def serve_half() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"par')

        server = threading.Thread(target=serve_half)
        server.start()
        with pytest.raises(RuntimeApiError):
            client.next_invocation()
        server.join()
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # no second request: the answer had begun


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("127.0.0.1:9001", ("127.0.0.1", 9001)),
        ("localhost", ("localhost", 80)),  # an http URL without a port, as Go's client reads it
        ("[::1]:9001", ("::1", 9001)),
        ("[::1]", ("::1", 80)),
    ],
)
def test_runtime_api_addresses(address: str, parts: tuple[str, int]) -> None:
    assert split_address(address) == parts


@pytest.mark.parametrize("address", ["127.0.0.1:api", "127.0.0.1:0", "127.0.0.1:70000", "h:"])
def test_a_bad_port_is_a_runtime_api_error_naming_the_address(address: str) -> None:
    with pytest.raises(RuntimeApiError, match=r"^bad Runtime API address"):
        BlockingRuntimeApiClient(address).next_invocation()
