"""What a served function prints: awslambdaric's log lines with the right request id, the log
level and format from the environment, and stdout that is not held back in a buffer."""

from __future__ import annotations

import calendar
import json
import re
import sys
import time
from pathlib import Path

import pytest
import trio

# The suite imports test modules with importlib, which does not put their folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from served_process import (
    PROCESS_TIMEOUT,
    gate_event,
    guarded,
    invoke_request,
    served,
    wait_for_file,
)

from runtime._client import FunctionClient, connect_function
from runtime._messages import InvokeResponse

TEXT_LINE = re.compile(
    r"^\[(?P<level>[A-Z]+)\]\t(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(?P<ms>\d{3})Z"
    r"\t(?P<request_id>[^\t]*)\t(?P<message>.*)$",
    re.MULTILINE,
)
#: Not UTC, so a formatter in local time would be caught.
NOT_UTC = {"TZ": "JST-9"}


@pytest.mark.parametrize("handler", ["gated", "async_gated"])
@guarded
async def test_concurrent_invokes_each_log_their_own_request_id(
    handler: str, tmp_path: Path
) -> None:
    ids = {"a": "req-a", "b": "req-b"}
    replies: list[InvokeResponse] = []
    started = time.time()
    with served(f"served_handlers.{handler}", NOT_UTC) as server:
        async with (
            connect_function(server.port, timeout=PROCESS_TIMEOUT) as first,
            connect_function(server.port, timeout=PROCESS_TIMEOUT) as second,
        ):

            async def invoke(client: FunctionClient, tag: str) -> None:
                request = invoke_request(gate_event(tmp_path, tag), ids[tag])
                replies.append(await client.invoke(request))

            async with trio.open_nursery() as nursery:
                for client, tag in ((first, "a"), (second, "b")):
                    nursery.start_soon(invoke, client, tag)
                    # One at a time, so "a" has logged before "b" starts and both then overlap.
                    await wait_for_file(tmp_path / f"started-{tag}")
                (tmp_path / "release").touch()
            output = await server.wait_for_stdout("after req-b")
            output = await server.wait_for_stdout("after req-a")
    finished = time.time()
    assert sorted(json.loads(r.payload)["request_id"] for r in replies) == ["req-a", "req-b"]
    lines = [match.groupdict() for match in TEXT_LINE.finditer(output)]
    assert sorted(line["message"] for line in lines) == [
        "after req-a",
        "after req-b",
        "before req-a",
        "before req-b",
    ]
    for line in lines:
        assert line["level"] == "WARNING"
        assert line["message"].endswith(" " + line["request_id"]), line
        seconds = calendar.timegm(time.strptime(line["time"], "%Y-%m-%dT%H:%M:%S"))
        stamp = seconds + int(line["ms"]) / 1000
        assert int(started) <= stamp <= finished, line  # UTC, although TZ says otherwise


@guarded
async def test_print_reaches_stdout_while_the_handler_still_runs(tmp_path: Path) -> None:
    with served("served_handlers.print_gated") as server:
        async with (
            connect_function(server.port, timeout=PROCESS_TIMEOUT) as client,
            trio.open_nursery() as nursery,
        ):
            request = invoke_request(gate_event(tmp_path, "a"), "req-print")
            nursery.start_soon(client.invoke, request)
            # PYTHONUNBUFFERED is not set and stdout is a pipe: without the server's own
            # unbuffering this line would sit in a buffer until the invoke ends.
            await wait_for_file(tmp_path / "started-a")
            await server.wait_for_stdout("print while running req-print\n")
            (tmp_path / "release").touch()


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        (None, ["warning line"]),
        ("INFO", ["info line", "warning line"]),
        ("TRACE", ["debug line", "info line", "warning line"]),  # awslambdaric's TRACE = DEBUG
    ],
)
@guarded
async def test_log_level_from_aws_lambda_log_level(level: str | None, shown: list[str]) -> None:
    env = {} if level is None else {"AWS_LAMBDA_LOG_LEVEL": level}
    with served("served_handlers.log_levels", env) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            await client.invoke(invoke_request(b"{}", "req-levels"))
            output = await server.wait_for_stdout("warning line")
    messages = [m["message"] for m in TEXT_LINE.finditer(output) if m["request_id"] == "req-levels"]
    assert messages == shown


@guarded
async def test_json_log_format() -> None:
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", **NOT_UTC}
    with served("served_handlers.log_levels", env) as server:
        async with connect_function(server.port, timeout=PROCESS_TIMEOUT) as client:
            await client.invoke(invoke_request(b"{}", "req-json"))
            output = await server.wait_for_stdout("warning line")
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(records) == 1
    record = records[0]
    assert list(record) == ["timestamp", "level", "message", "logger", "requestId", "order_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["timestamp"])
    assert record | {"timestamp": None} == {
        "timestamp": None,
        "level": "WARNING",
        "message": "warning line",
        "logger": "served",
        "requestId": "req-json",
        "order_id": 7,
    }
