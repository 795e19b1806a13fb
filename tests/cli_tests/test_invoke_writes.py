"""``invoke --events`` writes each event's lines in as few trips to a worker thread as their order
allows: one for ``START`` before the invoke, one for everything after it (a trip costs a thread
wake-up each way: with four trips an event, 200 small events took 0.64 ms more each here)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
import trio

from lambda_legacy import _cmd_invoke
from lambda_legacy._invocation import Invocation
from lambda_legacy._service import FunctionConfiguration, FunctionService, InvokeOutcome
from lambda_legacy._service_errors import FunctionError


@attrs.define
class _Service:
    """Answers each invoke with the outcome given, as ``FunctionService.invoke`` would."""

    outcome: Callable[[Invocation], InvokeOutcome]
    configuration: FunctionConfiguration = attrs.Factory(FunctionConfiguration)

    async def invoke(self, invocation: Invocation) -> InvokeOutcome:
        return self.outcome(invocation)


def _run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, service: _Service, payload: bytes
) -> tuple[bool, int, str, str]:
    """One ``--events`` line through ``_invoke_logged``: its result, the trips to a worker
    thread, and what stderr and stdout got."""
    trips: list[object] = []
    real_run_sync = trio.to_thread.run_sync

    async def counting(fn: Callable[..., Any], *args: Any, **options: Any) -> Any:
        trips.append(fn)
        return await real_run_sync(fn, *args, **options)

    monkeypatch.setattr(trio.to_thread, "run_sync", counting)
    with open(tmp_path / "out", "w+") as out, open(tmp_path / "err", "w+") as err:
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        invocation = Invocation(payload=payload, request_id="req-1")
        ok = trio.run(_cmd_invoke._invoke_logged, cast(FunctionService, service), invocation)
    return (
        ok,
        len(trips),
        (tmp_path / "err").read_text(),
        (tmp_path / "out").read_text(),
    )


def test_an_answered_event_takes_two_trips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    service = _Service(lambda inv: InvokeOutcome(request_id=inv.request_id, payload=b'{"a":1}'))
    ok, trips, err, out = _run(monkeypatch, tmp_path, service, b'{"a":1}')
    assert ok
    assert trips == 2
    lines = err.splitlines()
    assert lines[0] == "START RequestId: req-1 Version: $LATEST"
    assert lines[1] == "END RequestId: req-1"
    assert lines[2].startswith("REPORT RequestId: req-1\tDuration: ")
    assert len(lines) == 3
    assert out == '{"a":1}\n'


def test_a_timed_out_event_takes_two_trips_with_its_lines_in_lambdas_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    error = FunctionError(message="Task timed out after 1.00 seconds", type="Sandbox.Timedout")
    service = _Service(
        lambda inv: InvokeOutcome(
            request_id=inv.request_id, error=error, duration=1.0, timed_out=True
        )
    )
    ok, trips, err, out = _run(monkeypatch, tmp_path, service, b"{}")
    assert not ok
    assert trips == 2
    lines = err.splitlines()
    assert [line.split(" ")[0] for line in lines[:3]] == ["START", "END", "REPORT"]
    assert "Task timed out after 1.00 seconds" in lines[3]
    assert out == error.to_json() + "\n"


def test_a_refused_event_takes_one_trip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    service = _Service(lambda inv: pytest.fail("a refused event reached the function"))
    ok, trips, err, out = _run(monkeypatch, tmp_path, service, b"not json")
    assert not ok
    assert trips == 1
    assert err == "lambda-legacy invoke: the event is not JSON\n"
    assert json.loads(out)["errorType"] == "InvalidRequestContentException"
