"""The echo handler of ``benchmarks.compare``: the event back, unchanged, and nothing else.

Like ``examples/hello.py`` but pure echo, so that every runtime in the comparison spends only its
own cost (decode the event, call, encode the result): the Go side is ``gopeer function --handler
echo`` / the same without ``_LAMBDA_SERVER_PORT`` (``json.RawMessage`` in and out).
"""

from __future__ import annotations


def handler(event: object, context: object) -> object:
    """Return the event."""
    return event
