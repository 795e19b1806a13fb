"""What the go1.x service shows a caller when an invoke fails, in the service's own words.

Two kinds of failure reach the caller:

- The function answered with ``InvokeResponse.Error``: shown as the JSON aws-lambda-go's tags give
  ``InvokeResponse_Error`` (``errorMessage``, ``errorType``, ``stackTrace`` of ``{path, line,
  label}`` objects). ``ShouldExit`` is never shown; it only tells the service to end the process.
- The platform gave up on the function. Lambda's own texts are used where Lambda has one
  (PROTOCOL.md section 1; AWS's rapid, as published in aws-lambda-runtime-interface-emulator):

  - exec failed: ``Runtime.InvalidEntrypoint``,
    ``RequestId: <id> Error: fork/exec <path>: no such file or directory``;
  - the process exited: ``Runtime.ExitError``,
    ``RequestId: <id> Error: Runtime exited with error: exit status 3`` (or ``signal: killed``);
  - the deadline passed: ``Sandbox.Timedout``,
    ``RequestId: <id> Error: Task timed out after 3.00 seconds`` (the configured timeout).

  Without a request id (a failure in the init phase, before any event) the prefix is just
  ``Error: ``, as in Lambda.

  A live process that breaks the net/rpc conversation (closes mid-reply, sends bytes that are not
  gob) has no documented Lambda answer. docker-lambda, the readable mock of the go1.x service,
  shows the Go client's error text with no errorType; so do we, behind the same ``RequestId: <id>
  Error:`` prefix.

Rendering follows docker-lambda's ``LambdaError``: ``errorType`` and ``stackTrace`` are left out
when empty, and the JSON is compact, as Go's ``json.Marshal`` writes it.
"""

from __future__ import annotations

import json
import os
import time

import attrs

from runtime._faults import Frame
from runtime._messages import InvokeResponse_Error

__all__ = [
    "FunctionError",
    "broken_connection",
    "exit_description",
    "exited",
    "invalid_entrypoint",
    "timed_out",
    "timed_out_log_line",
]

#: Go's ``syscall`` signal names (zerrors_linux_amd64.go), which ``ProcessState.String`` prints
#: after ``signal:``; Python's ``strsignal`` capitalises them differently.
_GO_SIGNAL_NAMES = {
    1: "hangup",
    2: "interrupt",
    3: "quit",
    4: "illegal instruction",
    5: "trace/breakpoint trap",
    6: "aborted",
    7: "bus error",
    8: "floating point exception",
    9: "killed",
    10: "user defined signal 1",
    11: "segmentation fault",
    12: "user defined signal 2",
    13: "broken pipe",
    14: "alarm clock",
    15: "terminated",
    16: "stack fault",
    17: "child exited",
    18: "continued",
    19: "stopped (signal)",
    20: "stopped",
    21: "stopped (tty input)",
    22: "stopped (tty output)",
    23: "urgent I/O condition",
    24: "CPU time limit exceeded",
    25: "file size limit exceeded",
    26: "virtual timer expired",
    27: "profiling timer expired",
    28: "window changed",
    29: "I/O possible",
    30: "power failure",
    31: "bad system call",
}

RUNTIME_EXIT_ERROR = "Runtime.ExitError"
INVALID_ENTRYPOINT = "Runtime.InvalidEntrypoint"
SANDBOX_TIMEDOUT = "Sandbox.Timedout"


@attrs.frozen(kw_only=True)
class FunctionError:
    """An invoke's error as the caller sees it.

    Attributes:
        message: ``errorMessage``.
        type: ``errorType``; empty for errors Lambda shows without one.
        stack_trace: ``stackTrace`` frames, innermost first, as aws-lambda-go sends them.
        should_exit: the function's reply had ShouldExit set (never shown, never from the
            platform).
    """

    message: str
    type: str = ""
    stack_trace: tuple[Frame, ...] = ()
    should_exit: bool = False

    @classmethod
    def from_response(cls, error: InvokeResponse_Error) -> FunctionError:
        """The error the function put in ``InvokeResponse.Error``."""
        return cls(
            message=error.message,
            type=error.type,
            stack_trace=tuple(
                Frame(path=f.path, line=f.line, label=f.label) for f in error.stack_trace or ()
            ),
            should_exit=error.should_exit,
        )

    def body(self) -> dict[str, object]:
        """The JSON object shown to the caller (key order as Go's struct tags give it)."""
        body: dict[str, object] = {"errorMessage": self.message}
        if self.type:
            body["errorType"] = self.type
        if self.stack_trace:
            body["stackTrace"] = [
                {"path": f.path, "line": f.line, "label": f.label} for f in self.stack_trace
            ]
        return body

    def to_json(self) -> str:
        """:meth:`body` as compact JSON, as Go's ``json.Marshal`` writes it."""
        return json.dumps(self.body(), separators=(",", ":"), ensure_ascii=False)


def _prefix(request_id: str) -> str:
    """``RequestId: <id> Error: ``, or ``Error: `` for a failure outside any invoke (init)."""
    return f"RequestId: {request_id} Error: " if request_id else "Error: "


def exit_description(returncode: int) -> str:
    """Go's ``ProcessState.String()`` for a Python ``returncode``: ``exit status 3``,
    ``signal: killed``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    number = -returncode
    return "signal: " + _GO_SIGNAL_NAMES.get(number, f"signal {number}")


def exited(request_id: str, returncode: int) -> FunctionError:
    """The process ended before answering: Lambda's ``Runtime.ExitError``."""
    if returncode == 0:
        reason = "Runtime exited without providing a reason"
    else:
        reason = "Runtime exited with error: " + exit_description(returncode)
    return FunctionError(message=_prefix(request_id) + reason, type=RUNTIME_EXIT_ERROR)


def invalid_entrypoint(request_id: str, executable: str, exc: OSError) -> FunctionError:
    """The executable could not be started, worded as Go's ``exec.Cmd.Start`` errors."""
    if os.sep not in executable and isinstance(exc, FileNotFoundError):
        text = f'exec: "{executable}": executable file not found in $PATH'
    else:
        reason = os.strerror(exc.errno) if exc.errno is not None else str(exc)
        text = f"fork/exec {executable}: {reason[:1].lower()}{reason[1:]}"
    return FunctionError(message=_prefix(request_id) + text, type=INVALID_ENTRYPOINT)


def timed_out(request_id: str, timeout: float) -> FunctionError:
    """The deadline passed and the process was killed: Lambda's ``Sandbox.Timedout``."""
    return FunctionError(
        message=_prefix(request_id) + f"Task timed out after {timeout:.2f} seconds",
        type=SANDBOX_TIMEDOUT,
    )


def timed_out_log_line(request_id: str, elapsed: float, now: float | None = None) -> str:
    """The line Lambda writes to the function's log on a timeout; unlike the caller's message it
    gives the time that actually passed (``2020-11-10T05:46:57.874Z <id> Task timed out after
    3.07 seconds``)."""
    stamp = time.time() if now is None else now
    when = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp * 1000) % 1000:03d}Z"
    )
    return f"{when} {request_id} Task timed out after {elapsed:.2f} seconds"


#: Lambda's limit on a synchronous invoke's event, and on its response (6 MiB + 100 bytes: the
#: number Lambda's error message gives).
MAX_REQUEST_PAYLOAD = 6 * 1024 * 1024
MAX_RESPONSE_PAYLOAD = 6 * 1024 * 1024 + 100


def request_too_large() -> FunctionError:
    """An event over :data:`MAX_REQUEST_PAYLOAD`: Lambda refuses the invoke, the function never
    sees it."""
    return FunctionError(
        message=f"Request must be smaller than {MAX_REQUEST_PAYLOAD} bytes for the "
        "InvokeFunction operation",
        type="RequestEntityTooLargeException",
    )


def invalid_request_content(reason: str) -> FunctionError:
    """An event that is not JSON: Lambda's Invoke API refuses it, the function never sees it.
    Lambda's own text goes on with its (Java) parser's words; ``reason`` is Python's."""
    return FunctionError(
        message=f"Could not parse request body into json: Could not parse payload into json: "
        f"{reason}",
        type="InvalidRequestContentException",
    )


def response_too_large(size: int) -> FunctionError:
    """A response over :data:`MAX_RESPONSE_PAYLOAD`: Lambda's ``Function.ResponseSizeTooLarge``."""
    return FunctionError(
        message=f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_PAYLOAD} bytes).",
        type="Function.ResponseSizeTooLarge",
    )


def broken_connection(request_id: str, reason: str) -> FunctionError:
    """A live process broke the RPC conversation; ``reason`` is the Go client's error text."""
    return FunctionError(message=_prefix(request_id) + reason)
