"""The trio run that awaits ``async def`` handlers in Runtime API mode (runtime._trio_side_run)."""

from __future__ import annotations

import threading
import time

import pytest
import trio

from runtime._trio_side_run import TrioRunEndedError, TrioSideRun

#: Bounds the wait for the run's thread to end.
WAIT_SECONDS = 30.0


async def _echo(event: object, context: object) -> object:
    await trio.sleep(0)
    return event


async def _breaks_the_run(event: object, context: object) -> object:
    async def fail() -> None:
        raise RuntimeError("left behind on the run")

    trio.lowlevel.spawn_system_task(fail)  # a crashed system task ends the whole run
    return "spawned"


def _run_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lambda-legacy trio (async")]


def test_calls_share_one_run_on_a_thread_of_its_own() -> None:
    side = TrioSideRun()
    side.start()
    tokens = [side.call(lambda e, c: trio.lowlevel.current_trio_token(), None, None) for _ in "ab"]
    assert tokens[0] is tokens[1]
    assert side.call(_echo, {"n": 1}, None) == {"n": 1}
    assert side.await_(_echo(2, None)) == 2


def test_what_the_handler_raises_comes_back_unchanged() -> None:
    async def fails(event: object, context: object) -> object:
        raise KeyError(event)

    with pytest.raises(KeyError, match="'x'"):
        TrioSideRun().call(fails, "x", None)


def test_a_run_that_ended_ends_the_runtime_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = set(_run_threads())
    side = TrioSideRun()
    side.start()
    (thread,) = set(_run_threads()) - before
    assert side.call(_breaks_the_run, None, None) == "spawned"
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    with pytest.raises(TrioRunEndedError, match="has ended"):
        side.call(_echo, None, None)
    assert issubclass(TrioRunEndedError, BaseException)
    assert not issubclass(TrioRunEndedError, Exception)  # fatal in the loop, as SystemExit is
    stderr = capsys.readouterr().err
    assert "the trio run of async def handlers ended" in stderr
    assert "left behind on the run" in stderr


def test_start_starts_the_run_before_any_call() -> None:
    before = set(_run_threads())
    TrioSideRun().start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not set(_run_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert set(_run_threads()) - before


async def _breaks_the_run_while_it_waits(event: object, context: object) -> object:
    async def fail() -> None:
        raise RuntimeError("failed during the call")

    trio.lowlevel.spawn_system_task(fail)
    await trio.sleep_forever()  # the run's end cancels this call


def test_a_run_that_ends_during_a_call_ends_the_runtime_and_has_said_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    side = TrioSideRun()
    with pytest.raises(TrioRunEndedError):
        side.call(_breaks_the_run_while_it_waits, None, None)
    stderr = capsys.readouterr().err  # printed in full before the error reached the caller
    assert "the trio run of async def handlers ended" in stderr
    assert "failed during the call" in stderr
