"""Executables that misbehave as go1.x functions: ``python bad_peer.py MODE``.

Each prints ``pid <pid>`` to stdout first (the service sends it to its stderr), so a test can
check that the process was killed.

    nolisten  never listens on $_LAMBDA_SERVER_PORT
    silent    accepts connections and reads, never answers
    garbage   answers the first bytes it reads with bytes that are not gob
    hangup    answers Ping properly; on Invoke sends half of a valid reply, closes the
              connection, and stays alive
"""

from __future__ import annotations

import os
import socket
import sys
import time

#: Long enough to outlive any test's timeouts; the service must kill us well before this.
LINGER = 60.0


def _listen() -> socket.socket:
    return socket.create_server(("127.0.0.1", int(os.environ["_LAMBDA_SERVER_PORT"])))


def silent() -> None:
    listener = _listen()
    connection, _ = listener.accept()
    while connection.recv(65536):
        pass
    time.sleep(LINGER)


def garbage() -> None:
    listener = _listen()
    connection, _ = listener.accept()
    connection.recv(65536)
    # A message length, then a uint whose byte count (0xf7 = 9) is out of range.
    connection.sendall(bytes.fromhex("07f7ffffffffffffff"))
    time.sleep(LINGER)


def hangup() -> None:
    from gobrpc import (
        FIRST_USER_ID_LEGACY,
        NEED_DATA,
        Call,
        ServerConnection,
        TypeRegistry,
        struct_type,
    )
    from runtime._messages import METHODS, PING, InvokeResponse, PingResponse

    listener = _listen()
    connection, _ = listener.accept()
    rpc = ServerConnection(TypeRegistry(FIRST_USER_ID_LEGACY), METHODS)
    while True:
        event = rpc.next_event()
        if event is NEED_DATA:
            rpc.receive_data(connection.recv(65536))
            continue
        assert isinstance(event, Call), event
        if event.service_method == PING:
            connection.sendall(
                rpc.send_reply(event.seq, PING, struct_type(PingResponse), PingResponse())
            )
            continue
        reply = rpc.send_reply(
            event.seq,
            event.service_method,
            struct_type(InvokeResponse),
            InvokeResponse(payload=b'{"half":"of a reply"}'),
        )
        connection.sendall(reply[: len(reply) // 2])
        connection.close()
        time.sleep(LINGER)
        return


def main() -> None:
    print(f"pid {os.getpid()}", flush=True)
    mode = sys.argv[1]
    if mode == "nolisten":
        time.sleep(LINGER)
    else:
        {"silent": silent, "garbage": garbage, "hangup": hangup}[mode]()


if __name__ == "__main__":
    main()
