"""Process settings read from the environment once, at the entry point.

Nothing in the runtime reads ``os.environ`` by itself (STYLE.md habit 6): the CLI or ``start()``
calls :meth:`Settings.from_env` with ``os.environ`` and passes the result down, and tests pass a
plain dict. The raw strings are kept as Lambda sets them; only the two mode switches and the
logging options are normalised, by the rules aws-lambda-go and awslambdaric apply to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

__all__ = ["LogFormat", "Settings"]

LogFormat = Literal["TEXT", "JSON"]


def _log_level(raw: str | None) -> str:
    """awslambdaric's ``_get_log_level_from_env_var``: ``TRACE`` means ``DEBUG``, then upper-case.

    The ``TRACE`` lookup happens before upper-casing, so ``trace`` stays ``TRACE`` (and is then
    ignored as an unknown level), exactly as awslambdaric does it.
    """
    if raw is None:
        return ""
    return ("DEBUG" if raw == "TRACE" else raw).upper()


def _log_format(raw: str | None) -> LogFormat:
    """``JSON`` in any case selects JSON lines; anything else, or nothing, is text."""
    return "JSON" if raw is not None and raw.upper() == "JSON" else "TEXT"


@attrs.frozen(kw_only=True)
class Settings:
    """What the runtime needs from the Lambda environment.

    Attributes:
        function_name: ``AWS_LAMBDA_FUNCTION_NAME``.
        function_version: ``AWS_LAMBDA_FUNCTION_VERSION``.
        memory_size: ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, a string as awslambdaric keeps it.
        log_group_name: ``AWS_LAMBDA_LOG_GROUP_NAME``.
        log_stream_name: ``AWS_LAMBDA_LOG_STREAM_NAME``.
        task_root: ``LAMBDA_TASK_ROOT``, where handler modules are looked up first; None if empty.
        server_port: ``_LAMBDA_SERVER_PORT`` (go1.x RPC mode); None when unset or empty, since
            aws-lambda-go picks the first *non-empty* mode variable.
        runtime_api: ``AWS_LAMBDA_RUNTIME_API`` (Runtime API mode); None when unset or empty.
        log_level: ``AWS_LAMBDA_LOG_LEVEL`` normalised as awslambdaric does; ``""`` when unset.
        log_format: ``AWS_LAMBDA_LOG_FORMAT``: ``"JSON"`` or ``"TEXT"``.
        region: ``AWS_REGION``, else ``AWS_DEFAULT_REGION``.
    """

    function_name: str | None = None
    function_version: str | None = None
    memory_size: str | None = None
    log_group_name: str | None = None
    log_stream_name: str | None = None
    task_root: str | None = None
    server_port: str | None = None
    runtime_api: str | None = None
    log_level: str = ""
    log_format: LogFormat = "TEXT"
    region: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build the settings from an environment mapping (``os.environ`` at the entry point)."""
        return cls(
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            function_version=environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
            memory_size=environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
            log_group_name=environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
            log_stream_name=environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
            task_root=environ.get("LAMBDA_TASK_ROOT") or None,
            server_port=environ.get("_LAMBDA_SERVER_PORT") or None,
            runtime_api=environ.get("AWS_LAMBDA_RUNTIME_API") or None,
            log_level=_log_level(environ.get("AWS_LAMBDA_LOG_LEVEL")),
            log_format=_log_format(environ.get("AWS_LAMBDA_LOG_FORMAT")),
            region=environ.get("AWS_REGION", environ.get("AWS_DEFAULT_REGION")),
        )
