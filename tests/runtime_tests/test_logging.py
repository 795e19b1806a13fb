"""Root logging and stdout as awslambdaric sets them up (PROTOCOL.md section 7, Logging)."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from types import TracebackType

import pytest

from runtime._logging import LambdaLogHandler, install_lambda_logging, make_stdout_unbuffered
from runtime._settings import Settings

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

# 2026-11-23T02:31:58.255Z
CREATED = 1795401118.255


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def not_utc() -> Iterator[None]:
    """Run in a UTC+9 local zone, so a local-time formatter would show 11:31, not 02:31."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def make_record(
    msg: object = "warn msg",
    *,
    level: int = logging.WARNING,
    args: tuple[object, ...] = (),
    exc_info: ExcInfo | None = None,
    extra: dict[str, object] | None = None,
) -> logging.LogRecord:
    record = logging.LogRecord("root", level, "/var/task/fn.py", 12, msg, args, exc_info, "handler")
    record.created = CREATED
    record.msecs = 255.0
    record.__dict__.update(extra or {})
    return record


def install(
    settings: Settings | None = None,
    request_id: str | None = "req-1",
    tenant_id: str | None = None,
) -> tuple[LambdaLogHandler, io.StringIO]:
    stream = io.StringIO()
    handler = install_lambda_logging(
        settings or Settings(), lambda: request_id, stream, tenant_id_getter=lambda: tenant_id
    )
    return handler, stream


# --- text ---------------------------------------------------------------------------------------


def test_text_line_is_exact_and_in_utc(not_utc: None) -> None:
    handler, stream = install()
    handler.handle(make_record())
    assert stream.getvalue() == "[WARNING]\t2026-11-23T02:31:58.255Z\treq-1\twarn msg\n"


def test_request_id_is_empty_before_the_first_invoke() -> None:
    handler, stream = install(request_id=None)
    handler.handle(make_record("x %s", args=("y",)))
    assert stream.getvalue() == "[WARNING]\t2026-11-23T02:31:58.255Z\t\tx y\n"


def test_request_id_is_read_for_each_record() -> None:
    ids = iter(["req-1", "req-2"])
    stream = io.StringIO()
    handler = install_lambda_logging(Settings(), lambda: next(ids), stream)
    handler.handle(make_record("a"))
    handler.handle(make_record("b"))
    assert [line.split("\t")[2] for line in stream.getvalue().splitlines()] == ["req-1", "req-2"]


def test_text_exception_follows_the_message() -> None:
    handler, stream = install()
    try:
        raise ValueError("bad")
    except ValueError:
        record = make_record("failed", level=logging.ERROR, exc_info=sys.exc_info())
    handler.handle(record)
    text = stream.getvalue()
    assert text.startswith("[ERROR]\t2026-11-23T02:31:58.255Z\treq-1\tfailed\nTraceback (most")
    assert text.endswith("ValueError: bad")


def test_root_logger_end_to_end() -> None:
    _, stream = install()
    logging.getLogger().warning("from %s", "user code")
    logging.getLogger("lib").info("below WARNING: dropped")
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("[WARNING]\t")
    assert line.endswith("Z\treq-1\tfrom user code")


def test_existing_root_handlers_are_kept() -> None:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    handler, _ = install()
    assert logging.getLogger().handlers[-2:] == [other, handler]


# --- level --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_level", "root_level"),
    [
        ("TRACE", logging.DEBUG),
        ("info", logging.INFO),
        ("ERROR", logging.ERROR),
        ("", logging.WARNING),  # unset: unchanged
        ("NOPE", logging.WARNING),  # unknown: unchanged
        ("trace", logging.WARNING),  # "TRACE" after upper-casing is not a level name
    ],
)
def test_log_level_from_settings(env_level: str, root_level: int) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    install(Settings.from_env({"AWS_LAMBDA_LOG_LEVEL": env_level}))
    assert logging.getLogger().level == root_level


# --- JSON ---------------------------------------------------------------------------------------

JSON_SETTINGS = Settings.from_env({"AWS_LAMBDA_LOG_FORMAT": "JSON"})


def test_json_line_is_exact(not_utc: None) -> None:
    handler, stream = install(JSON_SETTINGS)
    handler.handle(make_record("caf\u00e9 %d", args=(1,)))
    assert stream.getvalue() == (
        '{"timestamp": "2026-11-23T02:31:58Z", "level": "WARNING", "message": "caf\u00e9 1", '
        '"logger": "root", "requestId": "req-1"}\n'
    )


def test_json_with_exception_extra_and_tenant() -> None:
    handler, stream = install(JSON_SETTINGS, tenant_id="tenant-7")
    try:
        raise KeyError("k")
    except KeyError:
        record = make_record(
            "failed", level=logging.ERROR, exc_info=sys.exc_info(), extra={"order": {"id": 3}}
        )
    handler.handle(record)
    line = json.loads(stream.getvalue())
    assert list(line) == [
        "timestamp",
        "level",
        "message",
        "logger",
        "stackTrace",
        "errorType",
        "errorMessage",
        "requestId",
        "location",
        "tenantId",
        "order",
    ]
    assert (line["errorType"], line["errorMessage"]) == ("KeyError", "'k'")
    assert line["location"] == "/var/task/fn.py:handler:12"
    assert line["stackTrace"][0].startswith('  File "')
    assert (line["tenantId"], line["order"]) == ("tenant-7", {"id": 3})


def test_json_dict_message_stays_an_object_and_odd_values_become_strings() -> None:
    handler, stream = install(JSON_SETTINGS)
    handler.handle(make_record({"event": "start"}, extra={"when": CREATED, "obj": object}))
    line = json.loads(stream.getvalue())
    assert line["message"] == {"event": "start"}
    assert line["obj"] == "<class 'object'>"
    assert line["when"] == CREATED


def test_json_dict_message_with_arguments_is_formatted() -> None:
    # awslambdaric keeps a dict as an object only when there is nothing to format into it.
    handler, stream = install(JSON_SETTINGS)
    record = make_record({"a": "%s"})
    record.args = ("x",)
    handler.handle(record)
    assert json.loads(stream.getvalue())["message"] == "{'a': 'x'}"


@pytest.mark.parametrize(("level", "name"), [(25, "INFO"), (5, "NOTSET"), (60, "CRITICAL")])
def test_json_custom_levels_round_down(level: int, name: str) -> None:
    handler, stream = install(JSON_SETTINGS)
    record = make_record(level=level)
    handler.handle(record)
    assert json.loads(stream.getvalue())["level"] == name
    assert record.levelno == level  # the record itself is not rewritten


def test_json_exc_info_outside_an_except_block_is_ignored() -> None:
    handler, stream = install(JSON_SETTINGS)
    handler.handle(make_record(exc_info=(None, None, None)))
    assert "errorType" not in json.loads(stream.getvalue())


# --- stdout -------------------------------------------------------------------------------------


class RecordingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_stdout_and_stderr_flush_after_every_write(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = RecordingStream(), RecordingStream()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    make_stdout_unbuffered()
    print("one")
    sys.stdout.writelines(["a", "b"])
    sys.stderr.write("e")
    assert out.getvalue() == "one\nab"
    assert out.flushes == 3  # print's text and newline, then writelines
    assert err.flushes == 1
    assert sys.stdout.tell() == len("one\nab")  # everything else is the wrapped stream's


def test_with_stdout_leaves_it_open(monkeypatch: pytest.MonkeyPatch) -> None:
    # awslambdaric's Unbuffered makes ``with sys.stdout:`` do nothing; code that uses it works.
    out = RecordingStream()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", RecordingStream())
    make_stdout_unbuffered()
    with sys.stdout as inside:
        inside.write("in")
    sys.stdout.write("after")
    assert out.getvalue() == "inafter"
    assert not out.closed


def test_unbuffering_twice_wraps_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out = RecordingStream()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", RecordingStream())
    make_stdout_unbuffered()
    wrapped = sys.stdout
    make_stdout_unbuffered()
    assert sys.stdout is wrapped
    sys.stdout.write("x")
    assert out.flushes == 1
