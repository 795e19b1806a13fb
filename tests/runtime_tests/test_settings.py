"""``Settings.from_env``: built from the mapping it is given, never from ``os.environ`` itself."""

from __future__ import annotations

import attrs
import pytest

from runtime._settings import Settings

FULL_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "my-fn",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/my-fn",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef",
    "LAMBDA_TASK_ROOT": "/var/task",
    "_LAMBDA_SERVER_PORT": "60304",
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
    "AWS_LAMBDA_LOG_LEVEL": "INFO",
    "AWS_LAMBDA_LOG_FORMAT": "JSON",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def test_every_field_from_its_variable() -> None:
    assert Settings.from_env(FULL_ENV) == Settings(
        function_name="my-fn",
        function_version="$LATEST",
        memory_size="128",
        log_group_name="/aws/lambda/my-fn",
        log_stream_name="2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef",
        task_root="/var/task",
        server_port="60304",
        runtime_api="127.0.0.1:9001",
        log_level="INFO",
        log_format="JSON",
        region="eu-west-1",
    )


def test_empty_environment_gives_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.function_name, settings.memory_size, settings.task_root) == (None, None, None)
    assert (settings.server_port, settings.runtime_api, settings.region) == (None, None, None)
    assert (settings.log_level, settings.log_format) == ("", "TEXT")


def test_the_process_environment_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FULL_ENV.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env({}) == Settings()


def test_empty_mode_variables_count_as_unset() -> None:
    # aws-lambda-go picks the first *non-empty* of _LAMBDA_SERVER_PORT, AWS_LAMBDA_RUNTIME_API.
    settings = Settings.from_env(
        {"_LAMBDA_SERVER_PORT": "", "AWS_LAMBDA_RUNTIME_API": "", "LAMBDA_TASK_ROOT": ""}
    )
    assert (settings.server_port, settings.runtime_api, settings.task_root) == (None, None, None)


def test_other_values_are_kept_verbatim() -> None:
    settings = Settings.from_env(
        {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots", "_LAMBDA_SERVER_PORT": " 1 "}
    )
    assert (settings.memory_size, settings.server_port) == ("lots", " 1 ")


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("TRACE", "DEBUG"),
        ("debug", "DEBUG"),
        ("Info", "INFO"),
        ("trace", "TRACE"),
        ("nope", "NOPE"),
    ],
)
def test_log_level_normalised_like_awslambdaric(raw: str, level: str) -> None:
    assert Settings.from_env({"AWS_LAMBDA_LOG_LEVEL": raw}).log_level == level


@pytest.mark.parametrize(
    ("raw", "log_format"), [("JSON", "JSON"), ("json", "JSON"), ("Text", "TEXT"), ("xml", "TEXT")]
)
def test_log_format(raw: str, log_format: str) -> None:
    assert Settings.from_env({"AWS_LAMBDA_LOG_FORMAT": raw}).log_format == log_format


def test_region_falls_back_to_the_default_region() -> None:
    assert Settings.from_env({"AWS_DEFAULT_REGION": "us-east-1"}).region == "us-east-1"


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(FULL_ENV)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        settings.function_name = "other"  # type: ignore[misc]
