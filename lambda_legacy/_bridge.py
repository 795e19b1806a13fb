"""The bridge: a Runtime API ``bootstrap`` that runs a legacy go1.x executable unchanged.

provided.al2 and provided.al2023 start ``bootstrap`` and expect it to speak the Runtime API. A
go1.x executable built with an aws-lambda-go too old to know that API only speaks net/rpc on
``_LAMBDA_SERVER_PORT``. The bridge is the go1.x service in between: it starts the executable
(:mod:`lambda_legacy._service`), and for each event from ``invocation/next`` it sends
``Function.Invoke`` with the ``Lambda-Runtime-*`` headers mapped onto the ``InvokeRequest`` and
posts the reply back, or the error as the go1.x runtime returned it to callers (``errorMessage``,
``errorType``, ``stackTrace`` frames with ``path``, ``line``, ``label``).

A crash or a ShouldExit reply ends that process; the next event starts a fresh one, and the
failed event is reported as ``Runtime.ExitError``. An executable that never answers Ping at
start-up is reported to ``init/error`` and the bridge exits 1, so Lambda shows the cause.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Mapping, Sequence

import attrs
import trio

from runtime._runtime_api_client import RuntimeApiClient
from runtime._runtime_api_http import Invocation as ApiInvocation
from runtime._runtime_api_http import RuntimeApiError

from ._invocation import Invocation
from ._service import FunctionConfiguration, FunctionService, InvokeOutcome, open_service
from ._service_errors import FunctionError

__all__ = ["bridge_configuration", "request_from_next", "run_bridge"]

#: Lambda's longest function timeout. The platform ends an invoke at the real timeout (it kills
#: the whole sandbox), so the bridge only needs a backstop that never fires first.
MAX_FUNCTION_TIMEOUT_SECONDS = 900.0

#: Lambda's init phase limit: a bootstrap that has not asked for its first event by then is
#: ended by the platform, so waiting longer for Ping would help no one.
INIT_TIMEOUT_SECONDS = 10.0

#: Variables that would make a modern aws-lambda-go pick the Runtime API itself; the legacy
#: executable must see the go1.x world, where only ``_LAMBDA_SERVER_PORT`` exists.
_HIDDEN_FROM_FUNCTION = ("AWS_LAMBDA_RUNTIME_API",)

_RESPONSE_CONTENT_TYPE = "application/json"


def bridge_configuration(
    environ: Mapping[str, str], cwd: str, init_timeout: float = INIT_TIMEOUT_SECONDS
) -> FunctionConfiguration:
    """The function's settings as the Runtime API sandbox gives them to the bootstrap.

    The function sees the sandbox's environment (its log group and stream, ``TZ``, the user's
    own variables: the real values, which win over the go1.x defaults), but for
    :data:`_HIDDEN_FROM_FUNCTION`, which it neither inherits nor is given.
    """
    own = {k: v for k, v in environ.items() if k not in _HIDDEN_FROM_FUNCTION}
    memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    fields: dict[str, object] = {
        "timeout": MAX_FUNCTION_TIMEOUT_SECONDS,
        "init_timeout": init_timeout,
        "environment": own,
        "hidden": frozenset(_HIDDEN_FROM_FUNCTION),
        "working_directory": environ.get("LAMBDA_TASK_ROOT") or cwd,
    }
    if environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        fields["function_name"] = environ["AWS_LAMBDA_FUNCTION_NAME"]
    if environ.get("AWS_LAMBDA_FUNCTION_VERSION"):
        fields["version"] = environ["AWS_LAMBDA_FUNCTION_VERSION"]
    if memory.isdigit():
        fields["memory_size"] = int(memory)
    if region:
        fields["region"] = region
    return FunctionConfiguration(**fields)  # type: ignore[arg-type]


def _cognito_ids(header: str | None) -> tuple[str, str]:
    """``cognitoIdentityId`` and ``cognitoIdentityPoolId`` from the Cognito identity header."""
    if not header:
        return "", ""
    try:
        identity = json.loads(header)
    except ValueError:
        return "", ""
    if not isinstance(identity, dict):
        return "", ""
    return str(identity.get("cognitoIdentityId") or ""), str(
        identity.get("cognitoIdentityPoolId") or ""
    )


def request_from_next(event: ApiInvocation) -> Invocation:
    """The ``Function.Invoke`` request for one ``invocation/next`` event.

    Each header goes where the go1.x service put the same fact: request id, deadline (absolute
    Unix milliseconds), function ARN, trace id, client context (the JSON text) and the Cognito
    identity's two ids.
    """
    deadline_ms = event.deadline_ms or ""
    identity_id, pool_id = _cognito_ids(event.cognito_identity)
    return Invocation(
        payload=event.body,
        request_id=event.request_id,
        deadline_ns=int(deadline_ms) * 1_000_000 if deadline_ms.isdigit() else None,
        invoked_function_arn=event.invoked_function_arn,
        trace_id=event.trace_id or "",
        client_context=(event.client_context or "").encode("utf-8", "surrogateescape"),
        cognito_identity_id=identity_id,
        cognito_identity_pool_id=pool_id,
    )


def _error_body(error: FunctionError) -> bytes:
    return error.to_json().encode()


async def _post(api: RuntimeApiClient, outcome: InvokeOutcome, invocation_id: str | None) -> None:
    """Post the outcome, with the event's invocation id as Lambda's runtimes send it back; it is
    accepted (202) before the next event is asked for."""
    if outcome.error is None:
        payload = outcome.payload or b""
        await api.post_response(
            outcome.request_id, payload, _RESPONSE_CONTENT_TYPE, invocation_id=invocation_id
        )
    else:
        body = _error_body(outcome.error)
        await api.post_error(outcome.request_id, body, xray_cause=None, invocation_id=invocation_id)


@attrs.frozen
class BridgeExit:
    """Why the bridge stopped: its exit status and a sentence for stderr."""

    status: int
    reason: str


async def _serve_events(api: RuntimeApiClient, service: FunctionService) -> BridgeExit:
    failure = await service.start()
    if failure is not None:
        error = failure.error
        await api.post_init_error(_error_body(error), error_type=error.type or "Runtime.Unknown")
        return BridgeExit(1, failure.detail)
    while True:
        event = await api.next_invocation()
        outcome = await service.invoke(request_from_next(event))
        await _post(api, outcome, event.invocation_id)


async def run_bridge(
    command: Sequence[str],
    *,
    api_address: str,
    environ: Mapping[str, str],
    cwd: str,
    init_timeout: float = INIT_TIMEOUT_SECONDS,
) -> BridgeExit:
    """Serve events from the Runtime API at ``api_address`` with the executable ``command``.

    Returns only when the bridge must stop: an init failure (exit 1), SIGTERM (exit 0: the
    function's process group is killed first), SIGINT (exit 130, the same way), or a Runtime
    API failure (exit 1).
    """
    configuration = bridge_configuration(environ, cwd, init_timeout)
    api = RuntimeApiClient(api_address)
    try:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with (
                open_service(configuration, command=command, measure_memory=False) as service,
                trio.open_nursery() as nursery,
            ):
                outcome: list[BridgeExit] = []

                async def serve() -> None:
                    try:
                        outcome.append(await _serve_events(api, service))
                    except RuntimeApiError as exc:
                        outcome.append(BridgeExit(1, str(exc)))
                    nursery.cancel_scope.cancel()

                async def on_signal() -> None:
                    async for number in signals:
                        # Lambda's shutdown is SIGTERM: a clean end. Ctrl-C is 128 + SIGINT.
                        stop = BridgeExit(0, "SIGTERM")
                        if number != signal.SIGTERM:
                            stop = BridgeExit(128 + number, signal.Signals(number).name)
                        outcome.append(stop)
                        nursery.cancel_scope.cancel()
                        return

                nursery.start_soon(serve)
                nursery.start_soon(on_signal)
        return outcome[0]
    except RuntimeApiError as exc:
        return BridgeExit(1, str(exc))
    finally:
        with trio.CancelScope(shield=True):
            await api.aclose()


def runtime_api_address(environ: Mapping[str, str] = os.environ) -> str | None:
    """``AWS_LAMBDA_RUNTIME_API``, the ``host:port`` the sandbox serves the Runtime API on."""
    return environ.get("AWS_LAMBDA_RUNTIME_API") or None
