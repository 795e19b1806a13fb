"""Our Runtime API mode against the real awslambdaric, same handlers, same emulator.

Each case starts two emulators (one per runtime) with the same handler module, copied once into
a scratch task root that both import it from, sends both the same events, and compares what comes
back. Because the file path is the same, stack traces are compared string for string; only the
request id differs (each invoke gets a fresh UUID), so it is checked for shape and against the id
the emulator handed out instead of for equality.

Where we differ from awslambdaric on purpose, the test says so and asserts both sides.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest
from rie import (
    EMULATOR_KINDS,
    HERE,
    InvokeResult,
    RunningEmulator,
    emulator_command,
    ric_python,
    running_emulator,
    runtime_command,
)

RUNTIMES = ("ours", "awslambdaric")
FUNCTION_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "compare-function",
    "AWS_LAMBDA_FUNCTION_VERSION": "7",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/compare-function",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[7]0123456789abcdef0123456789abcdef",
    "AWS_REGION": "eu-west-1",
    "PYTHONDONTWRITEBYTECODE": "1",
}

# Modules that fail at import, written into the task root (a syntax error cannot live in tests/:
# ruff and mypy would reject it).
BROKEN_MODULES = {
    "broken_syntax.py": "def handler(event, context:\n    return event\n",
    "import_raises.py": (
        "def _load():\n"
        "    raise RuntimeError('cannot start: missing config')\n"
        "\n"
        "_load()\n"
        "\n"
        "def handler(event, context):\n"
        "    return event\n"
    ),
    "imports_missing.py": "import no_such_dependency_for_tests\n",
}

#: How long to wait for the stand-in to record a runtime's exit after an init error.
EXIT_RECORD_TIMEOUT_S = 10.0
#: How much of the emulator's output, and how many of its records, a failed invoke shows.
OUTPUT_SHOWN = 4000
RECORDS_SHOWN = 10


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task")
    shutil.copy(HERE / "functions" / "compare_handlers.py", root / "compare_handlers.py")
    for name, text in BROKEN_MODULES.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(params=EMULATOR_KINDS)
def emulator_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    emulator_command(kind)  # skips when that emulator is not installed
    ric_python()  # skips when awslambdaric is not installed
    return kind


@attrs.frozen(kw_only=True)
class Run:
    """One runtime's answers, and what its emulator saw."""

    results: list[InvokeResult]
    records: list[dict[str, object]]
    output: str


def _wait_for_exit(emulator: RunningEmulator) -> list[dict[str, object]]:
    deadline = time.monotonic() + EXIT_RECORD_TIMEOUT_S
    while time.monotonic() < deadline:
        records = emulator.records()
        if any("exit" in record for record in records):
            return records
        time.sleep(0.02)
    return emulator.records()


def _run_one(
    kind: str,
    runtime: str,
    handler: str,
    invokes: Sequence[tuple[bytes, Mapping[str, str]]],
    *,
    task_root: Path,
    workdir: Path,
    expect_exit: bool,
) -> Run:
    with running_emulator(
        kind, runtime_command(runtime, handler), cwd=task_root, workdir=workdir, env=FUNCTION_ENV
    ) as emulator:
        try:
            results = [emulator.invoke(payload, headers) for payload, headers in invokes]
        except (OSError, http.client.HTTPException) as exc:
            # Say what the emulator and the runtime saw: the invoke alone does not tell.
            raise AssertionError(
                f"{runtime} under {kind}: {exc!r}\n--- emulator and runtime output (end) ---\n"
                f"{emulator.output_text()[-OUTPUT_SHOWN:]}\n--- last records ---\n"
                f"{emulator.records()[-RECORDS_SHOWN:]}"
            ) from exc
        records = _wait_for_exit(emulator) if expect_exit else emulator.records()
        return Run(results=results, records=records, output=emulator.output_text())


def run_both(
    kind: str,
    handler: str,
    invokes: Sequence[tuple[bytes, Mapping[str, str]]],
    task_root: Path,
    tmp_path: Path,
    *,
    expect_exit: bool = False,
) -> dict[str, Run]:
    """Run ``handler`` under both runtimes at once (one emulator each) with the same invokes."""
    with ThreadPoolExecutor(max_workers=len(RUNTIMES)) as pool:
        futures = {}
        for runtime in RUNTIMES:
            workdir = tmp_path / runtime
            workdir.mkdir(exist_ok=True)
            futures[runtime] = pool.submit(
                _run_one,
                kind,
                runtime,
                handler,
                invokes,
                task_root=task_root,
                workdir=workdir,
                expect_exit=expect_exit,
            )
        return {runtime: future.result() for runtime, future in futures.items()}


def _plain(payloads: Sequence[bytes]) -> list[tuple[bytes, Mapping[str, str]]]:
    return [(payload, {}) for payload in payloads]


def _invoke_ids(run: Run) -> list[str]:
    """The request ids the stand-in handed out, in order (from the runtime's POST paths)."""
    ids = []
    for record in run.records:
        path = str(record.get("path", ""))
        match = re.fullmatch(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)", path)
        if match:
            ids.append(match.group(1))
    return ids


def _error_fields(run: Run) -> list[dict[str, object]]:
    """Each answer as an error document without its request id, which is checked here."""
    documents = []
    handed_out = _invoke_ids(run)
    for index, result in enumerate(run.results):
        assert result.status == 200
        document = result.json()
        assert isinstance(document, dict)
        assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
        request_id = document.pop("requestId")
        assert isinstance(request_id, str)
        uuid.UUID(request_id)  # RIE's ids are UUIDs
        if handed_out:
            assert request_id == handed_out[index]
        documents.append(document)
    return documents


# --- responses -------------------------------------------------------------------------------

ECHO_EVENTS = [
    b'{"name": "go1.x", "nested": {"list": [1, 2.5, null, true]}, "text": "caf\\u00e9 \\u2028"}',
    b'"just a string"',
    b"[]",
    b"123456789012345678901234567890",
    b"1e400",
    b'{"price": 1.10, "big": 1.7976931348623157e308}',
    b'{"x": ' + json.dumps("\u00e9" * 200_000).encode() + b"}",  # about 1.2 MB on the wire
]


@pytest.mark.parametrize(
    ("handler", "events"),
    [
        ("compare_handlers.echo", ECHO_EVENTS),
        ("compare_handlers.returns_none", [b"{}", b'"ignored"']),
        ("compare_handlers.returns_bytes", [b"{}"]),
    ],
    ids=["echo", "returns_none", "returns_bytes"],
)
def test_same_response_bodies(
    emulator_kind: str, handler: str, events: list[bytes], task_root: Path, tmp_path: Path
) -> None:
    runs = run_both(emulator_kind, handler, _plain(events), task_root, tmp_path)
    ours, theirs = runs["ours"], runs["awslambdaric"]
    assert len(ours.results) == len(theirs.results) == len(events)
    for mine, reference in zip(ours.results, theirs.results, strict=True):
        assert mine.status == reference.status == 200
        assert mine.body == reference.body
        assert mine.content_type == reference.content_type


def test_echo_answers_are_the_events(emulator_kind: str, task_root: Path, tmp_path: Path) -> None:
    """The comparison above would pass if both runtimes were wrong alike; pin a few answers."""
    events = [b'{"a": [1, 2]}', b'"caf\\u00e9"', b"null"]
    runs = run_both(emulator_kind, "compare_handlers.echo", _plain(events), task_root, tmp_path)
    expected = [b'{"a": [1, 2]}', b'"caf\\u00e9"', b"null"]
    assert [result.body for result in runs["ours"].results] == expected
    assert [result.body for result in runs["awslambdaric"].results] == expected


def test_async_handler_is_awaited_where_awslambdaric_cannot(
    emulator_kind: str, task_root: Path, tmp_path: Path
) -> None:
    """Legitimate difference: we await ``async def`` handlers (as in RPC mode); awslambdaric
    calls them, gets a coroutine, and fails to marshal it."""
    events = [b'{"async": true}']
    runs = run_both(
        emulator_kind, "compare_handlers.async_echo", _plain(events), task_root, tmp_path
    )
    assert [result.body for result in runs["ours"].results] == [b'{"async": true}']
    (reference,) = _error_fields(runs["awslambdaric"])
    assert reference["errorType"] == "Runtime.MarshalError"
    assert str(reference["errorMessage"]).startswith("Unable to marshal response: Object of type")
    assert "coroutine" in str(reference["errorMessage"])


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ("compare_handlers.returns_set", [b"{}"], "Runtime.MarshalError"),
        ("compare_handlers.raises_value_error", [b'{"a": 1}', b"[1, 2]"], "ValueError"),
        ("compare_handlers.raises_custom", [b"{}"], "CustomError"),
        ("compare_handlers.raises_key_error", [b"{}"], "KeyError"),
        # Its X-Ray cause is over 1 MiB: left out, or the error itself would be lost.
        ("compare_handlers.raises_huge", [b"{}"], "ValueError"),
        ("compare_handlers.echo", [b"{not json", b""], "Runtime.UnmarshalError"),
    ],
    ids=["not_serialisable", "value_error", "custom_exception", "key_error", "huge", "bad_event"],
)
def test_same_error_fields(
    emulator_kind: str, case: tuple[str, list[bytes], str], task_root: Path, tmp_path: Path
) -> None:
    handler, events, error_type = case
    runs = run_both(emulator_kind, handler, _plain(events), task_root, tmp_path)
    ours, theirs = _error_fields(runs["ours"]), _error_fields(runs["awslambdaric"])
    assert ours == theirs
    assert {document["errorType"] for document in ours} == {error_type}
    for document in ours:
        trace = document["stackTrace"]
        assert isinstance(trace, list)
        if error_type.startswith("Runtime."):
            assert trace == []  # runtime faults carry no frames, in both
        else:
            # The user's frames only, outermost first, in format_list's form.
            assert trace
            assert all(str(line).startswith('  File "') for line in trace)
            assert "compare_handlers.py" in str(trace[0])


def test_same_error_request_headers(task_root: Path, tmp_path: Path) -> None:
    """What each runtime POSTs to ``/error``: same headers and the same X-Ray cause document.

    Only the stand-in records requests, so this runs under it alone.
    """
    ric_python()
    runs = run_both(
        "standin", "compare_handlers.raises_value_error", _plain([b"{}"]), task_root, tmp_path
    )
    posted: dict[str, dict[str, str]] = {}
    for runtime, run in runs.items():
        (record,) = [r for r in run.records if str(r.get("path", "")).endswith("/error")]
        headers = record["headers"]
        assert isinstance(headers, list)
        posted[runtime] = {str(k).lower(): str(v) for k, v in headers}
    ignored = {"host", "user-agent", "accept", "content-length"}
    assert {k for k in posted["ours"] if k not in ignored} == {
        k for k in posted["awslambdaric"] if k not in ignored
    }
    assert posted["ours"]["content-type"] == posted["awslambdaric"]["content-type"]
    assert "lambda-runtime-function-error-type" not in posted["awslambdaric"]
    cause = "lambda-runtime-function-xray-error-cause"
    assert json.loads(posted["ours"][cause]) == json.loads(posted["awslambdaric"][cause])


# --- init errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("no_such_module.handler", "Runtime.ImportModuleError"),
        ("imports_missing.handler", "Runtime.ImportModuleError"),
        ("broken_syntax.handler", "Runtime.UserCodeSyntaxError"),
        ("compare_handlers.no_such_function", "Runtime.HandlerNotFound"),
        ("import_raises.handler", "RuntimeError"),
        ("nodots", "Runtime.MalformedHandlerName"),
    ],
    ids=[
        "missing_module",
        "missing_dependency",
        "syntax_error",
        "missing_handler",
        "import_raises",
        "malformed_name",
    ],
)
def test_same_init_errors(
    emulator_kind: str, handler: str, error_type: str, task_root: Path, tmp_path: Path
) -> None:
    runs = run_both(emulator_kind, handler, _plain([b"{}"]), task_root, tmp_path, expect_exit=True)
    documents = {}
    for runtime, run in runs.items():
        (result,) = run.results
        assert result.status == 502  # RIE's answer to an invoke that met an init error
        document = result.json()
        assert isinstance(document, dict)
        assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
        assert document["requestId"] == ""  # init errors belong to no invoke
        documents[runtime] = document
        if run.records:  # the stand-in saw the POST and the exit
            (posted,) = [
                r for r in run.records if r.get("path") == "/2018-06-01/runtime/init/error"
            ]
            headers = posted["headers"]
            assert isinstance(headers, list)
            sent = {str(k).lower(): str(v) for k, v in headers}
            assert sent["lambda-runtime-function-error-type"] == error_type
            assert [r["exit"] for r in run.records if "exit" in r][:1] == [1]
    assert documents["ours"] == documents["awslambdaric"]
    assert documents["ours"]["errorType"] == error_type
    if error_type == "RuntimeError":
        # Import-time exceptions keep importlib's frames in both (only bootstrap frames are cut).
        trace = documents["ours"]["stackTrace"]
        assert isinstance(trace, list)
        assert "import_raises.py" in str(trace[-1])


# --- context ---------------------------------------------------------------------------------

CLIENT_CONTEXT = {
    "client": {"installation_id": "inst-1", "app_title": "Demo", "app_version_code": "42"},
    "custom": {"k": "v", "n": 3, "name": "caf\u00e9 \u2603"},  # UTF-8 in the header, not \u
    "env": {"platform": "test"},
    "w3c": {"traceparent": "00-abc-def-01", "baggage": 5},
}


def _context_invokes() -> list[tuple[bytes, Mapping[str, str]]]:
    full = {
        # Passed on by the stand-in only: RIE drops the trace header.
        "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "X-Amz-Client-Context": base64.b64encode(
            json.dumps(CLIENT_CONTEXT, ensure_ascii=False).encode()
        ).decode(),
        "X-Amz-Cognito-Identity": json.dumps(
            {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
        ),
        "X-Amz-Tenant-Id": "tenant-7",
    }
    return [(b'{"first": 1}', full), (b'{"second": 2}', {})]


def test_same_context(emulator_kind: str, task_root: Path, tmp_path: Path) -> None:
    invokes = _context_invokes()
    runs = run_both(emulator_kind, "compare_handlers.context_report", invokes, task_root, tmp_path)
    reports = {}
    for runtime, run in runs.items():
        reports[runtime] = [result.json() for result in run.results]
        for report, request_id in zip(reports[runtime], _invoke_ids(run), strict=False):
            assert isinstance(report, dict)
            assert report["aws_request_id"] == request_id
    for report in [*reports["ours"], *reports["awslambdaric"]]:
        assert isinstance(report, dict)
        uuid.UUID(str(report.pop("aws_request_id")))
    assert reports["ours"] == reports["awslambdaric"]
    first, second = reports["ours"]
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["function_name"] == "compare-function"
    assert first["memory_limit_in_mb"] == "256"
    assert first["remaining_positive"] is True
    if emulator_kind == "standin":
        assert first["trace_env"] == invokes[0][1]["X-Amzn-Trace-Id"]
    assert second["trace_env"] is None  # no trace header: the variable is removed, not kept
    assert first["tenant_id"] == "tenant-7"
    assert first["identity"] == {
        "cognito_identity_id": "id-1",
        "cognito_identity_pool_id": "pool-1",
    }
    assert first["w3c"] == {"traceparent": "00-abc-def-01"}  # non-string baggage dropped
    assert second["client_context"] is None
    client_context = first["client_context"]
    assert isinstance(client_context, dict)
    assert client_context["custom"]["name"] == "caf\u00e9 \u2603"


# --- logging ---------------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LOG_MARKERS = ("[WARNING]", "[ERROR]", "printed line", "context.log line")


def _log_lines(output: str) -> list[str]:
    # split on "\n" only: an error line holds its traceback joined with "\r".
    lines = [line for line in output.split("\n") if line.startswith(_LOG_MARKERS)]
    return [_UUID.sub("<id>", _TIMESTAMP.sub("<time>", line)) for line in lines]


def test_same_log_lines(emulator_kind: str, task_root: Path, tmp_path: Path) -> None:
    events = [b"{}", b"{}"]
    runs = run_both(emulator_kind, "compare_handlers.logs", _plain(events), task_root, tmp_path)
    ours, theirs = _log_lines(runs["ours"].output), _log_lines(runs["awslambdaric"].output)
    assert ours == theirs
    assert ours[:2] == [
        "[WARNING]\t<time>\t<id>\twarned here",
        "[ERROR]\t<time>\t<id>\tchild error",
    ]
    assert len(ours) == 2 * 4


def test_same_error_log_line(emulator_kind: str, task_root: Path, tmp_path: Path) -> None:
    events = [b'{"a": 1}']
    handler = "compare_handlers.raises_value_error"
    runs = run_both(emulator_kind, handler, _plain(events), task_root, tmp_path)
    ours, theirs = _log_lines(runs["ours"].output), _log_lines(runs["awslambdaric"].output)
    assert ours == theirs
    (line,) = ours
    assert line.startswith("[ERROR] ValueError: bad value: {'a': 1}\rTraceback")
    assert "\r\u00a0\u00a0File " in line
