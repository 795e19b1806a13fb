"""Runtime API mode runs the handler's module and a plain handler on the main thread, outside
our trio run, as awslambdaric does.

Module code runs before trio starts; a plain handler then runs on the same thread while trio
runs on another, so the handler's own ``asyncio.run`` sees asyncio, its own ``trio.run`` starts,
and what its module set up for its thread is still there. Inside our trio run, sniffio would
answer "trio" in the handler's asyncio loop and ``trio.run`` would refuse to nest; on a worker
thread, ``asyncio.get_event_loop()``, thread-locals and sqlite objects from the import would fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rie import EMULATOR_KINDS, HERE, emulator_command, running_emulator, runtime_command

WHERE = HERE / "functions" / "where_code_runs.py"
LOADED = HERE / "functions" / "loaded_packages.py"


@pytest.fixture(params=EMULATOR_KINDS)
def emulator_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    emulator_command(kind)  # skips when that emulator is not installed
    return kind


def _invoke_once(
    kind: str, handler: str, tmp_path: Path, source: Path = WHERE, status: int = 200
) -> object:
    task_root = tmp_path / "task"
    task_root.mkdir(exist_ok=True)
    (task_root / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    with running_emulator(
        kind, runtime_command("ours", handler), cwd=task_root, workdir=tmp_path
    ) as emulator:
        result = emulator.invoke(b"{}")
    assert result.status == status, result.body[:300]
    return result.json()


def test_module_code_runs_on_the_main_thread_with_no_loop_running(
    emulator_kind: str, tmp_path: Path
) -> None:
    report = _invoke_once(emulator_kind, "where_code_runs.import_report", tmp_path)
    assert report == {
        "main_thread": True,
        "asyncio_sees": "asyncio",
        "trio_run": "ok",
        "signal": "ok",
    }


def test_a_plain_handler_s_own_event_loops_work(emulator_kind: str, tmp_path: Path) -> None:
    report = _invoke_once(emulator_kind, "where_code_runs.nested_loops", tmp_path)
    assert report == {"asyncio_sees": "asyncio", "trio_run": "ok"}


def test_a_plain_handler_runs_on_the_thread_that_imported_its_module(
    emulator_kind: str, tmp_path: Path
) -> None:
    report = _invoke_once(emulator_kind, "where_code_runs.thread_state", tmp_path)
    assert report == {
        "main_thread": True,
        "get_event_loop": "ok",
        "thread_local": "set at import",
        "sqlite": "ok",
        "signal": "ok",
    }


def test_a_child_forked_by_a_plain_handler_ends_when_it_returns(
    emulator_kind: str, tmp_path: Path
) -> None:
    assert _invoke_once(emulator_kind, "where_code_runs.forks", tmp_path) == {"child_status": 0}


def test_a_plain_handler_s_runtime_loads_neither_trio_nor_the_gob_codec(
    emulator_kind: str, tmp_path: Path
) -> None:
    # They would be most of a cold start; only an ``async def`` handler needs trio.
    report = _invoke_once(emulator_kind, "loaded_packages.plain", tmp_path, LOADED)
    assert report == {"trio": False, "outcome": False, "gobrpc": False}


def test_an_async_handler_s_runtime_loads_trio_but_not_the_gob_codec(
    emulator_kind: str, tmp_path: Path
) -> None:
    report = _invoke_once(emulator_kind, "loaded_packages.coroutine", tmp_path, LOADED)
    assert report == {"trio": True, "outcome": True, "gobrpc": False}


def test_a_user_module_named_like_a_loop_package_keeps_the_user_s_frames(
    emulator_kind: str, tmp_path: Path
) -> None:
    # Runtime API mode never imports trio's outcome package, and the user's own outcome.py,
    # imported in its place, must not count as runtime machinery in a trace.
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "outcome.py").write_text("VALUE = 1\n", encoding="utf-8")
    source = tmp_path / "uses_outcome.py"
    source.write_text(
        "import outcome\ndef fails(event, context):\n    raise ValueError(outcome.VALUE)\n",
        encoding="utf-8",
    )
    error = _invoke_once(emulator_kind, "uses_outcome.fails", tmp_path, source)
    assert isinstance(error, dict)
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "1")
    (frame,) = error["stackTrace"]
    assert "uses_outcome.py" in frame
    assert "raise ValueError(outcome.VALUE)" in frame
