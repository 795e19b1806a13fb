"""Replies that gob cannot send as they stand: the error text is made sendable, and a reply
that still cannot be encoded closes only its own connection, as Go's server does.

A lone surrogate reaches an exception's message easily (JSON's ``"\\ud83d"``, half an emoji,
decodes to one); gob strings cannot hold it, and before this it stopped the whole server.
"""

from __future__ import annotations

import json

import pytest
import trio
from in_process_server import serving

from runtime._client import connect_function
from runtime._dispatch import error_response
from runtime._faults import ErrorInfo
from runtime._messages import InvokeRequest, InvokeResponse, ReplyNow
from runtime._server import serve_function

#: No run here may take longer (a lost or stuck reply fails instead of hanging).
RUN_TIMEOUT_S = 30.0

HALF_AN_EMOJI = json.loads('"\\ud83d"')


def raise_with_a_lone_surrogate(event: object, context: object) -> object:
    """Fails with the first half of a surrogate pair in its message."""
    raise ValueError(f"invalid name: {HALF_AN_EMOJI}")


async def async_raise_with_a_lone_surrogate(event: object, context: object) -> object:
    """The same, ``async def``."""
    raise_with_a_lone_surrogate(event, context)
    return None


@pytest.mark.parametrize(
    "handler",
    [raise_with_a_lone_surrogate, async_raise_with_a_lone_surrogate],
    ids=["def", "async"],
)
async def test_an_error_message_with_a_lone_surrogate_is_sent_with_u_fffd(
    handler: object,
) -> None:
    with trio.fail_after(RUN_TIMEOUT_S):
        async with serving(handler) as port, connect_function(port) as client:  # type: ignore[arg-type]
            response = await client.invoke(InvokeRequest(payload=b"{}", request_id="r1"))
            again = await client.invoke(InvokeRequest(payload=b"{}", request_id="r2"))
    assert response.error is not None
    assert response.error.message == "invalid name: \ufffd"
    assert response.error.type == "ValueError"
    assert response.error.stack_trace
    assert again == response  # the server is still serving on the same connection


class _FirstReplyUnencodable:
    """A Function whose first reply holds a payload gob cannot encode (not bytes)."""

    def __init__(self) -> None:
        self.calls = 0

    async def invoke(self, request: InvokeRequest, reply: ReplyNow | None = None) -> InvokeResponse:
        self.calls += 1
        if self.calls == 1:
            return InvokeResponse(payload="not bytes")  # type: ignore[arg-type]
        return InvokeResponse(payload=request.payload)


async def test_a_reply_gob_cannot_encode_closes_only_its_connection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    function = _FirstReplyUnencodable()
    with trio.fail_after(RUN_TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(serve_function, function, 0)
            port = listeners[0].socket.getsockname()[1]
            async with connect_function(port) as first:
                with pytest.raises(trio.BrokenResourceError, match="unexpected EOF"):
                    await first.invoke(InvokeRequest(payload=b"{}"))
            async with connect_function(port) as second:
                response = await second.invoke(InvokeRequest(payload=b'{"a":1}'))
            nursery.cancel_scope.cancel()
    assert response == InvokeResponse(payload=b'{"a":1}')
    assert "rpc: gob error encoding body: " in capsys.readouterr().err


def test_a_byte_gobrpc_read_as_an_escape_keeps_going_out_raw() -> None:
    """Only the surrogates gob cannot send become U+FFFD: U+DC80..U+DCFF is how gobrpc reads a
    byte that is not UTF-8, and goes back out as that byte (here beside a lone surrogate)."""
    response = error_response(ErrorInfo(message=HALF_AN_EMOJI + "\udcff", type="T"))
    assert response.error is not None
    assert response.error.message == "\ufffd\udcff"
    assert response.error.message.encode("utf-8", "surrogateescape") == b"\xef\xbf\xbd\xff"
