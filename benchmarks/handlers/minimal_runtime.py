"""The floor of the Runtime API rows: the least a Python runtime can do per event.

``python minimal_runtime.py`` (as a bootstrap under the emulator) loops ``GET invocation/next``,
then ``POST invocation/<id>/response`` with the event as the body, over one keep-alive
``http.client`` connection to ``AWS_LAMBDA_RUNTIME_API``: no handler, no context, no JSON, no
error handling. Its per-invoke time is the emulator's and the invoking client's own cost plus
a few dozen microseconds of ``http.client``, which every Runtime API row of the table carries too.
"""

from __future__ import annotations

import http.client
import os

NEXT = "/2018-06-01/runtime/invocation/next"


def main() -> None:
    """Answer events until the emulator stops the process."""
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
    connection = http.client.HTTPConnection(host, int(port))
    while True:
        connection.request("GET", NEXT)
        response = connection.getresponse()
        event = response.read()
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        path = f"/2018-06-01/runtime/invocation/{request_id}/response"
        connection.request("POST", path, event, {"Content-Type": "application/json"})
        connection.getresponse().read()


if __name__ == "__main__":
    main()
